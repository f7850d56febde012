"""Bodies read piece by piece (``liter_llm._body``): plain ones raw, encoded ones decoded, both clients."""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import liter_llm_core_pipeline_support as S  # loaded by conftest.py

USER = S.USER


def _stream_events(count: int) -> list[bytes]:
    events = [S.chunk_event(f"t{index} ") for index in range(count)]
    return [*events, S.chunk_event(finish="stop"), b"data: [DONE]\n\n"]


def test_a_plain_stream_and_answer_arrive_whole(make: Any, server: Any) -> None:
    def script(req: Any, out: Any) -> None:
        if req.json().get("stream"):
            out.chunked_head()
            for event in _stream_events(30):
                out.chunk(event[:7])  # events cut inside their data line
                out.chunk(event[7:])
            out.end_chunks()
        else:
            out.reply(200, S.chat_json("plain answer"))

    server.script = script
    api = make(base_url=server.url + "/v1", timeout_secs=5)
    chunks = api.collect(model="m", messages=USER)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "".join(f"t{i} " for i in range(30))
    assert api.chat(model="m", messages=USER).choices[0].message.content == "plain answer"


def test_gzip_encoded_stream_and_answer_are_decoded(make: Any, server: Any) -> None:
    def script(req: Any, out: Any) -> None:
        if req.json().get("stream"):
            compressor = zlib.compressobj(wbits=31)  # gzip framing, flushed per event as a proxy would
            head = {"content-type": "text/event-stream", "content-encoding": "gzip", "transfer-encoding": "chunked"}
            out.head(200, head)
            for event in _stream_events(20):
                out.chunk(compressor.compress(event) + compressor.flush(zlib.Z_SYNC_FLUSH))
            out.chunk(compressor.flush())
            out.end_chunks()
        else:
            out.reply(200, gzip.compress(S.chat_json("zipped answer")), {"content-encoding": "gzip"})

    server.script = script
    api = make(base_url=server.url + "/v1", timeout_secs=5)
    chunks = api.collect(model="m", messages=USER)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "".join(f"t{i} " for i in range(20))
    assert chunks[-1].choices[0].finish_reason is not None
    assert api.chat(model="m", messages=USER).choices[0].message.content == "zipped answer"
