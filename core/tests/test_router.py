"""The model router (``models``): strategies, failover, cooldowns, keys, streams and validation, both clients."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import threading
from typing import Any

import httpx
import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

import liter_llm
from liter_llm.clock import ManualClock
from liter_llm.errors import (
    AuthenticationError,
    BadRequestError,
    ServiceUnavailableError,
    StreamingError,
)
from liter_llm.router import ROUTE_STATE_KEY, Route

BASE = S.BASE
MESSAGES = S.MESSAGES
CLIENT_KEY = "sk-client-key-0001"


class ScriptedRng:
    """``random()`` returns the scripted values in turn."""

    def __init__(self, values: list[float]) -> None:
        self.values = list(values)

    def random(self) -> float:
        return self.values.pop(0)


class Server:
    """An OpenAI-format upstream that records (url, authorization, model) and fails the models it is told to."""

    def __init__(self, failing: dict[str, str] | None = None, clock: ManualClock | None = None) -> None:
        self.failing = failing or {}
        self.seen: list[tuple[str, str | None, str]] = []
        self.clock = clock
        self.latency: dict[str, float] = {}

    @property
    def models(self) -> list[str]:
        return [model for _, _, model in self.seen]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        model = body["model"]
        self.seen.append((str(request.url), request.headers.get("authorization"), model))
        if self.clock is not None:
            self.clock.advance(self.latency.get(model, 0.0))
        kind = self.failing.get(model)
        if kind is not None:
            return failure(kind, request)
        return S.openai_response(model, f"from {model}", stream=bool(body.get("stream")))


def failure(kind: str, request: httpx.Request) -> httpx.Response:
    if kind in ("429", "500", "503", "400", "401"):
        return httpx.Response(int(kind), json={"error": {"message": f"status {kind}", "type": "x"}})
    if kind == "timeout":
        raise httpx.ReadTimeout("timed out", request=request)
    if kind == "connect":
        raise httpx.ConnectError("connection refused", request=request)
    raise AssertionError(kind)


def alias(strategy: str = "weighted", *targets: dict[str, Any], name: str = "fast") -> dict[str, Any]:
    return {"name": name, "strategy": strategy, "targets": list(targets)}


ABC = ({"model": "openai/a"}, {"model": "openai/b"}, {"model": "openai/c"})


def client(mode: str, handler: Any, models: list[dict[str, Any]], **options: Any) -> S.Api:
    settings: dict[str, Any] = {
        "api_key": CLIENT_KEY,
        "base_url": BASE,
        "model_hint": "openai",
        "transport": httpx.MockTransport(handler),
        "max_retries": 0,
        "retry_initial_delay": 0.001,
        "models": models,
        **options,
    }
    return S.Api(mode, **settings)


# ---------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------


def test_weighted_splits_calls_exactly_by_weight_with_a_scripted_rng(mode: str) -> None:
    server = Server()
    draws = [i / 100 for i in range(100)]
    models = [alias("weighted", {"model": "openai/a", "weight": 3}, {"model": "openai/b", "weight": 1})]
    with client(mode, server, models, rng=ScriptedRng(draws)) as api:
        for _ in range(100):
            api.chat(model="fast", messages=MESSAGES)
    assert server.models.count("a") == 75
    assert server.models.count("b") == 25
    assert server.models[:76] == ["a"] * 75 + ["b"]  # draws below 0.75 pick a, the others b


def test_weighted_with_a_seeded_rng_is_reproducible(mode: str) -> None:
    import random

    runs = []
    for _ in range(2):
        server = Server()
        with client(mode, server, [alias("weighted", *ABC)], rng=random.Random(7)) as api:
            for _ in range(30):
                api.chat(model="fast", messages=MESSAGES)
        runs.append(server.models)
    assert runs[0] == runs[1]
    assert set(runs[0]) == {"a", "b", "c"}


def test_round_robin_rotates(mode: str) -> None:
    server = Server()
    with client(mode, server, [alias("round-robin", *ABC)]) as api:
        for _ in range(5):
            api.chat(model="fast", messages=MESSAGES)
    assert server.models == ["a", "b", "c", "a", "b"]


def test_lowest_latency_measures_on_the_clients_clock(mode: str) -> None:
    clock = ManualClock()
    server = Server(clock=clock)
    server.latency = {"a": 2.0, "b": 0.5, "c": 1.0}
    with client(mode, server, [alias("lowest-latency", *ABC)], clock=clock) as api:
        for _ in range(3):  # the unmeasured targets first, in listed order
            api.chat(model="fast", messages=MESSAGES)
        assert server.models == ["a", "b", "c"]
        stats = {s.id: s for s in api.client.router.stats("fast")}
        assert [stats[t].latency for t in ("fast[0]", "fast[1]", "fast[2]")] == [2.0, 0.5, 1.0]
        api.chat(model="fast", messages=MESSAGES)
        assert server.models[-1] == "b"  # the fastest
        server.latency["b"] = 3.0
        api.chat(model="fast", messages=MESSAGES)  # b again, now slow: 0.3 * 3 + 0.7 * 0.5
        assert server.models[-1] == "b"
        assert api.client.router.stats("fast")[1].latency == pytest.approx(1.25)
        assert api.client.router.stats("fast")[1].samples == 3
        api.chat(model="fast", messages=MESSAGES)
        assert server.models[-1] == "c"  # 1.0 < 1.25 < 2.0


def test_lowest_latency_ignores_failures_and_cache_hits(mode: str) -> None:
    clock = ManualClock()
    server = Server({"a": "503"}, clock=clock)
    server.latency = {"a": 0.1, "b": 5.0}
    models = [alias("lowest-latency", {"model": "openai/a"}, {"model": "openai/b"})]
    with client(mode, server, models, clock=clock, cache={"max_entries": 10}) as api:
        api.chat(model="fast", messages=MESSAGES)  # a fails fast, b answers
        api.chat(model="fast", messages=MESSAGES)  # a is still unmeasured: tried first again
        stats = api.client.router.stats("fast")
    assert server.models == ["a", "b", "a"]  # the second answer came from the cache (b's)
    assert (stats[0].latency, stats[0].samples) == (None, 0)
    assert (stats[1].latency, stats[1].samples) == (5.0, 1)


def test_least_busy_with_threads_held_by_an_event() -> None:
    arrived: list[str] = []
    release = threading.Event()
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        model = json.loads(request.content)["model"]
        with lock:
            arrived.append(model)
        if model in ("a", "b"):
            assert release.wait(60)
        return S.openai_response(model, model)

    results: list[str] = []
    api = client("sync", handler, [alias("least-busy", *ABC)])
    threads = []
    for expected in (1, 2):
        thread = threading.Thread(
            target=lambda: results.append(api.chat(model="fast", messages=MESSAGES).choices[0].message.content)
        )
        thread.start()
        threads.append(thread)
        assert S.wait_until(lambda n=expected: len(arrived) == n, 30)
    busy = {s.id: s.in_flight for s in api.client.router.stats()}
    assert busy == {"fast[0]": 1, "fast[1]": 1, "fast[2]": 0}
    results.append(api.chat(model="fast", messages=MESSAGES).choices[0].message.content)  # c: the idle one
    release.set()
    for thread in threads:
        thread.join(60)
    assert all(s.in_flight == 0 for s in api.client.router.stats())
    api.chat(model="fast", messages=MESSAGES)  # all idle again: the first listed
    api.close()
    assert arrived == ["a", "b", "c", "a"]
    assert sorted(results) == ["a", "b", "c"]


def test_least_busy_with_tasks_held_by_an_event() -> None:
    async def main() -> None:
        release = asyncio.Event()
        arrived: list[str] = []
        arrivals: asyncio.Queue[str] = asyncio.Queue()

        async def handler(request: httpx.Request) -> httpx.Response:
            model = json.loads(request.content)["model"]
            arrived.append(model)
            arrivals.put_nowait(model)
            if model in ("a", "b"):
                await asyncio.wait_for(release.wait(), 60)
            return S.openai_response(model, model)

        async with liter_llm.create_async_client(
            api_key=CLIENT_KEY,
            base_url=BASE,
            model_hint="openai",
            transport=httpx.MockTransport(handler),
            max_retries=0,
            models=[alias("least-busy", *ABC)],
        ) as api:
            first = asyncio.ensure_future(api.chat(model="fast", messages=MESSAGES))
            await asyncio.wait_for(arrivals.get(), 30)
            second = asyncio.ensure_future(api.chat(model="fast", messages=MESSAGES))
            await asyncio.wait_for(arrivals.get(), 30)
            assert [s.in_flight for s in api.router.stats("fast")] == [1, 1, 0]
            third = await api.chat(model="fast", messages=MESSAGES)
            await arrivals.get()
            assert third.choices[0].message.content == "c"
            release.set()
            answers = await asyncio.gather(first, second)
            assert [a.choices[0].message.content for a in answers] == ["a", "b"]
            assert [s.in_flight for s in api.router.stats("fast")] == [0, 0, 0]
            # a cancelled call is not in flight any more
            release.clear()
            held = asyncio.ensure_future(api.chat(model="fast", messages=MESSAGES))
            await asyncio.wait_for(arrivals.get(), 30)
            assert api.router.stats("fast")[0].in_flight == 1
            held.cancel()
            with pytest.raises(asyncio.CancelledError):
                await held
            assert [s.in_flight for s in api.router.stats("fast")] == [0, 0, 0]
        assert arrived == ["a", "b", "c", "a"]

    asyncio.run(main())


def test_least_busy_counts_an_open_stream_until_it_is_closed(mode: str) -> None:
    server = Server()
    models = [alias("least-busy", {"model": "openai/a"}, {"model": "openai/b"})]
    with client(mode, server, models) as api:
        stream = api.stream(model="fast", messages=MESSAGES)
        assert [s.in_flight for s in api.client.router.stats()] == [1, 0]
        api.chat(model="fast", messages=MESSAGES)
        stream.close()
        assert [s.in_flight for s in api.client.router.stats()] == [0, 0]
        api.chat(model="fast", messages=MESSAGES)
        api.collect(model="fast", messages=MESSAGES)  # read to its end: no longer in flight
        assert [s.in_flight for s in api.client.router.stats()] == [0, 0]
    assert server.models == ["a", "b", "a", "a"]


# ---------------------------------------------------------------------------
# Failover
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["429", "500", "503", "timeout", "connect"])
def test_a_transient_failure_falls_over_to_the_next_target(mode: str, kind: str) -> None:
    server = Server({"b": kind})
    models = [alias("weighted", {"model": "openai/a", "weight": 1}, {"model": "openai/b", "weight": 5})]
    with client(mode, server, models, rng=ScriptedRng([0.9])) as api:
        answer = api.chat(model="fast", messages=MESSAGES)
    assert answer.choices[0].message.content == "from a"
    assert server.models == ["b", "a"]  # b drawn (0.9 * 6 >= 1), then the rest by weight


@pytest.mark.parametrize(("kind", "error"), [("400", BadRequestError), ("401", AuthenticationError)])
def test_no_failover_on_a_bad_request_or_a_bad_key(mode: str, kind: str, error: type[Exception]) -> None:
    server = Server({"a": kind})
    with client(mode, server, [alias("round-robin", *ABC)], fallbacks=["openai/z"]) as api:
        with pytest.raises(error) as info:
            api.chat(model="fast", messages=MESSAGES)
    assert server.models == ["a"]
    assert info.value.route == Route(alias="fast", target="fast[0]", index=0, model="openai/a")  # type: ignore[attr-defined]


def test_fallbacks_apply_after_the_targets_and_attempts_name_each(mode: str) -> None:
    server = Server({"a": "503", "b": "429", "c": "500", "z": "503"})
    with client(mode, server, [alias("round-robin", *ABC)], fallbacks=["openai/z"]) as api:
        with pytest.raises(ServiceUnavailableError) as info:
            api.chat(model="fast", messages=MESSAGES)
    assert server.models == ["a", "b", "c", "z"]
    attempts = [(model, type(error).__name__) for model, error in info.value.attempts]  # type: ignore[attr-defined]
    assert attempts == [
        ("openai/a", "ServiceUnavailableError"),
        ("openai/b", "RateLimitedError"),
        ("openai/c", "ServerError"),
        ("openai/z", "ServiceUnavailableError"),
    ]
    routes = [getattr(error, "route", None) for _, error in info.value.attempts]  # type: ignore[attr-defined]
    assert [r.target if r else None for r in routes] == ["fast[0]", "fast[1]", "fast[2]", None]
    assert "tried 4 models" in str(info.value)


def test_a_fallback_may_be_an_alias(mode: str) -> None:
    server = Server({"a": "503"})
    models = [alias("round-robin", {"model": "openai/a"}), alias("round-robin", {"model": "openai/b"}, name="spare")]
    with client(mode, server, models, fallbacks=["spare"]) as api:
        assert api.chat(model="fast", messages=MESSAGES).choices[0].message.content == "from b"
    assert server.models == ["a", "b"]


def test_the_route_is_in_call_state_for_hooks(mode: str) -> None:
    seen: list[Any] = []

    class Hook:
        @liter_llm.hookimpl
        def on_response(self, call: Any, response: Any) -> None:
            seen.append((call.state.get(ROUTE_STATE_KEY), call.requested_model, call.model, call.provider.name))

    server = Server({"a": "503"})
    with client(mode, server, [alias("round-robin", *ABC)], hooks=[Hook()]) as api:
        api.chat(model="fast", messages=MESSAGES)
    assert seen == [(Route(alias="fast", target="fast[1]", index=1, model="openai/b"), "openai/b", "b", "openai")]


def test_an_operation_without_failover_uses_the_chosen_target_only(mode: str) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content)["model"])
        return httpx.Response(503, json={"error": {"message": "down"}})

    with client(mode, handler, [alias("round-robin", *ABC)]) as api:
        with pytest.raises(ServiceUnavailableError):
            api.moderate(model="fast", input="hello")
    assert seen == ["a"]


# ---------------------------------------------------------------------------
# Cooldowns
# ---------------------------------------------------------------------------


def test_a_cooled_down_target_is_skipped_without_a_request(mode: str) -> None:
    clock = ManualClock()
    server = Server({"a": "503"})
    models = [alias("weighted", {"model": "openai/a", "weight": 9}, {"model": "openai/b", "weight": 1})]
    with client(mode, server, models, clock=clock, cooldown_secs=30, rng=ScriptedRng([0.0] * 6)) as api:
        for _ in range(3):  # three failures of a in a row: a cools down
            assert api.chat(model="fast", messages=MESSAGES).choices[0].message.content == "from b"
        assert server.models == ["a", "b"] * 3
        api.chat(model="fast", messages=MESSAGES)
        assert server.models[6:] == ["b"]  # a skipped, nothing sent to it
        cooldown = api.client.builtins["cooldown"]
        assert cooldown.cooling("target:fast/fast[0]") == pytest.approx(30.0)
        assert cooldown.cooling("openai") == 0.0  # per target: the provider is not cooled
        clock.advance(31)
        server.failing = {}
        api.chat(model="fast", messages=MESSAGES)
        assert server.models[7:] == ["a"]


def test_every_target_cooling_gives_a_cooldown_error_with_attempts(mode: str) -> None:
    server = Server({"a": "503", "b": "503"})
    models = [alias("round-robin", {"model": "openai/a"}, {"model": "openai/b"})]
    with client(mode, server, models, cooldown_secs=30) as api:
        for _ in range(3):
            with pytest.raises(ServiceUnavailableError):
                api.chat(model="fast", messages=MESSAGES)
        sent = len(server.seen)
        with pytest.raises(ServiceUnavailableError) as info:
            api.chat(model="fast", messages=MESSAGES)
    assert len(server.seen) == sent
    assert [error.code for _, error in info.value.attempts] == ["cooldown", "cooldown"]  # type: ignore[attr-defined]
    assert "target fast[" in str(info.value)


# ---------------------------------------------------------------------------
# Keys: a target's key goes to that target only
# ---------------------------------------------------------------------------


def test_each_target_gets_its_own_key_and_base_url(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    server = Server({"a": "503", "b": "503", "c": "503"})
    models = [
        alias(
            "round-robin",
            {"model": "openai/a"},
            {"model": "openai/b", "api_key": "sk-target-b-0002", "base_url": "http://127.0.0.1:9/b/v1"},
            {"model": "openai/c", "api_key": "sk-target-c-0003"},
        )
    ]
    with client(mode, server, models, fallbacks=["openai/d"]) as api:
        api.chat(model="fast", messages=MESSAGES)
    assert server.seen == [
        (f"{BASE}/chat/completions", f"Bearer {CLIENT_KEY}", "a"),
        ("http://127.0.0.1:9/b/v1/chat/completions", "Bearer sk-target-b-0002", "b"),
        (f"{BASE}/chat/completions", "Bearer sk-target-c-0003", "c"),
        (f"{BASE}/chat/completions", f"Bearer {CLIENT_KEY}", "d"),
    ]


def test_a_target_at_its_own_address_never_gets_the_clients_key(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    server = Server()
    models = [alias("round-robin", {"model": "openai/a", "base_url": "http://127.0.0.1:9/elsewhere"})]
    with client(mode, server, models) as api:
        with pytest.raises(AuthenticationError) as info:
            api.chat(model="fast", messages=MESSAGES)
    assert server.seen == []
    assert "fast[0]" in str(info.value)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-env-04")
    with client(mode, server, models) as api:
        api.chat(model="fast", messages=MESSAGES)
    assert server.seen == [("http://127.0.0.1:9/elsewhere/chat/completions", "Bearer sk-from-the-env-04", "a")]


def test_a_key_echoed_in_an_error_is_scrubbed(mode: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": {"message": f"bad key {request.headers['authorization']}"}})

    models = [alias("round-robin", {"model": "openai/a", "api_key": "sk-target-secret-05"})]
    with client(mode, handler, models) as api:
        with pytest.raises(BadRequestError) as info:
            api.chat(model="fast", messages=MESSAGES)
        assert "sk-target-secret-05" not in repr(api.client.config)
        assert "sk-target-secret-05" not in repr(api.client.router.targets("fast"))
    assert "sk-target-secret-05" not in str(info.value)
    assert "sk-target-secret-05" not in (info.value.body or "")


# ---------------------------------------------------------------------------
# Streams
# ---------------------------------------------------------------------------


def test_a_stream_falls_over_before_its_first_chunk(mode: str) -> None:
    server = Server({"a": "503"})
    with client(mode, server, [alias("round-robin", *ABC)]) as api:
        chunks = api.collect(model="fast", messages=MESSAGES)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "from b"
    assert server.models == ["a", "b"]


def test_a_stream_that_breaks_after_its_first_chunk_is_not_retried_elsewhere(mode: str) -> None:
    seen: list[str] = []

    def body() -> Any:
        yield S.chunk_event("hel")
        raise httpx.ReadError("connection reset")

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content)["model"])
        return httpx.Response(200, content=body(), headers={"content-type": "text/event-stream"})

    def async_handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content)["model"])

        async def abody() -> Any:
            yield S.chunk_event("hel")
            raise httpx.ReadError("connection reset")

        return httpx.Response(200, content=abody(), headers={"content-type": "text/event-stream"})

    with client(mode, handler if mode == "sync" else async_handler, [alias("round-robin", *ABC)]) as api:
        with pytest.raises(StreamingError):
            api.collect(model="fast", messages=MESSAGES)
        assert [s.in_flight for s in api.client.router.stats()] == [0, 0, 0]
    assert seen == ["a"]


# ---------------------------------------------------------------------------
# Configuration and validation
# ---------------------------------------------------------------------------


def test_the_same_aliases_from_toml_json_and_keywords(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTER_TEST_KEY", "sk-from-env-0006")
    toml = tmp_path / "liter-llm.toml"
    toml.write_text(
        """
[[models]]
name = "fast"
strategy = "lowest-latency"
targets = [
  { model = "openai/gpt-4o-mini", weight = 3 },
  { model = "openai/gpt-4o", weight = 1, api_key = "${ROUTER_TEST_KEY}", base_url = "https://x.example.test" },
]
"""
    )
    document = {
        "models": [
            {
                "name": "fast",
                "strategy": "lowest-latency",
                "targets": [
                    {"model": "openai/gpt-4o-mini", "weight": 3},
                    {
                        "model": "openai/gpt-4o",
                        "weight": 1,
                        "api_key": "${ROUTER_TEST_KEY}",
                        "base_url": "https://x.example.test",
                    },
                ],
            }
        ]
    }
    with (
        liter_llm.create_client_from_file(str(toml)) as one,
        liter_llm.create_client_from_json(json.dumps(document)) as two,
        liter_llm.create_client(models=document["models"]) as three,
    ):
        assert one.config.models == two.config.models == three.config.models
        target = one.router.targets("fast")[1]
        assert target.api_key is not None
        assert target.api_key.get_secret_value() == "sk-from-env-0006"
        assert target.id == "fast[1]"
    with liter_llm.create_client(models=one.config.models) as four:  # the typed objects are accepted too
        assert four.config.models == one.config.models


BAD = [
    ({"name": "fast", "strategy": "fastest", "targets": [{"model": "m"}]}, "models[0].strategy: must be one of"),
    ({"name": "fast", "targets": []}, "models[0].targets: must list at least one target"),
    ({"name": "fast"}, "models[0].targets: missing required field"),
    ({"targets": [{"model": "m"}]}, "models[0].name: missing required field"),
    ({"name": " ", "targets": [{"model": "m"}]}, "models[0].name: must not be empty"),
    ({"name": "fast", "targets": [{"model": "m"}, {"model": "n", "weight": 0}]}, "models[0].targets[1].weight:"),
    ({"name": "fast", "targets": [{"model": "m"}, {"model": "n", "weight": -2}]}, "models[0].targets[1].weight:"),
    ({"name": "fast", "targets": [{"model": "m", "weight": "3"}]}, "models[0].targets[0].weight: expected a number"),
    ({"name": "fast", "targets": [{"model": "m", "weight": True}]}, "models[0].targets[0].weight: expected a number"),
    ({"name": "fast", "targets": [{"weight": 1}]}, "models[0].targets[0].model: missing required field"),
    ({"name": "fast", "targets": [{"model": "m", "wieght": 1}]}, "models[0].targets[0].wieght: unknown field"),
    ({"name": "fast", "targets": [{"model": "m", "base_url": "ftp://x"}]}, "models[0].targets[0].base_url:"),
    ({"name": "fast", "targets": [{"model": "m", "api_key": 12}]}, "models[0].targets[0].api_key: expected a string"),
    ({"name": "fast", "targets": [{"model": "m", "id": "x"}, {"model": "n", "id": "x"}]}, "targets[1].id: duplicate"),
    ({"name": "fast", "targets": "m"}, "models[0].targets: expected a list"),
]


@pytest.mark.parametrize(("entry", "message"), BAD)
def test_invalid_aliases_are_refused_naming_the_field(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequestError) as info:
        liter_llm.create_client(models=[entry])
    assert message in str(info.value)
    with pytest.raises(BadRequestError) as info:
        liter_llm.create_client_from_json(json.dumps({"models": [entry]}))
    assert message in str(info.value)
    assert info.value.message.startswith("JSON config: models[0]")


def test_a_bad_weight_is_refused_in_toml() -> None:
    with pytest.raises(BadRequestError) as info:
        liter_llm.config.load_config_toml('[[models]]\nname = "f"\ntargets = [{ model = "m", weight = nan }]')
    assert "models[0].targets[0].weight: must be a finite number greater than 0" in str(info.value)


def test_an_alias_naming_an_alias_and_duplicates_are_refused() -> None:
    with pytest.raises(BadRequestError, match=r"models\[1\]\.targets\[0\]\.model: 'fast' is a model alias"):
        liter_llm.create_client(
            models=[alias("weighted", {"model": "m"}), alias("weighted", {"model": "fast"}, name="x")]
        )
    with pytest.raises(BadRequestError, match=r"models\[1\]\.name: duplicate model alias 'fast'"):
        liter_llm.create_client(models=[alias("weighted", {"model": "m"}), alias("weighted", {"model": "n"})])
    with pytest.raises(BadRequestError, match=r"models: expected a list"):
        liter_llm.create_client(models={"fast": []})


@pytest.mark.parametrize(
    "name",
    [
        "openai",
        "openai/fast",
        pytest.param(
            "anthropic/x",
            marks=pytest.mark.skipif(
                importlib.util.find_spec("liter_llm_anthropic") is None,
                reason="the core's own suite runs without the Anthropic plugin",
            ),
        ),
    ],
)
def test_an_alias_shadowing_a_provider_prefix_is_refused(name: str) -> None:
    with pytest.raises(BadRequestError, match=r"models\[0\]\.name: .* would shadow the provider"):
        liter_llm.create_client(models=[alias("weighted", {"model": "openai/m"}, name=name)])


def test_a_target_with_an_unknown_provider_prefix_is_refused() -> None:
    with pytest.raises(BadRequestError, match=r"models\[0\]\.targets\[1\]\.model: .*unknown provider prefix 'nope'"):
        liter_llm.create_client(models=[alias("weighted", {"model": "openai/m"}, {"model": "nope/m"})])


def test_a_broken_rng_is_an_error_not_a_wrong_choice() -> None:
    with pytest.raises(BadRequestError, match="rng"):
        liter_llm.create_client(models=[alias("weighted", *ABC)], rng=object())
    server = Server()
    with client("sync", server, [alias("weighted", *ABC)], rng=ScriptedRng([1.5])) as api:
        with pytest.raises(BadRequestError, match=r"rng: random\(\) returned 1.5"):
            api.chat(model="fast", messages=MESSAGES)
    assert server.seen == []


def test_the_router_view(mode: str) -> None:
    with client(mode, Server(), [alias("least-busy", *ABC)]) as api:
        view = api.client.router
        assert list(view.aliases) == ["fast"]
        assert [t.model for t in view.targets("fast")] == ["openai/a", "openai/b", "openai/c"]
        assert [(s.id, s.in_flight, s.latency, s.samples) for s in view.stats()] == [
            ("fast[0]", 0, None, 0),
            ("fast[1]", 0, None, 0),
            ("fast[2]", 0, None, 0),
        ]
        with pytest.raises(BadRequestError):
            view.targets("slow")
        with pytest.raises(AttributeError):
            view.aliases = {}  # type: ignore[misc]
    with liter_llm.create_client() as plain:
        assert plain.router.stats() == []


# ---------------------------------------------------------------------------
# docs/routing.md
# ---------------------------------------------------------------------------

PAGE = __import__("pathlib").Path(__file__).resolve().parents[2] / "docs" / "routing.md"


def _blocks(language: str) -> list[str]:
    import re

    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)


def test_the_pages_toml_block_is_a_valid_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_KEY", "az-key-from-env-0007")
    (toml,) = _blocks("toml")
    config = liter_llm.config.load_config_toml(toml)
    (fast,) = config.models
    assert (fast.name, fast.strategy, [t.weight for t in fast.targets]) == ("fast", "weighted", [3.0, 1.0])


def test_the_pages_python_example_runs_and_prints_what_the_page_says(capsys: pytest.CaptureFixture[str]) -> None:
    snippet, example = _blocks("python")
    compile(snippet, str(PAGE), "exec")
    exec(compile(example, str(PAGE), "exec"), {})
    (shown,) = _blocks("text")
    assert capsys.readouterr().out == shown
