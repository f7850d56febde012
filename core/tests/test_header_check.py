"""``check_request_headers`` leaves a request alone exactly when every header value passes the per-value rule.

Every value of one to three headers is drawn from short strings of the bytes at the rule's edges
(visible ASCII, space, tab, NUL and other control bytes, DEL, a byte over 127, CR, LF, nothing);
a request whose values all pass the per-value rule is left as it is, any other is fixed or refused.
"""

from __future__ import annotations

import itertools
import random

import httpx
import pytest

from liter_llm._flow import _HEADER_VALUE_OK, check_request_headers
from liter_llm.errors import LiterLlmError

ALPHABET = [b"a", b" ", b"\t", b"\x00", b"\x01", b"\x7f", b"\xe9", b"\r", b"\n", b""]
VALUES = sorted({b"".join(combo) for n in range(4) for combo in itertools.product(ALPHABET, repeat=n)})


def test_a_request_is_left_alone_exactly_when_every_value_passes() -> None:
    rng = random.Random(16)
    for _ in range(5000):
        values = [rng.choice(VALUES) for _ in range(rng.randint(1, 3))]
        request = httpx.Request(
            "GET", "http://127.0.0.1:9/", headers=[(f"h{i}".encode(), v) for i, v in enumerate(values)]
        )
        before = request.headers.raw
        try:
            check_request_headers(request)
            refused = False
        except LiterLlmError:
            refused = True
        if all(_HEADER_VALUE_OK.fullmatch(value) for value in values):
            assert not refused, values
            assert request.headers.raw == before, values
        else:
            assert refused or request.headers.raw != before, values


def test_a_value_with_spaces_around_it_is_stripped_and_a_control_byte_refused() -> None:
    request = httpx.Request("GET", "http://127.0.0.1:9/", headers={"x-a": " padded ", "x-b": "fine"})
    check_request_headers(request)
    assert request.headers["x-a"] == "padded"
    assert request.headers["x-b"] == "fine"
    bad = httpx.Request("GET", "http://127.0.0.1:9/", headers={"x-a": "tok\x01en"})
    with pytest.raises(LiterLlmError, match="x-a"):
        check_request_headers(bad)
