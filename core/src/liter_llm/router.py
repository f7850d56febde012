"""The model router: aliases with several deployments, picked by a strategy (see docs/routing.md).

A client configured with ``models`` (``[[models]]`` in ``liter-llm.toml``)
answers a call whose model is an alias name by choosing one of the alias's
*targets* (a model string, with an optional key and base URL of its own) by
the alias's strategy; a transient failure of that target falls over to the
alias's other targets, then to the client's ``fallbacks``.

This module holds the configuration types (:class:`ModelAlias`,
:class:`RouteTarget`; the configuration's converter validates them, by the field types
:mod:`liter_llm.config` gives them, and :func:`parse_models` calls it), the routing decision
(:class:`Router`) and the read-only view a client shows as
``client.router`` (:class:`RouterView`).  The call flow
(:func:`liter_llm._flow.call_flow`) asks the router for the order in
which to try an alias's targets and tells it when a call to a target starts,
ends and how long it took.

Strategies (``strategy = ...``):

``"weighted"`` (the default)
    one draw of the client's random number generator (``rng.random()``, a
    number in [0, 1)) times the sum of the weights picks the target whose
    cumulative weight interval holds it (targets in their listed order); the
    others follow by descending weight, ties in listed order.
``"least-busy"``
    the target with the fewest calls in flight *in this client* first, ties
    by descending weight, then listed order; the others follow in that same
    order.
``"lowest-latency"``
    targets without a measurement first (fewest in flight, then listed
    order), then measured targets by ascending latency estimate (ties in
    listed order).  The estimate is an exponentially weighted moving average
    (``estimate = 0.3 * sample + 0.7 * estimate``, the first sample taken as
    it is) of the successful calls' latencies, measured on the client's clock.
``"round-robin"``
    the targets in listed order, each call starting one further than the last.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from liter_llm._attrs_code import frozen
from liter_llm._attrs_methods import FrozenFields
from liter_llm._secret import SecretStr
from liter_llm.errors import BadRequestError, LiterLlmError

__all__ = [
    "DEFAULT_STRATEGY",
    "LATENCY_ALPHA",
    "ROUTE_STATE_KEY",
    "STRATEGIES",
    "ModelAlias",
    "Random",
    "Route",
    "RouteTarget",
    "Router",
    "RouterView",
    "TargetStats",
    "models_to_dict",
    "parse_models",
]

#: The routing strategies an alias may name.
STRATEGIES = ("weighted", "least-busy", "lowest-latency", "round-robin")
DEFAULT_STRATEGY = "weighted"
#: The weight of a new latency sample in the ``lowest-latency`` estimate.
LATENCY_ALPHA = 0.3
#: The key of ``call.state`` that holds the :class:`Route` of a routed call.
ROUTE_STATE_KEY = "liter_llm.route"

_REDACTED = "***"


@runtime_checkable
class Random(Protocol):
    """What the ``weighted`` strategy needs of a random number generator (``random.Random`` is one)."""

    def random(self) -> float:
        """A number in [0, 1)."""
        ...


@frozen(kw_only=True, repr=False, eq=False)
class RouteTarget(FrozenFields):
    """One deployment of an alias: a model string, with an optional key and base URL of its own.

    Attributes:
        model: the model as it would be written in a call (``"openai/gpt-4o-mini"``).
        weight: the target's share in the ``weighted`` strategy (greater than 0).
        api_key: a key sent to this target only (never to another target,
            provider or fallback); ``None``: the key the client would use
            for ``model`` (see docs/routing.md, "Keys").
        base_url: the address of this target's provider API; ``None``: the
            address the client would use for ``model``.
        id: the target's name in cooldowns, statistics and errors (unique in
            its alias; by default ``"<alias>[<index>]"``).
    """

    model: str
    weight: float = 1.0
    api_key: SecretStr | None = attrs.field(default=None, repr=False)
    base_url: str | None = None
    id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The target as a configuration table (the key kept as its :class:`SecretStr`)."""
        table: dict[str, Any] = {"model": self.model, "weight": self.weight}
        if self.api_key is not None:
            table["api_key"] = self.api_key
        if self.base_url is not None:
            table["base_url"] = self.base_url
        if self.id is not None:
            table["id"] = self.id
        return table


@frozen(kw_only=True, repr=False, eq=False)
class ModelAlias(FrozenFields):
    """A model alias (``[[models]]``): a name, a strategy and its targets (each with its ``id`` set)."""

    name: str
    strategy: str = DEFAULT_STRATEGY
    targets: tuple[RouteTarget, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The alias as a configuration table (keys kept as :class:`SecretStr`)."""
        return {"name": self.name, "strategy": self.strategy, "targets": [t.to_dict() for t in self.targets]}


@frozen(kw_only=True, repr=False, eq=False)
class Route(FrozenFields):
    """Which target a routed call went to (in ``call.state["liter_llm.route"]`` and on errors as ``.route``)."""

    alias: str
    target: str
    index: int
    model: str
    #: the target has an ``api_key`` of its own (``call.api_key``): a provider plugin that finds keys itself uses it
    own_key: bool = False
    #: the target has a ``base_url`` of its own (``call.base_url``): a provider plugin sends the call there
    own_base_url: bool = False


@frozen(kw_only=True, repr=False, eq=False)
class TargetStats(FrozenFields):
    """What the router knows of one target (from :meth:`RouterView.stats`).

    Attributes:
        alias: the alias the target belongs to.
        id: the target's id.
        model: the target's model string.
        weight: the target's weight.
        in_flight: calls to this target running in this client now (a stream
            counts until it ends or is closed).
        latency: the latency estimate in seconds, or ``None`` before the
            first successful call.
        samples: the number of latencies measured.
    """

    alias: str
    id: str
    model: str
    weight: float
    in_flight: int
    latency: float | None
    samples: int


def _fail(path: str, problem: str) -> BadRequestError:
    return BadRequestError(f"{path}: {problem}")


def parse_models(raw: Any, path: str = "models") -> list[ModelAlias]:
    """Validate the ``models`` field (a list of alias tables, or :class:`ModelAlias` objects).

    The configuration's converter does it (:func:`liter_llm.config.parse_config`; the rules are its field
    types): unknown fields, a missing or empty ``name``/``model``, a duplicate alias name or target id,
    an unknown ``strategy``, an empty ``targets`` list, a weight that is not a finite number greater than
    0, a base URL that is not http(s), and a target whose model is an alias are refused.  The checks
    against the installed providers (an alias named like a provider) are made when a client is created
    (:class:`Router`).

    Raises:
        BadRequestError: the message starts with the field's path (``models[0].targets[1].weight: ...``)
            and never shows a key.
    """
    from liter_llm.config import parse_config

    try:
        return parse_config({"models": raw}, env={}).models
    except BadRequestError as exc:
        raise BadRequestError(exc.message.removeprefix("config: ").replace("models", path, 1)) from None


def models_to_dict(models: Sequence[ModelAlias]) -> list[dict[str, Any]]:
    """The ``models`` field for display (``liter-llm config check``): keys shown as ``"***"``."""
    shown: list[dict[str, Any]] = []
    for alias in models:
        table = alias.to_dict()
        for target in table["targets"]:
            if "api_key" in target:
                target["api_key"] = _REDACTED
        shown.append(table)
    return shown


# ---------------------------------------------------------------------------
# The routing decision
# ---------------------------------------------------------------------------


class _Stats:
    __slots__ = ("in_flight", "latency", "samples")

    def __init__(self) -> None:
        self.in_flight = 0
        self.latency: float | None = None
        self.samples = 0


class Router:
    """The routing decision of one client: the order of an alias's targets, in-flight counts and latencies.

    Thread-safe: the sync client may be shared by threads, and the async
    client's tasks run on one loop.  ``rng`` draws the ``weighted`` choice;
    the call flow measures latencies on the client's clock and reports them
    (:meth:`observe`).
    """

    def __init__(self, models: Sequence[ModelAlias], *, rng: Random | None = None) -> None:
        if rng is not None and not callable(getattr(rng, "random", None)):
            raise BadRequestError("rng: expected an object with a random() method (a random.Random)")
        self.aliases: dict[str, ModelAlias] = {alias.name: alias for alias in models}
        self.rng: Random = rng if rng is not None else random.Random()
        self._lock = threading.Lock()
        self._stats: dict[tuple[str, str], _Stats] = {
            (alias.name, str(target.id)): _Stats() for alias in models for target in alias.targets
        }
        self._turns: dict[str, int] = {}

    def check(self, providers: Sequence[str], resolve: Any) -> None:
        """Refuse an alias named like a provider (``"openai"``, ``"openai/fast"``) and a target ``resolve`` refuses.

        ``resolve(model)`` is the client's routing of a model string (it
        raises for an unknown ``provider/`` prefix).
        """
        names = set(providers)
        for index, alias in enumerate(self.aliases.values()):
            head, slash, _ = alias.name.partition("/")
            if alias.name in names or (slash and head in names):
                raise _fail(
                    f"models[{index}].name",
                    f"{alias.name!r} would shadow the provider {head!r} ({head}/...); "
                    "choose a name without that prefix",
                )
            for position, target in enumerate(alias.targets):
                try:
                    resolve(target.model)
                except LiterLlmError as exc:
                    raise _fail(f"models[{index}].targets[{position}].model", exc.message) from None

    def get(self, name: str | None) -> ModelAlias | None:
        """The alias called ``name``, or ``None``."""
        return self.aliases.get(name) if isinstance(name, str) else None

    def order(self, alias: ModelAlias) -> list[tuple[int, RouteTarget]]:
        """The alias's targets, as ``(index, target)``, in the order to try them (the chosen one first)."""
        indexed = list(enumerate(alias.targets))
        if len(indexed) == 1:
            return indexed
        strategy = alias.strategy
        if strategy == "round-robin":
            with self._lock:
                turn = self._turns.get(alias.name, 0)
                self._turns[alias.name] = (turn + 1) % len(indexed)
            return indexed[turn:] + indexed[:turn]
        by_weight = sorted(indexed, key=lambda item: (-item[1].weight, item[0]))
        if strategy == "weighted":
            draw = float(self.rng.random())
            if not 0.0 <= draw < 1.0 or math.isnan(draw):
                raise BadRequestError(f"rng: random() returned {draw!r}, not a number in [0, 1)")
            point = draw * sum(target.weight for _, target in indexed)
            chosen = indexed[-1]
            running = 0.0
            for item in indexed:
                running += item[1].weight
                if point < running:
                    chosen = item
                    break
            return [chosen, *(item for item in by_weight if item is not chosen)]
        with self._lock:
            stats = {index: self._stats[(alias.name, str(target.id))] for index, target in indexed}
            busy = {index: stats[index].in_flight for index, _ in indexed}
            latency = {index: stats[index].latency for index, _ in indexed}
        if strategy == "least-busy":
            return sorted(indexed, key=lambda item: (busy[item[0]], -item[1].weight, item[0]))
        # lowest-latency
        unmeasured = sorted(
            (item for item in indexed if latency[item[0]] is None), key=lambda item: (busy[item[0]], item[0])
        )
        measured = sorted(
            (item for item in indexed if latency[item[0]] is not None),
            key=lambda item: (latency[item[0]], item[0]),
        )
        return unmeasured + measured

    def started(self, route: Route) -> None:
        """A call to ``route``'s target has started."""
        with self._lock:
            self._stats[(route.alias, route.target)].in_flight += 1

    def finished(self, route: Route) -> None:
        """A call to ``route``'s target has ended (in any way)."""
        with self._lock:
            stats = self._stats[(route.alias, route.target)]
            stats.in_flight = max(0, stats.in_flight - 1)

    def observe(self, route: Route, seconds: float) -> None:
        """Add a successful call's latency to the target's estimate."""
        if not math.isfinite(seconds) or seconds < 0:
            return
        with self._lock:
            stats = self._stats[(route.alias, route.target)]
            old = stats.latency
            stats.latency = seconds if old is None else LATENCY_ALPHA * seconds + (1 - LATENCY_ALPHA) * old
            stats.samples += 1

    def tracker(self, route: Route) -> Iterator[None]:
        """A ``wrap_call``-style generator that counts the call in flight until it ends."""
        self.started(route)
        try:
            yield
        finally:
            self.finished(route)

    def stats(self, alias: str | None = None) -> list[TargetStats]:
        """One :class:`TargetStats` per target (of ``alias``, or of every alias), in listed order."""
        result: list[TargetStats] = []
        with self._lock:
            for model in self.aliases.values():
                if alias is not None and model.name != alias:
                    continue
                for target in model.targets:
                    stats = self._stats[(model.name, str(target.id))]
                    result.append(
                        TargetStats(
                            alias=model.name,
                            id=str(target.id),
                            model=target.model,
                            weight=target.weight,
                            in_flight=stats.in_flight,
                            latency=stats.latency,
                            samples=stats.samples,
                        )
                    )
        return result


class RouterView:
    """``client.router``: the aliases of a client and what its router knows of each target (read-only)."""

    __slots__ = ("_router",)

    def __init__(self, router: Router) -> None:
        self._router = router

    @property
    def aliases(self) -> Mapping[str, ModelAlias]:
        """The configured aliases by name."""
        return dict(self._router.aliases)

    def targets(self, alias: str) -> tuple[RouteTarget, ...]:
        """The targets of ``alias`` (``BadRequestError`` for an unknown alias)."""
        model = self._router.get(alias)
        if model is None:
            raise BadRequestError(f"unknown model alias {alias!r}")
        return model.targets

    def stats(self, alias: str | None = None) -> list[TargetStats]:
        """In-flight counts and latency estimates, one :class:`TargetStats` per target."""
        if alias is not None and self._router.get(alias) is None:
            raise BadRequestError(f"unknown model alias {alias!r}")
        return self._router.stats(alias)

    def __repr__(self) -> str:
        return f"RouterView(aliases={sorted(self._router.aliases)!r})"
