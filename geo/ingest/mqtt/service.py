"""The ``zhijiao mqtt-ingest`` process: the worker, and the broker-file sync beside it."""
from __future__ import annotations

import logging
import signal
import threading

from core.audit import AuditLog
from core.clock import SystemClock
from core.db import make_engine, make_session_factory
from core.logging import install_redaction
from core.settings import Settings
from geo.ingest.mqtt.acl_sync import run_acl_sync
from geo.ingest.mqtt.worker import MqttIngestWorker

log = logging.getLogger("zhijiao.mqtt")


def run_mqtt_ingest(settings: Settings, *, acl_sync: bool = True) -> None:
    """Consume until SIGTERM or SIGINT (the batch in hand is committed and acknowledged first)."""
    settings.require_secrets()
    cfg = settings.mqtt
    if not cfg.mqtt_url or not cfg.mqtt_password:
        raise ValueError("ZHIJIAO_MQTT_URL and ZHIJIAO_MQTT_PASSWORD are required (./dev sets them)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_redaction()
    engine = make_engine(settings.db.database_url, pool_size=2)
    session_factory = make_session_factory(engine)
    clock = SystemClock()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threads = []
    if acl_sync and cfg.mqtt_broker_dir is not None:
        threads.append(threading.Thread(target=run_acl_sync, name="mqtt-acl-sync", daemon=True,
                                        args=(session_factory, cfg, settings.db.database_url, stop)))
    for thread in threads:
        thread.start()
    worker = MqttIngestWorker(settings, session_factory=session_factory, clock=clock,
                              audit=AuditLog(settings.audit.audit_key.encode(), clock))
    log.info("mqtt ingest: %s, topic %s", cfg.mqtt_url, cfg.mqtt_topic)
    try:
        worker.run(stop)
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)
        engine.dispose()
