"""The call object that flows through every hook."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from liter_llm._attrs_code import define
from liter_llm._attrs_methods import Shown
from liter_llm.clock import SYSTEM_CLOCK
from liter_llm.operations import OPERATIONS, Operation

if TYPE_CHECKING:
    from liter_llm._secret import SecretStr
    from liter_llm.clock import Clock
    from liter_llm.config import ClientConfig
    from liter_llm.providers import ProviderSpec

__all__ = ["Call", "Fallback"]


@define(kw_only=True, repr=False, eq=False)
class Fallback(Shown):
    """The models one client call may try in turn (public as ``liter_llm.Fallback``).

    A call gets one when it may try more than one model: a router alias with
    several targets, or ``fallbacks``.  Every :class:`Call` of the group
    holds the same object (``call.fallback``) and its own place in it
    (``call.fallback_index``); the :func:`~liter_llm.hookspecs.wrap_fallback`
    hook wraps the whole group.

    Attributes:
        models: every model the call may try, in order (targets and fallbacks as configured).
        state: a scratchpad shared by the hooks of the group's calls (use keys named after your package).
    """

    models: tuple[str, ...]
    state: dict[str, Any] = attrs.field(factory=dict, repr=False)
    #: whether the group's wrap_fallback generators were started (the core's, not for plugins)
    _started: bool = attrs.field(default=False, init=False, repr=False)


@define(kw_only=True, repr=False, eq=False)
class Call(Shown):
    """One client call on its way through the pipeline (public as ``liter_llm.Call``).

    Every hook receives it.  What a hook may change, and nothing else:

    * ``state``, by any hook: a scratchpad shared by the hooks of one call
      (use keys named after your package).  One key of the core's is for
      provider plugins: ``"liter_llm.pricing_model"``, set in
      ``build_request`` to the model name the call is priced as when the
      wire model is not one (an Azure deployment: ``"azure/gpt-4o"``);
      and one the core sets for ``wrap_call`` generators:
      ``"liter_llm.partial_response"``, the response assembled from the
      chunks a stream had received when the caller closed it before its end
      (set just before the generators are closed);
    * ``stream_complete``, by ``parse_stream_event``, on the provider's
      end-of-stream event;
    * ``api_key``, by ``auth``, to supply a key the provider finds itself
      (its own environment variables).

    Every other field is set by the core and read-only to hooks.

    Attributes:
        operation: the client method (``"chat"``, ``"chat_stream"``, ``"embed"``, ...).
        op: the operation's row in :data:`liter_llm.operations.OPERATIONS` (its
            endpoint family, types, whether it streams...); set from ``operation``.
        provider: the provider the call was routed to.
        model: the model name as it goes on the wire (routing prefix removed),
            or ``None`` for operations without a model (files, batches by id).
        requested_model: the model string as the caller wrote it.
        request: the typed request object, or ``None``.
        params: operation arguments that are not a request body
            (``{"file_id": ...}``, list queries).
        base_url: the resolved base URL for this call, without a trailing slash.
        api_key: the key for this call (a redacted holder), or ``None``.
        config: the client's configuration.
        is_async: whether the async client made the call.
        gateway: true when the client talks to one OpenAI-compatible gateway
            (a client ``base_url`` without ``model_hint``).
        attempt: 0 for the first attempt, then 1, 2, ... on retries.
        state: per-call scratchpad for plugins.
        cache_hit: true when ``cached_response`` answered the call.
        stream_complete: set by ``parse_stream_event`` at the normal end of a stream.
        started: ``time.monotonic()`` at the start of the call.
        deadline: ``time.monotonic()`` by which the whole call must end, or ``None``.
        clock: the client's :class:`~liter_llm.clock.Clock` (``create_client(clock=...)``); the
            ``*_chunk_at`` times below are its ``monotonic()`` readings, so a plugin that measures
            against them reads the same clock.
        first_chunk_at: a stream's time of its first chunk (the clock's reading when the bytes
            that held it arrived), or ``None`` before it (and for calls that do not stream).
        last_chunk_at: a stream's time of its latest chunk so far, or ``None``.
        chunk_count: how many chunks the stream has produced so far.
        fallback: the :class:`Fallback` group of the models this client call may try, or ``None``
            when it tries one model only.
        fallback_index: this call's place in ``fallback.models`` (0 without a group).
    """

    operation: str
    op: Operation[Any, Any] = attrs.field(
        default=attrs.Factory(lambda self: OPERATIONS[self.operation], takes_self=True), repr=False
    )
    provider: ProviderSpec
    model: str | None
    requested_model: str | None
    request: Any
    params: dict[str, Any] = attrs.field(factory=dict)
    base_url: str
    api_key: SecretStr | None = attrs.field(default=None, repr=False)
    config: ClientConfig = attrs.field(repr=False)
    is_async: bool = False
    gateway: bool = False
    attempt: int = 0
    state: dict[str, Any] = attrs.field(factory=dict, repr=False)
    cache_hit: bool = False
    stream_complete: bool = False
    started: float = 0.0
    deadline: float | None = None
    clock: Clock = attrs.field(default=SYSTEM_CLOCK, repr=False)
    first_chunk_at: float | None = None
    last_chunk_at: float | None = None
    chunk_count: int = 0
    fallback: Fallback | None = attrs.field(default=None, repr=False)
    fallback_index: int = 0
    #: the running ``wrap_call`` generators (the core's, not for plugins)
    _wrappers: list[Any] = attrs.field(factory=list, init=False, repr=False)

    @property
    def stream(self) -> bool:
        """Whether this call streams its answer."""
        return self.op.stream
