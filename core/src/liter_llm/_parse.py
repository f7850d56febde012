"""The logic ``client.parse``/``parse_stream`` share between the two clients (no I/O here).

One :class:`ParseSession` per call: it builds each attempt's request, reads an
answer into an :class:`~liter_llm.structured.Attempt`, and writes the repair
turn.  The clients only send the requests (sync or async).

Mechanism: every attempt asks with ``response_format``
``{"type": "json_schema", ..., "strict": true}`` (``strict`` when the schema is
strict-compatible), and the provider the call reaches maps it to its
strongest form: OpenAI/Azure and Mistral send it as it is, Gemini as
``responseSchema``, Anthropic and Bedrock as a forced tool whose input comes
back as the content, Cohere as its JSON mode with the schema, the local model
as a JSON grammar, and an OpenAI-compatible provider by its declared
``ProviderSpec.structured_output`` (``json_object``: JSON mode with the schema
in the system prompt; ``prompt``: the schema in the system prompt).  The
mapping happens per request, so a fallback to a provider with another
mechanism gets that provider's form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from liter_llm import types as t
from liter_llm.errors import BadRequestError, StructuredOutputError, StructuredOutputRefusalError
from liter_llm.structured import Attempt, OutputSpec, ParsedChatCompletion

_RESERVED = ("response_format", "stream", "tool_choice")


def _plain(value: Any) -> Any:
    from liter_llm.client import _plain as plain

    return plain(value)


class ParseSession:
    """One ``parse`` call: the spec, the conversation so far, and the attempts made."""

    def __init__(  # noqa: PLR0917 - the call's own arguments, passed once by each client
        self,
        pipeline: Any,
        model: str,
        messages: Any,
        output_type: Any,
        max_repairs: int,
        options: Mapping[str, Any],
    ) -> None:
        if isinstance(max_repairs, bool) or not isinstance(max_repairs, int) or max_repairs < 0:
            raise BadRequestError("max_repairs: must be a non-negative integer")
        if output_type is None:
            raise BadRequestError("output_type: a type is required (an attrs class, a dataclass, a TypedDict, ...)")
        for key in _RESERVED:
            if key in options:
                raise BadRequestError(f"{key}: parse sets it itself; leave it out")
        if not isinstance(messages, (list, tuple)) or not messages:
            raise BadRequestError("messages: a non-empty list of messages is required")
        self.spec = OutputSpec(output_type)
        self.model = model
        self.messages: list[Any] = [_plain(m) for m in messages]
        self.options = dict(options)
        self.max_repairs = max_repairs
        self.attempts: list[Attempt] = []
        pipeline.route(model)  # an unknown provider prefix fails here, before any request

    # -- requests ---------------------------------------------------------------
    def request(self) -> dict[str, Any]:
        """The next attempt's chat request (keyword arguments of ``client.chat``)."""
        body: dict[str, Any] = {**self.options, "model": self.model, "messages": list(self.messages)}
        fmt: dict[str, Any] = {"name": self.spec.name, "schema": self.spec.schema}
        if self.spec.strict_ok:
            fmt["strict"] = True
        if self.spec.description:
            fmt["description"] = self.spec.description
        body["response_format"] = {"type": "json_schema", "json_schema": fmt}
        return body

    # -- answers ----------------------------------------------------------------
    def text_of(self, response: t.ChatCompletionResponse) -> tuple[str, str | None]:
        """The answer's JSON text and the refusal, if the model refused."""
        if not response.choices:
            return "", None
        choice = response.choices[0]
        message = choice.message
        if message.refusal:
            return "", message.refusal
        if choice.finish_reason == t.FinishReason.CONTENT_FILTER:
            return "", "the provider's content filter stopped the answer"
        for call in message.tool_calls:
            if call.function.name == self.spec.name:
                return call.function.arguments or "", None
        content = message.content
        if isinstance(content, list):
            content = "".join(getattr(part, "text", "") for part in content)
        return content or "", None

    def evaluate(self, response: t.ChatCompletionResponse) -> ParsedChatCompletion[Any] | None:
        """Read one answer: the result when it is valid, else ``None`` (a repair is due).

        Raises:
            StructuredOutputRefusalError: the model refused (no repair).
            StructuredOutputError: the answer is invalid and no repair is left.
        """
        raw, refusal = self.text_of(response)
        if refusal is not None:
            self.attempts.append(Attempt(raw=raw, response=response, refusal=refusal))
            raise StructuredOutputRefusalError(
                f"the model refused: {refusal}", refusal=refusal, attempts=tuple(self.attempts)
            )
        value, problems = self.spec.check(raw)
        self.attempts.append(Attempt(raw=raw, errors=tuple(str(p) for p in problems), response=response))
        if not problems:
            return ParsedChatCompletion(parsed=value, response=response, attempts=tuple(self.attempts))
        if len(self.attempts) > self.max_repairs:
            listing = "; ".join(str(p) for p in problems[:5])
            raise StructuredOutputError(
                f"no valid {self.spec.name} after {len(self.attempts)} attempt(s): {listing}",
                attempts=tuple(self.attempts),
                problems=problems,
            )
        self.messages.append({"role": "assistant", "content": raw or "(no answer)"})
        self.messages.append({"role": "user", "content": self.repair_text(problems)})
        return None

    def repair_text(self, problems: list[Any]) -> str:
        """The repair turn: the validation errors by path, and the ask to answer again."""
        lines = "\n".join(f"- {p}" for p in problems[:20])
        return (
            "Your answer does not match the required JSON schema:\n"
            f"{lines}\n"
            "Answer again with only the corrected JSON object, nothing else."
        )

    def stream_text(self, chunk: t.ChatCompletionChunk) -> str:
        """The JSON text a stream chunk adds (content, or a tool call's arguments from a provider that answers so)."""
        out: list[str] = []
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            delta = choice.delta
            if delta.content:
                out.append(delta.content)
            out.extend(call.function.arguments or "" for call in delta.tool_calls if call.function)
        return "".join(out)
