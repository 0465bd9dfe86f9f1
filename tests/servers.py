"""Real uvicorn server processes for multi-process tests."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parent.parent
STARTUP = 120.0  # a deadline only: a loaded machine (2 cores, many test runs) starts slowly


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def checkpoint_path_for(url: str) -> str:
    """The audit checkpoint file of one test database, beside the session's own (tests/conftest.py).

    A server's checkpoint job signs its database's chain head into this file and
    refuses, loudly, a head behind the file's last line (rows were removed). Every
    test database starts its chain at seq 1, so servers of different databases
    sharing one file would each see the other's head as tampering. Test
    databases have unique names; a restart on the same database keeps its file.
    """
    from urllib.parse import urlsplit

    session_file = Path(os.environ["ZHIJIAO_AUDIT_CHECKPOINT_PATH"])
    name = urlsplit(url).path.lstrip("/") or "default"
    return str(session_file.with_name(f"checkpoints-{name}.jsonl"))


def start_server(url: str, *, log: IO | None = None, log_level: str = "warning", port: int | None = None,
                 startup: float = STARTUP, **env: str) -> tuple[subprocess.Popen, str]:
    """Start `uvicorn api.main:app` on ``port`` (default: a free one) against ``url`` (extra
    ZHIJIAO_* settings as keyword arguments) and wait until /health answers. With ``log``
    (a file), the server's stdout and stderr (uvicorn's access and error logs
    included) go there. A restart on the same port (the crash test) keeps the clients'
    address."""
    port = port or free_port()
    full_env = {**os.environ, "ZHIJIAO_DATABASE_URL": url,
                "ZHIJIAO_AUDIT_CHECKPOINT_PATH": checkpoint_path_for(url), **env}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port",
                             str(port), "--log-level", log_level], cwd=ROOT, env=full_env, stdout=log,
                            stderr=subprocess.STDOUT if log is not None else None)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + startup
    try:
        while True:
            assert proc.poll() is None, "server process exited"
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    return proc, base
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"server did not start within {startup:.0f} s"
            time.sleep(0.1)
    except BaseException:
        # A server that did not come up must not outlive the test (and its database).
        proc.kill()
        proc.wait(10)
        raise


class TcpProxy:
    """A TCP forwarder from 127.0.0.1 to a PostgreSQL server (TCP or unix socket), that a
    test can cut: ``cut()`` closes its port and every connection through it, so to
    whoever uses ``url`` the database has gone away (pooled connections break, new
    ones are refused)."""

    def __init__(self, database_url: str) -> None:
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(database_url)
        host, port = str(info.get("host") or "127.0.0.1"), int(info.get("port") or 5432)
        self._target = (socket.AF_UNIX, f"{host}/.s.PGSQL.{port}") if host.startswith("/") else \
            (socket.AF_INET, (host, port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        auth = str(info.get("user") or "postgres") + (f":{info['password']}" if info.get("password") else "")
        self.url = f"postgresql://{auth}@127.0.0.1:{self.port}/{info['dbname']}"
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._cut = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # cut
            upstream = socket.socket(self._target[0], socket.SOCK_STREAM)
            try:
                upstream.connect(self._target[1])
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._cut:
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            sockets, self._sockets = self._sockets, []
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close alone does not)
        except OSError:
            pass
        self._listener.close()
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
