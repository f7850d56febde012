"""Files, batches and stored responses per key: a virtual key sees only what it created; the master key sees all.

Another key's object is a 404 in OpenAI's shape, and no request reaches the upstream.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai
import pytest
from fake_upstream import FakeUpstream, ThreadServer
from proxy_support import MASTER, RunningProxy
from sdk_support import run_sdk

KINDS = ["sync", "async"]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _ids(page: Any) -> list[str]:
    return [item.id for item in (page.data if hasattr(page, "data") else page)]


def _refused(
    kind: str, proxy: RunningProxy, fake: FakeUpstream, key: str, use: Callable[[Any], Any], noun: str, object_id: str
) -> None:
    body = {"message": f"No such {noun} object: {object_id}", "type": "invalid_request_error", "param": "id"}
    _refused_with(kind, proxy, fake, key, use, openai.NotFoundError, 404, {**body, "code": None})


def _refused_with(
    kind: str,
    proxy: RunningProxy,
    fake: FakeUpstream,
    key: str,
    use: Callable[[Any], Any],
    error: type[openai.APIStatusError],
    status: int,
    body: dict[str, Any],
) -> None:
    before = len(fake.requests)
    with pytest.raises(error) as caught:
        run_sdk(kind, proxy.url, key, use)
    assert caught.value.status_code == status
    assert caught.value.body == body
    assert len(fake.requests) == before, "a refused request reached the upstream"


def _no_response(response_id: str) -> dict[str, Any]:
    return {
        "message": f"Response with id '{response_id}' not found.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_files_are_per_key(kind: str, proxy: RunningProxy, upstream: tuple[FakeUpstream, ThreadServer]) -> None:
    fake = upstream[0]
    alice, bob = proxy.create_key(name="alice")["key"], proxy.create_key(name="bob")["key"]
    mine = run_sdk(kind, proxy.url, alice, lambda c: c.files.create(file=("a.jsonl", b"{}\n"), purpose="batch"))
    theirs = run_sdk(kind, proxy.url, bob, lambda c: c.files.create(file=("b.jsonl", b"[]\n"), purpose="batch"))
    master = run_sdk(kind, proxy.url, MASTER, lambda c: c.files.create(file=("m.jsonl", b"1\n"), purpose="batch"))

    # list: each key its own; the master key everything
    assert _ids(run_sdk(kind, proxy.url, alice, lambda c: c.files.list())) == [mine.id]
    assert _ids(run_sdk(kind, proxy.url, bob, lambda c: c.files.list())) == [theirs.id]
    assert {mine.id, theirs.id, master.id} <= set(_ids(run_sdk(kind, proxy.url, MASTER, lambda c: c.files.list())))

    # its own: retrieve, content
    assert run_sdk(kind, proxy.url, alice, lambda c: c.files.retrieve(mine.id)).id == mine.id
    assert run_sdk(kind, proxy.url, alice, lambda c: c.files.content(mine.id)).content == b"{}\n"

    # another key's (or the master's) file: retrieve, content, delete are 404s, never sent upstream
    for other in (theirs.id, master.id, "file-does-not-exist"):
        _refused(kind, proxy, fake, alice, lambda c, o=other: c.files.retrieve(o), "File", other)
        _refused(kind, proxy, fake, alice, lambda c, o=other: c.files.content(o), "File", other)
        _refused(kind, proxy, fake, alice, lambda c, o=other: c.files.delete(o), "File", other)
    assert theirs.id in fake.files  # bob's file is still there

    # the master key sees and deletes any file
    assert run_sdk(kind, proxy.url, MASTER, lambda c: c.files.retrieve(theirs.id)).id == theirs.id
    assert run_sdk(kind, proxy.url, MASTER, lambda c: c.files.delete(master.id)).deleted is True
    # a key deletes its own; afterwards it is gone for that key too
    assert run_sdk(kind, proxy.url, alice, lambda c: c.files.delete(mine.id)).deleted is True
    _refused(kind, proxy, fake, alice, lambda c: c.files.retrieve(mine.id), "File", mine.id)


def test_batches_are_per_key(kind: str, proxy: RunningProxy, upstream: tuple[FakeUpstream, ThreadServer]) -> None:
    fake = upstream[0]
    alice, bob = proxy.create_key(name="alice")["key"], proxy.create_key(name="bob")["key"]
    alice_file = run_sdk(kind, proxy.url, alice, lambda c: c.files.create(file=("a.jsonl", b"{}\n"), purpose="batch"))
    bob_file = run_sdk(kind, proxy.url, bob, lambda c: c.files.create(file=("b.jsonl", b"{}\n"), purpose="batch"))

    def create(file_id: str) -> Callable[[Any], Any]:
        return lambda c: c.batches.create(
            input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"
        )

    mine = run_sdk(kind, proxy.url, alice, create(alice_file.id))
    theirs = run_sdk(kind, proxy.url, bob, create(bob_file.id))
    # a batch over another key's file is refused before it reaches the upstream
    _refused(kind, proxy, fake, alice, create(bob_file.id), "File", bob_file.id)

    assert _ids(run_sdk(kind, proxy.url, alice, lambda c: c.batches.list())) == [mine.id]
    assert _ids(run_sdk(kind, proxy.url, bob, lambda c: c.batches.list())) == [theirs.id]
    assert {mine.id, theirs.id} <= set(_ids(run_sdk(kind, proxy.url, MASTER, lambda c: c.batches.list())))

    assert run_sdk(kind, proxy.url, alice, lambda c: c.batches.retrieve(mine.id)).id == mine.id
    assert run_sdk(kind, proxy.url, alice, lambda c: c.batches.cancel(mine.id)).status == "cancelling"
    _refused(kind, proxy, fake, alice, lambda c: c.batches.retrieve(theirs.id), "Batch", theirs.id)
    _refused(kind, proxy, fake, alice, lambda c: c.batches.cancel(theirs.id), "Batch", theirs.id)
    assert run_sdk(kind, proxy.url, MASTER, lambda c: c.batches.retrieve(theirs.id)).id == theirs.id
    assert run_sdk(kind, proxy.url, MASTER, lambda c: c.batches.cancel(theirs.id)).status == "cancelling"


def test_a_batchs_output_files_belong_to_its_key(
    kind: str, proxy: RunningProxy, upstream: tuple[FakeUpstream, ThreadServer], tmp_path: Any
) -> None:
    import asyncio

    from liter_llm_proxy.db import Store

    fake = upstream[0]
    alice_record, bob = proxy.create_key(name="alice"), proxy.create_key(name="bob")["key"]
    alice = alice_record["key"]
    fake.files["file-out"] = {"id": "file-out", "object": "file", "bytes": 3, "created_at": 0,
                              "filename": "out.jsonl", "purpose": "batch_output", "status": "processed",
                              "_content": "ok\n"}  # fmt: skip
    # batch_done (a finished batch upstream) was created by alice: record it as hers, as a create would
    database = f"sqlite+aiosqlite:///{tmp_path / 'proxy.db'}"  # the proxy fixture's database

    async def claim() -> None:
        store = Store(database)
        try:
            await store.claim_objects("batch", ["batch_done"], alice_record["id"])
        finally:
            await store.close()

    asyncio.run(claim())
    _refused(kind, proxy, fake, alice, lambda c: c.files.content("file-out"), "File", "file-out")
    done = run_sdk(kind, proxy.url, alice, lambda c: c.batches.retrieve("batch_done"))
    assert done.output_file_id == "file-out"
    # once alice has seen her batch's output file, it is hers; bob still gets a 404
    assert run_sdk(kind, proxy.url, alice, lambda c: c.files.content("file-out")).content == b"ok\n"
    _refused(kind, proxy, fake, bob, lambda c: c.files.content("file-out"), "File", "file-out")


def test_responses_are_per_key(kind: str, proxy: RunningProxy, upstream: tuple[FakeUpstream, ThreadServer]) -> None:
    fake = upstream[0]
    alice, bob = proxy.create_key(name="alice")["key"], proxy.create_key(name="bob")["key"]
    mine = run_sdk(kind, proxy.url, alice, lambda c: c.responses.create(model="fake-model", input="hi"))
    # a streamed response is its key's from its response.created event
    events = run_sdk(kind, proxy.url, bob, lambda c: c.responses.create(model="fake-model", input="hi", stream=True))
    theirs = events[0].response
    assert events[0].type == "response.created"
    assert theirs.id != mine.id
    master = run_sdk(kind, proxy.url, MASTER, lambda c: c.responses.create(model="fake-model", input="hi"))

    def continued(key: str, previous: str) -> Any:
        use = lambda c: c.responses.create(model="fake-model", input="more", previous_response_id=previous)  # noqa: E731
        return run_sdk(kind, proxy.url, key, use)

    def missing(key: str, use: Callable[[Any], Any], response_id: str) -> None:
        _refused_with(kind, proxy, fake, key, use, openai.NotFoundError, 404, _no_response(response_id))

    # its own: retrieve, cancel, continue
    assert run_sdk(kind, proxy.url, alice, lambda c: c.responses.retrieve(mine.id)).id == mine.id
    assert run_sdk(kind, proxy.url, alice, lambda c: c.responses.cancel(mine.id)).status == "cancelled"
    follow = continued(alice, mine.id)
    assert run_sdk(kind, proxy.url, alice, lambda c: c.responses.retrieve(follow.id)).id == follow.id
    assert run_sdk(kind, proxy.url, bob, lambda c: c.responses.retrieve(theirs.id)).id == theirs.id

    # another key's (or the master's, or an unknown) response: 404 as OpenAI answers an unknown id, nothing sent
    for other in (theirs.id, master.id, "resp_does_not_exist"):
        missing(alice, lambda c, o=other: c.responses.retrieve(o), other)
        missing(alice, lambda c, o=other: c.responses.cancel(o), other)
        # nor may a key continue another key's conversation, streamed or not
        previous = {
            "message": f"Previous response with id '{other}' not found.",
            "type": "invalid_request_error",
            "param": "previous_response_id",
            "code": "previous_response_not_found",
        }
        for stream in (False, True):

            def chain(c: Any, o: str = other, s: bool = stream) -> Any:
                return c.responses.create(model="fake-model", input="and?", previous_response_id=o, stream=s)

            _refused_with(kind, proxy, fake, alice, chain, openai.BadRequestError, 400, previous)
    missing(bob, lambda c: c.responses.retrieve(mine.id), mine.id)

    # the master key sees, cancels and continues any response
    for any_id in (mine.id, theirs.id, master.id):
        assert run_sdk(kind, proxy.url, MASTER, lambda c, o=any_id: c.responses.retrieve(o)).id == any_id
    assert run_sdk(kind, proxy.url, MASTER, lambda c: c.responses.cancel(theirs.id)).status == "cancelled"
    assert continued(MASTER, mine.id).output_text == "Hi from responses"


def test_the_schema_migrates_from_version_1(tmp_path: Any) -> None:
    """A database made by the first release (keys and spend log only) gains the owners table."""
    import asyncio

    import sqlalchemy as sa

    from liter_llm_proxy import db

    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"

    async def go() -> tuple[int, int, list[str]]:
        store = db.Store(url)
        try:
            async with store.engine.begin() as conn:
                await conn.run_sync(lambda sync: db.metadata.create_all(sync, tables=[db.schema]))
                await db.MIGRATIONS[0](conn)
                await conn.execute(sa.insert(db.schema).values(version=1))
            found = await store.migrate()
            again = await store.migrate()
            await store.claim_objects("file", ["file-9"], "key_1")
            assert await store.object_owner("file", "file-9") == "key_1"
            async with store.engine.connect() as conn:
                names = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
            return found, again, names
        finally:
            await store.close()

    found, again, names = asyncio.run(go())
    assert (found, again) == (1, db.SCHEMA_VERSION)
    assert "proxy_objects" in names
