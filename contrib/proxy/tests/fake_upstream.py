"""A local fake provider speaking the OpenAI wire (a Starlette app), and servers run in threads for the tests.

Every request it receives is recorded (``upstream.requests``), so a test can
prove that a refused call sent nothing.  The model ``slow-stream`` streams one
chunk every 50 ms for a minute; when the proxy cuts it, the generator's
cancellation is recorded in ``upstream.events``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import struct
import threading
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def usage(prompt: int = 10, completion: int = 5) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def chunk(content: str | None, finish: str | None = None, *, with_usage: bool = False) -> bytes:
    body: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "fake-model",
        "choices": []
        if content is None and finish is None
        else [{"index": 0, "delta": {} if content is None else {"content": content}, "finish_reason": finish}],
    }
    if with_usage:
        body["usage"] = usage(10, 3)
    return b"data: " + json.dumps(body).encode() + b"\n\n"


class FakeUpstream:
    """The fake provider's state and its Starlette app."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.events: list[str] = []
        self.files: dict[str, dict[str, Any]] = {}
        self.batches_made: dict[str, dict[str, Any]] = {}
        self.files_made = 0
        self.responses_made = 0
        self.stream_started = threading.Event()
        self.stream_cancelled = threading.Event()

    def count(self, path: str | None = None) -> int:
        return sum(1 for _, p, _, _ in self.requests if path is None or p == path)

    async def _record(self, request: Request) -> bytes:
        body = await request.body()
        self.requests.append((request.method, request.url.path, dict(request.headers), body))
        return body

    async def chat(self, request: Request) -> Response:
        data = json.loads(await self._record(request))
        text = "".join(m.get("content", "") for m in data["messages"] if isinstance(m.get("content"), str))
        if data["model"] == "fail-400":
            return JSONResponse(
                {"error": {"message": "bad thing", "type": "invalid_request_error", "param": None, "code": "nope"}}, 400
            )
        if data["model"] == "slow-answer":
            await asyncio.sleep(5)
        if not data.get("stream"):
            return JSONResponse(
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": 1700000000,
                    "model": data["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": f"echo: {text}"},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage(),
                }
            )
        include_usage = bool((data.get("stream_options") or {}).get("include_usage"))
        if data["model"] == "slow-stream":

            async def slow() -> Any:
                try:
                    yield chunk("first ")
                    self.stream_started.set()
                    for i in range(1200):
                        await asyncio.sleep(0.05)
                        yield chunk(f"t{i} ")
                    yield chunk(None, "stop")
                    yield b"data: [DONE]\n\n"
                except (asyncio.CancelledError, GeneratorExit):
                    self.events.append("stream_cancelled")
                    self.stream_cancelled.set()
                    raise

            return StreamingResponse(slow(), media_type="text/event-stream")

        async def parts() -> Any:
            for word in ("Hello", " from", " the", " fake"):
                yield chunk(word)
            yield chunk(None, "stop")
            if include_usage:
                yield chunk(None, None, with_usage=True)
            yield b"data: [DONE]\n\n"

        return StreamingResponse(parts(), media_type="text/event-stream")

    async def embeddings(self, request: Request) -> Response:
        data = json.loads(await self._record(request))
        inputs = data["input"] if isinstance(data["input"], list) else [data["input"]]
        vectors = [[0.5, -1.25, float(i)] for i in range(len(inputs))]
        if data.get("encoding_format") == "base64":
            items: list[Any] = [base64.b64encode(struct.pack("<3f", *v)).decode() for v in vectors]
        else:
            items = vectors
        return JSONResponse(
            {
                "object": "list",
                "data": [{"object": "embedding", "index": i, "embedding": e} for i, e in enumerate(items)],
                "model": data["model"],
                "usage": {"prompt_tokens": 4, "total_tokens": 4},
            }
        )

    async def models(self, request: Request) -> Response:
        await self._record(request)
        names = ["fake-model", "other-model", "slow-stream"]
        return JSONResponse(
            {"object": "list", "data": [{"id": n, "object": "model", "created": 0, "owned_by": "fake"} for n in names]}
        )

    async def images(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse({"created": 1700000000, "data": [{"url": "http://127.0.0.1/cat.png"}]})

    async def speech(self, request: Request) -> Response:
        await self._record(request)
        return Response(b"ID3fake-mp3", media_type="audio/mpeg")

    async def transcriptions(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse({"text": "hello from the audio"})

    async def moderations(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse(
            {
                "id": "modr-1",
                "model": "omni-moderation-latest",
                "results": [
                    {"flagged": False, "categories": {"violence": False}, "category_scores": {"violence": 0.01}}
                ],
            }
        )

    async def rerank(self, request: Request) -> Response:
        data = json.loads(await self._record(request))
        return JSONResponse(
            {
                "id": "rr-1",
                "model": data["model"],
                "results": [{"index": 1, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.1}],
            }
        )

    async def search(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse({"results": [{"title": "Result", "url": "http://127.0.0.1/r", "snippet": "a snippet"}]})

    async def ocr(self, request: Request) -> Response:
        data = json.loads(await self._record(request))
        return JSONResponse({"model": data["model"], "pages": [{"index": 0, "markdown": "# Title"}]})

    def _file(self, file_id: str) -> dict[str, Any]:
        return self.files[file_id]

    async def files_root(self, request: Request) -> Response:
        if request.method == "GET":
            await self._record(request)
            return JSONResponse({"object": "list", "data": list(self.files.values()), "has_more": False})
        form = await request.form()
        self.requests.append((request.method, request.url.path, dict(request.headers), b""))
        upload = form["file"]
        content = await upload.read()  # type: ignore[union-attr]
        self.files_made += 1
        file_id = f"file-{self.files_made}"
        self.files[file_id] = {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": 1700000000,
            "filename": upload.filename,  # type: ignore[union-attr]
            "purpose": form["purpose"],
            "status": "processed",
        }
        self.files[file_id]["_content"] = content.decode()
        return JSONResponse({k: v for k, v in self.files[file_id].items() if not k.startswith("_")})

    async def file(self, request: Request) -> Response:
        await self._record(request)
        file_id = request.path_params["file_id"]
        if file_id not in self.files:
            return JSONResponse({"error": {"message": "No such file", "type": "invalid_request_error"}}, 404)
        if request.method == "DELETE":
            self.files.pop(file_id)
            return JSONResponse({"id": file_id, "object": "file", "deleted": True})
        return JSONResponse({k: v for k, v in self._file(file_id).items() if not k.startswith("_")})

    async def file_content(self, request: Request) -> Response:
        await self._record(request)
        return Response(self._file(request.path_params["file_id"])["_content"].encode())

    def _batch(self, batch_id: str, status: str = "validating", input_file_id: str = "file-1") -> dict[str, Any]:
        return {
            "id": batch_id,
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "input_file_id": input_file_id,
            "completion_window": "24h",
            "status": status,
            "created_at": 1700000000,
        }

    async def batches(self, request: Request) -> Response:
        body = await self._record(request)
        if request.method == "POST":
            batch_id = f"batch_{len(self.batches_made) + 1}"
            self.batches_made[batch_id] = self._batch(batch_id, input_file_id=json.loads(body)["input_file_id"])
            return JSONResponse(self.batches_made[batch_id])
        data = list(self.batches_made.values()) or [self._batch("batch_1")]
        return JSONResponse({"object": "list", "data": data, "has_more": False})

    async def batch(self, request: Request) -> Response:
        await self._record(request)
        batch_id = request.path_params["batch_id"]
        if request.url.path.endswith("/cancel"):
            return JSONResponse(self._batch(batch_id, "cancelling"))
        if batch_id == "batch_done":  # a finished batch with its output and error files
            done = self._batch(batch_id, "completed")
            return JSONResponse({**done, "output_file_id": "file-out", "error_file_id": "file-err"})
        return JSONResponse({**self.batches_made.get(batch_id, self._batch(batch_id)), "status": "in_progress"})

    def _response_object(self, model: str, status: str, text: str, response_id: str = "resp_1") -> dict[str, Any]:
        done = status == "completed"
        return {
            "id": response_id,
            "object": "response",
            "created_at": 1700000000,
            "model": model,
            "status": status,
            "output": [
                {
                    "type": "message",
                    "id": "msg_1",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": text, "annotations": []}],
                }
            ]
            if done
            else [],
            "usage": {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7} if done else None,
        }

    def new_response_id(self) -> str:
        """A new response's id (each created response has its own, as upstream)."""
        self.responses_made += 1
        return f"resp_{self.responses_made}"

    def response_events(self, model: str, response_id: str = "resp_1") -> Any:
        """The Responses API's streaming events for one text answer, in the documented order
        (https://developers.openai.com/api/reference/resources/responses/streaming-events)."""
        words = ["Hi", " from", " responses"]

        def made(status: str, text: str) -> dict[str, Any]:
            return self._response_object(model, status, text, response_id)

        item = {"type": "message", "id": "msg_1", "role": "assistant", "status": "in_progress", "content": []}
        part = {"type": "output_text", "text": "", "annotations": []}
        where = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
        events: list[dict[str, Any]] = [
            {"type": "response.created", "response": made("in_progress", "")},
            {"type": "response.in_progress", "response": made("in_progress", "")},
            {"type": "response.output_item.added", "output_index": 0, "item": item},
            {"type": "response.content_part.added", **where, "part": part},
            *({"type": "response.output_text.delta", **where, "delta": w, "logprobs": []} for w in words),
            {"type": "response.output_text.done", **where, "text": "".join(words), "logprobs": []},
            {"type": "response.content_part.done", **where, "part": {**part, "text": "".join(words)}},
            {"type": "response.output_item.done", "output_index": 0, "item": {**item, "status": "completed"}},
            {"type": "response.completed", "response": made("completed", "".join(words))},
        ]
        for number, event in enumerate(events):
            event["sequence_number"] = number
        return events

    @staticmethod
    def sse(event: dict[str, Any]) -> bytes:
        return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()

    async def response_stream(self, model: str) -> Response:
        events = self.response_events(model, self.new_response_id())
        if model == "slow-stream":

            async def slow() -> Any:
                try:
                    yield self.sse(events[0])
                    self.stream_started.set()
                    for i in range(1200):
                        await asyncio.sleep(0.05)
                        yield self.sse({**events[4], "delta": f"t{i} ", "sequence_number": 4})
                    yield self.sse(events[-1])
                except (asyncio.CancelledError, GeneratorExit):
                    self.events.append("stream_cancelled")
                    self.stream_cancelled.set()
                    raise

            return StreamingResponse(slow(), media_type="text/event-stream")
        if model == "cut-stream":  # the connection ends before the terminal event
            events = events[:5]
        if model == "error-stream":  # an error event in the middle (the documented `error` event)
            events = [*events[:4], {"type": "error", "code": "server_error", "message": "boom", "param": None}]

        async def parts() -> Any:
            for event in events:
                yield self.sse(event)

        return StreamingResponse(parts(), media_type="text/event-stream")

    async def responses(self, request: Request) -> Response:
        body = await self._record(request)
        if body and request.method == "POST" and "cancel" not in request.url.path:
            sent = json.loads(body)
            if sent.get("stream"):
                return await self.response_stream(sent["model"])
        status = "cancelled" if request.url.path.endswith("/cancel") else "completed"
        model = (
            json.loads(body)["model"]
            if body and request.method == "POST" and "cancel" not in request.url.path
            else "fake-model"
        )
        return JSONResponse(
            {
                "id": request.path_params.get("response_id") or self.new_response_id(),
                "object": "response",
                "created_at": 1700000000,
                "model": model,
                "status": status,
                "output": [
                    {
                        "type": "message",
                        "id": "msg_1",
                        "role": "assistant",
                        "status": "completed",
                        "content": [{"type": "output_text", "text": "Hi from responses", "annotations": []}],
                    }
                ],
                "usage": {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7},
            }
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/v1/embeddings", self.embeddings, methods=["POST"]),
                Route("/v1/models", self.models, methods=["GET"]),
                Route("/v1/images/generations", self.images, methods=["POST"]),
                Route("/v1/audio/speech", self.speech, methods=["POST"]),
                Route("/v1/audio/transcriptions", self.transcriptions, methods=["POST"]),
                Route("/v1/moderations", self.moderations, methods=["POST"]),
                Route("/v1/rerank", self.rerank, methods=["POST"]),
                Route("/v1/search", self.search, methods=["POST"]),
                Route("/v1/ocr", self.ocr, methods=["POST"]),
                Route("/v1/files", self.files_root, methods=["GET", "POST"]),
                Route("/v1/files/{file_id}", self.file, methods=["GET", "DELETE"]),
                Route("/v1/files/{file_id}/content", self.file_content, methods=["GET"]),
                Route("/v1/batches", self.batches, methods=["GET", "POST"]),
                Route("/v1/batches/{batch_id}", self.batch, methods=["GET"]),
                Route("/v1/batches/{batch_id}/cancel", self.batch, methods=["POST"]),
                Route("/v1/responses", self.responses, methods=["POST"]),
                Route("/v1/responses/{response_id}", self.responses, methods=["GET"]),
                Route("/v1/responses/{response_id}/cancel", self.responses, methods=["POST"]),
            ]
        )


class ThreadServer:
    """An ASGI app served by uvicorn on 127.0.0.1 in a thread of the test process."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on", timeout_graceful_shutdown=5
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
