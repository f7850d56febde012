"""The in-process OpenAI-compatible server: requests in, OpenAI-shaped answers out.

Blocking code only (it runs llama.cpp); the transports in ``_transport`` call
it directly (sync) or from a worker thread (async).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from typing import Any

from liter_llm_local._models import LoadedModel, LocalModelError, available_models, get_model, resolve_model

__all__ = ["ChatSession", "JsonReply", "handle"]

#: request fields passed to ``Llama.create_chat_completion`` as they are
_NUMBER_FIELDS = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "presence_penalty": (-2.0, 2.0),
    "frequency_penalty": (-2.0, 2.0),
    # llama.cpp samplers, accepted through ``extra_body``
    "min_p": (0.0, 1.0),
    "typical_p": (0.0, 1.0),
    "repeat_penalty": (0.0, math.inf),
}
#: fields accepted and not used (they do not change what a local model generates)
_IGNORED_FIELDS = frozenset({"user", "metadata", "service_tier", "stream_options", "store", "parallel_tool_calls"})
_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


class JsonReply:
    """A complete JSON answer."""

    __slots__ = ("payload", "status")

    def __init__(self, status: int, payload: Any) -> None:
        self.status = status
        self.payload = payload

    @property
    def body(self) -> bytes:
        """The encoded body."""
        return json.dumps(self.payload, ensure_ascii=False).encode()


def error_reply(error: LocalModelError) -> JsonReply:
    """The OpenAI error shape for a failure."""
    return JsonReply(
        error.status,
        {"error": {"message": error.message, "type": error.error_type, "param": None, "code": error.code}},
    )


def _bad(message: str, code: str = "invalid_request_error") -> LocalModelError:
    return LocalModelError(400, code, message)


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _bad(f"{name}: expected a number, got {value!r}")
    low, high = _NUMBER_FIELDS[name]
    if not low <= value <= high:
        raise _bad(f"{name}: {value!r} is out of range [{low}, {high}]")
    return float(value)


def _integer(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{name}: expected an integer, got {value!r}")
    if value < minimum:
        raise _bad(f"{name}: must be at least {minimum}, got {value}")
    return value


def _text_content(index: int, content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for part in content:
            if isinstance(part, Mapping) and part.get("type") == "text" and isinstance(part.get("text"), str):
                parts.append(part["text"])
            else:
                kind = part.get("type") if isinstance(part, Mapping) else type(part).__name__
                raise _bad(f"messages[{index}].content: only text is supported by local models, not {kind!r}")
        return "".join(parts)
    raise _bad(f"messages[{index}].content: expected a string or a list of text parts")


def _messages(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise _bad("messages: a non-empty list of messages is required")
    result = []
    for index, message in enumerate(value):
        if not isinstance(message, Mapping):
            raise _bad(f"messages[{index}]: expected an object")
        role = _ROLES.get(message.get("role"))  # type: ignore[arg-type]
        if role is None:
            raise _bad(
                f"messages[{index}].role: {message.get('role')!r} is not supported by local models "
                "(system, developer, user, assistant)"
            )
        if message.get("tool_calls"):
            raise _bad(f"messages[{index}].tool_calls: tool calls are not supported by local models")
        result.append({"role": role, "content": _text_content(index, message.get("content"))})
    return result


def _stop(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return list(value)
    raise _bad("stop: expected a string or a list of strings")


def _response_format(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        raise _bad("response_format: expected an object")
    kind = value.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        spec = value.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, Mapping) else None
        if not isinstance(schema, Mapping):
            raise _bad("response_format.json_schema.schema: expected a JSON Schema object")
        return {"type": "json_object", "schema": dict(schema)}
    raise _bad(f"response_format.type: {kind!r} is not supported (text, json_object, json_schema)")


def _logit_bias(value: Any) -> dict[int, float] | None:
    if not isinstance(value, Mapping):
        raise _bad("logit_bias: expected an object of token id -> bias")
    result: dict[int, float] = {}
    for token, bias in value.items():
        try:
            token_id = int(token)
        except (TypeError, ValueError):
            raise _bad(f"logit_bias: {token!r} is not a token id") from None
        if isinstance(bias, bool) or not isinstance(bias, (int, float)) or not -100 <= bias <= 100:
            raise _bad(f"logit_bias[{token!r}]: expected a number in [-100, 100]")
        result[token_id] = float(bias)
    return result or None


def chat_arguments(body: Any) -> tuple[str, bool, dict[str, Any]]:
    """Validate a chat body; return the model name, the stream flag and the ``create_chat_completion`` arguments."""
    if not isinstance(body, Mapping):
        raise _bad("the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise _bad("model: a model name or a GGUF file path is required")
    kwargs: dict[str, Any] = {"messages": _messages(body.get("messages"))}
    stream = False
    max_tokens: int | None = None
    for name, value in body.items():
        if name in ("model", "messages") or value is None or name in _IGNORED_FIELDS:
            continue
        if name == "stream":
            if not isinstance(value, bool):
                raise _bad("stream: expected a boolean")
            stream = value
        elif name in _NUMBER_FIELDS:
            kwargs[name] = _number(name, value)
        elif name in ("max_tokens", "max_completion_tokens"):
            tokens = _integer(name, value, minimum=1)
            max_tokens = tokens if max_tokens is None else min(max_tokens, tokens)
        elif name == "top_k":
            kwargs["top_k"] = _integer(name, value, minimum=0)
        elif name == "n":
            if _integer(name, value, minimum=1) != 1:
                raise _bad(f"n: local models generate one choice per request; n must be 1, got {value}")
        elif name == "stop":
            kwargs["stop"] = _stop(value)
        elif name == "seed":
            kwargs["seed"] = _integer(name, value, minimum=0)
        elif name == "response_format":
            fmt = _response_format(value)
            if fmt is not None:
                kwargs["response_format"] = fmt
        elif name == "logit_bias":
            bias = _logit_bias(value)
            if bias is not None:
                kwargs["logit_bias"] = bias
        elif name in ("tools", "tool_choice", "functions", "function_call"):
            if value:
                raise _bad(f"{name}: tool calling is not supported by local models")
        elif name in ("logprobs", "top_logprobs"):
            if value:
                raise _bad(f"{name}: log probabilities are not supported by local models")
        else:
            raise _bad(f"{name}: unknown or unsupported field for local models")
    if max_tokens is not None:
        kwargs["max_tokens"] = max_tokens
    return model.strip(), stream, kwargs


def _generation_error(exc: Exception) -> LocalModelError:
    text = str(exc)
    if isinstance(exc, ValueError) and "context window" in text:
        return LocalModelError(400, "context_length_exceeded", f"the prompt does not fit the model: {text}")
    return LocalModelError(500, "server_error", f"llama.cpp failed: {type(exc).__name__}: {text}")


def _sse(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"


_DONE = b"data: [DONE]\n\n"


class ChatSession:
    """One streamed generation; holds the model until the stream ends or is closed.

    ``next_event`` blocks while llama.cpp produces the next token and returns
    its SSE bytes (``None`` at the end); ``close`` stops the generation and
    gives the model back.  Not safe for concurrent use: one reader at a time.
    """

    __slots__ = ("__weakref__", "_chunks", "_done", "_first", "_model")

    def __init__(self, model: LoadedModel, chunks: Iterator[Any], first: Any) -> None:
        self._model: LoadedModel | None = model
        self._chunks = chunks
        self._first = first
        self._done = False

    def next_event(self) -> bytes | None:
        """The next SSE event (blocking), ``b"data: [DONE]"`` after the last chunk, then ``None``."""
        if self._done:
            return None
        if self._first is not None:
            chunk, self._first = self._first, None
            return _sse(chunk)
        try:
            chunk = next(self._chunks)
        except StopIteration:
            self.close()
            return _DONE
        except Exception as exc:
            self.close()
            error = _generation_error(exc)
            return _sse(error_reply(error).payload)
        return _sse(chunk)

    def close(self) -> None:
        """Stop generating (if still running) and release the model (safe to call more than once)."""
        self._done = True
        model, self._model = self._model, None
        if model is None:
            return
        try:
            close = getattr(self._chunks, "close", None)
            if close is not None:
                close()
        except Exception:
            pass
        finally:
            model.release()

    def __del__(self) -> None:
        if getattr(self, "_model", None) is not None:
            self.close()


def _token_text(llama: Any, token: int) -> str:
    """A special token's text (``<|im_end|>``), through llama-cpp-python's public ``detokenize``."""
    if token == -1:
        return ""
    return bytes(llama.detokenize([token], special=True)).decode("utf-8", errors="replace")


def _count_tokens(body: bytes, owner: object) -> JsonReply:
    """``{"model", "messages"}`` -> ``{"input_tokens": N, "exact": bool}``: the prompt as the model sees it.

    With a chat template in the GGUF file (SmolLM2 has one), the messages are rendered by that
    template, as ``create_chat_completion`` renders them, and tokenized by the model's own
    tokenizer: the count is the prompt's length in the model's context (``exact``).  A model with
    no template is counted on its messages' text alone (not exact: llama.cpp's fallback format
    adds its own markers).
    """
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise _bad(f"the request body is not valid JSON: {exc}") from None
    name, _stream, kwargs = chat_arguments({k: v for k, v in data.items() if k in ("model", "messages")})
    messages = kwargs["messages"]
    model = get_model(resolve_model(name))
    model.acquire(owner, name)
    try:
        llama = model.llama
        template = llama.metadata.get("tokenizer.chat_template")
        if template:
            from llama_cpp import llama_chat_format

            eos, bos = llama.token_eos(), llama.token_bos()
            formatter = llama_chat_format.Jinja2ChatFormatter(
                template=template,
                eos_token=_token_text(llama, eos),
                bos_token=_token_text(llama, bos),
                stop_token_ids=[eos],
            )
            rendered = formatter(messages=messages)
            tokens = llama.tokenize(rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True)
            return JsonReply(200, {"input_tokens": len(tokens), "exact": True})
        text = "\n".join(str(m.get("content") or "") for m in messages if isinstance(m, dict))
        return JsonReply(200, {"input_tokens": len(llama.tokenize(text.encode("utf-8"), add_bos=True)), "exact": False})
    except LocalModelError:
        raise
    except Exception as exc:
        raise _generation_error(exc) from None
    finally:
        model.release()


def _chat(body: bytes, owner: object) -> JsonReply | ChatSession:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise _bad(f"the request body is not valid JSON: {exc}") from None
    name, stream, kwargs = chat_arguments(data)
    model = get_model(resolve_model(name))
    model.acquire(owner, name)
    session: ChatSession | None = None
    try:
        result = model.llama.create_chat_completion(model=name, stream=stream, **kwargs)
        if not stream:
            return JsonReply(200, result)
        chunks = iter(result)
        try:
            first = next(chunks)  # the prompt is evaluated here: its errors become an HTTP error, not a broken stream
        except StopIteration:
            raise LocalModelError(500, "server_error", "llama.cpp produced an empty stream") from None
        session = ChatSession(model, chunks, first)
        return session
    except LocalModelError:
        raise
    except Exception as exc:
        raise _generation_error(exc) from None
    finally:
        if session is None:
            model.release()


def _models_list() -> JsonReply:
    return JsonReply(
        200,
        {
            "object": "list",
            "data": [{"id": name, "object": "model", "created": 0, "owned_by": "local"} for name in available_models()],
        },
    )


def handle(method: str, path: str, body: bytes, owner: object) -> JsonReply | ChatSession:
    """Serve one request: ``POST …/chat/completions`` or ``GET …/models``; failures as OpenAI errors."""
    try:
        if path.rstrip("/").endswith("/chat/completions"):
            if method != "POST":
                raise LocalModelError(405, "method_not_allowed", f"{method} is not allowed on {path}: use POST")
            return _chat(body, owner)
        if path.rstrip("/").endswith("/count_tokens"):
            if method != "POST":
                raise LocalModelError(405, "method_not_allowed", f"{method} is not allowed on {path}: use POST")
            return _count_tokens(body, owner)
        if path.rstrip("/").endswith("/models"):
            if method != "GET":
                raise LocalModelError(405, "method_not_allowed", f"{method} is not allowed on {path}: use GET")
            return _models_list()
        raise LocalModelError(404, "not_found", f"the local provider serves chat completions and models, not {path}")
    except LocalModelError as exc:
        return error_reply(exc)
