"""Pre-flight: refuse a chat that cannot fit the model's context window, before any network I/O.

Switched on by ``preflight = true`` (``create_client(preflight=True)``, JSON,
TOML).  In ``on_request`` -- once per call, before the budget and before
anything is sent -- a ``chat``/``chat_stream`` call's prompt is counted
offline with :func:`liter_llm.tokens.count_tokens` (messages and tools;
tiktoken for OpenAI-family models, else the characters/4 estimate) and
compared with the model's context window from :func:`liter_llm.model_info`:

* with ``max_tokens`` (or ``max_completion_tokens``): the prompt plus that
  output must fit;
* without it: the prompt alone must fit.  The provider then answers within
  what is left of the window, so a request it would accept is never refused
  (the model's output limit is often as large as its window, and adding it
  would refuse every prompt).

A call that does not fit raises
:class:`~liter_llm.errors.ContextWindowExceededError` (a ``BadRequestError``).
A model with no known context window, or a prompt the offline counter cannot
read, is not checked (a ``preflight_skipped`` debug log says so).  The count is kept in ``call.state`` under
:data:`PROMPT_TOKENS`; the budget's worst-case reservation uses it in place of
its byte bound when it is exact (an estimate is no upper bound, and a
reservation must be one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from liter_llm._attrs_code import frozen
from liter_llm._attrs_methods import FrozenFields
from liter_llm._log import get_logger
from liter_llm.errors import ContextWindowExceededError
from liter_llm.hookspecs import hookimpl

if TYPE_CHECKING:
    from liter_llm._call import Call

__all__ = ["PROMPT_TOKENS", "Preflight", "PromptCount"]

#: ``call.state`` key of the :class:`PromptCount` the pre-flight check made
PROMPT_TOKENS = "liter_llm.prompt_tokens"


@frozen(repr=False, eq=False)
class PromptCount(FrozenFields):
    """What the pre-flight check counted for one call.

    Attributes:
        tokens: the prompt's tokens (messages and tools).
        exact: whether the count is exact (tiktoken) rather than an estimate.
        method: how it was counted (``TokenCount.method``).
        output_tokens: the output the call asked for (``max_tokens``), or ``None``.
        context_window: the model's context window, or ``None`` when unknown.
    """

    tokens: int
    exact: bool
    method: str
    output_tokens: int | None
    context_window: int | None


def _output_tokens(request: Any) -> int | None:
    for name in ("max_completion_tokens", "max_tokens"):
        value = getattr(request, name, None)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _context_window(call: Call) -> int | None:
    from liter_llm.model_facts import model_info

    names = [call.requested_model]
    if not call.gateway and call.model:
        names.append(f"{call.provider.name}/{call.model}")
    for name in names:
        if name:
            info = model_info(name)
            if info is not None and info.context_window:
                return info.context_window
    return None


class Preflight:
    """The ``preflight`` built-in: the context-window check (see the module docstring)."""

    @hookimpl
    def on_request(self, call: Call) -> None:
        """Count the prompt and refuse the call when it cannot fit the model's context window."""
        if call.operation not in ("chat", "chat_stream"):
            return
        from liter_llm.errors import BadRequestError
        from liter_llm.tokens import count_tokens

        request = call.request
        model = call.model or call.requested_model or ""
        try:
            counted = count_tokens(model, list(request.messages or ()), tools=request.tools or None)
        except BadRequestError as exc:  # a message the offline counter cannot read: the provider judges it
            get_logger().debug("preflight_skipped", model=call.requested_model, reason=f"not counted: {exc.message}")
            return
        output = _output_tokens(request)
        window = _context_window(call)
        call.state[PROMPT_TOKENS] = PromptCount(counted.tokens, counted.exact, counted.method, output, window)
        if window is None:
            get_logger().debug("preflight_skipped", model=call.requested_model, reason="no known context window")
            return
        needed = counted.tokens + (output or 0)
        if needed > window:
            asked = f" plus max_tokens {output}" if output else ""
            raise ContextWindowExceededError(
                f"the prompt ({counted.tokens} tokens, {counted.method}){asked} does not fit the context window "
                f"of {call.requested_model or model} ({window} tokens); nothing was sent",
                provider=call.provider.name,
            )
