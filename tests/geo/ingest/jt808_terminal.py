"""A JT/T 808 test terminal: the standard's bytes over a real socket, and what the database holds for it."""
from __future__ import annotations

import itertools
import socket
from datetime import UTC, datetime, timedelta

import psycopg

from tests.geo.ingest import jt808_frames as jf


class Terminal:
    """A test terminal speaking the standard's bytes over a real socket."""

    def __init__(self, port: int, phone: str, device_id: int, url: str) -> None:
        self.port, self.phone, self.device_id, self.url = port, phone, device_id, url
        self.sock: socket.socket | None = None
        self.buffer = b""
        self.serial = itertools.count(1)

    def connect(self, source: str = "127.0.0.1") -> "Terminal":
        """Connect (to the listener on 127.0.0.1) from ``source``, another loopback address if need be."""
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=20, source_address=(source, 0))
        self.buffer = b""
        return self

    def send(self, msg_id: int, body: bytes = b"", **kw) -> int:
        serial = next(self.serial)
        self.sock.sendall(jf.frame(msg_id, body, self.phone, serial, **kw))
        return serial

    def answer(self) -> tuple[int, bytes]:
        """The next platform frame: (message id, body)."""
        while True:
            start = self.buffer.find(b"\x7e")
            end = self.buffer.find(b"\x7e", start + 1) if start >= 0 else -1
            if end > start >= 0:
                [content] = jf.split_frames(self.buffer[start:end + 1])
                self.buffer = self.buffer[end + 1:]
                msg_id, _, body = jf.parse_answer(content)
                return msg_id, body
            data = self.sock.recv(4096)
            assert data, "connection closed"
            self.buffer += data

    def general(self) -> tuple[int, int, int]:
        """The next 0x8001: (answered serial, answered id, result)."""
        msg_id, body = self.answer()
        assert msg_id == 0x8001
        return int.from_bytes(body[0:2], "big"), int.from_bytes(body[2:4], "big"), body[4]

    def register(self, terminal_id: str = "T000001", **kw) -> tuple[int, str]:
        serial = self.send(0x0100, jf.registration(terminal_id=terminal_id, **kw), **kw)
        msg_id, body = self.answer()
        assert msg_id == 0x8100 and int.from_bytes(body[0:2], "big") == serial
        return body[2], body[3:].decode()

    def login(self, **kw) -> str:
        """Register and authenticate; the auth code."""
        result, code = self.register(**kw)
        assert result == 0 and len(code) == 32
        assert self.authenticate(code, **kw) == 0
        return code

    def authenticate(self, code: str, **kw) -> int:
        serial = self.send(0x0102, jf.authentication(code, **kw), **kw)
        answered, msg_id, result = self.general()
        assert (answered, msg_id) == (serial, 0x0102)
        return result

    def closed(self) -> bool:
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def count(self, sql: str) -> int:
        # Another connection than the listener's: it sees committed rows only.
        with psycopg.connect(self.url) as conn:
            return conn.execute(sql, {"d": self.device_id}).fetchone()[0]

    def fixes(self) -> int:
        return self.count("SELECT count(*) FROM fixes WHERE device_id = %(d)s")

    def alerts(self) -> list[tuple[str, str]]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(
                "SELECT a.kind, a.cause FROM alerts a JOIN devices d ON d.supervisee_id = a.supervisee_id"
                " WHERE d.id = %(d)s ORDER BY a.id", {"d": self.device_id}).fetchall()


def ago(minutes: float) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes)
