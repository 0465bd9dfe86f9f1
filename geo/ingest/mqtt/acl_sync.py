"""Keep the broker's files in step with the devices table: at once on every
change (the ``zhijiao_devices`` NOTIFY trigger, migration 0017) and at a fixed
interval besides, so a device disabled in zhijiao is refused by the broker
within a minute even when a notification is lost (a dropped connection).

It runs beside the broker, in the MQTT ingest worker's process, rather than
as a server job: the files live on the broker's machine, while a job runs in
whichever server process takes its lock.
"""
from __future__ import annotations

import logging
import threading
import time

import psycopg
from sqlalchemy.orm import Session, sessionmaker

from core.db import database_outage_reason, is_database_outage, libpq_url
from core.settings import MqttSettings
from geo.ingest.mqtt.broker_files import sync_broker_files

log = logging.getLogger("zhijiao.mqtt")
CHANNEL = "zhijiao_devices"
# Changes arriving together (a batch of devices disabled) cost one reload.
SETTLE_SECONDS = 0.2


def sync_once(session_factory: sessionmaker[Session], cfg: MqttSettings) -> None:
    with session_factory() as db:
        sync_broker_files(db, cfg)
        db.rollback()  # read only


def _wait_for_change(conn: psycopg.Connection, seconds: float, stop: threading.Event) -> None:
    """Until a device change is notified, ``seconds`` pass, or ``stop`` (checked every second)."""
    deadline = time.monotonic() + seconds
    while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
        if list(conn.notifies(timeout=min(left, 1.0), stop_after=1)):
            list(conn.notifies(timeout=SETTLE_SECONDS))
            return


def run_acl_sync(session_factory: sessionmaker[Session], cfg: MqttSettings, database_url: str,
                 stop: threading.Event) -> None:
    """Until ``stop``: sync, then wait for a device change or the interval, and sync again."""
    while not stop.is_set():
        try:
            with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
                # Listen first, then sync: a change committed in between is not missed.
                conn.execute(f"LISTEN {CHANNEL}")
                while not stop.is_set():
                    sync_once(session_factory, cfg)
                    _wait_for_change(conn, cfg.mqtt_acl_sync_seconds, stop)
        except Exception as exc:  # noqa: BLE001 - one bad round must not end the sync; the next retries
            if is_database_outage(exc):
                log.error("mqtt broker file sync: database unavailable (%s); retrying", database_outage_reason(exc))
            else:
                log.exception("mqtt broker file sync failed; retrying")
            stop.wait(min(cfg.mqtt_acl_sync_seconds, 5.0))
