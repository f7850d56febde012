"""Decoding answers with orjson when it is installed (``liter-llm[speedups]``), to json's exact result.

orjson decodes a chat answer in about a third of the instructions of the standard library's C
scanner (docs/performance.md, "Fifth pass").  It is optional and never changes a result:

- whatever orjson refuses (``NaN``, a number too large for a float, a lone surrogate, invalid UTF-8,
  a byte order mark, nesting deeper than 1024, bad JSON) is decoded by :mod:`json` as before, which
  returns what it always returned or raises what it always raised;
- orjson turns an integer outside 64 bits into a float (precision lost, silently).  A document with
  a run of 19 or more digits anywhere (every such integer has one) is therefore left to :mod:`json`;
- where both accept a document they agree: the same types and values (floats rounded alike,
  duplicate keys last-wins), which core/tests/test_fastjson.py holds over generated documents.

orjson is looked up the first time an answer is decoded, not at import.  ``LITER_LLM_ORJSON=0``
turns it off (the standard library only), read at that first decode.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

__all__: list[str] = []

#: every digit to ``9``, every other byte to a space: a run of 19 digits becomes ``_LONG_RUN``
_DIGITS_ONLY = bytes(0x39 if 0x30 <= i <= 0x39 else 0x20 for i in range(256))
_LONG_RUN = b"9" * 19

#: :func:`fast_loads`'s answer where :mod:`json` decides
UNSET: Any = object()
_loads: Any = UNSET


def _orjson() -> Callable[[bytes | str], Any] | None:
    """``orjson.loads``, or ``None`` (not installed, or turned off); looked up once."""
    global _loads
    if _loads is UNSET:
        found: Callable[[bytes | str], Any] | None = None
        if os.environ.get("LITER_LLM_ORJSON", "").strip() != "0":
            try:
                import orjson
            except ImportError:
                pass
            else:
                found = orjson.loads
        _loads = found
    result: Callable[[bytes | str], Any] | None = _loads
    return result


def fast_loads(data: bytes | str) -> Any:
    """What orjson makes of ``data``, or :data:`UNSET` where :mod:`json` decides (see the module's notes)."""
    loads = _loads if _loads is not UNSET else _orjson()
    if loads is None:
        return UNSET
    kind = type(data)
    if kind is bytes:
        raw: bytes = data  # type: ignore[assignment]
    elif kind is str:
        raw = data.encode("utf-8", "surrogatepass")  # type: ignore[union-attr]
    else:  # a bytearray, a memoryview, a subclass: json's way, as before
        return UNSET
    if raw.translate(_DIGITS_ONLY).find(_LONG_RUN) >= 0:
        return UNSET  # an integer orjson would make a float, perhaps: json keeps it exact
    try:
        return loads(raw)
    except ValueError:  # orjson.JSONDecodeError: json says what it says
        return UNSET
