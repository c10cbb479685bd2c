"""/healthz, /readyz and /metrics on one small threaded HTTP server."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

# A check returns None when fine, or the reason it is not.
Check = Callable[[], str | None]


def _thread(name: str, target: Callable[[], None]) -> None:
    threading.Thread(target=target, name=name, daemon=True).start()


def serve(
    host: str,
    port: int,
    registry: CollectorRegistry,
    healthy: Check,
    ready: Check,
    start: Callable[[str, Callable[[], None]], None] = _thread,
) -> ThreadingHTTPServer:
    """Serves in a thread named "http" that `start` starts (the agent's supervisor, app.py); each request
    is answered in a short-lived thread of its own."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif self.path in ("/healthz", "/readyz"):
                problem = (healthy if self.path == "/healthz" else ready)()
                code = 200 if problem is None else 503
                self._send(code, (problem or "ok").encode() + b"\n", "text/plain; charset=utf-8")
            else:
                self._send(404, b"not found\n", "text/plain; charset=utf-8")

        def _send(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Probes every few seconds would drown the agent's own log."""

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    start("http", server.serve_forever)
    return server
