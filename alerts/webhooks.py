"""Delivery of alert events to bureau webhooks: signed, retried, failures kept.

Flow: the outbox relay, when it publishes an event, calls
``enqueue_webhooks(db, event)`` in its own transaction (one pending delivery
per active webhook of the bureau above the event's office; idempotent, so a
relay that publishes the same event twice queues it once). A job calls
``deliver_due`` every few seconds (``webhook_loop``): it claims due deliveries
with a lease, POSTs them without holding any database lock across the
network, then records each outcome. Delivery is at least once: receivers
de-duplicate by ``X-Zhijiao-Delivery`` (or the event ``id`` in the body).

Signature (Stripe style, so a captured request cannot be replayed later):
``X-Zhijiao-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``
with ``X-Zhijiao-Timestamp: <unix seconds>``; see ``verify_signature``.
Failures retry after ``webhook_backoff_seconds`` * 2^(attempt-1) (capped),
up to ``webhook_max_attempts``; then the delivery is "failed" with its last
error, visible at ``GET /webhooks/{id}/deliveries``.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from alerts.escalation import ancestor_ids
from alerts.models import AlertEvent, Webhook, WebhookDelivery, WebhookState
from alerts.webhook_config import outbound_policy
from alerts.wire import webhook_body
from core.db import log_failure
from core.logging import redact
from core.outbound import AddressRefused, pinned, resolve_and_check
from core.settings import AlertSettings, Settings

log = logging.getLogger("zhijiao.alerts.webhooks")
SIGNATURE_HEADER = "X-Zhijiao-Signature"
TIMESTAMP_HEADER = "X-Zhijiao-Timestamp"
CONCURRENCY = 10


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def verify_signature(secret: str, *, timestamp: str, body: bytes, signature: str, now: datetime,
                     tolerance_s: int = 300) -> bool:
    """What a receiver does: check the HMAC and that the timestamp is recent."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    return abs(now.timestamp() - ts) <= tolerance_s and hmac.compare_digest(sign(secret, ts, body), signature)


def enqueue_webhooks(db: Session, event: AlertEvent, *, now: datetime | None = None) -> int:
    """Queue ``event`` for every active webhook of the bureau(s) above its office; returns how many.

    Called by the outbox relay right after it stamps ``event.seq``, in the same
    transaction, so a published event always has its deliveries queued.
    """
    bureau_ids = [jid for jid, _ in ancestor_ids(db, event.office_id)]
    hooks = db.scalars(select(Webhook).where(Webhook.bureau_id.in_(bureau_ids), Webhook.active.is_(True)))
    body = webhook_body(event)
    queued = 0
    for hook in hooks:
        if hook.event_types and event.type not in hook.event_types:
            continue
        result = db.execute(insert(WebhookDelivery).values(
            webhook_id=hook.id, event_id=event.id, event_type=event.type, body=body, status=WebhookState.pending,
            attempts=0, next_attempt_at=now or event.created_at, created_at=now or event.created_at,
        ).on_conflict_do_nothing(constraint="webhook_deliveries_once").returning(WebhookDelivery.id))
        queued += len(result.all())
    return queued


@dataclass(frozen=True)
class _Claim:
    id: int
    url: str
    secret: str
    event_type: str
    body: dict[str, Any]
    active: bool


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    status: int | None = None
    error: str | None = None
    permanent: bool = False


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


def backoff(cfg: AlertSettings, attempts: int) -> timedelta:
    return timedelta(seconds=min(cfg.webhook_backoff_seconds * 2 ** (attempts - 1), cfg.webhook_backoff_max_seconds))


def _claim(session_factory, now: datetime, cfg: AlertSettings, limit: int) -> list[_Claim]:
    with session_factory() as db:
        rows = db.execute(
            select(WebhookDelivery, Webhook.url, Webhook.secret, Webhook.active)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .where(WebhookDelivery.status == WebhookState.pending, WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)
            .with_for_update(of=WebhookDelivery, skip_locked=True)).all()
        # The lease: if this process dies mid-flight, the delivery is due again after it.
        lease = now + timedelta(seconds=cfg.webhook_timeout_seconds * 2 + 30)
        claims = []
        for delivery, url, secret, active in rows:
            delivery.next_attempt_at = lease
            claims.append(_Claim(delivery.id, url, secret, delivery.event_type, delivery.body, active))
        db.commit()
        return claims


async def _post(client: httpx.AsyncClient, claim: _Claim, now: datetime, cfg: AlertSettings) -> _Outcome:
    if not claim.active:
        return _Outcome(False, error="webhook deactivated", permanent=True)
    try:
        # Checked again at delivery: the name may resolve elsewhere than at creation.
        addresses = await asyncio.to_thread(resolve_and_check, claim.url, outbound_policy(cfg))
        targets = [pinned(claim.url, address) for address in addresses]
    except (AddressRefused, httpx.InvalidURL) as exc:
        return _Outcome(False, error=redact(f"refused: {exc}"), permanent=True)
    body = json.dumps(claim.body, separators=(",", ":"), ensure_ascii=False).encode()
    ts = int(now.timestamp())
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(claim.secret, ts, body),
               TIMESTAMP_HEADER: str(ts), "X-Zhijiao-Event": claim.event_type,
               "X-Zhijiao-Delivery": str(claim.id), "User-Agent": "zhijiao-webhooks/1"}
    response: httpx.Response | None = None
    error: httpx.HTTPError | None = None
    for url, pin_headers, extensions in targets:
        try:
            response = await client.post(url, content=body, headers={**headers, **pin_headers},
                                         extensions=extensions, timeout=cfg.webhook_timeout_seconds,
                                         follow_redirects=False)
            break
        except httpx.ConnectError as exc:
            # Nothing was sent: try the next checked address (as the resolver-driven
            # connect did, e.g. IPv6 then IPv4).
            error = exc
        except httpx.HTTPError as exc:
            error = exc
            break
    if response is None:
        # Redacted: last_error is shown to auditors, and an error may quote the URL.
        return _Outcome(False, error=redact(f"{type(error).__name__}: {error}")[:500])
    if 200 <= response.status_code < 300:
        return _Outcome(True, status=response.status_code)
    # A redirect is a failure too: following it could lead anywhere (see core/outbound.py).
    # Only the status: the receiver's body is not for managers to read (a
    # webhook aimed at an internal page would otherwise echo it back).
    return _Outcome(False, status=response.status_code, error=f"HTTP {response.status_code}")


def _record(session_factory, results: list[tuple[_Claim, _Outcome]], now: datetime,
            cfg: AlertSettings) -> DeliveryReport:
    report = DeliveryReport()
    with session_factory() as db:
        for claim, outcome in results:
            delivery = db.get(WebhookDelivery, claim.id, with_for_update=True)
            if delivery is None or delivery.status != WebhookState.pending:
                continue
            delivery.attempts += 1
            delivery.last_attempt_at, delivery.last_status = now, outcome.status
            if outcome.ok:
                delivery.status, delivery.delivered_at, delivery.next_attempt_at = WebhookState.delivered, now, None
                delivery.last_error = None
                report.delivered += 1
            elif outcome.permanent or delivery.attempts >= cfg.webhook_max_attempts:
                delivery.status, delivery.next_attempt_at = WebhookState.failed, None
                delivery.last_error = outcome.error
                report.failed += 1
            else:
                delivery.next_attempt_at = now + backoff(cfg, delivery.attempts)
                delivery.last_error = outcome.error
                report.retrying += 1
        db.commit()
    return report


async def deliver_due(session_factory, *, now: datetime, http_client: httpx.AsyncClient,
                      settings: Settings, limit: int = 100) -> DeliveryReport:
    """POST every delivery due at ``now`` and record the outcomes (each phase commits itself).

    ``session_factory()`` must return a context manager yielding a Session (a
    sessionmaker does). Use ``make_http_client`` for ``http_client``.
    """
    cfg = settings.alerts
    claims = await asyncio.to_thread(_claim, session_factory, now, cfg, limit)
    if not claims:
        return DeliveryReport()
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(claim: _Claim) -> tuple[_Claim, _Outcome]:
        async with gate:
            return claim, await _post(http_client, claim, now, cfg)

    results = await asyncio.gather(*(one(c) for c in claims))
    return await asyncio.to_thread(_record, session_factory, list(results), now, cfg)


def make_http_client(settings: Settings) -> httpx.AsyncClient:
    # trust_env=False: a proxy from the environment would bypass the address checks.
    # No keep-alive: requests are pinned to an IP (see ``pinned``) and httpcore pools
    # connections by IP, so a TLS connection verified for one hostname could
    # otherwise carry another webhook's request that happens to share the IP.
    return httpx.AsyncClient(timeout=settings.alerts.webhook_timeout_seconds, follow_redirects=False, trust_env=False,
                             limits=httpx.Limits(max_keepalive_connections=0))


async def webhook_loop(app, *, interval: float = 5.0) -> None:
    """Deliver due webhooks every ``interval`` seconds; start from the lifespan, cancel on shutdown."""
    state = app.state
    async with make_http_client(state.settings) as client:
        while True:
            try:
                await deliver_due(state.session_factory, now=state.clock.now(), http_client=client,
                                  settings=state.settings)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the next run retries; the lease returns claimed rows
                log_failure(log, "webhook delivery run failed", exc)
            await asyncio.sleep(interval)
