"""Virtual keys: the admin API, refusals before any upstream request, budgets, rate limits, the spend log."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
import openai
import pytest
from fake_upstream import FakeUpstream, ThreadServer
from proxy_support import MASTER, RunningProxy
from sdk_support import run_sdk

from liter_llm.clock import ManualClock

KINDS = ["sync", "async"]
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def chat(kind: str, proxy: RunningProxy, key: str, model: str = "fake-model", **extra: object) -> object:
    return run_sdk(
        kind,
        proxy.url,
        key,
        lambda c: c.chat.completions.create(model=model, messages=MESSAGES, max_tokens=5, **extra),
    )


def test_admin_api_creates_lists_updates_and_revokes(proxy: RunningProxy) -> None:
    created = proxy.create_key(name="team-a", models=["fake-model"], max_budget=2.5, rpm=10, metadata={"team": "a"})
    key = created.pop("key")
    assert key.startswith("sk-llp-")
    assert len(key) > 40
    assert created["key_hint"] == key[:11] + "..."
    assert created["models"] == ["fake-model"]
    listed = proxy.admin.get("/admin/keys").json()["data"]
    assert [k["id"] for k in listed] == [created["id"]]
    assert key not in proxy.admin.get("/admin/keys").text  # shown once, at creation
    patched = proxy.admin.patch(f"/admin/keys/{created['id']}", json={"models": None, "tpm": 1000}).json()
    assert patched["models"] is None
    assert patched["tpm"] == 1000
    assert patched["rpm"] == 10
    one = proxy.admin.get(f"/admin/keys/{created['id']}").json()
    assert one["metadata"] == {"team": "a"}
    assert one["spend"] == {"total": 0, "requests": 0, "by_model": {}}
    revoked = proxy.admin.delete(f"/admin/keys/{created['id']}").json()
    assert revoked["revoked"] is True
    assert proxy.admin.get("/admin/keys").json()["data"] == []
    assert len(proxy.admin.get("/admin/keys", params={"include_revoked": "true"}).json()["data"]) == 1
    assert proxy.admin.get("/admin/keys/key_nope").status_code == 404
    bad = proxy.admin.post("/admin/keys", json={"rpm": -1})
    assert bad.status_code == 400
    assert bad.json()["error"]["type"] == "invalid_request_error"
    assert proxy.admin.post("/admin/keys", json={"colour": "red"}).status_code == 400


def test_admin_api_needs_the_master_key(proxy: RunningProxy) -> None:
    key = proxy.create_key()["key"]
    with httpx.Client(base_url=proxy.url) as http:
        assert http.get("/admin/keys").status_code == 401
        assert http.get("/admin/keys", headers={"authorization": "Bearer sk-wrong"}).status_code == 401
        denied = http.get("/admin/keys", headers={"authorization": f"Bearer {key}"})
    assert denied.status_code == 403
    assert denied.json()["error"]["type"] == "permission_error"


def test_virtual_key_is_served(kind: str, proxy: RunningProxy) -> None:
    key = proxy.create_key(models=["fake-model"])["key"]
    assert chat(kind, proxy, key).choices[0].message.content == "echo: hi"  # type: ignore[attr-defined]


def test_unknown_and_missing_keys(kind: str, proxy: RunningProxy, upstream: tuple[FakeUpstream, ThreadServer]) -> None:
    before = upstream[0].count()
    for key in ("sk-llp-not-a-real-key", "something-else"):
        with pytest.raises(openai.AuthenticationError) as caught:
            chat(kind, proxy, key)
        assert caught.value.code == "invalid_api_key"
    with httpx.Client(base_url=proxy.url) as http:
        answer = http.post("/v1/chat/completions", json={"model": "fake-model", "messages": MESSAGES})
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "missing_api_key"
    assert upstream[0].count() == before


def test_revoked_key_sends_nothing(kind: str, proxy: RunningProxy, upstream: tuple[FakeUpstream, ThreadServer]) -> None:
    created = proxy.create_key()
    chat(kind, proxy, created["key"])  # cached as valid
    proxy.admin.delete(f"/admin/keys/{created['id']}")
    before = upstream[0].count()
    with pytest.raises(openai.AuthenticationError) as caught:
        chat(kind, proxy, created["key"])
    assert caught.value.status_code == 401
    assert caught.value.code == "key_revoked"
    assert caught.value.body["type"] == "authentication_error"  # type: ignore[index]
    assert upstream[0].count() == before


def test_expired_key_sends_nothing(
    kind: str, start_proxy: Callable[..., RunningProxy], upstream: tuple[FakeUpstream, ThreadServer]
) -> None:
    clock = ManualClock()
    proxy = start_proxy(clock=clock)
    created = proxy.create_key(expires_at=clock.time() + 60)
    chat(kind, proxy, created["key"])
    clock.advance(61)
    before = upstream[0].count()
    with pytest.raises(openai.AuthenticationError) as caught:
        chat(kind, proxy, created["key"])
    assert caught.value.code == "key_expired"
    assert upstream[0].count() == before


def test_a_revocation_elsewhere_applies_within_key_cache_secs(
    kind: str, start_proxy: Callable[..., RunningProxy], upstream: tuple[FakeUpstream, ThreadServer]
) -> None:
    """Two instances, one database: a key revoked on one is refused by the other once its cached read
    of the key is ``key_cache_secs`` old (by that instance's clock), and never later."""
    clock = ManualClock()
    admin, other = start_proxy(key_cache_secs=2.0), start_proxy(key_cache_secs=2.0, clock=clock)
    created = admin.create_key()
    chat(kind, other, created["key"])  # read from the database and cached by the other instance
    admin.admin.delete(f"/admin/keys/{created['id']}")
    clock.advance(1.0)
    chat(kind, other, created["key"])  # within the bound the other instance may still trust its read
    clock.advance(1.0)  # the read is now key_cache_secs old: the next request reads the key again
    before = upstream[0].count()
    for _ in range(2):
        with pytest.raises(openai.AuthenticationError) as caught:
            chat(kind, other, created["key"])
        assert caught.value.code == "key_revoked"
    assert upstream[0].count() == before
    # on the instance that revoked it, the revocation applied at once
    with pytest.raises(openai.AuthenticationError) as caught:
        chat(kind, admin, created["key"])
    assert caught.value.code == "key_revoked"


def test_wrong_model_sends_nothing(kind: str, proxy: RunningProxy, upstream: tuple[FakeUpstream, ThreadServer]) -> None:
    key = proxy.create_key(models=["fake-model"])["key"]
    before = upstream[0].count()
    with pytest.raises(openai.PermissionDeniedError) as caught:
        chat(kind, proxy, key, model="other-model")
    assert caught.value.status_code == 403
    assert caught.value.code == "model_not_allowed"
    with pytest.raises(openai.PermissionDeniedError):
        run_sdk(kind, proxy.url, key, lambda c: c.embeddings.create(model="other-model", input="x"))
    assert upstream[0].count() == before
    # the model list shows what the key may use
    listed = run_sdk(kind, proxy.url, key, lambda c: c.models.list())
    assert [m.id for m in (listed.data if hasattr(listed, "data") else listed)] == ["fake-model"]


def test_over_budget_key_sends_nothing(
    kind: str, proxy: RunningProxy, upstream: tuple[FakeUpstream, ThreadServer]
) -> None:
    # each call reserves $0.016 (6 prompt bytes at $0.001, 5 output tokens at $0.002) and costs $0.02
    key = proxy.create_key(max_budget=0.05)["key"]
    chat(kind, proxy, key)
    chat(kind, proxy, key)
    before = upstream[0].count()
    with pytest.raises(openai.RateLimitError) as caught:
        chat(kind, proxy, key)
    assert caught.value.status_code == 429
    assert caught.value.body == {  # type: ignore[comparison-overlap]
        "message": caught.value.body["message"],  # type: ignore[index]
        "type": "insufficient_quota",
        "param": None,
        "code": "budget_exceeded",
    }
    assert upstream[0].count() == before


def test_streams_count_against_the_budget(
    kind: str, proxy: RunningProxy, upstream: tuple[FakeUpstream, ThreadServer]
) -> None:
    # a stream's usage (10 prompt, 3 completion tokens: $0.016) is settled at its end
    key = proxy.create_key(max_budget=0.03)["key"]
    chat(kind, proxy, key, stream=True)
    before = upstream[0].count()
    with pytest.raises(openai.RateLimitError):
        chat(kind, proxy, key, stream=True)
    assert upstream[0].count() == before


def test_rate_limited_key_sends_nothing(
    kind: str, proxy: RunningProxy, upstream: tuple[FakeUpstream, ThreadServer]
) -> None:
    key = proxy.create_key(rpm=2)["key"]
    chat(kind, proxy, key)
    chat(kind, proxy, key)
    before = upstream[0].count()
    with pytest.raises(openai.RateLimitError) as caught:
        chat(kind, proxy, key)
    assert caught.value.code == "key_rate_limited"
    assert caught.value.response.headers["retry-after"].isdigit()
    assert upstream[0].count() == before


def test_patch_applies_at_once(kind: str, proxy: RunningProxy) -> None:
    created = proxy.create_key(models=["fake-model"])
    with pytest.raises(openai.PermissionDeniedError):
        chat(kind, proxy, created["key"], model="other-model")
    proxy.admin.patch(f"/admin/keys/{created['id']}", json={"models": ["fake-model", "other-model"]})
    chat(kind, proxy, created["key"], model="other-model")


def test_spend_per_key_and_model(proxy: RunningProxy) -> None:
    a = proxy.create_key()
    b = proxy.create_key()
    chat("sync", proxy, a["key"])
    chat("async", proxy, a["key"], model="other-model")
    chat("sync", proxy, b["key"])
    with pytest.raises(openai.BadRequestError):
        chat("sync", proxy, b["key"], model="fail-400")
    spend = proxy.admin.get(f"/admin/keys/{a['id']}/spend").json()
    assert spend["requests"] == 2
    assert spend["total"] == pytest.approx(0.04)
    assert spend["by_model"]["fake-model"] == {"cost": pytest.approx(0.02), "requests": 1, "tokens": 15}
    assert spend["by_model"]["other-model"]["requests"] == 1
    rows = proxy.admin.get("/admin/spend", params={"model": "fake-model"}).json()["data"]
    assert {(r["key_id"], r["requests"]) for r in rows} == {(a["id"], 1), (b["id"], 1)}
    logs = proxy.admin.get("/admin/spend/logs", params={"key_id": b["id"]}).json()["data"]
    failed, ok = logs
    assert failed["status"] == 400
    assert failed["error_kind"] == "BadRequestError"
    assert failed["cost"] is None
    assert ok["status"] == 200
    assert ok["model_requested"] == "fake-model"
    assert ok["model_routed"] == "fake-model"
    assert ok["provider"]
    assert ok["prompt_tokens"] == 10
    assert ok["completion_tokens"] == 5
    assert ok["cost"] == pytest.approx(0.02)
    assert ok["latency_ms"] > 0
    assert len(ok["request_id"]) == 32


def test_budget_is_kept_across_a_restart(
    kind: str, start_proxy: Callable[..., RunningProxy], upstream: tuple[FakeUpstream, ThreadServer]
) -> None:
    proxy = start_proxy()
    key = proxy.create_key(max_budget=0.05)["key"]
    chat(kind, proxy, key)
    chat(kind, proxy, key)
    proxy.stop()  # the spend log is written at shutdown
    again = start_proxy()
    before = upstream[0].count()
    with pytest.raises(openai.RateLimitError):
        chat(kind, again, key)
    assert upstream[0].count() == before


def test_keys_are_stored_hashed_and_never_logged(
    proxy: RunningProxy, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = proxy.create_key()
    key = created["key"]
    chat("sync", proxy, key)
    with pytest.raises(openai.AuthenticationError):
        chat("sync", proxy, key + "x")
    proxy.admin.get("/admin/spend/logs")  # flushes the spend log
    database = sqlite3.connect(tmp_path / "proxy.db")
    dump = "\n".join(database.iterdump())
    database.close()
    assert key not in dump
    assert MASTER not in dump
    import hashlib

    assert hashlib.sha256(key.encode()).hexdigest() in dump
    assert key not in caplog.text
    assert MASTER not in caplog.text
    assert "upstream-secret-key" not in caplog.text
