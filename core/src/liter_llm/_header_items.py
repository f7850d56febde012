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

#: the bytes a header line may not carry: control characters but the tab (CR and LF among them)
_BAD_LINE_BYTES = frozenset((*range(0x09), *range(0x0A, 0x20), 0x7F))
#: every byte but those: ``line.translate(None, LINE_OK)`` leaves only the bad ones
LINE_OK = bytes(b for b in range(256) if b not in _BAD_LINE_BYTES)

#: id -> (the item itself, its line ``name: value`` as liter_llm/_h1.py sends it when the whole line may be
#: sent, else ``None``): its value passed the check, and it is unchanged (items are tuples)
CHECKED: dict[int, tuple[Item, bytes | None]] = {}
_LENGTHS: dict[int, Item] = {}
_LIMIT = 4096


def _line(item: Item) -> bytes | None:
    line = item[0] + b": " + item[2]
    return None if line.translate(None, LINE_OK) else line


def remember(headers: httpx.Headers) -> None:
    """Remember the items of ``headers`` whose values pass the check (a kept header set's)."""
    for item in headers._list:
        if HEADER_VALUE_OK.fullmatch(item[2]) is not None:
            CHECKED[id(item)] = (item, _line(item))


def length_item(size: int) -> Item:
    """The ``Content-Length`` item for ``size`` bytes: one object per size (remembered as checked)."""
    item = _LENGTHS.get(size)
    if item is None:
        item = (b"Content-Length", b"content-length", b"%d" % size)
        if len(_LENGTHS) < _LIMIT:
            _LENGTHS[size] = item
            CHECKED[id(item)] = (item, _line(item))
    return item


def forget() -> None:
    """Forget every remembered item (the builders' header cache was cleared)."""
    CHECKED.clear()
    _LENGTHS.clear()
