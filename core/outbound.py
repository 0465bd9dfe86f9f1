"""The outbound-address guard: which URLs a server-side fetch may reach, and how to pin them.

A URL typed in by a person and fetched by the server (a webhook, later a
camera stream) must not become a way to reach internal services: only
http(s), never link-local (169.254.0.0/16 holds the cloud metadata service;
fe80::/10), unspecified or multicast addresses, and loopback only when the
caller's policy allows it. Private ranges stay allowed: an office's messaging
platform is often on the government intranet.

Hostnames are resolved and every address checked; the caller then connects
to an address that was checked (``pinned``), so a second lookup cannot be
answered differently (DNS rebinding). Pure: no settings, no database; the
caller passes its policy.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx


class AddressRefused(ValueError):
    pass


@dataclass(frozen=True)
class OutboundPolicy:
    """What a caller allows beyond the defaults."""

    allow_loopback: bool = False
    # The setting that allows loopback, named in the refusal so an operator knows what to change.
    loopback_setting: str | None = None


def check_address(addr: str, policy: OutboundPolicy) -> None:
    """Raise AddressRefused unless ``addr`` (an IP address) may be connected to."""
    ip = ipaddress.ip_address(addr.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped  # ::ffff:169.254.169.254 is still the metadata service
    if ip.is_link_local or ip.is_unspecified or ip.is_multicast:
        raise AddressRefused(f"address {ip} is link-local, unspecified or multicast")
    if ip.is_loopback and not policy.allow_loopback:
        hint = f" (set {policy.loopback_setting} to allow)" if policy.loopback_setting else ""
        raise AddressRefused(f"address {ip} is loopback{hint}")


def resolve_and_check(url: str, policy: OutboundPolicy) -> list[str]:
    """The addresses ``url``'s host resolves to, in resolver order; raise AddressRefused
    unless ``url`` is http(s) and every one of them is allowed.

    A caller connects to one of these (never resolving the name again): a
    check on one answer and a connection to another would be no check at all.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressRefused("url must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise AddressRefused("url must not contain credentials; use the signing secret")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise AddressRefused(f"host {parts.hostname!r} does not resolve ({exc})") from None
    addresses: list[str] = []
    for info in infos:
        addr = str(info[4][0])
        check_address(addr, policy)
        if addr not in addresses:
            addresses.append(addr)
    if not addresses:
        raise AddressRefused(f"host {parts.hostname!r} has no address")
    return addresses


def pinned(url: str, address: str) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
    """``url`` aimed at ``address`` (already checked): the URL to request, headers, extensions.

    Why: httpx would resolve the name again when connecting, and a DNS server
    that answered the check with a public address could answer that second
    lookup with 127.0.0.1 or 169.254.169.254 (DNS rebinding). Connecting to the
    IP itself leaves nothing to resolve; the ``Host`` header and, for https,
    the TLS SNI name (which httpcore also verifies the certificate against)
    stay the hostname, so the receiver sees the same request as without pinning.
    """
    target = httpx.URL(url)
    extensions: dict[str, Any] = {}
    if target.scheme == "https":
        extensions["sni_hostname"] = target.raw_host.decode("ascii")
    return target.copy_with(host=address.split("%", 1)[0]), {"Host": target.netloc.decode("ascii")}, extensions
