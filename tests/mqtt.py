"""A private Mosquitto on a free loopback port, the MQTT ingest worker as a real
process, and OwnTracks-like device clients, for tests over a real broker."""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy.orm import Session

from core.settings import MqttSettings
from geo.ingest.mqtt.broker_files import broker_config, broker_run_as, prepare_broker_dir, sync_broker_files
from tests.servers import ROOT, free_port

# Bounded waits, not timings: generous, because the 2-core machine may be
# loaded by several test runs at once (a process start then takes 20-30 s).
STARTUP = 60.0


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None)
    assert found, "mosquitto is not installed (./dev test installs it)"
    return found


def wait_for(predicate, *, timeout: float = STARTUP, what: str = "condition"):
    """Poll until ``predicate()`` is truthy (bounded: fails after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class PrivateBroker:
    """Mosquitto with the project's configuration and files generated from the database."""

    def __init__(self, directory: Path, database_url: str) -> None:
        if os.geteuid() == 0:
            # As root the broker runs as `mosquitto` (broker_run_as), which cannot
            # enter pytest's private /tmp/pytest-of-root: use a directory it can.
            directory = Path(tempfile.mkdtemp(prefix="zj-mqtt-", dir="/var/tmp"))
        self.own_dir = directory if os.geteuid() == 0 else None
        self.dir, self.database_url = directory, database_url
        self.port = free_port()
        self.pid_file = directory / "mosquitto.pid"
        self.password = secrets.token_urlsafe(24)
        self.log = directory / "mosquitto.log"
        self.proc: subprocess.Popen | None = None

    @property
    def env(self) -> dict[str, str]:
        """The worker's ZHIJIAO_MQTT_* settings for this broker."""
        return {"ZHIJIAO_DATABASE_URL": self.database_url, "ZHIJIAO_MQTT_URL": f"mqtt://127.0.0.1:{self.port}",
                "ZHIJIAO_MQTT_PASSWORD": self.password, "ZHIJIAO_MQTT_BROKER_DIR": str(self.dir),
                "ZHIJIAO_MQTT_BROKER_PID_FILE": str(self.pid_file), "ZHIJIAO_MQTT_BATCH_WINDOW_MS": "20"}

    def settings(self) -> MqttSettings:
        return MqttSettings(mqtt_url=self.env["ZHIJIAO_MQTT_URL"], mqtt_password=self.password,
                            mqtt_broker_dir=self.dir, mqtt_broker_pid_file=self.pid_file)

    def start(self, db: Session) -> None:
        sync_broker_files(db, self.settings(), reload=False)
        conf = self.dir / "mosquitto.conf"
        run_as = broker_run_as()
        conf.write_text(broker_config(self.dir, port=self.port, pid_file=self.pid_file, run_as=run_as))
        prepare_broker_dir(self.dir, run_as)
        self.proc = subprocess.Popen([mosquitto_binary(), "-c", str(conf)], stdout=self.log.open("ab"),
                                     stderr=subprocess.STDOUT)
        wait_for(lambda: self.pid_file.exists() and _accepts(self.port), what="mosquitto to listen")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        if self.own_dir is not None:
            shutil.rmtree(self.own_dir, ignore_errors=True)


def _accepts(port: int) -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


class WorkerProcess:
    """`zhijiao mqtt-ingest` as its own process, its log in a file."""

    def __init__(self, broker: PrivateBroker, *, name: str = "worker", **env: str) -> None:
        self.broker, self.extra_env = broker, env
        self.log = broker.dir / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        start_at = self.log.stat().st_size if self.log.exists() else 0
        zhijiao = Path(sys.executable).with_name("zhijiao")
        self.proc = subprocess.Popen([str(zhijiao), "mqtt-ingest"], cwd=ROOT, env={**os.environ, **self.broker.env, **self.extra_env},
                                     stdout=self.log.open("ab"), stderr=subprocess.STDOUT)

        def subscribed() -> bool:
            assert self.proc.poll() is None, "worker exited: " + self.log.read_text()[-2000:]
            return "mqtt: subscribed" in self.log.read_text()[start_at:]

        wait_for(subscribed, what="the worker to subscribe")

    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no cleanup, no last commit, no last acknowledgement."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)


class DeviceClient:
    """An OwnTracks phone in MQTT mode (protocol 3.1.1 unless told), over a real socket."""

    def __init__(self, port: int, user: str, password: str, *, protocol: int = mqtt.MQTTv311,
                 client_id: str | None = None) -> None:
        # MQTT 3.1.1 with clean session (paho's default): a client id that is
        # taken would discard that client's persistent session.
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or f"{user}-{secrets.token_hex(4)}",
                                  protocol=protocol)
        self.client.username_pw_set(user, password)
        self.connack = None
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.acks: dict[int, object] = {}
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *_: self.disconnected.set()
        self.client.on_publish = lambda _c, _u, mid, reason, _p: self.acks.__setitem__(mid, reason)
        self.client.reconnect_delay_set(60, 60)  # a refused client must not retry during a test
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        wait_for(lambda: self.connected.is_set() or self.disconnected.is_set(), what="CONNACK")

    def _on_connect(self, _c, _u, _flags, reason, _p) -> None:
        self.connack = reason
        self.connected.set()

    def publish(self, topic: str, payload: bytes, *, qos: int = 1):
        """Publish and wait for the broker's PUBACK; its reason code."""
        info = self.client.publish(topic, payload, qos=qos)
        info.wait_for_publish(10)
        assert info.is_published()
        return wait_for(lambda: self.acks.get(info.mid), what="PUBACK")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
