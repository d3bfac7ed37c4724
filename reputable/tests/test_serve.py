"""`reputable serve`: the web app and the dispatcher beside it, started and stopped as an operator does."""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from reputable.conftest import free_port


def started(tmp_path: Path) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "EMAIL_URL", "DJANGO_SETTINGS_MODULE")}
    env |= {"REPUTABLE_DATA_DIR": str(tmp_path), "DISPATCH_IDLE_SECONDS": "3600"}
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
