"""A holder for API keys whose repr and str never show the key."""

from __future__ import annotations

from typing import Any

__all__ = ["SecretStr"]


class SecretStr:
    """An API key or other secret. ``repr``, ``str`` and pickling never reveal it.

    Call :meth:`get_secret_value` at the one place the key is put on the wire.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        self._value = value

    def get_secret_value(self) -> str:
        """Return the secret itself."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "SecretStr('**********')" if self._value else "SecretStr('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("SecretStr", self._value))

    def __reduce__(self) -> Any:
        raise TypeError("a SecretStr cannot be pickled")

    def __format__(self, spec: str) -> str:
        return repr(self)
