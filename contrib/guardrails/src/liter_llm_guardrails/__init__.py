"""Ready-made request guardrails for liter-llm: ``on_request`` plugins that refuse calls before they are sent.

Importing this package activates nothing.  Pass the guards you want to a
client::

    import liter_llm
    from liter_llm_guardrails import AllowList, DenyPatterns, MaxPromptSize, UserQuota

    client = liter_llm.create_client(
        hooks=[
            AllowList(models=["gpt-4o*"], providers=["openai"]),
            MaxPromptSize(max_chars=20_000, max_tokens=4_000),
            DenyPatterns(),  # API keys and card numbers
            UserQuota(max_requests=100, window_seconds=3600),
        ]
    )

or build them from the ``[guardrails]`` table of a TOML file with
:func:`load` (or from a mapping with :func:`from_config`).

Each guard raises :class:`~liter_llm.errors.HookRejectedError` with
``hook="guardrails.<name>"`` and a ``reason``; nothing goes to the network.
A reason never quotes the text that matched a deny pattern.
"""

from __future__ import annotations

import fnmatch
import math
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from liter_llm.errors import BadRequestError, HookRejectedError
from liter_llm.hookspecs import hookimpl

if TYPE_CHECKING:
    from liter_llm import Call

__all__ = [
    "BUILTIN_PATTERNS",
    "AllowList",
    "DenyPatterns",
    "MaxPromptSize",
    "UserQuota",
    "count_tokens",
    "from_config",
    "load",
    "luhn_valid",
    "request_text",
]

__version__ = "0.1.0"


def _reject(call: Call, name: str, reason: str) -> HookRejectedError:
    return HookRejectedError(
        f"guardrails.{name} refused the call: {reason}",
        hook=f"guardrails.{name}",
        reason=reason,
        provider=call.provider.name,
    )


# ---------------------------------------------------------------------------
# Text of a request
# ---------------------------------------------------------------------------


def _collect(value: Any, out: list[str]) -> None:
    if value is None:
        return
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                out.append(item)
            else:
                text = getattr(item, "text", None)
                if isinstance(text, str):
                    out.append(text)


def request_text(request: Any) -> str:
    """Every piece of text a request sends: message contents and tool-call arguments,
    or the ``input`` / ``prompt`` / ``query`` of other operations."""
    out: list[str] = []
    for message in getattr(request, "messages", None) or ():
        _collect(getattr(message, "content", None), out)
        for tool_call in getattr(message, "tool_calls", None) or ():
            arguments = getattr(getattr(tool_call, "function", None), "arguments", None)
            if isinstance(arguments, str):
                out.append(arguments)
    for name in ("input", "prompt", "query", "instructions"):
        _collect(getattr(request, name, None), out)
    return "\n".join(out)


# ---------------------------------------------------------------------------
# Allow-list
# ---------------------------------------------------------------------------


class AllowList:
    """Allow only some models and/or providers (``hook="guardrails.allow_list"``).

    ``models`` are matched against the model as called (``"openai/gpt-4o"``),
    as ``provider/model`` and as the bare model, with shell-style wildcards
    (``"gpt-4o*"``).  ``providers`` are provider names.  With both, a call
    must pass both.  Calls without a model (files, batches) are checked
    against ``providers`` only.
    """

    name = "allow_list"

    def __init__(self, models: Iterable[str] | None = None, providers: Iterable[str] | None = None) -> None:
        self.models = tuple(models) if models is not None else None
        self.providers = frozenset(providers) if providers is not None else None
        if self.models is None and self.providers is None:
            raise BadRequestError("AllowList: give models, providers, or both")

    def _model_allowed(self, call: Call) -> bool:
        assert self.models is not None
        names = {call.requested_model, call.model, f"{call.provider.name}/{call.model}"} - {None}
        return any(fnmatch.fnmatchcase(name, pattern) for name in names for pattern in self.models if name)

    @hookimpl
    def on_request(self, call: Call) -> None:
        """Refuse a call to a provider or model that is not on the list."""
        if self.providers is not None and call.provider.name not in self.providers:
            raise _reject(call, self.name, f"provider {call.provider.name!r} is not allowed")
        if self.models is not None and call.model is not None and not self._model_allowed(call):
            raise _reject(call, self.name, f"model {call.requested_model or call.model!r} is not allowed")


# ---------------------------------------------------------------------------
# Prompt size
# ---------------------------------------------------------------------------


def _tiktoken_counter(encoding: Any) -> tuple[Callable[[str], int], str] | None:
    """A counter from a tiktoken encoding (an ``Encoding`` object, or a name tiktoken can load)."""
    if encoding is None:
        return None
    if not isinstance(encoding, str):
        enc = encoding
        if not callable(getattr(enc, "encode", None)):
            raise BadRequestError("MaxPromptSize: encoding must be a name, a tiktoken Encoding, or None")
    else:
        try:
            import tiktoken
        except ImportError:
            return None
        try:
            enc = tiktoken.get_encoding(encoding)
        except Exception:  # unknown encoding, or the BPE file cannot be fetched: fall back
            return None
    name = getattr(enc, "name", None) or "custom"
    return (lambda text: len(enc.encode(text, disallowed_special=()))), f"tiktoken:{name}"


def count_tokens(text: str) -> int:
    """Tokens in ``text`` by the characters / 4 rule (rounded up): what ``MaxPromptSize`` uses without tiktoken."""
    return math.ceil(len(text) / 4)


class MaxPromptSize:
    """Refuse prompts above ``max_chars`` characters and/or ``max_tokens`` tokens (``guardrails.max_prompt``).

    Tokens are counted with tiktoken (``encoding``, default ``cl100k_base``)
    when it is installed and its encoding can be loaded -- it is loaded once,
    when the guard is built -- and otherwise estimated as characters / 4.
    ``encoding`` may also be a ready ``tiktoken.Encoding`` (one built from a
    local file, say: nothing is fetched then), or ``None`` for the
    characters / 4 rule alone.  ``counter`` replaces both with your own function.
    """

    name = "max_prompt"

    def __init__(
        self,
        max_chars: int | None = None,
        max_tokens: int | None = None,
        *,
        encoding: Any = "cl100k_base",
        counter: Callable[[str], int] | None = None,
    ) -> None:
        if max_chars is None and max_tokens is None:
            raise BadRequestError("MaxPromptSize: give max_chars, max_tokens, or both")
        for label, value in (("max_chars", max_chars), ("max_tokens", max_tokens)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise BadRequestError(f"MaxPromptSize: {label} must be a positive integer")
        self.max_chars = max_chars
        self.max_tokens = max_tokens
        self.counter: Callable[[str], int] = count_tokens
        self.tokenizer = "characters/4"
        if counter is not None:
            self.counter, self.tokenizer = counter, "custom"
        elif max_tokens is not None:
            found = _tiktoken_counter(encoding)
            if found is not None:
                self.counter, self.tokenizer = found

    @hookimpl
    def on_request(self, call: Call) -> None:
        """Refuse a prompt that is too long."""
        if call.request is None:
            return
        text = request_text(call.request)
        if self.max_chars is not None and len(text) > self.max_chars:
            raise _reject(call, self.name, f"the prompt has {len(text)} characters; the limit is {self.max_chars}")
        if self.max_tokens is not None and len(text) > self.max_tokens:  # fewer characters cannot be more tokens
            tokens = self.counter(text)
            if tokens > self.max_tokens:
                raise _reject(
                    call,
                    self.name,
                    f"the prompt has about {tokens} tokens ({self.tokenizer}); the limit is {self.max_tokens}",
                )


# ---------------------------------------------------------------------------
# Deny patterns
# ---------------------------------------------------------------------------


def luhn_valid(number: str) -> bool:
    """Whether the digits of ``number`` (spaces and dashes ignored) pass the Luhn check."""
    digits = [int(c) for c in number if c.isdigit()]
    if len(digits) < 12:
        return False
    total = 0
    for index, digit in enumerate(reversed(digits)):
        value = digit * 2 if index % 2 == 1 else digit
        total += value - 9 if value > 9 else value
    return total % 10 == 0


#: Ready patterns: common API key and token formats, private keys, and card
#: numbers (``credit_card`` matches 13-19 digits, spaces or dashes allowed, that
#: pass the Luhn check).
BUILTIN_PATTERNS: dict[str, str] = {
    "anthropic_key": r"\bsk-ant-[A-Za-z0-9_\-]{20,}",
    "openai_key": r"\bsk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}",
    "aws_access_key_id": r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    "github_token": r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
    "google_api_key": r"\bAIza[0-9A-Za-z_\-]{35}",
    "slack_token": r"\bxox[abposr]-[A-Za-z0-9\-]{10,}",
    "stripe_key": r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}",
    "private_key": r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----",
    "credit_card": r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])",
}

_VALIDATORS: dict[str, Callable[[str], bool]] = {"credit_card": luhn_valid}


class DenyPatterns:
    """Refuse calls whose text matches a regular expression (``guardrails.deny_patterns``).

    ``patterns`` maps a name to a regular expression (a string or a compiled
    pattern); ``builtin`` names entries of :data:`BUILTIN_PATTERNS` (``True``:
    all of them).  With neither, all built-in patterns are used.  The reason
    names the pattern, never the matched text.  ``flags`` apply to string
    patterns.
    """

    name = "deny_patterns"

    def __init__(
        self,
        patterns: Mapping[str, str | re.Pattern[str]] | None = None,
        *,
        builtin: Iterable[str] | bool | None = None,
        flags: int = 0,
    ) -> None:
        if builtin is None:
            builtin = patterns is None
        names = list(BUILTIN_PATTERNS) if builtin is True else list(builtin or ())
        unknown = [name for name in names if name not in BUILTIN_PATTERNS]
        if unknown:
            raise BadRequestError(
                f"DenyPatterns: unknown built-in pattern(s) {', '.join(unknown)}; known: {', '.join(BUILTIN_PATTERNS)}"
            )
        compiled: list[tuple[str, re.Pattern[str], Callable[[str], bool] | None]] = []
        for name in names:
            compiled.append((name, re.compile(BUILTIN_PATTERNS[name]), _VALIDATORS.get(name)))
        for name, pattern in (patterns or {}).items():
            try:
                regex = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern, flags)
            except re.error as exc:
                raise BadRequestError(
                    f"DenyPatterns: pattern {name!r} is not a valid regular expression: {exc}"
                ) from None
            compiled.append((name, regex, None))
        if not compiled:
            raise BadRequestError("DenyPatterns: no patterns")
        self.patterns = compiled

    def first_match(self, text: str) -> str | None:
        """The name of the first pattern that matches ``text``, or ``None``."""
        for name, regex, validate in self.patterns:
            if validate is None:
                if regex.search(text):
                    return name
            elif any(validate(m.group(0)) for m in regex.finditer(text)):
                return name
        return None

    @hookimpl
    def on_request(self, call: Call) -> None:
        """Refuse a call whose text matches a pattern."""
        if call.request is None:
            return
        found = self.first_match(request_text(call.request))
        if found is not None:
            raise _reject(call, self.name, f"the request text matches the deny pattern {found!r}")


# ---------------------------------------------------------------------------
# Per-user quota
# ---------------------------------------------------------------------------


class UserQuota:
    """At most ``max_requests`` calls per user in any ``window_seconds`` (``guardrails.user_quota``).

    The user is the request's ``user`` field (chat, embeddings, images).
    Calls without one pass, unless ``require_user`` is true.  A call counts
    when this guard admits it; it runs after the other guards (``trylast``),
    so calls they refuse do not use up the quota.
    """

    name = "user_quota"

    def __init__(
        self,
        max_requests: int,
        window_seconds: float = 60.0,
        *,
        require_user: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(max_requests, bool) or not isinstance(max_requests, int) or max_requests < 1:
            raise BadRequestError("UserQuota: max_requests must be a positive integer")
        if isinstance(window_seconds, bool) or not isinstance(window_seconds, (int, float)) or window_seconds <= 0:
            raise BadRequestError("UserQuota: window_seconds must be a positive number")
        self.max_requests = max_requests
        self.window_seconds = float(window_seconds)
        self.require_user = require_user
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}

    @hookimpl(trylast=True)
    def on_request(self, call: Call) -> None:
        """Refuse a user's call once their quota for the window is used up."""
        user = getattr(call.request, "user", None)
        if not user:
            if self.require_user:
                raise _reject(call, self.name, "the request names no user")
            return
        with self._lock:
            now = self._clock()
            times = self._seen.setdefault(user, deque())
            horizon = now - self.window_seconds
            while times and times[0] <= horizon:
                times.popleft()
            if len(times) >= self.max_requests:
                wait = times[0] + self.window_seconds - now
                error = _reject(
                    call,
                    self.name,
                    f"user {user!r} has used {self.max_requests} requests in {self.window_seconds:g} s "
                    f"(next in {wait:.1f} s)",
                )
                error.retry_after = wait
                raise error
            times.append(now)

    def reset(self) -> None:
        """Forget every user's calls."""
        with self._lock:
            self._seen.clear()


# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------

_FIELDS: dict[str, tuple[str, ...]] = {
    "allow_list": ("models", "providers"),
    "max_prompt": ("max_chars", "max_tokens", "encoding"),
    "deny_patterns": ("builtin", "patterns"),
    "user_quota": ("max_requests", "window_seconds", "require_user"),
}


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise BadRequestError(f"{where}: expected a table, got {type(value).__name__}")
    return value


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise BadRequestError(f"{where}: expected a list of non-empty strings")
    return list(value)


def from_config(mapping: Mapping[str, Any]) -> list[Any]:
    """Build guards from a ``[guardrails]`` table (already decoded).

    Recognised sub-tables: ``allow_list`` (``models``, ``providers``),
    ``max_prompt`` (``max_chars``, ``max_tokens``, ``encoding``),
    ``deny_patterns`` (``builtin``: true or a list of names; ``patterns``: a
    table of name = regex), ``user_quota`` (``max_requests``,
    ``window_seconds``, ``require_user``).  Each present and not ``enabled =
    false`` gives a guard, in that order.

    Raises:
        BadRequestError: an unknown table or field, or a wrong value, named by its path.
    """
    config = _table(mapping, "guardrails")
    for key in config:
        if key not in _FIELDS:
            raise BadRequestError(f"guardrails.{key}: unknown guard; known: {', '.join(_FIELDS)}")
    guards: list[Any] = []
    for name, fields in _FIELDS.items():
        if name not in config:
            continue
        where = f"guardrails.{name}"
        table = dict(_table(config[name], where))
        enabled = table.pop("enabled", True)
        if not isinstance(enabled, bool):
            raise BadRequestError(f"{where}.enabled: expected a boolean")
        for key in table:
            if key not in fields:
                raise BadRequestError(f"{where}.{key}: unknown field; known: enabled, {', '.join(fields)}")
        if not enabled:
            continue
        try:
            guards.append(_build(name, table, where))
        except BadRequestError as exc:
            if exc.message.startswith(where):
                raise
            raise BadRequestError(f"{where}: {exc.message}") from None
        except TypeError as exc:
            raise BadRequestError(f"{where}: {exc}") from None
    return guards


def _build(name: str, table: dict[str, Any], where: str) -> Any:
    if name == "allow_list":
        return AllowList(
            models=_strings(table["models"], f"{where}.models") if "models" in table else None,
            providers=_strings(table["providers"], f"{where}.providers") if "providers" in table else None,
        )
    if name == "max_prompt":
        encoding = table.get("encoding", "cl100k_base")
        if not isinstance(encoding, str):
            raise BadRequestError(f"{where}.encoding: expected a string")
        return MaxPromptSize(table.get("max_chars"), table.get("max_tokens"), encoding=encoding)
    if name == "deny_patterns":
        builtin = table.get("builtin")
        if builtin is not None and not isinstance(builtin, bool):
            builtin = _strings(builtin, f"{where}.builtin")
        patterns = table.get("patterns")
        if patterns is not None:
            patterns = dict(_table(patterns, f"{where}.patterns"))
            for key, value in patterns.items():
                if not isinstance(value, str):
                    raise BadRequestError(f"{where}.patterns.{key}: expected a regular expression string")
        return DenyPatterns(patterns, builtin=builtin)
    require_user = table.get("require_user", False)
    if not isinstance(require_user, bool):
        raise BadRequestError(f"{where}.require_user: expected a boolean")
    if "max_requests" not in table:
        raise BadRequestError(f"{where}.max_requests: required")
    return UserQuota(table["max_requests"], table.get("window_seconds", 60.0), require_user=require_user)


def load(path: str | Path) -> list[Any]:
    """Read the ``[guardrails]`` table of a TOML file and build its guards.

    A file without a ``[guardrails]`` table gives no guards.  ``liter-llm.toml``
    itself cannot hold the table (the core rejects unknown top-level fields),
    so keep it in a file of its own, such as ``guardrails.toml`` (see
    docs/guardrails.md).

    Raises:
        BadRequestError: the file cannot be read or is not valid TOML, or the table is invalid.
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise BadRequestError(f"{path}: cannot read the guardrails configuration: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadRequestError(f"{path}: not valid TOML: {exc}") from None
    section = data.get("guardrails")
    if section is None:
        return []
    try:
        return from_config(section)
    except BadRequestError as exc:
        raise BadRequestError(f"{path}: {exc.message}") from None
