"""A misbehaving OpenAI-compatible (and MediaWiki, at ``/w/api.php``) server on 127.0.0.1, one attack at a time.

``GET /control/MODE`` switches the attack for the following requests; ``ok`` answers
normally. Attacks: ``sse_forever`` (a token stream that never ends), ``sse_pings``
(keep-alive comments forever), ``huge`` (a 1 GiB body), ``drip`` (one byte every
0.2 s), ``hang`` (reads the request, never answers), ``deep`` (JSON nested 100,000
deep), ``bigint`` (a 100,000-digit number), ``long_line`` (one SSE line without end).
"""

from __future__ import annotations

import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OK_BODY = {"choices": [{"index": 0, "text": " fine", "finish_reason": "stop"}],
           "usage": {"prompt_tokens": 1, "completion_tokens": 1}}
GIB = 1024 ** 3


class HostileServer:
    """Runs in a thread of the test process; the client under test runs in a subprocess."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.stopping = threading.Event()
        self.requests = 0
        handler = _handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()


def _handler(server: HostileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path.startswith("/control/"):
                server.mode = self.path.rsplit("/", 1)[1]
                self._json({"mode": server.mode})
            elif self.path.startswith("/w/api.php") and server.mode != "ok":  # the Wikipedia tool's endpoint
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    getattr(self, f"_{server.mode}")()
            else:
                self._json({"data": [{"id": "hostile"}]})

        def do_POST(self) -> None:
            self.body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
            server.requests += 1
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client left: the point
                getattr(self, f"_{server.mode}")()

        # -- attacks ------------------------------------------------------------------
        def _ok(self) -> None:
            if not self.body.get("stream"):
                self._json(OK_BODY)
                return
            self._stream_headers()
            for choice in OK_BODY["choices"]:
                self.wfile.write(b"data: " + json.dumps({"choices": [choice]}).encode() + b"\n\n")
            self.wfile.write(b"data: [DONE]\n\n")

        def _sse_forever(self) -> None:
            self._stream_headers()
            event = b'data: {"choices": [{"index": 0, "text": "x", "finish_reason": null}]}\n\n'
            while not server.stopping.is_set():
                self.wfile.write(event * 64)

        def _sse_pings(self) -> None:
            self._stream_headers()
            while not server.stopping.is_set():
                self.wfile.write(b": ping\n" * 4096)

        def _long_line(self) -> None:
            self._stream_headers()
            self.wfile.write(b"data: ")
            while not server.stopping.is_set():
                self.wfile.write(b"x" * 65536)

        def _huge(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(GIB))
            self.end_headers()
            block = b" " * (1024 * 1024)
            for _ in range(1024):
                if server.stopping.is_set():
                    return
                self.wfile.write(block)

        def _drip(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            while not server.stopping.wait(0.2):
                self.wfile.write(b" ")
                self.wfile.flush()

        def _hang(self) -> None:
            server.stopping.wait(120)

        def _deep(self) -> None:
            self._raw(b'{"choices": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")

        def _bigint(self) -> None:
            self._raw(b'{"choices": [{"index": ' + b"7" * 100_000 + b', "text": "x"}]}')

        # -- helpers --------------------------------------------------------------------
        def _stream_headers(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()

        def _json(self, value: Any) -> None:
            self._raw(json.dumps(value).encode())

        def _raw(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler

