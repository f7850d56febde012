"""Every Redis command the backends send keeps its keys in one Redis Cluster slot, checked two ways.

1. Against the real redis-server, ``MONITOR`` records every command the four
   backends (budget, rate limit, cache, cooldown) send through both clients,
   and every command issued inside their Lua scripts; each one's keys must
   hash (CRC16, redis-py's ``key_slot``) to the slot of its feature's hash tag.
2. When ``redis-server`` and ``redis-cli`` can make a cluster on loopback
   ports (3 masters, ``redis-cli --cluster create``), the recorded commands are
   replayed against it through redis-py's ``RedisCluster``: a script that
   touched a key of another slot fails there (``CROSSSLOT`` or a non-local key).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import redis.cluster
from redis.crc import key_slot
from redis_test_support import REDIS_SERVER, RedisServer

import liter_llm
from liter_llm.builtins.cost import set_model_price
from liter_llm.errors import LiterLlmError

BASE = "http://127.0.0.1:9/v1"
MODEL = "openai/slot-model"
MESSAGES = [{"role": "user", "content": "Hi"}]
PREFIX = "slots:"

#: commands whose keys are all their arguments, or the first one; everything else has no key
_ALL_KEYS = {"DEL", "UNLINK", "EXISTS", "MGET"}
_NO_KEYS = {"PING", "SELECT", "CLIENT", "HELLO", "INFO", "FLUSHALL", "MONITOR", "SCRIPT", "READONLY"}


def reply(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    if body["messages"][0]["content"] == "fail":
        return httpx.Response(503, json={"error": {"message": "overloaded", "type": "server_error"}})
    if body.get("stream"):
        events = [
            {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]},
            {"choices": [], "usage": {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}},
        ]
        data = "".join(
            f"data: {json.dumps({'id': 's', 'object': 'chat.completion.chunk', 'created': 1, 'model': 'm', **e})}\n\n"
            for e in events
        )
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=data + "data: [DONE]\n\n")
    return httpx.Response(
        200,
        json={
            "id": "c",
            "object": "chat.completion",
            "created": 1,
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5},
        },
    )


def options(url: str) -> dict[str, Any]:
    return {
        "api_key": "sk-test-secret",
        "base_url": BASE,
        "model_hint": "openai",
        "max_retries": 0,
        "cooldown_secs": 60,
        "redis": {"url": url, "key_prefix": PREFIX, "timeout_secs": 1.0},
        "budget": {"backend": "redis", "global_limit": 100.0, "model_limits": {"slot-model": 50.0}},
        "rate_limit": {"backend": "redis", "rpm": 1000, "tpm": 1_000_000},
        "cache": {"backend": "redis", "ttl_seconds": 60, "max_entries": 2},
    }


def _unescape(text: str) -> str:
    """An argument as MONITOR quotes it (sdscatrepr) back to its bytes."""
    simple = {"n": "\n", "r": "\r", "t": "\t", "a": "\a", "b": "\b", '"': '"', "\\": "\\"}
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "x" and i + 3 < len(text):
                out.append(chr(int(text[i + 2 : i + 4], 16)))
                i += 4
                continue
            out.append(simple.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


_LINE = re.compile(r"^[\d.]+ \[\d+ (?P<client>[^\]]*)\] (?P<args>.*)$", re.DOTALL)
_ARG = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)


class Monitor:
    """Every command the server runs, as (client, [args]), recorded by ``MONITOR`` on a socket of its own."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.sendall(b"MONITOR\r\n")
        self.lines = self.sock.makefile("rb")
        assert self.lines.readline() == b"+OK\r\n"
        self.commands: list[tuple[str, list[str]]] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for raw in self.lines:  # one "+<time> [<db> <client>] <quoted args>" line per command
                match = _LINE.match(raw.decode("utf-8", "replace").rstrip("\r\n")[1:])
                if match:
                    args = [_unescape(a) for a in _ARG.findall(match.group("args"))]
                    self.commands.append((match.group("client"), args))
        except (OSError, ValueError):
            return

    def close(self) -> list[tuple[str, list[str]]]:
        with socket.create_connection(self.sock.getpeername(), timeout=5) as other:
            other.sendall(b"PING\r\n")  # the marker: every command before it has been seen once it is
            other.recv(16)
        deadline = time.monotonic() + 10
        while not any(args == ["PING"] for _, args in self.commands[-5:]) and time.monotonic() < deadline:
            time.sleep(0.02)
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(5)
        return self.commands


def keys_of(args: list[str]) -> list[str]:
    name = args[0].upper()
    if name in ("EVAL", "EVALSHA"):
        return args[3 : 3 + int(args[2])]
    if name in _NO_KEYS or len(args) < 2:
        return []
    if name in _ALL_KEYS:
        return args[1:]
    return [args[1]]


def tag_of(key: str) -> str:
    start = key.index("{")
    return key[start + 1 : key.index("}", start)]


def exercise(url: str) -> None:
    """Every backend's commands: reserve/settle, admit/correct, cache set/get/evict, cooldown, streams; both clients."""
    set_model_price(MODEL, input_cost_per_token=0.001, output_cost_per_token=0.002)

    async def main() -> None:
        async def handler(request: httpx.Request) -> httpx.Response:
            return reply(request)

        async with liter_llm.create_async_client(transport=httpx.MockTransport(handler), **options(url)) as client:
            await client.chat(model=MODEL, messages=[{"role": "user", "content": "e"}], max_tokens=10)
            stream = await client.chat_stream(model=MODEL, messages=MESSAGES, max_tokens=10)
            await stream.response()
            with pytest.raises(LiterLlmError):
                await client.chat(model=MODEL, messages=[{"role": "user", "content": "fail"}], max_tokens=10)
            for name in ("budget", "rate_limit", "cooldown"):
                drain = getattr(client.builtins.get(name), "drain", None)
                if drain is not None:
                    await drain()

    asyncio.run(main())

    with liter_llm.create_client(transport=httpx.MockTransport(reply), **options(url)) as client:
        for text in ("a", "b", "c", "a"):  # the third set evicts the oldest entry (max_entries 2)
            client.chat(model=MODEL, messages=[{"role": "user", "content": text}], max_tokens=10)
        client.chat_stream(model=MODEL, messages=MESSAGES, max_tokens=10).response()
        for _ in range(3):  # failures count towards a cooldown
            with pytest.raises(LiterLlmError):
                client.chat(model=MODEL, messages=[{"role": "user", "content": "fail"}], max_tokens=10)
        with contextlib.suppress(LiterLlmError):  # answered, or skipped by the cooldown: its look-up is recorded
            client.chat(model=MODEL, messages=[{"role": "user", "content": "d"}], max_tokens=10)
        client.budget.reset()


@pytest.fixture
def recorded(own_redis: RedisServer) -> list[tuple[str, list[str]]]:
    monitor = Monitor(own_redis.port)
    try:
        exercise(own_redis.url)
    finally:
        commands = monitor.close()
    return commands


def test_every_command_of_the_backends_keeps_its_keys_in_its_features_slot(
    recorded: list[tuple[str, list[str]]],
) -> None:
    by_tag: dict[str, int] = {}
    scripts = 0
    for client, args in recorded:
        keys = keys_of(args)
        if args[0].upper() in ("EVAL", "EVALSHA"):
            scripts += 1
            assert len({key_slot(k.encode()) for k in keys}) <= 1, f"a script's keys in several slots: {keys}"
        for key in keys:
            assert key.startswith(PREFIX), f"{args[0]} {key!r} ({client}) is not under the key prefix"
            tag = tag_of(key)
            slot = key_slot(key.encode())
            assert slot == key_slot(("{" + tag + "}").encode())
            by_tag.setdefault(tag, slot)
            assert by_tag[tag] == slot
    features = {tag.split(":", 1)[0] for tag in by_tag}
    assert features == {"budget", "rate_limit", "cache", "cooldown"}, features
    assert scripts >= 10
    lua = [args for client, args in recorded if client == "lua"]
    assert any(a[0].upper() == "ZPOPMIN" for a in lua)  # the cache evicted inside its script
    assert any(a[0].upper() == "DEL" for a in lua)


# ---------------------------------------------------------------------------
# A real cluster of 3 masters on loopback ports
# ---------------------------------------------------------------------------

REDIS_CLI = shutil.which("redis-cli")


def _cluster_ports(count: int) -> list[int]:
    """Free ports whose cluster bus port (the port + 10000) is free too, so below 55536."""
    found: list[int] = []
    for candidate in random.sample(range(20000, 50000), 400):
        if len(found) == count:
            break
        try:
            for port in (candidate, candidate + 10000):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        found.append(candidate)
    return found


def _wait_for(port: int) -> None:
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, socket_connect_timeout=1)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {port}") from None
            time.sleep(0.02)
    client.close()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[list[int]]:
    if REDIS_SERVER is None or REDIS_CLI is None:
        pytest.skip("no redis-server / redis-cli (bash scripts/setup.sh installs them)")
    ports = _cluster_ports(3)
    processes = []
    try:
        for port in ports:
            directory = tmp_path / str(port)
            directory.mkdir()
            processes.append(
                subprocess.Popen(
                    [
                        REDIS_SERVER,
                        "--port", str(port),
                        "--bind", "127.0.0.1",
                        "--cluster-enabled", "yes",
                        "--cluster-config-file", str(directory / "nodes.conf"),
                        "--dir", str(directory),
                        "--save", "",
                        "--appendonly", "no",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )  # fmt: skip
        for port in ports:
            _wait_for(port)
        created = subprocess.run(
            [REDIS_CLI, "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports), "--cluster-yes"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        if created.returncode != 0:
            pytest.skip(f"redis-cli --cluster create failed: {created.stdout.decode()[-300:]}")
        deadline = time.monotonic() + 30
        while True:
            info = redis.Redis(host="127.0.0.1", port=ports[0]).cluster("info")
            if info.get("cluster_state") == "ok":
                break
            if time.monotonic() > deadline:
                pytest.skip("the cluster did not become ready within 30 s")
            time.sleep(0.1)
        yield ports
    finally:
        for process in processes:
            process.kill()
            process.wait(10)


def test_the_recorded_commands_run_on_a_real_cluster(recorded: list[tuple[str, list[str]]], cluster: list[int]) -> None:
    client = redis.cluster.RedisCluster(host="127.0.0.1", port=cluster[0], socket_timeout=5)
    try:
        replayed = 0
        nodes: set[str] = set()
        for who, args in recorded:
            keys = keys_of(args)
            if who == "lua" or not keys:
                continue  # the scripts' own commands run inside their EVAL
            result = client.execute_command(*args)
            assert not isinstance(result, redis.ResponseError)
            node = client.get_node_from_key(keys[0])
            nodes.add(node.name)
            replayed += 1
        assert replayed >= 20
        assert len(nodes) >= 2  # the features' slots live on different masters: the routing was real
    finally:
        client.close()
