"""Header items checked once: what the request builders reuse from request to request.

Every built request's header values are checked before it is sent (``check_request_headers`` in
``liter_llm/_flow.py``: visible ASCII, nothing around it).  Most of a request's headers are the
same objects each time: the header set a builder keeps per provider and options
(``liter_llm/_wire.py``), and its ``Content-Length`` item.  Those items are checked once, when the
builder makes them, and remembered here by identity; the check skips them.  An item a plugin adds or
replaces is a new object and is checked as before.

Remembered items are held (so their ids are not reused) until the builders' caches are cleared.
"""

from __future__ import annotations

import re

import httpx

__all__: list[str] = []

#: a header value as h11 sends it: visible ASCII, with single spaces or tabs inside only
HEADER_VALUE_OK = re.compile(rb"(?:[\x21-\x7e](?:[\t\x20-\x7e]*[\x21-\x7e])?)?")

Item = tuple[bytes, bytes, bytes]

#: id -> the item itself (checked, unchanged: items are tuples)
CHECKED: dict[int, Item] = {}
_LENGTHS: dict[int, Item] = {}
_LIMIT = 4096


def remember(headers: httpx.Headers) -> None:
    """Remember the items of ``headers`` whose values pass the check (a kept header set's)."""
    for item in headers._list:
        if HEADER_VALUE_OK.fullmatch(item[2]) is not None:
            CHECKED[id(item)] = item


def length_item(size: int) -> Item:
    """The ``Content-Length`` item for ``size`` bytes: one object per size (remembered as checked)."""
    item = _LENGTHS.get(size)
    if item is None:
        item = (b"Content-Length", b"content-length", b"%d" % size)
        if len(_LENGTHS) < _LIMIT:
            _LENGTHS[size] = item
            CHECKED[id(item)] = item
    return item


def forget() -> None:
    """Forget every remembered item (the builders' header cache was cleared)."""
    CHECKED.clear()
    _LENGTHS.clear()
