"""The auth flow of a key sent in one header (the built-in providers' ``bearer`` and ``header`` auth)."""

from __future__ import annotations

from typing import Any

import httpx

__all__: list[str] = []


class _HeaderAuth(httpx.Auth):
    """Sets one header on every attempt."""

    __slots__ = ("_name", "_value")

    def __init__(self, name: str, value: str) -> None:
        self._name = name
        self._value = value

    def apply(self, request: httpx.Request) -> None:
        """Set the header on ``request``: the whole flow, which sends the request once and ends with its answer."""
        headers = request.headers
        name = self._name
        if headers._encoding is None:
            # what ``headers[name] = value`` does when the request has no such header yet (the usual case):
            # one more item of httpx's own layout, without its look-up through every header
            lowered = name.lower().encode()
            items = headers._list
            for item in items:
                if item[1] == lowered:
                    break
            else:
                items.append((name.encode(), lowered, self._value.encode()))
                return
        headers[name] = self._value

    def auth_flow(self, request: httpx.Request) -> Any:
        self.apply(request)
        yield request

    def __repr__(self) -> str:
        return f"_HeaderAuth({self._name!r}, '***')"
