"""A key or a header value is refused exactly when it has a character that cannot be sent.

``clean_secret`` and ``clean_header_value`` decide with ``str.isascii``/``str.isprintable`` and
look for the position with a pattern only when the text is refused; both must refuse exactly the
text with a control or non-ASCII character (a tab: allowed inside a header value, never in a key),
and name the position of the first one.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liter_llm import AuthenticationError
from liter_llm._secret import clean_header_value, clean_secret
from liter_llm.errors import InvalidHeaderError

CHARS = st.sampled_from(["a", "Z", "0", " ", "~", "\t", "\x7f", "\x00", "\x1f", "é", "\u2028", "\u00a0", "-", "\n"])
TEXT = st.lists(CHARS, max_size=10).map("".join)


@given(TEXT)
def test_a_key_is_refused_exactly_for_a_control_or_non_ascii_character(text: str) -> None:
    stripped = text.strip()
    bad = re.search(r"[^\x20-\x7e]", stripped)
    if bad is None:
        assert clean_secret(text, "key") == stripped
    else:
        with pytest.raises(AuthenticationError, match=f"at position {bad.start() + 1} of {len(stripped)}"):
            clean_secret(text, "key")


@given(TEXT)
def test_a_header_value_is_refused_exactly_for_a_control_or_non_ascii_character(text: str) -> None:
    stripped = text.strip()
    bad = re.search(r"[^\t\x20-\x7e]", stripped)
    if bad is None:
        assert clean_header_value("x-h", text) == stripped
    else:
        with pytest.raises(InvalidHeaderError, match=f"at position {bad.start() + 1};"):
            clean_header_value("x-h", text)


def test_a_tab_inside_a_header_value_is_kept_and_inside_a_key_refused() -> None:
    assert clean_header_value("x-h", " a\tb \n") == "a\tb"
    with pytest.raises(AuthenticationError, match="position 2 of 3"):
        clean_secret("a\tb\n", "key")
