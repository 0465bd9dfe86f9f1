"""The JT/T 808 TCP listener: one asyncio connection per terminal.

Per connection, frames are handled one at a time, in arrival order (per-device
ordering, as Traccar keeps it). A location report (0x0200) or batch (0x0704)
runs the ingest pipeline in a worker thread, in one transaction that this
module owns (the connection is the "request"); the 0x8001 answer is written
only after that commit returned, so a terminal that got result 0 has its fixes
durable, and one that got anything else resends them (the server dedups).

What the standard says to answer, and what we answer:

* a frame whose checksum or escapes are wrong, or whose length does not match:
  0x8001 result 2 ("message error") when its header can still be read, else
  nothing; nothing is stored either way;
* a body that cannot be decoded: result 2; a commit that failed: result 1
  ("failure"); an encrypted (RSA) or subpackaged message, or one we do not
  handle: result 3 ("not supported");
* anything but registration and authentication before authentication: result 1.

Strangers cost little: a connection gets one registration (0x0100) and one
authentication (0x0102) attempt, and is closed after a refusal or a second
attempt; each peer address has at most ``jt808_max_connections_per_address``
connections and ``jt808_attempts_per_minute`` attempts (token buckets, checked
before any transaction or audit row: a flood is dropped, not recorded).

Bounds: a frame longer than ``jt808_max_frame_bytes`` closes the connection
(the stream reader's buffer never holds more); so do ``jt808_auth_timeout_seconds``
without authenticating and ``jt808_idle_timeout_seconds`` without a frame, and
connections beyond ``jt808_max_connections``.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from core.audit import AuditLog
from core.clock import Clock
from core.ratelimit import RateLimiter
from core.errors import ServiceError
from core.settings import Settings
from geo.fences.cache import FenceCache
from geo.ingest.decoders import jt808 as decoder
from geo.ingest.errors import DecodeError
from geo.ingest.jt808 import codec, messages as m, terminals
from geo.ingest.pipeline import IngestContext, ingest

log = logging.getLogger(__name__)
T = TypeVar("T")


class Jt808Listener:
    """The TCP server; ``start()`` binds, ``stop()`` closes it and every connection."""

    def __init__(self, *, settings: Settings, session_factory: sessionmaker[Session], clock: Clock,
                 audit: AuditLog, fences: FenceCache) -> None:
        self.settings, self.session_factory, self.clock, self.audit, self.fences = (
            settings, session_factory, clock, audit, fences)
        self.cfg = settings.jt808
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task] = set()
        self._per_address: Counter[str | None] = Counter()
        self.attempts = RateLimiter(rate=self.cfg.jt808_attempts_per_minute / 60, burst=self.cfg.jt808_attempt_burst,
                                    what="address", unit="registration attempts")
        # device id -> {connection id: peer address} of authenticated connections (this process)
        self.live: dict[int, dict[str, str | None]] = {}

    def live_elsewhere(self, device_id: int, address: str | None) -> bool:
        return any(a != address for a in dict(self.live.get(device_id, {})).values())

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        # reuse_port: several server processes (zhijiao serve --workers N) share
        # the port and the kernel spreads terminals over them.
        self._server = await asyncio.start_server(self._accept, self.cfg.jt808_host, self.cfg.jt808_port,
                                                  limit=self.cfg.jt808_max_frame_bytes, reuse_port=True)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        peer = writer.get_extra_info("peername")
        address = peer[0] if peer else None
        if (len(self._connections) >= self.cfg.jt808_max_connections
                or self._per_address[address] >= self.cfg.jt808_max_connections_per_address):
            writer.close()
            return
        self._connections.add(task)
        self._per_address[address] += 1
        connection = Connection(self, reader, writer)
        try:
            await connection.run()
        except asyncio.CancelledError:
            pass  # stop(): the connection is closed by run()'s finally; the task just ends
        finally:
            self._connections.discard(task)
            self._per_address[address] -= 1
            if not self._per_address[address]:
                del self._per_address[address]
            connection.forget()

    def in_transaction(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in its own session and commit it (called in a worker thread)."""
        session = self.session_factory()
        try:
            out = work(session)
            session.commit()
            return out
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


class Connection:
    """One terminal's TCP connection: its frames, its authentication, its answers."""

    def __init__(self, listener: Jt808Listener, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.l, self.reader, self.writer = listener, reader, writer
        peer = writer.get_extra_info("peername")
        self.peer = terminals.Peer(peer[0] if peer else None, "jt808-" + uuid.uuid4().hex[:16])
        self.device_id: int | None = None
        self.terminal: str | None = None
        self._serial = itertools.count()
        self._closing = False
        self._attempted: set[int] = set()  # 0x0100 / 0x0102: one of each per connection
        # One deadline for the whole unauthenticated phase: heartbeats or
        # registrations repeated forever must not keep a stranger's socket open.
        self._auth_deadline = asyncio.get_running_loop().time() + listener.cfg.jt808_auth_timeout_seconds

    async def run(self) -> None:
        try:
            while not self._closing:
                content = await self._read_frame()
                if content:
                    await self._on_frame(content)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass  # timed out, closed by the terminal, or a frame beyond the bound
        except Exception as exc:  # noqa: BLE001 - e.g. the database is down during registration
            # One line, no payload: the terminal reconnects and retries.
            log.warning("jt808 %s: connection closed (%s)", self.peer.connection_id, type(exc).__name__)
        finally:
            self.writer.close()

    def forget(self) -> None:
        """No longer a live connection of its device."""
        if self.device_id is not None:
            live = self.l.live.get(self.device_id, {})
            live.pop(self.peer.connection_id, None)
            if not live:
                self.l.live.pop(self.device_id, None)

    def _may_attempt(self, msg_id: int) -> bool:
        """One attempt of each kind per connection, and the address's rate; else close, silently."""
        if msg_id in self._attempted or self.l.attempts.take(self.l.attempts.key(self.peer.address or "")):
            self._closing = True
            return False
        self._attempted.add(msg_id)
        return True

    async def _read_frame(self) -> bytes:
        """The bytes between the next two 0x7e flags (junk before the first flag is skipped)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.l.cfg.jt808_idle_timeout_seconds if self.device_id else self._auth_deadline
        async with asyncio.timeout_at(deadline):
            await self.reader.readuntil(b"\x7e")  # the opening flag
            while True:
                chunk = await self.reader.readuntil(b"\x7e")
                if len(chunk) > 1:
                    return chunk[:-1]
                # "7e 7e": the previous frame's closing flag followed by this one's opening flag

    async def _send(self, header: codec.Header, msg_id: int, body: bytes) -> None:
        frame = codec.encode_frame(msg_id, body, phone=header.phone, serial=next(self._serial),
                                   version=header.version, protocol_version=header.protocol_version or 1)
        self.writer.write(frame)
        async with asyncio.timeout(self.l.cfg.jt808_idle_timeout_seconds):
            await self.writer.drain()

    async def _answer(self, header: codec.Header, result: int) -> None:
        await self._send(header, m.GENERAL_RESPONSE, m.general_response(header.serial, header.msg_id, result))

    async def _tx(self, work: Callable[[Session], T]) -> T:
        return await asyncio.to_thread(self.l.in_transaction, work)

    async def _on_frame(self, content: bytes) -> None:
        try:
            frame = codec.decode_frame(content)
        except codec.FrameError as exc:
            if exc.header is not None:
                await self._answer(exc.header, m.MESSAGE_ERROR)
            return
        h = frame.header
        if h.encryption or h.package is not None:
            await self._answer(h, m.NOT_SUPPORTED)
        elif self.terminal is not None and h.terminal != self.terminal:
            await self._answer(h, m.FAILURE)  # one connection speaks for one terminal
        elif h.msg_id in (m.REGISTER, m.AUTHENTICATE) and not self._may_attempt(h.msg_id):
            return
        elif h.msg_id == m.REGISTER:
            await self._register(frame)
        elif h.msg_id == m.AUTHENTICATE:
            await self._authenticate(frame)
        elif self.device_id is None:
            await self._answer(h, m.FAILURE)
        elif h.msg_id == m.HEARTBEAT:
            await self._answer(h, m.OK)
        elif h.msg_id in (m.LOCATION, m.BATCH):
            await self._answer(h, await self._ingest(frame))
        else:
            await self._answer(h, m.NOT_SUPPORTED)

    async def _register(self, frame: codec.Frame) -> None:
        h = frame.header
        try:
            info = m.parse_registration(frame.body, h.version)
        except DecodeError:
            await self._answer(h, m.MESSAGE_ERROR)
            return
        l = self.l
        result, code = await self._tx(lambda db: terminals.register(
            db, device_key=l.settings.auth.device_key, audit=l.audit, peer=self.peer, phone=h.terminal, info=info,
            now=l.clock.now(), reregister=timedelta(minutes=l.cfg.jt808_reregister_minutes),
            live_elsewhere=lambda device_id: l.live_elsewhere(device_id, self.peer.address)))
        await self._send(h, m.REGISTER_RESPONSE, m.registration_response(h.serial, result, code))
        if result != m.REG_OK:
            self._closing = True  # a refused registration gets no second try on this connection

    async def _authenticate(self, frame: codec.Frame) -> None:
        h = frame.header
        try:
            code = m.parse_authentication(frame.body, h.version).code
        except DecodeError:
            await self._answer(h, m.MESSAGE_ERROR)
            return
        l = self.l
        ident = await self._tx(lambda db: terminals.authenticate(
            db, device_key=l.settings.auth.device_key, audit=l.audit, peer=self.peer, phone=h.terminal, code=code))
        if ident is None:
            await self._answer(h, m.FAILURE)
            self._closing = True  # a wrong auth code gets no second try on this connection
            return
        self.device_id, self.terminal = ident.device_id, h.terminal
        l.live.setdefault(ident.device_id, {})[self.peer.connection_id] = self.peer.address
        await self._answer(h, m.OK)

    async def _ingest(self, frame: codec.Frame) -> int:
        """Decode, judge and store the reports; the result to answer once the commit returned."""
        l = self.l

        def work(db: Session) -> int:
            ident = terminals.identity(db, self.device_id)
            if ident is None:
                return m.FAILURE  # disabled, or the supervision ended, since it authenticated
            fixes = decoder.fixes_of(frame)
            ingest(fixes, IngestContext(db=db, now=l.clock.now(), settings=l.settings, device=ident, fences=l.fences))
            return m.OK

        try:
            result = await self._tx(work)
        except DecodeError:
            return m.MESSAGE_ERROR
        except ServiceError:
            return m.FAILURE
        except Exception as exc:  # noqa: BLE001 - the commit (or the database) failed: nothing was stored
            log.warning("jt808 %s: report not stored (%s)", self.peer.connection_id, type(exc).__name__)
            return m.FAILURE
        if result == m.FAILURE:
            self._closing = True
        return result

