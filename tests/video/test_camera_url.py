"""Camera URL safety: schemes, spellings, credentials tricks, networks, DNS rebinding, redaction."""
from __future__ import annotations

import logging
import socket

import pytest

from video.camera_url import CameraUrl, CameraUrlRefused, check_camera_url, redact_url

CAMS = ["10.20.0.0/16"]
LOOP = ["127.0.0.0/8"]


def answers(*addresses: str):
    """A resolver answering each call with the next address list (the last one repeats)."""
    calls: list[str] = []

    def resolve(host, port, type=0, **_):
        calls.append(host)
        batch = addresses[min(len(calls) - 1, len(addresses) - 1)]
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in batch.split(",")]

    resolve.calls = calls
    return resolve


def refused(url: str, networks=CAMS, resolve=None) -> str:
    kwargs = {"resolve": resolve} if resolve else {}
    with pytest.raises(CameraUrlRefused) as err:
        check_camera_url(url, networks=networks, **kwargs)
    return str(err.value)


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "file:/etc/passwd", "concat:rtsp://10.20.0.5/a|file:///etc/passwd",
    "subfile:,start,0,end,100,:/etc/passwd", "data:image/jpeg;base64,AAAA", "pipe:0", "ftp://10.20.0.5/x",
    "rtmp://10.20.0.5/live", "gopher://10.20.0.5/", "tcp://10.20.0.5:554", "udp://10.20.0.5:554",
    "rtsp+tcp://10.20.0.5/", "hls+http://10.20.0.5/a.m3u8", "crypto:http://10.20.0.5/", "async:http://10.20.0.5/",
    "javascript:alert(1)", "10.20.0.5/stream", "//10.20.0.5/stream",
])
def test_only_rtsp_http_https(url):
    reason = refused(url)
    assert "scheme" in reason
    assert "passwd" not in reason


def test_scheme_refusal_names_the_scheme():
    assert refused("file:///etc/passwd") == "scheme 'file' is not allowed (rtsp, http or https only)"


@pytest.mark.parametrize("url", ["rtsp://10.20.0.5/h264", "http://10.20.0.5:8080/video.mjpg", "HTTPS://10.20.0.5/snap.jpg"])
def test_accepted_inside_the_networks(url):
    cam = check_camera_url(url, networks=CAMS)
    assert cam.address == "10.20.0.5" and cam.host == "10.20.0.5"
    assert cam.scheme in ("rtsp", "http", "https")


def test_default_ports_and_path_kept():
    assert check_camera_url("rtsp://10.20.0.5/h264?channel=1", networks=CAMS) == CameraUrl(
        "rtsp", "10.20.0.5", 554, "10.20.0.5", "/h264?channel=1")
    assert check_camera_url("http://10.20.0.5", networks=CAMS).port == 80
    assert check_camera_url("https://10.20.0.5", networks=CAMS).port == 443


@pytest.mark.parametrize("url", ["rtsp://10.21.0.5/", "http://8.8.8.8/", "http://192.168.1.1/", "http://[2001:db8::1]/"])
def test_hosts_outside_the_networks(url):
    assert "outside the camera networks" in refused(url)


def test_no_network_configured_means_no_camera():
    assert "no camera network" in refused("rtsp://10.20.0.5/", networks=[])


@pytest.mark.parametrize("host", [
    "2130706433", "017700000001", "0x7f000001", "0x7f.0.0.1", "0177.0.0.1", "127.1", "127.0.1", "127.000.000.001",
    "0127.0.0.1", "1.0x0.0.1", "127.0.0.01",
])
def test_odd_spellings_of_loopback_refused_even_when_loopback_is_allowed(host):
    assert "four decimal numbers" in refused(f"http://{host}/", networks=LOOP)


@pytest.mark.parametrize("host", ["[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::127.0.0.1]", "[64:ff9b::7f00:1]",
                                  "[2002:7f00:1::]", "[::ffff:10.20.0.5]"])
def test_ipv6_wrapped_ipv4_refused(host):
    assert "wraps an IPv4 address" in refused(f"http://{host}/", networks=LOOP + CAMS + ["::/0"])


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://localhost/", "http://[::1]/", "http://0.0.0.0/", "http://169.254.169.254/latest/",
    "http://100.100.100.200/", "http://169.254.1.1/", "http://[fe80::1]/",
])
def test_loopback_link_local_metadata_refused_by_wide_networks(url):
    resolve = answers("127.0.0.1")
    reason = refused(url, networks=["0.0.0.0/0", "::/0"], resolve=resolve)
    assert "loopback, link-local or a metadata" in reason or "unspecified" in reason


def test_loopback_allowed_when_a_network_names_it():
    assert check_camera_url("http://127.0.0.1:8554/x", networks=LOOP).address == "127.0.0.1"
    assert check_camera_url("http://[::1]:8554/x", networks=["::1/128"]).address == "::1"
    # A metadata address only when a network is exactly that address; link-local's /16 is not enough.
    assert "metadata" in refused("http://169.254.169.254/", networks=["169.254.0.0/16"])
    assert check_camera_url("http://169.254.169.254/", networks=["169.254.169.254/32"]).address == "169.254.169.254"
    assert "unspecified" in refused("http://0.0.0.0/", networks=["0.0.0.0/8"])


@pytest.mark.parametrize("url", [
    "http://cam@127.0.0.1/", "http://admin:12345@10.20.0.5/", "http://127.0.0.1:80@evil.example/",
    "http://10.20.0.5@evil.example/", "http://evil.example@10.20.0.5/", "rtsp://:@10.20.0.5/", "http://a@b@10.20.0.5/",
])
def test_credentials_in_the_url_refused(url):
    reason = refused(url, networks=CAMS + LOOP)
    assert "credentials" in reason and "12345" not in reason


@pytest.mark.parametrize("url", [
    "http://127.0.0.1\\@evil.example/", "http://evil.example\\@127.0.0.1/", "http:\\\\10.20.0.5/",
    "http://10.20.0.5 /", "http://10.20.0.5\t/", "http://10.20.0.5\n.evil/", "http://10.20.0.5#@evil.example/",
    "http://%31%30.20.0.5/", "http://[fe80::1%25eth0]/", "http://10.20.0.5:0/", "http://10.20.0.5:65536/",
    "http://10.20.0.5:80:80/", "http://10.20.0.5:８０/", "http:///x", "http://[::1/", "http://::1/",
    "http://exa_mple.com/",
])
def test_parser_confusion_refused(url):
    refused(url, networks=CAMS + LOOP + ["::/0"], resolve=answers("10.20.0.5"))


def test_a_name_is_resolved_and_every_answer_checked():
    cam = check_camera_url("rtsp://Cam-7.Village.example./live", networks=CAMS, resolve=answers("10.20.3.4"))
    assert (cam.host, cam.address) == ("cam-7.village.example", "10.20.3.4")
    # One answer outside: refused, even though the first is inside.
    assert "10.99.0.1" in refused("rtsp://cam.example/", resolve=answers("10.20.0.1,10.99.0.1"))
    assert "does not resolve" in refused("rtsp://cam.invalid/", resolve=_gaierror)


def _gaierror(*_a, **_k):
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def test_dns_rebinding_pins_the_checked_address():
    """Resolving outside then inside: the first check refuses; a later check that passes pins its answer,
    and what is connected to is that address, whatever the name would resolve to afterwards."""
    resolve = answers("10.99.0.1", "10.20.0.9", "127.0.0.1")
    assert "outside" in refused("http://cam.example:8080/mjpg", resolve=resolve)
    cam = check_camera_url("http://cam.example:8080/mjpg", networks=CAMS, resolve=resolve)
    assert cam.address == "10.20.0.9"
    assert len(resolve.calls) == 2  # one lookup per check, none later
    assert cam.connect_url() == "http://10.20.0.9:8080/mjpg"
    assert cam.host_header == "cam.example:8080"
    # And resolving first inside, then to loopback: the pinned address stays inside.
    resolve = answers("10.20.0.9", "127.0.0.1")
    cam = check_camera_url("http://cam.example/", networks=CAMS, resolve=resolve)
    assert "127.0.0.1" not in cam.connect_url(("u", "p"))


def test_connect_url_inserts_quoted_credentials():
    cam = check_camera_url("rtsp://10.20.0.5/Streaming/Channels/101", networks=CAMS)
    assert cam.connect_url(("admin", "p@ss:w/rd")) == "rtsp://admin:p%40ss%3Aw%2Frd@10.20.0.5:554/Streaming/Channels/101"
    v6 = check_camera_url("rtsp://[fd00::5]:8554/a", networks=["fd00::/8"])
    assert v6.connect_url() == "rtsp://[fd00::5]:8554/a"


def test_redacted_hides_query_tokens():
    cam = check_camera_url("http://10.20.0.5/snap.jpg?token=s3cr3t&channel=2", networks=CAMS)
    assert "s3cr3t" not in cam.redacted() and cam.redacted().startswith("http://10.20.0.5:80/snap.jpg?token=")


@pytest.mark.parametrize("text, secret", [
    ("opening rtsp://admin:12345@10.20.0.5/h264 failed", "12345"),
    ("rtsp://admin:p@ss@10.20.0.5:554/x", "p@ss"),
    ("GET http://cam:hunter2@[fd00::1]:80/a", "hunter2"),
    ("url=http://10.20.0.5/snap.jpg?auth=abc123xyz&x=1", "abc123xyz"),
    ("HTTP://root:toor@cam.example/", "toor"),
])
def test_redact_url_anywhere_in_text(text, secret):
    cleaned = redact_url(text)
    assert secret not in cleaned and "[redacted]" in cleaned


def test_log_records_are_redacted(caplog):
    """The process-wide log filter (core.logging) applies the same redaction to every record."""
    from core.logging import install_redaction

    install_redaction()
    with caplog.at_level(logging.INFO, logger="zhijiao.test.cameras"):
        logging.getLogger("zhijiao.test.cameras").info("grab failed for %s", "rtsp://admin:Sup3rPw@10.20.0.5/a?key=k9k9")
    assert "Sup3rPw" not in caplog.text and "k9k9" not in caplog.text
    assert "rtsp://[redacted]@10.20.0.5/a" in caplog.text


def test_refusal_reasons_never_echo_credentials():
    for url in ("rtsp://admin:Sup3rPw@10.20.0.5/", "file://admin:Sup3rPw@x/", "http://admin:Sup3rPw@127.1/"):
        assert "Sup3rPw" not in refused(url)
