"""The MQTT ingest worker: subscribe to OwnTracks topics, store in batches,
acknowledge only what is committed.

paho-mqtt's network thread hands every PUBLISH to a queue; this thread takes
the first, waits up to the batch window for more, runs them all through the
pipeline in one transaction (``consume.ingest_messages``), commits, and only
then sends the PUBACKs (``manual_ack``: paho sends none by itself). A worker
killed before the commit has acknowledged nothing of that batch, so the
broker redelivers it to the next worker with the same client id, whose
persistent session it kept; killed after the commit and before the PUBACKs,
the redelivered copies are recognised as duplicates.

Message ids are only meaningful on the connection that delivered them: after
a reconnect the broker resends the unacknowledged messages with new ids, so
a batch from an earlier connection is committed but not acknowledged (its
copies arrive again and are deduplicated), never acknowledged with ids that
now name other messages. A batch that fails to commit (database outage) is
not acknowledged either: the worker reconnects so the broker resends it.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy.orm import Session, sessionmaker

from core.audit import AuditLog
from core.clock import Clock
from core.db import database_outage_reason, is_database_outage
from core.settings import Settings
from geo.fences.cache import FenceCache
from geo.ingest.mqtt.consume import BatchOutcome, MqttMessage, ingest_messages, refuse_message

log = logging.getLogger("zhijiao.mqtt")
RETRY_SECONDS = 2.0
# The broker keeps the worker's session (subscription and unacknowledged
# messages) this long after a disconnect: a day of outage is recoverable.
SESSION_EXPIRY_SECONDS = 24 * 3600


def broker_address(url: str) -> tuple[str, int]:
    """(host, port) of ``mqtt://host:port``."""
    parts = urlsplit(url)
    if parts.scheme != "mqtt" or not parts.hostname:
        raise ValueError("ZHIJIAO_MQTT_URL must look like mqtt://host:port")
    return parts.hostname, parts.port or 1883


class MqttIngestWorker:
    """One subscriber process (or thread) consuming ``settings.mqtt.mqtt_topic``."""

    def __init__(self, settings: Settings, *, session_factory: sessionmaker[Session], clock: Clock,
                 audit: AuditLog, fences: FenceCache | None = None) -> None:
        self.settings, self.cfg = settings, settings.mqtt
        self.session_factory, self.clock, self.audit = session_factory, clock, audit
        self.fences = fences or FenceCache()
        self.inbox: queue.Queue[MqttMessage] = queue.Queue()
        self.session = 0  # counts connections; guarded by the GIL (one writer: paho's thread)
        self.subscribed = threading.Event()
        self.client = self._client()

    def _client(self) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.cfg.mqtt_client_id,
                             protocol=mqtt.MQTTv5, manual_ack=True)
        client.username_pw_set(self.cfg.mqtt_username, self.cfg.mqtt_password)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        return client

    # --- paho's network thread -------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _userdata, flags, reason, _props) -> None:
        if reason.is_failure:
            log.error("mqtt: broker refused the worker's login: %s", reason)
            return
        self.session += 1
        log.info("mqtt: connected (session present: %s)", flags.session_present)
        client.subscribe(self.cfg.mqtt_topic, qos=1)

    def _on_subscribe(self, _client, _userdata, _mid, reasons, _props) -> None:
        if any(r.is_failure for r in reasons):
            log.error("mqtt: subscription to %s refused: %s", self.cfg.mqtt_topic, reasons)
            return
        self.subscribed.set()
        log.info("mqtt: subscribed to %s", self.cfg.mqtt_topic)

    def _on_disconnect(self, _client, _userdata, _flags, reason, _props) -> None:
        self.subscribed.clear()
        log.warning("mqtt: disconnected (%s); reconnecting", reason)

    def _on_message(self, _client, _userdata, message: mqtt.MQTTMessage) -> None:
        self.inbox.put(MqttMessage(topic=message.topic, payload=bytes(message.payload), mid=message.mid,
                                   qos=message.qos, session=self.session))

    # --- this thread -------------------------------------------------------------

    def connect(self) -> None:
        host, port = broker_address(self.cfg.mqtt_url)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_SECONDS
        # The broker sends at most this many unacknowledged messages at once:
        # one batch's worth.
        props.ReceiveMaximum = min(self.cfg.mqtt_batch_max, 65535)
        # Asynchronous: paho's thread keeps retrying while the broker is not up yet.
        self.client.connect_async(host, port, keepalive=30, clean_start=False, properties=props)
        self.client.loop_start()

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set; the batch in hand is finished first."""
        self.connect()
        try:
            while not stop.is_set():
                batch = self._collect(timeout=0.5)
                if batch:
                    self._handle(batch)
        finally:
            self.client.disconnect()
            self.client.loop_stop()

    def _collect(self, *, timeout: float) -> list[MqttMessage]:
        try:
            batch = [self.inbox.get(timeout=timeout)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + self.cfg.mqtt_batch_window_ms / 1000
        while len(batch) < self.cfg.mqtt_batch_max:
            left = deadline - time.monotonic()
            try:
                batch.append(self.inbox.get(timeout=left) if left > 0 else self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _handle(self, batch: list[MqttMessage]) -> None:
        try:
            outcome = self.commit(batch)
        except Exception as exc:  # noqa: BLE001 - nothing of the batch is acknowledged yet
            if is_database_outage(exc):
                log.error("mqtt: batch of %d not stored (%s); reconnecting for redelivery", len(batch),
                          database_outage_reason(exc))
                self._redeliver()
                return
            log.exception("mqtt: batch of %d failed; storing its messages one at a time", len(batch))
            if not self._one_at_a_time(batch):
                self._redeliver()
                return
        else:
            log.debug("mqtt: batch %s", outcome)
        self.acknowledge(batch)

    def _one_at_a_time(self, batch: list[MqttMessage]) -> bool:
        """Find the message that breaks a batch: each in its own transaction. One that
        fails alone is refused (logged, audited) and acknowledged like the rest, so a
        single poisonous message cannot hold up every device's messages behind it.
        False if the database went away meanwhile (then nothing more is acknowledged)."""
        for m in batch:
            try:
                self.commit([m])
            except Exception as exc:  # noqa: BLE001 - see above
                if is_database_outage(exc):
                    return False
                with self.session_factory() as db:
                    refuse_message(db, self.audit, m.topic, f"could not be stored: {database_outage_reason(exc)}")
                    db.commit()
        return True

    def commit(self, batch: list[MqttMessage]) -> BatchOutcome:
        """Store and judge a batch in one transaction, and commit it."""
        with self.session_factory() as db:
            try:
                outcome = ingest_messages(db, batch, now=self.clock.now(), settings=self.settings,
                                          fences=self.fences, audit=self.audit)
                db.commit()
            except BaseException:
                db.rollback()
                raise
        return outcome

    def acknowledge(self, batch: list[MqttMessage]) -> None:
        """PUBACK, in the order received, every QoS 1 message of the current connection."""
        current = self.session
        for m in batch:
            if m.qos == 1 and m.session == current:
                self.client.ack(m.mid, m.qos)

    def _redeliver(self) -> None:
        # Unacknowledged messages are resent only on a new connection.
        self.client.disconnect()
        self.client.loop_stop()
        while not self.inbox.empty():
            self.inbox.get_nowait()
        time.sleep(RETRY_SECONDS)
        self.connect()
