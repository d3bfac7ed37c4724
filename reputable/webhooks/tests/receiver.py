"""A webhook receiver on 127.0.0.1 for the tests: it verifies each request with the
`standardwebhooks` package (an implementation of the specification independent of ours) and
answers as the test plans."""

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from reputable.conftest import free_port


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    hang: threading.Event | None = None  # wait for it before answering (a slow receiver)
    close: bool = False  # close the connection without an answer
    trickle: float = 0.0  # seconds between the body's bytes (a receiver that drips its answer)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> Any:
        return json.loads(self.body)

    def verify(self, secret: str) -> Any:
        """What Webhook.verify makes of it with `secret` (raises WebhookVerificationError)."""
        return Webhook(secret).verify(self.body, self.headers)


@dataclass
class Receiver:
    port: int
    host: str = "127.0.0.1"
    received: list[Received] = field(default_factory=list)
    plan: list[Answer] = field(default_factory=list)  # answers in turn; then 200
    entered: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hooks"

    def verified_by(self, secret: str) -> list[Any]:
        return [r.verify(secret) for r in self.received]


@contextmanager
def receiver(host: str = "127.0.0.1") -> Iterator[Receiver]:
    site = Receiver(port=free_port(), host=host)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            site.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            site.entered.set()
            answer = site.plan.pop(0) if site.plan else Answer()
            if answer.hang is not None:
                answer.hang.wait(timeout=30)
            if answer.close:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if not answer.trickle:
                self.wfile.write(answer.body)
                return
            drip = threading.Event()  # never set: waits `trickle` between bytes
            for byte in answer.body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                drip.wait(answer.trickle)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, site.port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def sinkhole() -> Iterator[Callable[[], int]]:
    """A listening socket on 127.0.0.1 that counts the connections made to it; yields the count
    and its port through `count.port`."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.05)
    accepted = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(conn)
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()

    def count() -> int:
        # A connection still in the backlog counts too: taken here, not left to the thread.
        drain = listener.dup()
        drain.setblocking(False)
        try:
            while True:
                try:
                    conn, _ = drain.accept()
                except (BlockingIOError, OSError):
                    break
                accepted.append(conn)
                conn.close()
        finally:
            drain.close()
        return len(accepted)

    count.port = listener.getsockname()[1]  # type: ignore[attr-defined]
    try:
        yield count
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


__all__ = ["Answer", "Receiver", "Received", "WebhookVerificationError", "receiver", "sinkhole"]
