"""The crash test's moving parts: a committed world, devices that retry until
acknowledged, officers' sockets that resume from their last seq, and a killer.

- **Devices** (one thread each) send their track in native batches, in order,
  each batch retried with the same fix ids until it is acknowledged (200);
  only then do they record its ids as acknowledged. Half of them walk into
  their exclusion zone once, long enough to be a violation (the ground truth);
  the others stay at home.
- **Officers** (one per office, asyncio in a thread) hold a websocket: buy a
  ticket (logging in again when the token is refused), authenticate with the
  last seq they saw, and record what they are shown (checker.Watched).
- **The killer** sends SIGKILL to the server process at random moments and
  starts it again on the same port, N times.
"""
from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from shapely.geometry import Point
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from core.clock import SystemClock
from tests.alerts.test_hub import ORIGIN
from tests.crash.checker import Watched
from tests.factories import PASSWORD, add_device, add_fence, add_supervisee, build_world, seed

BATCH = 5
STEP = timedelta(seconds=10)  # between fixes: ~45 m/s to walk 445 m into the zone, under the speed flag
ZONE_OFFSET = 0.004  # degrees of latitude from home to the zone's centre (~445 m)
ZONE_RADIUS_M = 300.0
INSIDE = range(30, 45)  # fix indexes inside the zone: 150 s, over the 60 s persistence
MIN_FIXES = 60
PACE = 0.25  # seconds between a device's batches: under the default 5 requests/s per device


@dataclass(frozen=True)
class PlannedDevice:
    device_id: int
    supervisee_id: int
    secret: str
    home: tuple[float, float]
    violates: bool

    def fix(self, run: str, i: int, t0: datetime) -> dict:
        lon, lat = self.home
        if self.violates and i in INSIDE:
            lat += ZONE_OFFSET
        return {"id": f"{run}-{i}", "time": (t0 + STEP * i).isoformat(), "lon": lon, "lat": lat, "accuracy": 10}


@dataclass
class CrashWorld:
    devices: list[PlannedDevice]
    officers: dict[int, tuple[str, str]]  # office id -> (username, token)


def seed_crash_world(url: str, settings, per_office: int = 3) -> CrashWorld:
    def build(db) -> CrashWorld:
        world = build_world(db, settings, SystemClock())
        devices = []
        for o, (office, officer) in enumerate(((world.office_a, world.users["officer_a"]),
                                               (world.office_b, world.users["officer_b"]))):
            for k in range(per_office):
                home = (118.90 + 0.02 * k, 28.90 + 0.03 * o)
                sup = add_supervisee(db, settings, office, officer, f"崩{o}{k}{uuid.uuid4().hex[:4]}", *home)
                add_fence(db, sup, "exclusion", Point(home[0], home[1] + ZONE_OFFSET), radius_m=ZONE_RADIUS_M)
                device, secret = add_device(db, settings, sup, "native")
                devices.append(PlannedDevice(device.id, sup.id, secret, home, violates=k % 2 == 0))
        officers = {world.office_a.id: (world.users["officer_a"].username, world.tokens["officer_a"]),
                    world.office_b.id: (world.users["officer_b"].username, world.tokens["officer_b"])}
        return CrashWorld(devices, officers)

    return seed(url, build)


class DeviceClient(threading.Thread):
    """Sends its track batch by batch; a batch counts only once acknowledged."""

    def __init__(self, base: str, device: PlannedDevice, t0: datetime, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.base, self.device, self.t0, self.stop = base, device, t0, stop
        self.run_id = uuid.uuid4().hex[:8]
        self.acknowledged: set[str] = set()
        self.statuses: dict[str, int] = {}
        self.error: str | None = None

    def run(self) -> None:
        try:
            with httpx.Client(base_url=self.base, timeout=5) as http:
                i = 0
                while not (self.stop.is_set() and i >= MIN_FIXES):
                    batch = [self.device.fix(self.run_id, i + k, self.t0) for k in range(BATCH)]
                    self._send_until_acknowledged(http, batch)
                    self.acknowledged.update(f["id"] for f in batch)
                    i += BATCH
                    time.sleep(PACE)
        except Exception as exc:  # reported by the test, not swallowed
            self.error = f"{type(exc).__name__}: {exc}"

    def _send_until_acknowledged(self, http: httpx.Client, batch: list[dict]) -> None:
        headers = {"Authorization": f"Bearer {self.device.secret}"}
        while True:
            try:
                r = http.post("/ingest/native", headers=headers, json={"fixes": batch})
            except httpx.TransportError as exc:
                self._count(type(exc).__name__)
                time.sleep(0.2)
                continue
            self._count(str(r.status_code))
            if r.status_code == 200:
                return
            if r.status_code in (400, 401, 403, 404, 409, 422):
                raise AssertionError(f"batch refused: {r.status_code} {r.text[:300]}")
            time.sleep(float(r.headers.get("Retry-After", "0.2")) if r.status_code == 429 else 0.2)

    def _count(self, key: str) -> None:
        self.statuses[key] = self.statuses.get(key, 0) + 1


class OfficerWatchers(threading.Thread):
    """One socket per office, resuming from the last seq after every disconnect."""

    def __init__(self, base: str, officers: dict[int, tuple[str, str]]) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.ws_url = base.replace("http://", "ws://") + "/ws/alerts"
        self.officers = officers
        self.watched = {office: Watched(office) for office in officers}
        self.stop = threading.Event()
        self.error: str | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._all())
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"

    async def _all(self) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=5) as http:
            await asyncio.gather(*(self._watch(http, office) for office in self.officers))

    async def _ticket(self, http: httpx.AsyncClient, office: int, token: list[str]) -> str | None:
        username = self.officers[office][0]
        r = await http.post("/ws/tickets", headers={"Authorization": f"Bearer {token[0]}"})
        if r.status_code == 401:  # expired (a long run): log in again, as the console does
            login = await http.post("/auth/login", json={"username": username, "password": PASSWORD})
            if login.status_code == 200:
                token[0] = login.json()["access_token"]
            return None
        if r.status_code == 429:
            await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
            return None
        return r.json()["ticket"] if r.status_code == 201 else None

    async def _watch(self, http: httpx.AsyncClient, office: int) -> None:
        watched, token, last_seq = self.watched[office], [self.officers[office][1]], None
        while not self.stop.is_set():
            try:
                ticket = await self._ticket(http, office, token)
                if ticket is None:
                    await asyncio.sleep(0.2)
                    continue
                async with connect(self.ws_url, origin=ORIGIN, open_timeout=5, ping_interval=None) as ws:
                    await ws.send(json.dumps({"type": "auth", "ticket": ticket, "last_seq": last_seq}))
                    watched.connections += 1
                    while not self.stop.is_set():
                        try:
                            message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                        except TimeoutError:
                            continue
                        last_seq = _apply(watched, message, last_seq)
            except (OSError, ConnectionClosed, InvalidHandshake, httpx.HTTPError, TimeoutError, ValueError):
                await asyncio.sleep(0.2)


def _apply(watched: Watched, message: dict, last_seq: int | None) -> int | None:
    """One server message as a client handles it; the last seq to resume from."""
    kind = message.get("type")
    if kind == "snapshot":
        watched.snapshot([a["id"] for a in message["alerts"]])
        return message["seq"]
    if kind == "event":
        watched.event(message["seq"], message["event"], message["alert_id"])
        return max(last_seq or 0, message["seq"])
    if kind == "resumed":
        return max(last_seq or 0, message["seq"])
    if kind == "resync":  # the server lost events after this seq: resume from at most it
        return min(last_seq or 0, message["seq"])
    return last_seq


@dataclass
class Server:
    """The server process, restarted on one port after each kill."""

    start: Callable[[int | None], tuple[subprocess.Popen, str]]
    proc: subprocess.Popen | None = None
    base: str = ""
    kills: int = 0
    startup_s: list[float] = field(default_factory=list)

    def up(self) -> None:
        port = int(self.base.rsplit(":", 1)[1]) if self.base else None
        started = time.monotonic()
        self.proc, self.base = self.start(port)
        self.startup_s.append(time.monotonic() - started)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.kills += 1

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # a clean stop: the final audit checkpoint is written
            self.proc.wait(20)


def kill_loop(server: Server, cycles: int, rng: random.Random, uptime: tuple[float, float] = (0.5, 3.0)) -> None:
    for i in range(cycles):
        time.sleep(rng.uniform(*uptime))
        server.kill()
        server.up()
        if (i + 1) % 10 == 0:
            print(f"crash-test: {i + 1}/{cycles} kills", flush=True)  # long runs: progress with -s


def track_start() -> datetime:
    """Fix times run from here at one per STEP: far enough back that no run reaches the present."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(days=4)
