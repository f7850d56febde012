"""The proxy's own CPU share per chat request, in instructions or function calls (not wall clock).

Three ways of making the same non-streamed chat request, in one process, against one canned
upstream answer served by ``httpx.MockTransport`` (no sockets, so only Python work is measured):

- ``httpx``: a raw ``httpx.AsyncClient`` POST and ``json.loads`` of the answer (the floor);
- ``client``: ``liter_llm.AsyncDefaultClient.chat`` (what an application pays in-process);
- ``proxy``: the proxy's ASGI application called directly (as uvicorn would after parsing HTTP),
  with a virtual key that has a model allow-list and the spend log in SQLite, exactly as
  ``nox -s bench_proxy`` runs it.  Its client uses the same mock transport.

``proxy`` minus ``client`` is the proxy's own share.  Run it under callgrind to count instructions
(they count the same on a loaded machine)::

    valgrind --tool=callgrind --callgrind-out-file=/dev/null python profile_proxy.py proxy --requests 2000
    # and again with --requests 200: (Ir(2000) - Ir(200)) / 1800 is the instructions per request

or with ``--cprofile`` for the function calls per request and where they go.

Run: python contrib/proxy/bench/profile_proxy.py {httpx,client,proxy} [--requests N] [--cprofile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from server import _CHAT  # the benchmark's canned chat answer

MASTER = "sk-profile-master-key-0123456789"
BODY = json.dumps(
    {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello, benchmark!"}], "max_tokens": 32}
).encode()
UPSTREAM = "http://127.0.0.1:9/v1"  # never connected to: the mock transport answers


def _answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=_CHAT, headers={"content-type": "application/json"})


def transport() -> httpx.AsyncBaseTransport:
    return httpx.MockTransport(_answer)


async def run_httpx(requests: int) -> Any:
    client = httpx.AsyncClient(transport=transport())

    async def one() -> None:
        answer = await client.post(
            f"{UPSTREAM}/chat/completions",
            content=BODY,
            headers={"authorization": "Bearer sk-upstream", "content-type": "application/json"},
        )
        json.loads(answer.content)

    return one, client.aclose


async def run_client(requests: int) -> Any:
    import liter_llm
    from liter_llm.config import parse_config

    client = liter_llm.AsyncDefaultClient(
        parse_config({"base_url": UPSTREAM, "api_key": "sk-upstream"}), transport=transport()
    )
    body = json.loads(BODY)

    async def one() -> None:
        await client.chat(body)

    return one, client.aclose


async def run_proxy(requests: int) -> Any:
    from liter_llm.config import parse_config
    from liter_llm_proxy.app import Proxy
    from liter_llm_proxy.settings import settings_from_config

    os.environ["LITER_LLM_MASTER_KEY"] = MASTER
    tmp = tempfile.mkdtemp(prefix="profile-proxy-")
    config = parse_config(
        {
            "base_url": UPSTREAM,
            "api_key": "sk-upstream",
            "plugins": {"proxy": {"database_url": f"sqlite+aiosqlite:///{tmp}/profile.db"}},
        }
    )
    proxy = Proxy(config, settings_from_config(config), transport=transport())
    app = proxy.app()
    await proxy.start()
    key, _ = await proxy.keys.create({"name": "profile", "models": ["gpt-4o-mini"]})
    headers = [
        (b"host", b"127.0.0.1:4000"),
        (b"authorization", f"Bearer {key}".encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(BODY)).encode()),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/chat/completions",
        "raw_path": b"/v1/chat/completions",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 4000),
        "state": {},
    }

    async def one() -> None:
        sent: list[dict[str, Any]] = []
        messages = [{"type": "http.request", "body": BODY, "more_body": False}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await asyncio.Event().wait()  # http.disconnect never comes
            raise AssertionError

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(dict(scope, state={}), receive, send)
        if sent[0]["status"] != 200:
            raise RuntimeError(f"the proxy answered {sent[0]['status']}: {sent[1]['body']!r}")

    async def close() -> None:
        await proxy.stop()

    return one, close


async def main(mode: str, requests: int, profile: bool) -> None:
    one, close = await {"httpx": run_httpx, "client": run_client, "proxy": run_proxy}[mode](requests)
    for _ in range(50):  # warm-up: caches, lazy imports, prepared statements
        await one()
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    for _ in range(requests):
        await one()
    if profiler is not None:
        profiler.disable()
        stats = pstats.Stats(profiler)
        calls = sum(value[1] for value in stats.stats.values())  # type: ignore[attr-defined]
        print(f"{mode}: {calls / requests:.0f} function calls per request")
        stats.sort_stats("tottime").print_stats(35)
    if close is not None:
        await close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["httpx", "client", "proxy"])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--cprofile", action="store_true")
    options = parser.parse_args()
    asyncio.run(main(options.mode, options.requests, options.cprofile))
