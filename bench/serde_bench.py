"""cattrs vs liter-llm's generated parsers for the hot-path response types.

    python bench/serde_bench.py [--n 200000]

Parses one ChatCompletionResponse and one ChatCompletionChunk (documented OpenAI shapes) many times
with (1) the parsers `liter_llm._serde` generates, and (2) a cattrs Converter whose class hooks come
from `cattrs.gen.make_dict_structure_fn` with the same lenient primitive hooks: cattrs' best case
(no detailed validation, unknown keys ignored, no zero-filling of missing fields). Prints
microseconds per parse; numbers for docs/performance.md.
"""

from __future__ import annotations

import argparse
import timeit
from types import UnionType
from typing import Any, Union, get_args, get_origin

import cattrs
from cattrs.gen import make_dict_structure_fn, override

from liter_llm import _serde
from liter_llm import types as t

RESPONSE: dict[str, Any] = {
    "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
    "object": "chat.completion",
    "created": 1741569952,
    "model": "gpt-4.1-2025-04-14",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello! How can I assist you today?", "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 19,
        "completion_tokens": 10,
        "total_tokens": 29,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    },
    "service_tier": "default",
}

CHUNK: dict[str, Any] = {
    "id": "chatcmpl-123",
    "object": "chat.completion.chunk",
    "created": 1694268190,
    "model": "gpt-4o-mini",
    "system_fingerprint": "fp_44709d6fcb",
    "choices": [{"index": 0, "delta": {"content": "Hello"}, "logprobs": None, "finish_reason": None}],
}


def cattrs_converter() -> cattrs.Converter:
    """A cattrs converter with the generator's lenient primitive hooks and generated class hooks."""
    conv = cattrs.Converter(detailed_validation=False)
    for tp, (_strict, lenient) in _serde._PRIMITIVES.items():
        conv.register_structure_hook(tp, lambda v, _t, f=lenient: f(v))
    for enum_type in (t.FinishReason, t.ToolType):
        enum_parser = _serde._enum_parser(enum_type, False)
        conv.register_structure_hook(enum_type, lambda v, _t, f=enum_parser: f(v))

    def optional_factory(tp: Any) -> Any:
        inner = conv.get_structure_hook(next(a for a in get_args(tp) if a is not type(None)))

        def structure_optional(value: Any, _t: Any) -> Any:
            return None if value is None else inner(value, _t)

        return structure_optional

    conv.register_structure_hook_factory(
        lambda tp: get_origin(tp) in (Union, UnionType) and len(get_args(tp)) == 2 and type(None) in get_args(tp),
        optional_factory,
    )

    def attrs_factory(cls: type) -> Any:
        import attrs

        overrides = {f.name: override(rename=f.metadata["wire"]) for f in attrs.fields(cls) if "wire" in f.metadata}
        return make_dict_structure_fn(cls, conv, **overrides)

    conv.register_structure_hook_factory(lambda c: isinstance(c, type) and hasattr(c, "__attrs_attrs__"), attrs_factory)
    return conv


REQUEST: dict[str, Any] = {
    "model": "gpt-4.1",
    "messages": [
        {"role": "developer", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Hello!"},
    ],
    "temperature": 0.2,
    "max_tokens": 64,
}


def time_request(n: int) -> None:
    """Strict structuring of a request dict (what the clients do with keyword arguments)."""
    best = min(timeit.repeat(lambda: _serde.structure_request(REQUEST, t.ChatCompletionRequest), number=n, repeat=5))
    print(f"ChatCompletionRequest (strict, structure_request): {best / n * 1e6:.2f} us")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--request-only", action="store_true", help="only the strict request timing")
    args = parser.parse_args()
    time_request(args.n)
    if args.request_only:
        return
    conv = cattrs_converter()
    for name, data, cls in (
        ("ChatCompletionResponse", RESPONSE, t.ChatCompletionResponse),
        ("ChatCompletionChunk", CHUNK, t.ChatCompletionChunk),
    ):
        generated = _serde.get_parser(cls, False)
        assert generated(data) == conv.structure(data, cls), name
        hook = conv.get_structure_hook(cls)
        results = {}
        runs = (
            ("generator", lambda g=generated, d=data: g(d)),
            ("cattrs", lambda h=hook, d=data, c=cls: h(d, c)),
        )
        for label, fn in runs:
            best = min(timeit.repeat(fn, number=args.n, repeat=5))
            results[label] = best / args.n * 1e6
        print(
            f"{name}: generator {results['generator']:.2f} us, cattrs {results['cattrs']:.2f} us "
            f"(cattrs/generator {results['cattrs'] / results['generator']:.2f}x)"
        )


if __name__ == "__main__":
    main()
