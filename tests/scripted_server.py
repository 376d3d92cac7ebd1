"""A small scripted HTTP server on 127.0.0.1 for the client's hardening tests (not a test module).

Each route is ``(method, path) -> handler(request) -> Answer``; every request that arrives is recorded (method,
path, headers, body), so a test can assert what a host did and did not receive. Unknown routes answer 404.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Answer:
    status: int = 200
    body: bytes | str | Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang_up: bool = False            # close the connection without answering (after reading the request)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, self.headers.get("Content-Type", "application/octet-stream")
        if isinstance(self.body, str):
            return self.body.encode(), self.headers.get("Content-Type", "text/html; charset=utf-8")
        return json.dumps(self.body).encode(), "application/json"


def token_answer(url: str, token: str = "tok-" + "t" * 24, **extra: Any) -> Answer:
    """A good token answer naming ``url`` as the REST host (``extra`` overrides or adds fields)."""
    body = {"access_token": token, "token_type": "Bearer", "expires_in": 1079, "scope": "journeys_read",
            "rest_instance_url": url, **extra}
    return Answer(200, body)


class ScriptedServer:
    """``with ScriptedServer() as srv:`` serves ``srv.routes`` on ``srv.url`` until the block ends."""

    MAX_REQUESTS = 200   # a test makes a handful; a runaway loop stops here

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Callable[[Received], Answer]] = {}
        self.received: list[Received] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True
            timeout = 5

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                got = Received(self.command, self.path.split("?")[0], dict(self.headers.items()),
                               self.rfile.read(length) if length else b"")
                with server._lock:
                    server.received.append(got)
                    too_many = len(server.received) > server.MAX_REQUESTS
                route = server.routes.get((got.method, got.path))
                answer = Answer(404, {"message": "no route"}) if route is None or too_many else route(got)
                if answer.hang_up:
                    self.close_connection = True
                    return
                body, content_type = answer.encoded()
                self.send_response(answer.status)
                for name, value in {"Content-Type": content_type, **answer.headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"scripted-server-{self.port}", daemon=True)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def paths(self, method: str | None = None) -> list[str]:
        return [r.path for r in self.received if method is None or r.method == method]
