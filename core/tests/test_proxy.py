"""Proxies through both clients: the environment's (httpx's rules), an explicit ``proxy=``, NO_PROXY, credentials.

Every test talks to a real forwarding proxy on 127.0.0.1 (``ForwardingProxy`` in
the test support) that counts what it forwarded, in front of a real server.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from typing import Any

import liter_llm_core_pipeline_support as S  # loaded by conftest.py
import pytest

import liter_llm
from liter_llm.config import config_to_dict
from liter_llm.errors import BadRequestError, LiterLlmError

USER = S.USER
PROXY_VARIABLES = [
    name
    for base in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD")
    for name in (base, base.lower())
]
PASSWORD = "pr0xy-S3CRET-pw"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def proxy() -> Iterator[S.ForwardingProxy]:
    forwarding = S.ForwardingProxy()
    yield forwarding
    forwarding.close()


def stream_script(req: Any, out: Any) -> None:
    if req.json().get("stream"):
        out.chunked_head()
        out.chunk(S.chunk_event("streamed", role="assistant") + b"data: [DONE]\n\n")
        out.end_chunks()
    else:
        out.reply(200, S.chat_json("proxied"))


def chat_and_stream(api: Any) -> None:
    assert api.chat(model="m", messages=USER).choices[0].message.content == "proxied"
    chunks = api.collect(model="m", messages=USER)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "streamed"


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
def test_the_environments_proxy_is_used(
    make: Any, server: Any, proxy: Any, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, proxy.url)
    server.script = stream_script
    api = make(base_url=server.url + "/v1")
    chat_and_stream(api)
    assert proxy.forwarded == [server.url + "/v1/chat/completions"] * 2
    assert len(server.requests) == 2


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost,127.0.0.1", "*"])
def test_no_proxy_goes_direct(
    make: Any, server: Any, proxy: Any, monkeypatch: pytest.MonkeyPatch, no_proxy: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    server.script = stream_script
    api = make(base_url=server.url + "/v1")
    chat_and_stream(api)
    assert proxy.forwarded == []
    assert len(server.requests) == 2


def test_an_https_proxy_variable_is_not_used_for_http(
    make: Any, server: Any, proxy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    api = make(base_url=server.url + "/v1")
    api.chat(model="m", messages=USER)
    assert proxy.forwarded == []
    assert len(server.requests) == 1


def test_trust_env_false_ignores_the_environment(
    make: Any, server: Any, proxy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALL_PROXY", proxy.url)
    api = make(base_url=server.url + "/v1", trust_env=False)
    api.chat(model="m", messages=USER)
    assert proxy.forwarded == []


def test_an_explicit_proxy_carries_every_request(
    make: Any, server: Any, proxy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PROXY", "*")  # as with httpx, an explicit proxy is not subject to the environment
    server.script = stream_script
    api = make(base_url=server.url + "/v1", proxy=proxy.url)
    chat_and_stream(api)
    assert proxy.forwarded == [server.url + "/v1/chat/completions"] * 2
    assert proxy.proxy_authorization == [None, None]


def test_the_proxy_is_a_config_field(make: Any, server: Any, proxy: Any) -> None:
    import json

    config = json.dumps({"base_url": server.url + "/v1", "proxy": proxy.url})
    if make.mode == "sync":
        client: Any = liter_llm.create_client_from_json(config)
        with client:
            client.chat(model="m", messages=USER)
    else:
        import asyncio

        async def main() -> None:
            async with liter_llm.create_async_client_from_json(config) as client:
                await client.chat(model="m", messages=USER)

        asyncio.run(main())
    assert proxy.forwarded == [server.url + "/v1/chat/completions"]


@pytest.mark.parametrize("source", ["explicit", "environment"])
def test_proxy_credentials_are_sent_and_never_shown(
    make: Any,
    server: Any,
    proxy: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    source: str,
) -> None:
    url = f"http://user:{PASSWORD}@127.0.0.1:{proxy.port}"
    caplog.set_level(logging.DEBUG)
    if source == "explicit":
        api = make(base_url=server.url + "/v1", proxy=url)
        shown = [repr(api.client.config), str(config_to_dict(api.client.config))]
        assert "user" not in shown[0]
        assert f"127.0.0.1:{proxy.port}" in shown[0]
    else:
        monkeypatch.setenv("HTTP_PROXY", url)
        api = make(base_url=server.url + "/v1")
        shown = []
    api.chat(model="m", messages=USER)
    expected = "Basic " + base64.b64encode(f"user:{PASSWORD}".encode()).decode()
    assert proxy.proxy_authorization == [expected]
    shown.append(repr(api.client))
    # a proxy that is down: the error names no credentials either
    dead = f"http://user:{PASSWORD}@127.0.0.1:{S.closed_port()}"
    if source == "explicit":
        broken = make(base_url=server.url + "/v1", proxy=dead, max_retries=0)
    else:
        monkeypatch.setenv("HTTP_PROXY", dead)
        broken = make(base_url=server.url + "/v1", max_retries=0)
    with pytest.raises(LiterLlmError) as info:
        broken.chat(model="m", messages=USER)
    shown += [str(info.value), repr(info.value), caplog.text]
    for text in shown:
        assert PASSWORD not in text


@pytest.mark.parametrize(
    "value", ["ftp://127.0.0.1:21", "127.0.0.1:8080", f"http://user:{PASSWORD}@", "http://", "http://h:x", 5]
)
def test_an_invalid_proxy_is_a_bad_request_that_never_shows_it(make: Any, value: Any) -> None:
    with pytest.raises(BadRequestError) as info:
        make(proxy=value)
    assert "proxy" in str(info.value)
    assert PASSWORD not in str(info.value)


def test_a_proxy_variable_httpx_refuses_is_a_bad_request(make: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"gopher://user:{PASSWORD}@127.0.0.1:70")
    with pytest.raises(BadRequestError) as info:
        make(base_url="http://127.0.0.1:9/v1")
    assert PASSWORD not in str(info.value)


def test_the_async_clients_proxy_pool_works_across_event_loops(
    server: Any, proxy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    client = liter_llm.create_async_client(base_url=server.url + "/v1")

    async def once() -> str | None:
        answer = await client.chat(model="m", messages=USER)
        return answer.choices[0].message.content

    assert asyncio.run(once()) == "hi"
    assert asyncio.run(once()) == "hi"  # a new loop: the proxy's pool is opened anew
    asyncio.run(client.aclose())
    assert len(proxy.forwarded) == 2


@pytest.mark.parametrize(
    "environment",
    [
        {},
        {"HTTP_PROXY": "http://p:3128"},
        {"https_proxy": "p:3128", "ALL_PROXY": "socks5://s:1080"},
        {"HTTP_PROXY": "http://p:3128", "NO_PROXY": "*"},
        {"HTTP_PROXY": "http://p:3128", "NO_PROXY": "a.example, .b.example,localhost"},
        {"ALL_PROXY": "http://p:3128", "NO_PROXY": "127.0.0.1,192.168.0.0/16,::1,fe80::/10"},
        {"ALL_PROXY": "http://p:3128", "NO_PROXY": "http://direct.example,,  "},
        {"ALL_PROXY": "http://p:3128", "NO_PROXY": "x.example,*"},
    ],
)
def test_the_environments_proxies_mean_what_httpx_makes_of_them(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]
) -> None:
    """Our reading of the environment (no private httpx function) gives httpx's own mapping, entry for entry."""
    from httpx._utils import get_environment_proxies  # the reference, in this test only

    from liter_llm._pool_transport import proxy_map

    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert proxy_map(None, trust_env=True) == get_environment_proxies()
    assert proxy_map(None, trust_env=False) == {}
    assert proxy_map("http://explicit:1", trust_env=True) == {"all://": "http://explicit:1"}
