"""API keys that never show (a holder whose repr and str hide the key), the checks keys pass, redaction for display."""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "SecretStr",
    "clean_header_value",
    "clean_secret",
    "live_secret_forms",
    "redact_headers",
    "redact_plugin_table",
    "redact_url",
    "scrub_text",
    "secret_forms",
]

#: what may not appear in a key or a header value once surrounding whitespace is stripped:
#: control characters (a tab is allowed inside a header value, never in a key) and non-ASCII
#: characters (httpx sends header text as ASCII).  ASCII text with every character printable is safe
#: (``str.isprintable`` is false for exactly the ASCII controls); the patterns, compiled on first use
#: by ``re``'s cache, only find the position of the first unsafe character for the message
_UNSAFE_IN_KEY = r"[^\x20-\x7e]"
_UNSAFE_IN_HEADER = r"[^\t\x20-\x7e]"
#: the shortest secret scrubbed from every log line (shorter ones would blank out ordinary words)
_MIN_LOGGED_SECRET = 8

_live: weakref.WeakValueDictionary[int, SecretStr] = weakref.WeakValueDictionary()


class SecretStr:
    """An API key or other secret. ``repr``, ``str`` and pickling never reveal it.

    Call :meth:`get_secret_value` at the one place the key is put on the wire.
    While a ``SecretStr`` is alive, the library's log lines are scrubbed of
    its value (see :mod:`liter_llm._log`).
    """

    __slots__ = ("__weakref__", "_header", "_value")

    def __init__(self, value: str) -> None:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        self._value = value
        #: the auth object of the key's header, ``(format, auth)``, kept by ``liter_llm._wire.header_auth``:
        #: checked and built once per key and format, and gone with the key
        self._header: tuple[Any, Any] | None = None
        if len(value) >= _MIN_LOGGED_SECRET:
            _live[id(self)] = self

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


def clean_secret(value: str, what: str, *, provider: str | None = None) -> str:
    """``value`` without surrounding whitespace; refuse a key that cannot be sent in a header.

    A key read from a file or a CRLF ``.env`` keeps its line end; that is
    stripped (as is any surrounding whitespace).  Any other control character
    or a non-ASCII character is refused with an
    :class:`~liter_llm.errors.AuthenticationError` that names ``what`` (the
    option or the environment variable) and the position, never the key.
    """
    stripped = value.strip()
    bad = None if stripped.isascii() and stripped.isprintable() else re.search(_UNSAFE_IN_KEY, stripped)
    if bad is not None:
        from liter_llm.errors import AuthenticationError

        raise AuthenticationError(
            f"{what}: the API key has a character that cannot be sent in an HTTP header "
            f"(a control or non-ASCII character at position {bad.start() + 1} of {len(stripped)}); it was not sent",
            provider=provider,
        )
    return stripped


def clean_header_value(name: str, value: str) -> str:
    """A header value without surrounding whitespace; refuse control and non-ASCII characters.

    Raises:
        InvalidHeaderError: naming the header, never quoting its value.
    """
    from liter_llm.errors import InvalidHeaderError

    if not isinstance(value, str):
        raise InvalidHeaderError(name, f"the value must be a string, not {type(value).__name__}")
    stripped = value.strip()
    printable = stripped.isascii() and (stripped if "\t" not in stripped else stripped.replace("\t", " ")).isprintable()
    bad = None if printable else re.search(_UNSAFE_IN_HEADER, stripped)
    if bad is not None:
        raise InvalidHeaderError(
            name, f"the value has a control or non-ASCII character at position {bad.start() + 1}; it was not sent"
        )
    return stripped


def secret_forms(secret: str) -> tuple[str, ...]:
    """The ways ``secret`` can appear in a message: plain, stripped, ``repr`` and bytes ``repr`` forms.

    Each also as it appears inside a JSON string (an error body quoting it).

    Longest first, so that a longer form is replaced before a shorter one inside it.
    """
    forms = {secret, secret.strip()}
    for text in tuple(forms):
        forms.add(repr(text)[1:-1])
        forms.add(repr(text.encode("utf-8", "backslashreplace"))[2:-1])
    for text in tuple(forms):  # each of them inside a JSON string (an error body that quotes it)
        forms.add(json.dumps(text)[1:-1])
    return tuple(sorted((form for form in forms if len(form) >= 4), key=len, reverse=True))


def scrub_text(text: str, forms: Iterable[str], replacement: str = "***") -> str:
    """``text`` with every form of a secret replaced."""
    for form in forms:
        if form in text:
            text = text.replace(form, replacement)
    return text


def live_secret_forms() -> tuple[str, ...]:
    """Every form of every secret alive in the process (for scrubbing log lines)."""
    forms: set[str] = set()
    for holder in list(_live.values()):
        forms.update(secret_forms(holder._value))
    return tuple(sorted(forms, key=len, reverse=True))


# ---------------------------------------------------------------------------
# Redaction for display (reprs, ``config_to_dict``, messages)
# ---------------------------------------------------------------------------

REDACTED = "***"
#: Header names (lower case) whose values are credentials and never shown.
_SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "x-goog-api-key", "cookie", "set-cookie"}
    | {"ocp-apim-subscription-key"}
)
_SECRET_WORDS = ("key", "secret", "token", "password", "credential")


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` for display: the values of credential-bearing headers are ``"***"``."""

    def sensitive(name: str) -> bool:
        lowered = name.lower()
        return lowered in _SENSITIVE_HEADERS or any(w in lowered for w in ("token", "secret", "api-key", "apikey"))

    return {name: (REDACTED if sensitive(name) else value) for name, value in headers.items()}


def redact_url(url: str | None) -> str | None:
    """``url`` with any user name and password replaced by ``***`` (a proxy URL may carry credentials)."""
    try:
        parts = urlsplit(url or "")
        if url is None or (parts.username is None and parts.password is None):
            return url
        host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname or ""
        return parts._replace(netloc=f"{REDACTED}@{host}" + (f":{parts.port}" if parts.port else "")).geturl()
    except ValueError:
        return REDACTED


def redact_plugin_table(table: Mapping[str, Any]) -> dict[str, Any]:
    """A plugin table for display: values under secret-sounding names are ``"***"``, callables by name."""
    shown: dict[str, Any] = {}
    for name, value in table.items():
        if isinstance(value, Mapping):
            shown[name] = redact_plugin_table(value)
        elif any(word in name.lower() for word in _SECRET_WORDS) and value is not None:
            shown[name] = REDACTED
        elif callable(value) or not isinstance(value, (str, int, float, bool, list, type(None))):
            shown[name] = f"<{type(value).__name__}>"
        else:
            shown[name] = value
    return shown
