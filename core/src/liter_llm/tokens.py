"""Counting a prompt's tokens before the call, offline.

:func:`count_tokens` (and ``client.count_tokens``) returns a :class:`TokenCount`
that says how it was counted and whether the count is exact:

* ``tiktoken:<encoding>``: OpenAI-family models (``gpt-*``, ``o1``/``o3``/``o4``,
  ``chatgpt-*``, ``text-embedding-*``) when tiktoken is installed and the
  encoding can be loaded (``o200k_base`` for the 4o/4.1/5/o-series models,
  ``cl100k_base`` for GPT-4, GPT-3.5 and the embedding models).  Chat messages
  are counted the way OpenAI documents it: 3 tokens per message, 1 per
  ``name``, 3 to prime the reply.  Exact for text; tools and images make it
  an estimate (``exact=False``): OpenAI documents no formula for tools, and
  an image's count depends on its size (85 tokens at ``detail: low``; 765,
  a 1024x1024 image, otherwise).
* ``estimate:characters/4``: everything else, and OpenAI models without
  tiktoken: the characters of the text (content, names, tool definitions as
  JSON) divided by 4, rounded up, with the same per-message overheads.
  Never exact; it tends to over-count code and under-count non-Latin text.

``client.count_tokens(..., exact=True)`` asks the provider's own counting
endpoint instead where its plugin has one (``provider:anthropic``,
``provider:gemini``); this module never sends anything.

tiktoken loads an encoding file once (and caches it); when it cannot (no
network, no cache), the estimate is used, never an error.  Pass an
``encoding`` (a ``tiktoken.Encoding``, or a name) to choose it yourself.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from liter_llm._attrs_code import frozen
from liter_llm._attrs_methods import FrozenFields
from liter_llm.errors import BadRequestError

__all__ = ["TokenCount", "count_tokens", "encoding_for_model"]

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
IMAGE_LOW = 85
IMAGE_DEFAULT = 765

#: patterns of paths a chat does not take are compiled on first use (by ``re``'s own cache), not at import
_O200K = r"^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4|chatgpt-4o|gpt-oss)"
_CL100K = r"^(gpt-4|gpt-3\.5|gpt-35|text-embedding-3|text-embedding-ada-002)"
_OPENAI_PREFIXES = ("openai/", "azure/")


@frozen(kw_only=True, repr=False, eq=False)
class TokenCount(FrozenFields):
    """A prompt's token count.

    Attributes:
        tokens: the count.
        method: how it was counted: ``tiktoken:<encoding>``, ``estimate:characters/4``, or
            ``provider:<name>`` (the provider's own counting endpoint, ``client.count_tokens(..., exact=True)``).
        exact: whether the provider would count the same (never for an estimate).
        model: the model it was counted for.
    """

    tokens: int
    method: str
    exact: bool
    model: str


def encoding_for_model(model: str) -> str | None:
    """The tiktoken encoding name of an OpenAI-family model (``None`` for any other model)."""
    name = model
    for prefix in _OPENAI_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix) :]
    if re.match(_O200K, name):
        return "o200k_base"
    if re.match(_CL100K, name):
        return "cl100k_base"
    return None


def _load_encoding(encoding: Any) -> tuple[Callable[[str], int], str] | None:
    """A counter from a tiktoken ``Encoding`` or an encoding name; ``None`` when it cannot be had."""
    if encoding is None:
        return None
    if not isinstance(encoding, str):
        if not callable(getattr(encoding, "encode", None)):
            raise BadRequestError("encoding: expected a tiktoken Encoding or an encoding name")
        enc = encoding
    else:
        try:
            import tiktoken

            enc = tiktoken.get_encoding(encoding)
        except Exception:  # not installed, unknown, or its file cannot be fetched: the estimate it is
            return None
    name = str(getattr(enc, "name", "custom"))
    return (lambda text: len(enc.encode(text, disallowed_special=()))), f"tiktoken:{name}"


def _estimate(text: str) -> int:
    return math.ceil(len(text) / 4)


def _plain(value: Any) -> Any:
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and attrs.has(type(value)):
        return to_dict()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def count_tokens(
    model: str,
    messages: Sequence[Any] | None = None,
    *,
    input: str | Sequence[str] | None = None,
    tools: Sequence[Any] | None = None,
    encoding: Any = None,
) -> TokenCount:
    """Count the tokens of chat ``messages`` (with ``tools``) or of embedding ``input``, offline.

    Raises:
        BadRequestError: neither or both of ``messages`` and ``input``, or a malformed message.
    """
    if not isinstance(model, str) or not model:
        raise BadRequestError("model: a non-empty model name is required")
    if (messages is None) == (input is None):
        raise BadRequestError("count_tokens: give either messages or input")
    counter = _load_encoding(encoding if encoding is not None else encoding_for_model(model))
    count: Callable[[str], int]
    if counter is None:
        count, method, exact = _estimate, "estimate:characters/4", False
    else:
        count, method = counter
        exact = True
    if input is not None:
        texts = [input] if isinstance(input, str) else list(input)
        if not all(isinstance(text, str) for text in texts):
            raise BadRequestError("input: expected a string or a list of strings")
        return TokenCount(tokens=sum(count(text) for text in texts), method=method, exact=exact, model=model)
    total = REPLY_PRIMING
    for index, message in enumerate(_plain(list(messages or []))):
        if not isinstance(message, Mapping):
            raise BadRequestError(f"messages[{index}]: expected a message object")
        total += TOKENS_PER_MESSAGE
        for key, value in message.items():
            if key == "name" and isinstance(value, str):
                total += count(value) + TOKENS_PER_NAME
            elif key == "role" and isinstance(value, str):
                total += count(value)
            elif key == "content":
                tokens, content_exact = _content(value, count)
                total += tokens
                exact = exact and content_exact
            elif key in ("tool_calls", "function_call") and value:
                total += count(json.dumps(value, separators=(",", ":")))
                exact = False
            elif key == "tool_call_id" and isinstance(value, str):
                total += count(value)
    if tools:
        total += count(json.dumps(_plain(list(tools)), separators=(",", ":")))
        exact = False
    return TokenCount(tokens=total, method=method, exact=exact, model=model)


def _content(value: Any, count: Callable[[str], int]) -> tuple[int, bool]:
    if value is None:
        return 0, True
    if isinstance(value, str):
        return count(value), True
    if not isinstance(value, list):
        raise BadRequestError("content: expected a string or a list of content parts")
    total, exact = 0, True
    for part in value:
        if not isinstance(part, Mapping):
            raise BadRequestError("content: expected content part objects")
        kind = part.get("type")
        if kind == "text":
            total += count(str(part.get("text", "")))
        elif kind == "image_url":
            detail = (part.get("image_url") or {}).get("detail")
            total += IMAGE_LOW if detail == "low" else IMAGE_DEFAULT
            exact = exact and detail == "low"
        else:  # audio, documents: no offline count
            total += count(json.dumps(part))
            exact = False
    return total, exact
