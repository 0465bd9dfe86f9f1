"""Real uvicorn server processes for multi-process tests."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parent.parent
STARTUP = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, *, log: IO | None = None, log_level: str = "warning",
                 **env: str) -> tuple[subprocess.Popen, str]:
    """Start `uvicorn api.main:app` on a free port against ``url`` (extra ZHIJIAO_*
    settings as keyword arguments) and wait until /health answers. With ``log``
    (a file), the server's stdout and stderr (uvicorn's access and error logs
    included) go there."""
    port = free_port()
    full_env = {**os.environ, "ZHIJIAO_DATABASE_URL": url, **env}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port",
                             str(port), "--log-level", log_level], cwd=ROOT, env=full_env, stdout=log,
                            stderr=subprocess.STDOUT if log is not None else None)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP
    while True:
        assert proc.poll() is None, "server process exited"
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.1)

