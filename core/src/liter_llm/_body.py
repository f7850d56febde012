"""A response body's pieces as httpx's ``iter_bytes``/``aiter_bytes`` give them, with less work where they can.

Without a ``content-encoding`` there is nothing to decode, and httpx's
``iter_bytes`` is its ``iter_raw`` behind a pass-through decoder and a
pass-through chunker (a generator, and two calls, per piece); the body's
pieces are then read from ``iter_raw`` directly.  An encoded body, or one
already read into memory, takes ``iter_bytes`` as before.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx

__all__ = ["abody_pieces", "body_pieces"]


def _plain(response: httpx.Response) -> bool:
    return not response.is_stream_consumed and "content-encoding" not in response.headers


def body_pieces(response: httpx.Response) -> Iterator[bytes]:
    """The decoded body of ``response`` piece by piece (``response.iter_bytes()``)."""
    return response.iter_raw() if _plain(response) else response.iter_bytes()


def abody_pieces(response: httpx.Response) -> AsyncIterator[bytes]:
    """The async twin of :func:`body_pieces` (``response.aiter_bytes()``)."""
    return response.aiter_raw() if _plain(response) else response.aiter_bytes()
