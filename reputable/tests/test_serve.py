"""`reputable serve`: the web app and the dispatcher beside it, started and stopped as an operator does."""

import datetime as dt
import json
import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reputable.conftest import free_port


def environment(data: Path) -> dict[str, str]:
    """A fresh installation's environment: SQLite and the mailbox in `data`."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "EMAIL_URL", "DJANGO_SETTINGS_MODULE")}
    return env | {
        "REPUTABLE_DATA_DIR": str(data),
        "DISPATCH_IDLE_SECONDS": "3600",
        "DATA_UPLOAD_MAX_MEMORY_SIZE": "65536",
    }


def started(tmp_path: Path) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    env = environment(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "reputable.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    printed = ""
    while printed.count("Started worker") < 2 and process.poll() is None:
        printed += process.stdout.readline()
    assert process.poll() is None, printed
    return process, port


def test_serve_stops_within_ten_seconds_of_sigterm_even_with_idle_keep_alive_connections(tmp_path: Path) -> None:
    process, port = started(tmp_path)
    idle = []
    try:
        for _ in range(4):  # more connections than workers, each kept open after one answer
            connection = socket.create_connection(("127.0.0.1", port), timeout=10)
            connection.sendall(b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert connection.recv(12).startswith(b"HTTP/1.1 200")
            idle.append(connection)

        process.send_signal(signal.SIGTERM)

        assert process.wait(timeout=10) == 0
    finally:
        for connection in idle:
            connection.close()
        if process.poll() is None:
            process.kill()
            process.wait()


@contextmanager
def serving_a_shop(data: Path) -> Iterator[tuple[int, str]]:
    """`reputable serve` on a fresh data folder with one shop: its port and API key."""
    process, port = started(data)
    try:
        created = subprocess.run(
            [sys.executable, "-m", "reputable.cli", "createshop", "--name", "Chunk Teas", "--json"],
            env=environment(data),
            capture_output=True,
            text=True,
            check=True,
        )
        yield port, json.loads(created.stdout)["api_key"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def chunked_post(port: int, key: str, body: bytes, chunk: int) -> tuple[int, dict[str, Any]]:
    """POST /api/v1/events with Transfer-Encoding: chunked, as some HTTP clients send bodies."""
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + chunk]), body[i : i + chunk]) for i in range(0, len(body), chunk)
    )
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(
            b"POST /api/v1/events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer "
            + key.encode()
            + b"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            + chunks
            + b"0\r\n\r\n"
        )
        answer = b""
        while data := connection.recv(65536):
            answer += data
    head, _, content = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(content)


def an_event(reference: str, **extra: Any) -> bytes:
    date = dt.datetime.now(dt.UTC).isoformat()
    event = {
        "type": "checkout",
        "transaction": {"reference": reference, "date": date},
        "customer": {"email": "jan@example.nl"},
    }
    return json.dumps(event | extra).encode()


def test_a_chunked_body_is_read_within_the_size_limit(tmp_path: Path) -> None:
    with serving_a_shop(tmp_path) as (port, key):
        stored = chunked_post(port, key, an_event("c-1"), chunk=17)
        too_big = chunked_post(port, key, an_event("c-2", padding="x" * 70_000), chunk=4096)

    assert stored[0] == 202
    assert stored[1]["transaction_reference"] == "c-1"
    assert too_big == (413, {"code": "body_too_large", "message": "the request body is too large", "fields": []})


def test_the_data_folder_and_every_file_reputable_makes_in_it_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serving_a_shop(data) as (port, key):
        assert chunked_post(port, key, an_event("p-1"), chunk=1024)[0] == 202  # the write lock, WAL and SHM
        assert chunked_post(port, "rpk_wrong", an_event("p-2"), chunk=1024)[0] == 401  # the cache
        subprocess.run(  # the mailbox
            [sys.executable, "-m", "reputable.cli", "sendtestemail", "someone@example.com"],
            env=environment(data),
            check=True,
            capture_output=True,
        )

    made = sorted(data.rglob("*"))
    assert {p.name for p in made} >= {
        "reputable.sqlite3",
        "secret_key",
        "mailbox",
        "cache",
        "reputable.sqlite3.writelock",
    }
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for path in made:
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path
