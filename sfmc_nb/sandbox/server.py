"""HTTP transport: a quiet keep-alive ThreadingHTTPServer on 127.0.0.1, and the dispatcher that applies
faults, authentication, statistics and the request log around the endpoint handlers.

Transport rules that keep a pooled client honest: the whole request body is always read before answering,
every answer carries Content-Length, and a "lost" answer really closes the connection with nothing sent.
"""

from __future__ import annotations

import collections
import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from . import routes
from .errors import DOCS, ApiError, OAuthError
from .faults import Faults, seconds_text, seconds_value
from .routes import Answer, Request
from .tenant import Tenant

STAT_NAMES = ("token_requests", "token_refusals", "rest_requests", "throttled", "server_errors", "lost_answers",
              "dropped", "slow_answers", "batches_accepted", "members_queued", "internal_errors")
MAX_BODY = 16 * 1024 * 1024  # refuse absurd bodies rather than buffer them


class Dispatcher:
    """Everything between a parsed request and its answer; thread-safe."""

    def __init__(self, tenant: Tenant, faults: Faults):
        self.tenant, self.faults = tenant, faults
        self.base_url = ""
        self._lock = threading.Lock()
        self.stats: collections.Counter = collections.Counter({name: 0 for name in STAT_NAMES})
        self.log: list[dict] = []

    def count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self.stats[name] += amount

    def stats_snapshot(self) -> dict[str, int]:
        """A copy of the counters, taken under the lock."""
        with self._lock:
            return dict(self.stats)

    def log_snapshot(self) -> list[dict]:
        """A copy of the request log (method, path, status), oldest first."""
        with self._lock:
            return [dict(row) for row in self.log]

    def handle(self, req: Request) -> Answer:
        if req.path.rstrip("/").lower() == "/v2/token":
            answer = self._token(req)
        else:
            answer = self._rest(req)
        with self._lock:
            self.log.append({"method": req.method, "path": req.path,
                             "status": None if answer.drop else answer.status})
        return answer

    def _token(self, req: Request) -> Answer:
        if req.method != "POST":
            return Answer(405, ApiError(405, None, "Use POST.").body(), headers={"Allow": "POST"})
        try:
            answer = Answer(200, self.tenant.tokens.issue(_token_fields(req), self.base_url),
                            headers={"Cache-Control": "no-store"})
        except OAuthError as exc:
            self.count("token_refusals")
            return Answer(exc.status, exc.body())
        self.count("token_requests")
        return answer

    def _rest(self, req: Request) -> Answer:
        self.count("rest_requests")
        is_batch = req.method == "POST" and req.path.rstrip("/").lower() == routes.BATCH_PATH
        plan = self.faults.plan(is_batch)
        if plan.delay > 0:
            self.faults.pause(plan.delay)
        if plan.answer:
            return self._fault(plan.answer)
        if plan.slow > 0:  # worked on before it lands: a client whose read timeout is shorter has given up
            self.count("slow_answers")
            time.sleep(plan.slow)
        try:
            handler, scopes = routes.route(req)
            self.tenant.tokens.authorize(req.headers.get("authorization"), scopes)
            answer = handler(self.tenant, req)
        except routes.MethodNotAllowed as exc:
            answer = Answer(exc.status, exc.body(), headers={"Allow": ", ".join(exc.allowed)})
        except ApiError as exc:
            answer = Answer(exc.status, exc.body())
        except Exception as exc:  # a sandbox bug must still answer, and show up in stats
            self.count("internal_errors")
            answer = Answer(500, {"message": f"Internal sandbox error ({type(exc).__name__}).",
                                  "errorcode": 10000, "documentation": DOCS})
        if is_batch and answer.status == 202:
            self.count("batches_accepted")
            self.count("members_queued", answer.payload["count"] - answer.payload["notQueuedCount"])
        elif answer.status == 201:
            self.count("members_queued")
        if plan.lose_answer:
            self.count("lost_answers")
            answer.drop = True
        return answer

    def _fault(self, kind: str) -> Answer:
        if kind == "drop":
            self.count("dropped")
            return Answer(0, drop=True)
        if kind == "429":
            self.count("throttled")
            wait = self.faults.retry_after
            return Answer(429, {"message": "Rate limit exceeded", "errorcode": 50100,
                                "retryAfter": seconds_value(wait), "documentation": DOCS},
                          headers={"Retry-After": seconds_text(wait)})
        if kind == "429-body":
            self.count("throttled")
            return Answer(429, {"message": "Your requests are temporarily blocked.", "errorcode": 50200,
                                "documentation": DOCS})
        self.count("server_errors")
        message = "Internal Server Error" if kind == "500" else "Service Unavailable"
        return Answer(int(kind), {"message": message, "errorcode": 10000, "documentation": DOCS})


def _token_fields(req: Request) -> dict:
    """Token request fields from JSON (documented) or a form body (what OAuth libraries send)."""
    media = req.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        text = req.body.decode("utf-8-sig")
        if media == "application/x-www-form-urlencoded":
            return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
        fields = routes.loads_strict(text)
    except (UnicodeDecodeError, ValueError):
        raise OAuthError(400, "invalid_request", "The request body is malformed: send a JSON object.") from None
    if not isinstance(fields, dict):
        raise OAuthError(400, "invalid_request", "The request body must be a JSON object.")
    return fields


class Handler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 handler; logs nothing (tokens travel in headers)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "sfmc-sandbox/0.1"
    server: SandboxHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def log_message(self, format, *args) -> None:  # noqa: A002 - stdlib signature
        pass

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            return
        path, _, query = self.path.partition("?")
        params = {k.lower(): v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        req = Request(self.command, path, params, {k.lower(): v for k, v in self.headers.items()}, body)
        answer = self.server.dispatcher.handle(req)
        if answer.drop:
            self.close_connection = True
            try:  # reset rather than a polite close, like a proxy that gave up on the request
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            return
        self._send(answer.status, answer.encode(), answer.content_type, answer.headers)

    def _read_body(self) -> bytes | None:
        """The whole body (Content-Length or chunked); None after answering 400/413 for bad framing."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length_text = self.headers.get("Content-Length", "0") or "0"
        try:
            length = int(length_text)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            status = 413 if length > MAX_BODY else 400
            self._send(status, json.dumps({"message": "Bad Content-Length.", "documentation": DOCS}).encode(),
                       "application/json; charset=utf-8", {"Connection": "close"})
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        parts = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _send(self, status: int, data: bytes, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class SandboxHTTPServer(ThreadingHTTPServer):
    """Loopback-only threading server that can close its open keep-alive connections on shutdown."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, dispatcher: Dispatcher):
        self.dispatcher = dispatcher
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), Handler)

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._conn_lock:
            (self._connections.add if add else self._connections.discard)(conn)

    def close_connections(self) -> None:
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:
        """Clients that hang up mid-answer are normal here (lost-answer faults, timeouts): stay quiet."""
