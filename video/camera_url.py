"""Camera URL safety: which stream URLs the server may open, and the address to open them at.

A camera URL is typed in by an admin (or arrives in a 14,000-row CSV) and is
opened by the server, inside a network that also holds other internal
services. FFmpeg, which OpenCV uses underneath, understands far more than
cameras: ``file:``, ``concat:``, ``subfile:``, ``data:``, ``pipe:``… would
read local files or chain protocols. So a URL is accepted only when:

- its scheme is ``rtsp``, ``http`` or ``https``, followed by ``//`` and a host;
- it carries no ``user:pass@`` (credentials are stored apart, encrypted) and
  nothing that parsers disagree about: backslashes, whitespace, control
  characters, percent-encoded hosts, fragments, a second ``@``;
- an address literal is spelled canonically: ``127.1``, ``2130706433``,
  ``0177.0.0.1``, ``0x7f.0.0.1`` and IPv6-wrapped IPv4 (``::ffff:127.0.0.1``)
  are refused, since libc, FFmpeg and Python read them differently;
- every address the host resolves to lies in a configured camera network
  (``ZHIJIAO_CAMERA_NETWORKS``; empty = no camera reachable). Loopback,
  link-local and cloud metadata addresses need a network that names them
  specifically (``127.0.0.0/8``, ``169.254.169.254/32``): ``0.0.0.0/0`` or
  ``10.0.0.0/8`` never opens them. Unspecified, multicast and broadcast never.

The first approved address is pinned: the grab connects to it, never resolving
the name again (DNS rebinding). Pure: no OpenCV, no settings.
"""
from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from core.logging import redact
from core.outbound import METADATA_ADDRESSES, embedded_ipv4

SCHEMES = {"rtsp": 554, "http": 80, "https": 443}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_QUAD = re.compile(r"^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$")
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|\d+)$", re.I)
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# Ranges whose addresses only a network inside the same range can open.
_SPECIAL = tuple(ipaddress.ip_network(n) for n in ("127.0.0.0/8", "::1/128", "169.254.0.0/16", "fe80::/10"))

Resolver = Callable[..., list]


class CameraUrlRefused(ValueError):
    """str(e) is a reason safe to show a user (never the URL's credentials)."""


@dataclass(frozen=True)
class CameraUrl:
    scheme: str   # "rtsp" | "http" | "https"
    host: str     # as written, normalised (lower case, IDNA, no trailing dot; IPv6 without brackets)
    port: int
    address: str  # the approved IP address: connect to THIS
    path: str     # path + query as written

    def connect_url(self, credentials: tuple[str, str] | None = None) -> str:
        """The URL to open: host replaced by the pinned address, credentials (if any) inserted."""
        userinfo = ""
        if credentials is not None:
            user, password = credentials
            userinfo = f"{quote(user, safe='')}:{quote(password, safe='')}@"
        return f"{self.scheme}://{userinfo}{_bracket(self.address)}:{self.port}{self.path}"

    def redacted(self) -> str:
        """Safe for logs and API answers: no credentials (there are none), query values hidden."""
        return redact(f"{self.scheme}://{_bracket(self.host)}:{self.port}{self.path}")

    @property
    def host_header(self) -> str:
        """What a ``Host`` header says (the name as written, port when not the default)."""
        default = SCHEMES[self.scheme]
        return _bracket(self.host) + ("" if self.port == default else f":{self.port}")


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def redact_url(text: str) -> str:
    """``text`` with any ``user:pass@`` and token-like query values removed (anywhere in it)."""
    return redact(text)  # core.logging's patterns include user:pass@, so every log record gets this too


def _split(url: str) -> tuple[str, str, str]:
    """(scheme, authority, path+query), refusing anything parsers could read two ways."""
    if not isinstance(url, str) or not url.strip():
        raise CameraUrlRefused("url is empty")
    url = url.strip()
    if len(url) > 2048:
        raise CameraUrlRefused("url is longer than 2048 characters")
    m = _SCHEME.match(url)
    if not m:
        raise CameraUrlRefused("url has no scheme (rtsp://, http:// or https://)")
    scheme = m.group(1).lower()
    if scheme not in SCHEMES:
        raise CameraUrlRefused(f"scheme {scheme[:20]!r} is not allowed (rtsp, http or https only)")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise CameraUrlRefused("url contains whitespace or control characters")
    if "\\" in url:
        raise CameraUrlRefused("url contains a backslash")
    rest = url[m.end():]
    if not rest.startswith("//"):
        raise CameraUrlRefused(f"url must be {scheme}://host/…")
    rest = rest[2:]
    if "#" in rest:
        raise CameraUrlRefused("url must not contain a fragment (#)")
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    authority, path = rest[:cut], rest[cut:]
    if "@" in authority:
        raise CameraUrlRefused("url must not contain credentials (user:password@); they are stored apart")
    return scheme, authority, path


def _host_port(scheme: str, authority: str) -> tuple[str, int]:
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise CameraUrlRefused("IPv6 address is missing its ']'")
        host, tail = authority[1:end], authority[end + 1:]
        if tail and not tail.startswith(":"):
            raise CameraUrlRefused("unexpected characters after the IPv6 address")
        port_text = tail[1:] if tail else None
    else:
        host, sep, port_text = authority.partition(":")
        port_text = port_text if sep else None
        if port_text is not None and ":" in port_text:
            raise CameraUrlRefused("IPv6 addresses must be written in brackets")
    if port_text is None:
        port = SCHEMES[scheme]
    elif not port_text.isascii() or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise CameraUrlRefused("port must be a number from 1 to 65535")
    else:
        port = int(port_text)
    if not host:
        raise CameraUrlRefused("url has no host")
    return host, port


def _normalise_host(host: str, bracketed: bool) -> tuple[str, ipaddress.IPv4Address | ipaddress.IPv6Address | None]:
    """(normalised host, its address when it is a literal)."""
    if "%" in host:
        raise CameraUrlRefused("percent-encoded hosts and IPv6 zone ids are not allowed")
    if bracketed:
        try:
            ip6 = ipaddress.IPv6Address(host)
        except ValueError:
            raise CameraUrlRefused("not a valid IPv6 address") from None
        if embedded_ipv4(ip6) != ip6:
            raise CameraUrlRefused(f"IPv6 address {ip6} wraps an IPv4 address; write the IPv4 address")
        return ip6.compressed, ip6
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise CameraUrlRefused("host is not a valid name") from None
    host = host[:-1] if host.endswith(".") else host
    if _QUAD.match(host):
        return host, ipaddress.IPv4Address(host)
    labels = host.split(".")
    if _NUMERIC_LABEL.match(labels[-1]):
        # No top-level domain is numeric: this is 127.1, 2130706433, 0177.0.0.1, 0x7f.0.0.1…
        raise CameraUrlRefused("address must be written as four decimal numbers (a.b.c.d) without leading zeros")
    if not all(_LABEL.match(label) for label in labels) or len(host) > 253:
        raise CameraUrlRefused("host is not a valid name")
    return host, None


def _networks(networks: Sequence[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    try:
        return [ipaddress.ip_network(str(n).strip(), strict=False) for n in networks]
    except ValueError as exc:
        raise CameraUrlRefused(f"camera network setting is not a CIDR list ({exc})") from None


def _check_address(addr: str, nets: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> str:
    given = ipaddress.ip_address(addr.split("%", 1)[0])
    ip = embedded_ipv4(given)
    if ip.is_unspecified or ip.is_multicast or ip == ipaddress.IPv4Address("255.255.255.255"):
        raise CameraUrlRefused(f"address {given} is unspecified, multicast or broadcast")
    containing = [n for n in nets if n.version == ip.version and ip in n]
    if not containing:
        raise CameraUrlRefused(f"address {given} is outside the camera networks (ZHIJIAO_CAMERA_NETWORKS)")
    if ip in METADATA_ADDRESSES:
        special = ipaddress.ip_network(ip)  # only a network naming exactly this address opens it
    else:
        special = next((s for s in _SPECIAL if s.version == ip.version and ip in s), None)
    if special is not None and not any(n.subnet_of(special) for n in containing):
        raise CameraUrlRefused(
            f"address {given} is loopback, link-local or a metadata service; "
            f"only a camera network naming it ({special}) allows it")
    return str(ip)


def check_camera_url(url: str, *, networks: Sequence[str], resolve: Resolver = socket.getaddrinfo) -> CameraUrl:
    """The parsed URL with its approved, pinned address; raise CameraUrlRefused saying why not."""
    scheme, authority, path = _split(url)
    host, port = _host_port(scheme, authority)
    host, literal = _normalise_host(host, authority.startswith("["))
    nets = _networks(networks)
    if not nets:
        raise CameraUrlRefused("no camera network is configured (ZHIJIAO_CAMERA_NETWORKS)")
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            infos = resolve(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError, ValueError):
            raise CameraUrlRefused(f"host {host!r} does not resolve") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise CameraUrlRefused(f"host {host!r} has no address")
    # Every answer must pass: a check on one and a connection to another would be no check.
    approved = [_check_address(a, nets) for a in addresses]
    return CameraUrl(scheme=scheme, host=host, port=port, address=approved[0], path=path)
