"""SearXNG, the self-hosted provider, against a real HTTP server on 127.0.0.1 (no mock transport)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import liter_llm
from liter_llm.errors import LiterLlmError

from .conftest import fixture_json


class Instance(ThreadingHTTPServer):
    """A SearXNG stand-in: ``/search?format=json`` answers the documented JSON; other formats 403."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[dict[str, Any]] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Instance

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        self.server.seen.append({"path": url.path, "query": query, "headers": dict(self.headers)})
        if url.path != "/search" or query.get("format") != ["json"]:
            self._send(403, b"Forbidden", "text/plain")
            return
        self._send(200, json.dumps(fixture_json("searxng_search.json")).encode(), "application/json")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def instance(monkeypatch: pytest.MonkeyPatch) -> Iterator[Instance]:
    server = Instance()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("SEARXNG_BASE_URL", server.base_url)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _search(mode: str, **kwargs: Any) -> Any:
    if mode == "sync":
        with liter_llm.create_client(max_retries=0) as client:
            return client.search(**kwargs)

    async def main() -> Any:
        async with liter_llm.create_async_client(max_retries=0) as client:
            return await client.search(**kwargs)

    return asyncio.run(main())


def test_search_against_a_real_local_instance(mode: str, instance: Instance) -> None:
    found = _search(
        mode, model="searxng/default", query="searxng", max_results=1, search_domain_filter=["docs.searxng.org"]
    )
    assert [r.url for r in found.results] == ["https://docs.searxng.org/"]
    seen = instance.seen[-1]
    assert seen["path"] == "/search"
    assert seen["query"] == {"q": ["searxng site:docs.searxng.org"], "format": ["json"]}
    assert "Authorization" not in seen["headers"]


def test_an_instance_without_json_enabled_is_a_clear_error(
    mode: str, instance: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEARXNG_BASE_URL", instance.base_url + "/off")
    with pytest.raises(LiterLlmError) as caught:
        _search(mode, model="searxng/default", query="q")
    assert caught.value.status_code == 403
    assert caught.value.provider == "searxng"
