"""A reference ACME Generate API server, for trying the plugin and for its tests (standard library only).

It answers every ``/generate`` with ``You said: <the last user turn>``, word by
word when streaming, and checks the ``x-acme-key`` header.  Run it with
``python acme_server.py [PORT] [KEY]`` (default 8765 and ``acme-key``), then
``ACME_BASE_URL=http://127.0.0.1:8765/v1 ACME_API_KEY=acme-key``.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODELS = ["acme-mini", "acme-large"]


class AcmeServer(ThreadingHTTPServer):
    """The server; ``url`` is its base URL (``http://127.0.0.1:<port>/v1``), ``bodies`` what it received."""

    daemon_threads = True

    def __init__(self, port: int = 0, key: str = "acme-key") -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.key = key
        self.bodies: list[dict[str, Any]] = []
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def start(self) -> AcmeServer:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(5)


class _Handler(BaseHTTPRequestHandler):
    server: AcmeServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _problem(self, status: int, kind: str, detail: str) -> None:
        self._send(status, json.dumps({"error": {"kind": kind, "detail": detail}}).encode())

    def _authorized(self) -> bool:
        if self.headers.get("x-acme-key") == self.server.key:
            return True
        self._problem(401, "unauthorized", "a valid x-acme-key header is required")
        return False

    def do_GET(self) -> None:
        if not self._authorized():
            return
        if self.path != "/v1/models":
            self._problem(404, "not_found", f"no such path {self.path}")
            return
        self._send(200, json.dumps({"models": [{"name": name} for name in MODELS]}).encode())

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
        if not self._authorized():
            return
        if self.path != "/v1/generate":
            self._problem(404, "not_found", f"no such path {self.path}")
            return
        self.server.bodies.append(body)
        if body.get("model") not in MODELS:
            self._problem(404, "not_found", f"no model {body.get('model')!r}")
            return
        said = next((turn["text"] for turn in reversed(body["turns"]) if turn["speaker"] == "user"), "")
        text = f"You said: {said}"
        tokens = {"in": sum(len(turn["text"].split()) for turn in body["turns"]), "out": len(text.split())}
        if not body.get("stream"):
            answer = {"id": "gen-1", "model": body["model"], "text": text, "stop": "done", "tokens": tokens}
            self._send(200, json.dumps(answer).encode())
            return
        words = text.split(" ")
        lines = [{"id": "gen-1", "text": word if i == 0 else " " + word} for i, word in enumerate(words)]
        lines.append({"id": "gen-1", "end": "done", "tokens": tokens})
        self._send(200, "".join(json.dumps(line) + "\n" for line in lines).encode(), "application/x-ndjson")


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
    server = AcmeServer(port, sys.argv[2] if len(sys.argv) > 2 else "acme-key")
    print(f"ACME Generate API on {server.url}")
    server.serve_forever()
