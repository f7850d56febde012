"""An indexed entry point's value is read as importlib.metadata reads it, with or without a regex.

``liter_llm._ep_index.split_value`` splits the usual value (``module:attr``) with string methods
and sends anything else through importlib.metadata's pattern; both must give what the pattern gives.
"""

from __future__ import annotations

import re
from importlib.metadata import EntryPoint

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liter_llm._ep_index import _VALUE, split_value

PIECES = st.sampled_from(["a", "b1", "_x", "pkg", ".", ":", " ", "[x]", "1", "é", "-", "", "Ω", "\t"])


def by_pattern(value: str) -> tuple[str, str] | None:
    match = re.match(_VALUE, value)
    return None if match is None else (match.group("module"), match.group("attr") or "")


@given(st.lists(PIECES, max_size=8).map("".join))
def test_split_value_agrees_with_the_pattern(value: str) -> None:
    expected = by_pattern(value)
    if expected is None:
        with pytest.raises(ValueError, match="not an entry point value"):
            split_value(value)
    else:
        assert split_value(value) == expected


@pytest.mark.parametrize(
    "value",
    ["liter_llm_openai", "liter_llm_openai:plugin", "pkg.mod:obj.attr", "pkg.mod : obj [extra]", "mod [x]", "m1:a.b"],
)
def test_split_value_agrees_with_importlib_metadata(value: str) -> None:
    entry = EntryPoint(name="n", value=value, group="g")
    assert split_value(value) == (entry.module, entry.attr or "")


@pytest.mark.parametrize("value", ["", ":attr", "mod:", "mod:attr:more", "-mod", "mod attr"])
def test_a_value_that_is_not_one_is_a_value_error(value: str) -> None:
    with pytest.raises(ValueError, match="not an entry point value"):
        split_value(value)
