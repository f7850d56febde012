"""Hook specifications: the whole contract between the core and its plugins.

A plugin is any object (usually a module) with functions decorated by
:data:`liter_llm.hookimpl` whose names match the hooks below. A hook
implementation may accept any subset of the hook's arguments.

Two kinds of plugin see calls:

* **global plugins** (the core's own defaults and built-ins, contrib plugins,
  and the user hooks given to ``create_client(hooks=[...])``) see every call;
* **provider plugins** (``ProviderSpec.plugin``) see only the calls routed to
  their provider.  The core builds one hook relay per (client, provider) once
  and caches it, so the cost of a call does not grow with the number of
  installed providers.

Order: pluggy calls implementations last-registered first; ``tryfirst`` and
``trylast`` move them.  The core's defaults are ``trylast`` and speak the
OpenAI wire format, so a provider only implements what it does differently.
Provider plugins are registered after global plugins, so their hooks run
before the user's for ``firstresult`` hooks.

pluggy dispatches every hook, so ``@hookimpl(wrapper=True)`` (and the
old-style ``hookwrapper=True``) works on each of them.  To wrap a whole call
-- every hook, every retry, a stream until it ends -- implement
:func:`wrap_call`.

Failures are contained and named (``plugin.hook``, the pluggy name of the
plugin: ``user-hook-0``, ``provider.anthropic``, ``builtin.cache``):

* an exception that is not a :class:`~liter_llm.errors.LiterLlmError` raised
  by ``on_request``, ``check_budget``, ``throttle``, ``build_request``,
  ``auth``, ``stream_decoder``, ``stream_parser``, ``parse_error`` or ``wrap_call`` is a bug in
  that plugin: the caller gets an :class:`~liter_llm.errors.InternalError`
  whose ``hook`` names it, the original chained as ``__cause__`` (never a
  BadRequestError or HookRejectedError blaming the caller); a LiterLlmError
  passes unchanged;
* what ``on_response``, ``on_error``, ``on_attempt`` or ``cached_response`` raise is logged
  (``hook_failed``) and counts as no answer from that implementation: the
  others still run and the caller's result or error is unchanged;
* what ``parse_response``, ``parse_stream_event`` and a stream parser raise besides a
  LiterLlmError is taken as an unreadable answer: SerializationError.

pluggy is synchronous: hooks must not do I/O.  Anything that needs the network
(an OAuth token fetch, request signing) is expressed as an :class:`httpx.Auth`
flow returned by :func:`auth`; the core drives it on the sync or async
transport alike.

Operation names (``call.operation``; ``call.op`` is the operation's row in
:data:`liter_llm.operations.OPERATIONS`, and a test holds this list to it):
``chat``, ``chat_stream``, ``embed``, ``list_models``, ``image_generate``,
``speech``, ``transcribe``, ``moderate``, ``rerank``, ``search``, ``ocr``,
``create_file``, ``retrieve_file``, ``delete_file``, ``list_files``,
``file_content``, ``create_batch``, ``retrieve_batch``, ``list_batches``,
``cancel_batch``, ``create_response``, ``create_response_stream``, ``retrieve_response``,
``cancel_response``, ``count_tokens``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import argparse

    import httpx

    from liter_llm._call import Call
    from liter_llm.config import ClientConfig
    from liter_llm.errors import LiterLlmError
    from liter_llm.providers import ProviderSpec
    from liter_llm.types import ChatCompletionChunk
    from liter_llm.wire import StreamParser

PROJECT_NAME = "liter_llm"

__all__ = ["Effect", "hookimpl", "hookspec"]


class Effect:
    """I/O a ``check_budget``, ``throttle`` or ``cached_response`` implementation asks the core to run.

    Hooks do no I/O themselves; one that must reach a shared store (a Redis
    budget or rate limit) returns an ``Effect`` instead.  The sync client calls
    ``run()``; the async client awaits ``arun()`` on its event loop, so it is
    never blocked.  For ``check_budget`` the effect refuses the call by
    raising (its value is ignored); for ``throttle`` its value is the hook's
    answer (seconds to wait, or ``None``), and for ``cached_response`` the
    cached response or ``None`` (what it raises counts as a miss).  The first
    two may raise a :class:`~liter_llm.errors.LiterLlmError`, which the caller
    gets as it is.
    """

    __slots__ = ("arun", "run")

    def __init__(self, run: Callable[[], Any], arun: Callable[[], Awaitable[Any]]) -> None:
        self.run = run
        self.arun = arun

    def __repr__(self) -> str:
        return f"Effect({getattr(self.run, '__qualname__', self.run)!r})"


hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# ---------------------------------------------------------------------------
# Registration (once per process, when plugins are loaded)
# ---------------------------------------------------------------------------


@hookspec
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    """Declare the providers this plugin serves.

    Called once per process, when the plugin is imported: when the first
    client is created, or, for a plugin that declares its providers in the
    ``liter_llm.providers`` entry point group, when a call first needs one of
    them (see the plugin guide, "Declare your providers").  Call
    ``register(spec)`` for each :class:`~liter_llm.providers.ProviderSpec`.
    A provider that speaks the OpenAI wire format is data alone; one with its
    own protocol sets ``spec.plugin`` to an object whose hooks then see only
    that provider's calls.  Return value ignored.  Raising makes the plugin
    count as broken: a warning names it and the host carries on without it.
    """


@hookspec
def register_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add subcommands to the ``liter-llm`` command line.

    Called once per run of the command line, while it builds its parser,
    for every plugin found through the ``liter_llm`` entry point group.
    ``subparsers`` is the argparse object that holds the commands: add one
    with ``parser = subparsers.add_parser("name", help="...")``, give it its
    arguments, and say what runs it with
    ``parser.set_defaults(handler=function)``; the command line then calls
    ``function(args)`` with the parsed ``argparse.Namespace`` and exits with
    the ``int`` it returns (``None`` means 0).  A ``LiterLlmError`` raised by
    the handler prints one ``error: ...`` line and exits with status 1.
    A name that is already taken (a built-in command or another plugin's)
    is refused with a warning on stderr, as is a plugin whose hook raises;
    the other commands still work.  Return value ignored.
    """


@hookspec(firstresult=True)
def create_transport(provider: ProviderSpec, is_async: bool) -> httpx.BaseTransport | httpx.AsyncBaseTransport | None:
    """Supply the HTTP transport for a provider that is not reached over the network.

    Called once per client per provider, on that provider's first call.  Return
    an ``httpx.BaseTransport`` (``is_async`` false) or ``httpx.AsyncBaseTransport``
    (``is_async`` true) to serve the provider in process (the ``local`` plugin
    runs a model this way), or ``None`` for the client's pooled network
    transport.  firstresult.
    """


@hookspec
def takes_part(config: ClientConfig) -> bool | None:
    """Say whether this global plugin takes part in the calls of a client created with ``config``.

    Asked once per client, when it is created, of each global plugin found
    through the ``liter_llm`` entry point group that implements it; each
    plugin's own answer decides for that plugin alone.  Return ``False`` and
    none of the plugin's per-call hooks (``wrap_call`` to ``on_error``) runs
    for that client's calls: a plugin that does something only when the
    configuration asks for it (tracing, recording) then costs the calls of
    every other client nothing, not even a hook that returns at once.
    ``True`` or ``None`` (and a plugin that does not implement this hook):
    it takes part.  Answer from the configuration only (``config.plugins``
    holds the ``[plugins.<name>]`` tables); leave validating it to the
    per-call hooks, which raise where the call can report it: an exception
    raised here fails the client's creation.  Not asked of provider plugins
    or of ``create_client(hooks=[...])``.
    """


# ---------------------------------------------------------------------------
# Around the whole call
# ---------------------------------------------------------------------------


@hookspec
def wrap_call(call: Call) -> Generator[None, Any, None] | None:
    """Wrap one whole call, from before ``on_request`` to its outcome (pytest's ``runtest_protocol`` pattern).

    For tracing, metrics, timing and logging.  Write it as a generator with
    exactly one ``yield``, or return one (or ``None`` to stay out of this
    call).  The core calls the hook once per call, right after routing
    (``call.provider`` and ``call.model`` are set; with ``fallbacks`` each
    model tried is a call of its own), and runs every returned generator to
    its ``yield`` before anything else; the call then runs -- every hook,
    every retry (``call.attempt`` counts them), on the sync and the async
    client alike -- and the core resumes the generators, innermost
    (last-started) first:

    * **success**: ``yield`` returns the typed response (a cache hit too,
      with ``call.cache_hit`` true).  For ``chat_stream`` it returns when the
      stream *ends*: the caller has read it to its normal end, and the value
      is the assembled :class:`~liter_llm.types.ChatCompletionResponse`.
    * **failure**: the :class:`~liter_llm.errors.LiterLlmError` the caller
      gets is raised at the ``yield`` (a stream's failure part-way too, a
      :class:`~liter_llm.errors.StreamingError` carrying its chunks).  Let it
      propagate (or catch it and return: it still reaches the caller).
    * **no outcome**: a stream the caller closes (or drops) before its end,
      or a call that is cancelled: the generator is closed (``GeneratorExit``
      at the ``yield``; use ``try``/``finally``).

    ``on_response`` / ``on_error`` have run by then.  A wrapper observes: it
    cannot replace the result or the error, and what it raises (or a second
    ``yield``) after its ``yield`` is logged (``hook_failed``) and ignored.
    Before its ``yield`` it may refuse the call by raising a LiterLlmError
    (a :class:`~liter_llm.errors.HookRejectedError` is told its name), which
    the caller gets with nothing sent; any other exception there is an
    :class:`~liter_llm.errors.InternalError` naming it.  No I/O: it runs on
    the event loop of the async client.

    (A pluggy ``wrapper=True`` implementation of this hook wraps only the
    moment the core collects the generators, like on any other hook.)
    The core's ``logging`` built-in is written on this hook.
    """


@hookspec
def wrap_fallback(call: Call) -> Generator[None, Any, None] | None:
    """Wrap all the models one client call may try, when it may try more than one.

    A call may try several models: a router alias with several targets
    (``models``), then the ``fallbacks``; each model tried is a call of its
    own, with its own :func:`wrap_call`.  This hook wraps the group, for a
    tracing span that holds one span per model tried, say.  It is called once
    per client call that has such a group, with the :class:`~liter_llm.Call`
    of the first model the core could prepare (``call.fallback`` is the
    :class:`~liter_llm.Fallback`: its ``models`` and a ``state`` shared by the
    group's calls; ``call.fallback_index`` that call's place), just before
    that call's own ``wrap_call``.  Write it as a generator with exactly one
    ``yield`` (or return one, or ``None`` to stay out).  It is resumed once,
    with what the caller gets:

    * **success**: ``yield`` returns the typed response of the model that
      answered (a stream: the assembled response when the stream ends);
    * **failure**: the error the caller gets is raised at the ``yield``: the
      last model's, with ``attempts`` (every ``(model, error)`` tried);
    * **no outcome**: a stream closed before its end, or a cancelled call:
      the generator is closed (``GeneratorExit``).

    Every ``wrap_call`` of the group has ended by then.  The rules of
    :func:`wrap_call` apply: it observes (what it raises after its
    ``yield`` is logged and ignored); before its ``yield`` a LiterLlmError
    refuses the whole call; no I/O.  A call with a single model (no
    ``fallbacks``, no alias) never calls it.
    """


# ---------------------------------------------------------------------------
# Before the request is sent
# ---------------------------------------------------------------------------


@hookspec
def on_request(call: Call) -> None:
    """Inspect a call before anything is sent; veto it by raising.

    Runs once per call (not per retry), after routing.  Raise
    :class:`~liter_llm.errors.HookRejectedError` to refuse the call: nothing
    goes to the network and the caller gets that error (its ``hook`` names
    the implementation).  Any other LiterLlmError is raised as it is; any
    other exception is a bug: an InternalError naming the hook.  Return
    value ignored.
    """


@hookspec
def check_budget(call: Call) -> Effect | None:
    """Refuse a call that would break a budget, by raising BudgetExceededError.

    Runs after :func:`on_request`, once per call.  Return ``None``, or an
    :class:`Effect` when the check needs I/O (a budget kept in Redis): the core
    runs it (awaits it on the async client) before going on.
    """


@hookspec(firstresult=True)
def cached_response(call: Call) -> Any | Effect | None:
    """Answer a call from a cache.

    Runs after the budget check.  Return the typed response to skip the
    network entirely (``on_response`` still runs, with ``call.cache_hit``
    true), or ``None`` for a miss, or an :class:`Effect` whose value is one of
    those (a look-up the async client awaits).  Streams are never answered from a cache.
    An implementation that raises (a cache backend's outage) is logged and
    counts as a miss: a cache never fails a call.  firstresult.
    """


@hookspec(firstresult=True)
def throttle(call: Call) -> float | Effect | None:
    """Say how long a call must wait before it may be sent (client-side rate limits).

    Return seconds to wait, or ``None``/``0`` to go now, or an :class:`Effect`
    whose value is that answer (a window kept in Redis).  The core sleeps (on
    the async client without blocking the event loop) and asks again, until
    the call's deadline; past it the call fails with RateLimitedError.
    firstresult.
    """


@hookspec(firstresult=True)
def build_request(call: Call) -> httpx.Request | None:
    """Translate the typed request into the HTTP request for the provider.

    Return an ``httpx.Request`` (method, URL from ``call.base_url``, headers,
    body).  Do not add credentials here: :func:`auth` does that on every
    attempt.  Raise :class:`~liter_llm.errors.BadRequestError` for a parameter
    the provider cannot express, or EndpointNotSupportedError.  Return
    ``None`` for an operation this plugin does not build: the core's trylast
    default then builds it in the OpenAI wire format, but only for a
    provider that speaks it (``ProviderSpec.openai_wire``, true for a
    provider without a plugin); for any other provider the call fails with
    EndpointNotSupportedError before anything is sent.  firstresult.
    """


@hookspec(firstresult=True)
def auth(call: Call, request: httpx.Request) -> httpx.Auth | None:
    """Return the ``httpx.Auth`` that authenticates one attempt of the call.

    Called before every attempt (so a refreshed token or a fresh signature is
    used on a retry).  The flow may add headers, sign the final body (AWS
    SigV4), or fetch and cache an OAuth token; the same flow serves the sync
    and the async client.  The core's trylast default sends
    ``call.api_key`` the way ``call.provider.auth`` says (bearer, a custom
    header, or nothing).  firstresult.
    """


@hookspec(firstresult=True)
def stream_decoder(call: Call) -> Any | None:
    """Return the framing decoder for a streamed answer.

    The object must offer ``feed(data: bytes) -> Iterable[event]`` and
    ``close() -> Iterable[event]`` (called at end of input; it raises
    StreamingError for a truncated frame).  The core's default is the
    :class:`~liter_llm.sse.SSEDecoder`; a provider with binary framing (AWS
    EventStream) returns its own.  Each event goes to
    :func:`parse_stream_event`.  firstresult.
    """


# ---------------------------------------------------------------------------
# After the answer arrives
# ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def parse_response(call: Call, response: httpx.Response) -> Any:
    """Turn a successful (2xx) HTTP answer into the operation's typed response.

    ``response`` has been read in full.  Raise
    :class:`~liter_llm.errors.SerializationError` for a body that cannot be
    decoded (it is not retried: the answer was served and billed).  The
    core's trylast default reads the OpenAI wire format.  firstresult.
    """


@hookspec(firstresult=True)
def parse_error(call: Call, response: httpx.Response) -> LiterLlmError | None:
    """Turn an error (non-2xx) HTTP answer into a LiterLlmError, returned (not raised).

    ``response`` has been read in full, streamed calls included.  Return
    ``None`` to leave it to the core's mapping
    (:func:`liter_llm.errors.error_from_response`).  firstresult.
    """


@hookspec(firstresult=True)
def stream_parser(call: Call) -> StreamParser | None:
    """Return the stateful parser of one streamed answer, or ``None`` to use :func:`parse_stream_event`.

    Called once per stream, when its answer starts (after the 2xx status),
    for a provider whose stream events only make sense together (Anthropic's
    content blocks, Gemini's and Bedrock's tool-call assembly): the
    translator lives in the returned object for the life of the stream, never
    in ``call.state``.  The object follows
    :class:`liter_llm.wire.StreamParser`: the core passes every event of the
    :func:`stream_decoder` to its ``feed(event)`` and calls its ``finish()``
    once at the end of the input; each returns the chunks to hand to the
    caller.  It sets ``call.stream_complete = True`` on the provider's
    end-of-stream event and raises the mapped LiterLlmError for an error
    event, exactly as :func:`parse_stream_event` does; what else it raises
    is taken as an unreadable answer (SerializationError).  When a parser is
    returned, :func:`parse_stream_event` is not called for that stream.
    Return a new object on every call.  firstresult.
    """


@hookspec(firstresult=True)
def parse_stream_event(call: Call, event: Any) -> Sequence[ChatCompletionChunk] | None:
    """Turn one stream event into zero or more chunks (a stateless parser; see :func:`stream_parser`).

    Return a list (empty to skip the event, e.g. a keep-alive ``ping``), or
    ``None`` for no opinion.  Set ``call.stream_complete = True`` when the
    event marks the normal end of the stream (``[DONE]``, ``message_stop``):
    a stream whose connection ends before that raises StreamingError carrying
    the chunks received.  Raise the mapped LiterLlmError for an error event.
    firstresult.
    """


@hookspec
def on_attempt(call: Call, status: int | None, error: LiterLlmError | None) -> None:
    """See the outcome of each HTTP attempt, right after it and before any retry wait.

    Called once per attempt that was sent (``call.attempt`` is its number: 0,
    then 1, 2, ... on retries), on the sync and the async client alike:

    * ``status``: the HTTP status of the answer, or ``None`` when there was no
      answer (a connection error, a timeout);
    * ``error``: the :class:`~liter_llm.errors.LiterLlmError` the attempt
      amounts to (mapped, key scrubbed), or ``None`` for a 2xx answer (its
      headers have arrived; the body is read after this hook, and a stream's
      chunks later still).

    It runs before the core decides to retry and before the backoff sleep,
    so a plugin that times attempts (a tracing span per attempt) ends each
    one here and the wait is in none of them.  For timing, read
    ``call.clock`` (the client's clock).  What it raises is logged
    (``hook_failed``) and ignored; it cannot change the outcome.  No I/O.
    Return value ignored.
    """


@hookspec
def on_response(call: Call, response: Any) -> None:
    """See every successful result (a stream: the assembled response at its end).

    For cost tracking, the budget ledger, cache storage, logging and metrics.
    An exception raised here is logged and does not change the result.
    Return value ignored.
    """


@hookspec
def on_error(call: Call, error: LiterLlmError) -> None:
    """See every failed call, with the error the caller is about to receive.

    An exception raised here is logged and never masks the original error.
    Return value ignored.
    """
