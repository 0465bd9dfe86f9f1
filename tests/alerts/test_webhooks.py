"""Webhooks: configuration (scoped, secret shown once, addresses checked) and
delivery to a real local HTTP server that verifies the HMAC signature, plus a
failing endpoint showing retries with backoff and a visible failure."""
from __future__ import annotations

import ipaddress
import json
import socket
import threading
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from alerts.models import AlertEvent, WebhookDelivery
from alerts.webhook_config import mask_url
from alerts.webhooks import (
    SIGNATURE_HEADER, TIMESTAMP_HEADER, deliver_due, enqueue_webhooks, make_http_client, verify_signature,
)
from core.audit import AuditEntry
from core.logging import redact
from core.outbound import pinned
from tests.alerts.alert_helpers import make_alert

SECRET = "s3cret-s3cret-s3cret"


class Receiver:
    """A tiny HTTP server on 127.0.0.1 that answers ``status`` and checks signatures."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({
                    "body": json.loads(body), "event": self.headers["X-Zhijiao-Event"],
                    "host": self.headers["Host"], "path": self.path,
                    "valid": verify_signature(SECRET, timestamp=self.headers[TIMESTAMP_HEADER], body=body,
                                              signature=self.headers[SIGNATURE_HEADER], now=datetime.now(UTC)),
                })
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"boom" if receiver.status >= 400 else b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def loopback(settings):
    settings.alerts.webhook_allow_loopback = True
    return settings


def create(client, world, who="manager", **body):
    return client.post("/webhooks", headers=world.auth(who), json=body)


def last_event(db, alert_id) -> AlertEvent:
    return db.scalar(select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id.desc()))


def test_configuration_is_per_bureau_and_the_secret_is_shown_once(client, world, loopback, receiver):
    r = create(client, world, url=receiver.url, secret=SECRET, description="office chat")
    assert r.status_code == 201, r.text
    assert r.json()["secret"] == SECRET and r.json()["bureau_id"] == world.bureau.id
    generated = create(client, world, "admin", url=receiver.url)
    assert generated.status_code == 201 and len(generated.json()["secret"]) >= 32
    for who in ("manager", "auditor", "admin"):
        listing = client.get("/webhooks", headers=world.auth(who))
        assert listing.status_code == 200
        assert {h["id"] for h in listing.json()["items"]} == {r.json()["id"], generated.json()["id"]}
        assert "secret" not in listing.text and SECRET not in listing.text
    assert create(client, world, "officer_a", url=receiver.url).status_code == 403
    assert create(client, world, "auditor", url=receiver.url).status_code == 403
    assert client.get("/webhooks", headers=world.auth("officer_a")).status_code == 403
    office = create(client, world, url=receiver.url, bureau_id=world.office_a.id)
    assert office.status_code == 422 and office.json()["errors"][0]["field"] == "bureau_id"
    assert create(client, world, url=receiver.url, extra=1).status_code == 422


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/", "http://[::ffff:169.254.169.254]/", "http://[fe80::1]/",
    "http://0.0.0.0/", "ftp://example.org/hook", "http://user:pw@127.0.0.1/", "http://no-such-host.invalid/",
])
def test_urls_that_could_reach_internal_services_are_refused(client, world, loopback, url):
    r = create(client, world, url=url)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "url"


def test_loopback_only_when_the_setting_allows_it(client, world, settings, receiver):
    r = create(client, world, url=receiver.url)
    assert r.status_code == 422 and "loopback" in r.json()["detail"]


async def test_delivery_is_signed_and_recorded(client, world, db, clock, loopback, receiver):
    hook = create(client, world, url=receiver.url, secret=SECRET).json()
    alert = make_alert(db, world, clock)
    event = last_event(db, alert.id)
    assert enqueue_webhooks(db, event) == 1
    assert enqueue_webhooks(db, event) == 0  # the relay handing it over twice queues it once
    async with make_http_client(loopback) as http:
        report = await deliver_due(lambda: nullcontext(db), now=clock.now(), http_client=http, settings=loopback)
    assert (report.delivered, report.retrying, report.failed) == (1, 0, 0)
    [got] = receiver.received
    assert got["valid"] and got["event"] == "created"
    assert got["body"]["type"] == "created" and got["body"]["payload"]["alert"]["id"] == alert.id
    assert "lon" not in json.dumps(got["body"])  # the summary only: no location leaves the system
    deliveries = client.get(f"/webhooks/{hook['id']}/deliveries", headers=world.auth("manager")).json()["items"]
    assert [(d["status"], d["attempts"], d["last_status"]) for d in deliveries] == [("delivered", 1, 200)]


async def test_a_failing_endpoint_is_retried_with_backoff_then_marked_failed(client, world, db, clock, loopback,
                                                                           receiver):
    receiver.status = 500
    loopback.alerts.webhook_max_attempts = 3
    hook = create(client, world, url=receiver.url, secret=SECRET).json()
    enqueue_webhooks(db, last_event(db, make_alert(db, world, clock).id))
    factory = lambda: nullcontext(db)  # noqa: E731
    delivery = db.scalar(select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook["id"]))
    async with make_http_client(loopback) as http:
        report = await deliver_due(factory, now=clock.now(), http_client=http, settings=loopback)
        assert report.retrying == 1
        assert delivery.next_attempt_at == clock.now() + timedelta(seconds=30)
        assert "HTTP 500" in delivery.last_error
        # Not due yet: nothing is sent.
        assert (await deliver_due(factory, now=clock.now() + timedelta(seconds=29), http_client=http,
                                  settings=loopback)).retrying == 0
        clock.advance(seconds=30)
        await deliver_due(factory, now=clock.now(), http_client=http, settings=loopback)
        assert delivery.attempts == 2 and delivery.next_attempt_at == clock.now() + timedelta(seconds=60)
        clock.advance(seconds=60)
        report = await deliver_due(factory, now=clock.now(), http_client=http, settings=loopback)
    assert report.failed == 1 and len(receiver.received) == 3
    r = client.get(f"/webhooks/{hook['id']}/deliveries", headers=world.auth("manager"), params={"status": "failed"})
    [failed] = r.json()["items"]
    assert (failed["status"], failed["attempts"], failed["last_status"]) == ("failed", 3, 500)
    assert failed["last_error"].startswith("HTTP 500") and failed["next_attempt_at"] is None
    officer = client.get(f"/webhooks/{hook['id']}/deliveries", headers=world.auth("officer_a"))
    assert officer.status_code == 403


async def test_event_filter_and_deactivation(client, world, db, clock, loopback, receiver):
    only = create(client, world, url=receiver.url, secret=SECRET, event_types=["escalated"]).json()
    assert enqueue_webhooks(db, last_event(db, make_alert(db, world, clock).id)) == 0
    r = client.patch(f"/webhooks/{only['id']}", headers=world.auth("manager"), json={"event_types": None})
    assert r.status_code == 200
    alert = make_alert(db, world, clock, "b")
    assert enqueue_webhooks(db, last_event(db, alert.id)) == 1
    client.patch(f"/webhooks/{only['id']}", headers=world.auth("manager"), json={"active": False})
    async with make_http_client(loopback) as http:
        report = await deliver_due(lambda: nullcontext(db), now=clock.now(), http_client=http, settings=loopback)
    assert report.failed == 1 and receiver.received == []  # queued before deactivation: not sent
    assert enqueue_webhooks(db, last_event(db, make_alert(db, world, clock, "a2").id)) == 0


# --- secrets in webhook URLs, DNS rebinding ---------------------------------------

@pytest.mark.parametrize(("url", "masked"), [
    ("https://oapi.dingtalk.com/robot/send?access_token=0123abcd&timestamp=1&sign=xyz",
     "https://oapi.dingtalk.com/robot/…?access_token=…&timestamp=…&sign=…"),
    ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx", "https://qyapi.weixin.qq.com/cgi-bin/…?key=…"),
    ("https://open.feishu.cn/open-apis/bot/v2/hook/3f0e4c2a-9b1d-4e8f-a7c6-5d2b1e0f9a8c",
     "https://open.feishu.cn/open-apis/…"),
    ("https://hooks.example.org/3f0e4c2a9b1d4e8fa7c65d2b1e0f9a8c", "https://hooks.example.org/…"),
    ("http://127.0.0.1:8080/hook", "http://127.0.0.1:8080/hook"),
    ("http://[::1]:8080/", "http://[::1]:8080"),
])
def test_mask_url_keeps_the_platform_and_drops_what_may_be_a_credential(url, masked):
    assert mask_url(url) == masked


def test_log_redaction_covers_webhook_query_secrets():
    line = redact("POST https://oapi.dingtalk.com/robot/send?access_token=AAA&timestamp=1&sign=BBB ?key=CCC&secret=DDD")
    assert not {"AAA", "BBB", "CCC", "DDD"} & set(line.replace("=", " ").replace("&", " ").split())
    # Every query value goes (issue 12, hole 8: redaction by shape); the names stay.
    assert "timestamp=[redacted]" in line and "sign=[redacted]" in line


async def test_a_secret_in_the_url_is_used_for_delivery_but_never_audited_or_returned(client, world, db, clock,
                                                                                    loopback, receiver):
    url = receiver.url + "?access_token=TOPSECRET-TOKEN&sign=SIGNATURE"
    created = create(client, world, url=url, secret=SECRET)
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["url"] == mask_url(url) and "TOPSECRET" not in created.text
    for who in ("auditor", "admin", "manager"):
        listing = client.get("/webhooks", headers=world.auth(who))
        assert "TOPSECRET" not in listing.text and "SIGNATURE" not in listing.text
    patched = client.patch(f"/webhooks/{hook['id']}", headers=world.auth("manager"), json={"description": "x"})
    assert patched.status_code == 200 and patched.json()["url"] == mask_url(url)
    audit = db.scalars(select(AuditEntry).where(AuditEntry.object_type == "webhook",
                                                AuditEntry.object_id == str(hook["id"]))).all()
    assert {a.action for a in audit} >= {"webhook.create", "webhook.update"}
    assert not any("TOPSECRET" in json.dumps(a.detail) or "SIGNATURE" in json.dumps(a.detail) for a in audit)
    # The real URL is still what gets delivered to.
    enqueue_webhooks(db, last_event(db, make_alert(db, world, clock).id))
    async with make_http_client(loopback) as http:
        report = await deliver_due(lambda: nullcontext(db), now=clock.now(), http_client=http, settings=loopback)
    assert report.delivered == 1
    [got] = receiver.received
    assert got["valid"] and got["path"] == "/hook?access_token=TOPSECRET-TOKEN&sign=SIGNATURE"


async def test_delivery_connects_to_the_checked_address_not_a_second_lookup(client, world, db, clock, loopback,
                                                                           receiver, monkeypatch):
    """DNS rebinding: the name answers an allowed address to the check, then the
    metadata service. Delivery must not look the name up again."""
    name, port = "hooks.rebind.test", receiver.server.server_address[1]
    real, lookups = socket.getaddrinfo, []

    def rebinding(host, *args, **kwargs):
        if host != name:
            return real(host, *args, **kwargs)
        lookups.append(host)
        ip = "127.0.0.1" if len(lookups) == 1 else "169.254.169.254"
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (ip, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    hook = create(client, world, url=f"http://{name}:{port}/hook", secret=SECRET)
    assert hook.status_code == 201, hook.text
    lookups.clear()  # the check at creation was answered honestly; from now on the name rebinds
    enqueue_webhooks(db, last_event(db, make_alert(db, world, clock).id))
    async with make_http_client(loopback) as http:
        report = await deliver_due(lambda: nullcontext(db), now=clock.now(), http_client=http, settings=loopback)
    assert report.delivered == 1 and len(lookups) == 1  # the check's lookup only
    [got] = receiver.received
    assert got["valid"] and got["host"] == f"{name}:{port}"  # the receiver still sees its own name


def test_pinned_https_keeps_host_and_sni_on_the_hostname():
    url, headers, extensions = pinned("https://oapi.dingtalk.com/robot/send?access_token=x", "203.0.113.5")
    assert str(url) == "https://203.0.113.5/robot/send?access_token=x"
    assert headers == {"Host": "oapi.dingtalk.com"} and extensions == {"sni_hostname": "oapi.dingtalk.com"}
    url, headers, extensions = pinned("http://hooks.example.org:8080/x", "2001:db8::1")
    assert str(url) == "http://[2001:db8::1]:8080/x" and headers == {"Host": "hooks.example.org:8080"}
    assert extensions == {}


# --- issue 12, hole 6: the address filter and what a failure may show -------------------------------------------
# Pure checks of parsed addresses: nothing here connects anywhere.

@pytest.mark.parametrize("addr", [
    "100.100.100.200",          # Alibaba Cloud metadata
    "fd00:ec2::254",            # AWS metadata over IPv6
    "192.0.0.192",              # Oracle Cloud metadata
    "169.254.170.2",            # AWS ECS task metadata
    "64:ff9b::a9fe:a9fe",       # NAT64 spelling of 169.254.169.254
    "2002:a9fe:a9fe::1",        # 6to4 spelling of it
    "::169.254.169.254",        # IPv4-compatible spelling of it
    "::ffff:169.254.169.254",   # IPv4-mapped spelling of it
    "2001:0:4136:e378:8000:63bf:5601:5601",  # Teredo whose client is 169.254.169.254 (bits inverted)
])
def test_metadata_addresses_are_refused_whatever_the_policy(addr):
    from core.outbound import AddressRefused, OutboundPolicy, check_address

    everything = OutboundPolicy(allow_loopback=True, allowed_networks=(ipaddress.ip_network("0.0.0.0/0"),
                                                                       ipaddress.ip_network("::/0")))
    with pytest.raises(AddressRefused):
        check_address(addr, everything, port=443)


@pytest.mark.parametrize("addr", ["10.1.2.3", "172.16.0.9", "192.168.1.1", "100.64.0.1", "255.255.255.255",
                                  "240.0.0.1", "198.18.0.1", "::127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::",
                                  "fc00::1"])
def test_non_public_addresses_are_refused_unless_a_network_allows_them(addr):
    from core.outbound import AddressRefused, OutboundPolicy, check_address

    with pytest.raises(AddressRefused):
        check_address(addr, OutboundPolicy(), port=443)


def test_a_configured_network_and_port_are_allowed_and_others_are_not(settings):
    from alerts.webhook_config import outbound_policy
    from core.outbound import AddressRefused, check_address

    settings.alerts.webhook_allowed_networks = ["10.8.0.0/16"]
    policy = outbound_policy(settings.alerts)
    check_address("10.8.1.2", policy, port=443)
    check_address("93.184.216.34", policy, port=80)
    for addr, port in (("10.9.0.1", 443), ("93.184.216.34", 22), ("93.184.216.34", 6379)):
        with pytest.raises(AddressRefused):
            check_address(addr, policy, port=port)


def test_a_bad_cidr_setting_is_refused_at_start():
    from pydantic import ValidationError

    from core.settings import AlertSettings

    with pytest.raises(ValidationError):
        AlertSettings(webhook_allowed_networks=["10.0.0.0/33"])


async def test_a_failed_delivery_keeps_only_the_status_not_the_body(client, world, db, clock, loopback, receiver):
    receiver.status = 500
    hook = create(client, world, url=receiver.url, secret=SECRET).json()
    enqueue_webhooks(db, last_event(db, make_alert(db, world, clock).id))
    async with make_http_client(loopback) as http:
        await deliver_due(lambda: nullcontext(db), now=clock.now(), http_client=http, settings=loopback)
    delivery = db.scalar(select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook["id"]))
    assert delivery.last_error == "HTTP 500" and "boom" not in (delivery.last_error or "")
