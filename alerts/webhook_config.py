"""Webhook configuration per bureau.

A webhook URL is typed in by a person and fetched by the server, so it goes
through the outbound-address guard (core/outbound.py): only http(s) on an
allowed port, public addresses or configured networks only, never a cloud
metadata address, and loopback only when ``webhook_allow_loopback`` is set. It is checked at creation and again before
each delivery (DNS may change in between), and the delivery connects to the
address that was checked (alerts/webhooks.py).

Office messaging webhooks carry their credential in the URL (DingTalk
``?access_token=``, WeCom ``?key=``, Feishu a token in the path). The full URL
stays in the ``webhooks`` table for delivery only; the audit trail (immutable)
and the API (auditors and admins read it) get ``mask_url``.
"""
from __future__ import annotations

import ipaddress

import secrets
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import func, select

from alerts.models import Webhook, WebhookDelivery
from alerts.schemas import DeliveryOut, WebhookCreated, WebhookIn, WebhookOut, WebhookUpdate
from core.context import Ctx
from core.errors import Invalid, NotFound
from core.outbound import AddressRefused, OutboundPolicy, resolve_and_check
from core.settings import AlertSettings
from supervision.models import Jurisdiction, JurisdictionLevel, Role
from core.schemas import Page
from supervision.scope import bureau_config_clause, require_role, subtree_ids

CONFIGURERS = {Role.admin, Role.manager}
READERS = {Role.admin, Role.manager, Role.auditor}


def outbound_policy(cfg: AlertSettings) -> OutboundPolicy:
    """The outbound-address policy of webhooks, from the alert settings."""
    return OutboundPolicy(
        allow_loopback=cfg.webhook_allow_loopback, loopback_setting="ZHIJIAO_WEBHOOK_ALLOW_LOOPBACK",
        allowed_networks=tuple(ipaddress.ip_network(c, strict=False) for c in cfg.webhook_allowed_networks),
        networks_setting="ZHIJIAO_WEBHOOK_ALLOWED_NETWORKS",
        allowed_ports=frozenset(cfg.webhook_allowed_ports), ports_setting="ZHIJIAO_WEBHOOK_ALLOWED_PORTS")


MASK = "…"
# A path segment longer than this may be a token (Feishu: /open-apis/bot/v2/hook/<uuid>).
_MAX_PLAIN_SEGMENT = 24


def mask_url(url: str) -> str:
    """``url`` without what could be a credential: scheme://host[:port]/first-segment/…?name=….

    Keeps enough to tell webhooks apart (platform host, path root, parameter
    names); drops every query value, fragment and any path after the first
    segment (or the first segment too, when it is long enough to be a token).
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return MASK
    if ":" in host:
        host = f"[{host}]"
    out = f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")
    segments = [seg for seg in parts.path.split("/") if seg]
    if segments:
        first = segments[0] if len(segments[0]) <= _MAX_PLAIN_SEGMENT else MASK
        out += f"/{first}" + ("/" + MASK if len(segments) > 1 else "")
    if parts.query:
        names = [name if len(name) <= _MAX_PLAIN_SEGMENT else MASK
                 for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
        out += "?" + ("&".join(f"{name}={MASK}" for name in names) if names else MASK)
    return out


def _out(hook: Webhook) -> WebhookOut:
    return WebhookOut.model_validate(hook).model_copy(update={"url": mask_url(hook.url)})


def _bureau_for(ctx: Ctx, bureau_id: int | None) -> int:
    wanted = bureau_id if bureau_id is not None else ctx.principal.jurisdiction_id
    row = ctx.db.scalar(select(Jurisdiction).where(Jurisdiction.id == wanted,
                                                   Jurisdiction.id.in_(subtree_ids(ctx.principal))))
    if row is None or row.level != JurisdictionLevel.bureau:
        raise Invalid("bureau_id must name a district bureau in your jurisdiction", field="bureau_id")
    return row.id


def _scoped(ctx: Ctx, webhook_id: int, action: str) -> Webhook:
    hook = ctx.db.scalar(select(Webhook).where(Webhook.id == webhook_id,
                                               bureau_config_clause(ctx.principal, Webhook.bureau_id)))
    if hook is None:
        ctx.record(action, "webhook", webhook_id, outcome="not_found")
        raise NotFound()
    return hook


def create_webhook(*, ctx: Ctx, data: WebhookIn) -> WebhookCreated:
    require_role(ctx.principal, CONFIGURERS, "configure webhooks")
    bureau_id = _bureau_for(ctx, data.bureau_id)
    try:
        resolve_and_check(data.url, outbound_policy(ctx.settings.alerts))
    except AddressRefused as exc:
        raise Invalid(str(exc), field="url") from None
    secret = data.secret or secrets.token_urlsafe(32)
    hook = Webhook(bureau_id=bureau_id, url=data.url, secret=secret, description=data.description,
                   event_types=data.event_types, active=True, created_by=ctx.principal.user_id,
                   created_at=ctx.clock.now())
    ctx.db.add(hook)
    ctx.db.flush()
    # Masked: the audit trail cannot be edited afterwards, and auditors read it.
    ctx.record("webhook.create", "webhook", hook.id, detail={"bureau_id": bureau_id, "url": mask_url(data.url)})
    return WebhookCreated(**_out(hook).model_dump(), secret=secret)


def list_webhooks(*, ctx: Ctx, limit: int, offset: int) -> Page[WebhookOut]:
    require_role(ctx.principal, READERS, "read webhooks")
    where = bureau_config_clause(ctx.principal, Webhook.bureau_id)
    total = ctx.db.scalar(select(func.count()).select_from(Webhook).where(where)) or 0
    rows = ctx.db.scalars(select(Webhook).where(where).order_by(Webhook.id).limit(limit).offset(offset))
    return Page(items=[_out(r) for r in rows], total=total, limit=limit, offset=offset)


def update_webhook(*, ctx: Ctx, webhook_id: int, data: WebhookUpdate) -> WebhookOut:
    require_role(ctx.principal, CONFIGURERS, "configure webhooks")
    hook = _scoped(ctx, webhook_id, "webhook.update")
    changes = data.model_dump(exclude_unset=True)
    for name, value in changes.items():
        setattr(hook, name, value)
    ctx.db.flush()
    ctx.record("webhook.update", "webhook", hook.id, detail={"fields": sorted(changes)})
    return _out(hook)


def list_deliveries(*, ctx: Ctx, webhook_id: int, limit: int, offset: int,
                    status: str | None = None) -> Page[DeliveryOut]:
    """Newest first: where failures (attempts, last error, next attempt) show."""
    require_role(ctx.principal, READERS, "read webhooks")
    hook = _scoped(ctx, webhook_id, "webhook.deliveries")
    where = [WebhookDelivery.webhook_id == hook.id]
    if status is not None:
        where.append(WebhookDelivery.status == status)
    total = ctx.db.scalar(select(func.count()).select_from(WebhookDelivery).where(*where)) or 0
    rows = ctx.db.scalars(select(WebhookDelivery).where(*where).order_by(WebhookDelivery.id.desc())
                          .limit(limit).offset(offset))
    return Page(items=[DeliveryOut.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)
