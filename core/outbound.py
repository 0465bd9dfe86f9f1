"""The outbound-address guard: which URLs a server-side fetch may reach, and how to pin them.

A URL typed in by a person and fetched by the server (a webhook, later a
camera stream) must not become a way to reach internal services. So:

- only http(s), and only to ports the policy allows (80 and 443 by default);
- only globally routable addresses, unless the policy names the network
  (an office's messaging platform on the government intranet is allowed by
  configuring its CIDR, not by opening every private range);
- the cloud metadata services are refused whatever the policy says
  (AWS/GCP/Azure 169.254.169.254 and fd00:ec2::254, ECS 169.254.170.2,
  Alibaba Cloud 100.100.100.200, Oracle 192.0.0.192), and so is all of
  link-local, unspecified, multicast and broadcast;
- an IPv4 address wrapped in IPv6 (IPv4-mapped, IPv4-compatible, 6to4,
  NAT64 64:ff9b::/96, Teredo) is judged as the IPv4 address it reaches;
- loopback only when the policy allows it (tests, local relays).

Hostnames are resolved and every address checked; the caller then connects
to an address that was checked (``pinned``), so a second lookup cannot be
answered differently (DNS rebinding). Pure: no settings, no database; the
caller passes its policy.
"""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# No setting lifts these: they answer with cloud credentials.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "100.100.100.200", "192.0.0.192", "fd00:ec2::254"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NEVER = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"),
          ipaddress.ip_network("255.255.255.255/32"))


class AddressRefused(ValueError):
    pass


@dataclass(frozen=True)
class OutboundPolicy:
    """What a caller allows beyond the defaults."""

    allow_loopback: bool = False
    # The setting that allows loopback, named in the refusal so an operator knows what to change.
    loopback_setting: str | None = None
    allowed_networks: Sequence[IPNetwork] = ()  # non-global networks a fetch may reach
    networks_setting: str | None = None
    allowed_ports: frozenset[int] = frozenset({80, 443})
    ports_setting: str | None = None


def embedded_ipv4(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 spelling really reaches (itself if none)."""
    if isinstance(ip, ipaddress.IPv4Address):
        return ip
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]  # the client address the relay forwards to
    if ip in _NAT64 or (int(ip) >> 32 == 0 and int(ip) > 1):  # NAT64, or IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    return ip


def _hint(setting: str | None) -> str:
    return f" (set {setting} to allow)" if setting else ""


def check_address(addr: str, policy: OutboundPolicy, *, port: int | None = None) -> None:
    """Raise AddressRefused unless ``addr`` (an IP address) may be connected to (on ``port``)."""
    given = ipaddress.ip_address(addr.split("%", 1)[0])
    for ip in {given, embedded_ipv4(given)}:
        if ip in METADATA_ADDRESSES:
            raise AddressRefused(f"address {given} is a cloud metadata service")
        if ip.is_link_local or ip.is_unspecified or ip.is_multicast or any(ip in net for net in _NEVER):
            raise AddressRefused(f"address {given} is link-local, unspecified, multicast or broadcast")
    ip = embedded_ipv4(given)
    if ip.is_loopback:
        if not policy.allow_loopback:
            raise AddressRefused(f"address {given} is loopback{_hint(policy.loopback_setting)}")
        return  # loopback relays and test servers listen on any port
    allowed = any(ip in net for net in policy.allowed_networks)
    if not ip.is_global and not allowed:
        raise AddressRefused(f"address {given} is not a public address{_hint(policy.networks_setting)}")
    if port is not None and port not in policy.allowed_ports:
        raise AddressRefused(f"port {port} is not allowed{_hint(policy.ports_setting)}")


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
        check_address(addr, policy, port=port)
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
