"""GPX 1.0/1.1 track import (``<trk><trkseg><trkpt lat lon><time/><ele/><hdop/>``).

Parsed with defusedxml and no DTD at all (no XXE, no entity expansion bombs),
streamed so a large file is refused at the point cap instead of being built in
memory first. Waypoints and routes are not tracks and are ignored; so are
``<extensions>``. Every track point must have a ``<time>``: a point without one
cannot be placed in the supervision timeline, so the file is refused naming it.

* Times without offset are UTC, as the GPX schema defines them.
* ``accuracy_m = hdop * 5`` (a typical 5 m user-range error for consumer GPS);
  without ``<hdop>`` accuracy is unknown (None).
* ``client_fix_id`` is ``gpx:<UTC time>:<lat>,<lon>``: stable across re-imports
  of the same file *and* of overlapping exports of the same track, unlike a
  point index, which shifts when a track is trimmed.
* GPX is WGS-84 by specification, but exports from apps built on Chinese map
  SDKs are often GCJ-02: the caller declares it with ``datum=``.
"""
from __future__ import annotations

import io
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException

from geo.ingest.decoders import _fields as f
from geo.ingest.errors import DecodeError
from geo.ingest.decoders.message import Decoded, DeviceMessage
from geo.ingest.fix import DecodedFix

PROTOCOL = "gpx"
MAX_BYTES = 32 * 1024 * 1024
MAX_POINTS = 50_000
HDOP_TO_METRES = 5.0
_NAMESPACES = ("", "http://www.topografix.com/GPX/1/0", "http://www.topografix.com/GPX/1/1")


def decode(message: DeviceMessage) -> Decoded:
    """Decode an uploaded GPX file in the datum the uploader declared."""
    return Decoded(decode_file(message.body, datum=message.datum))


def decode_file(data: bytes, *, datum: str = "wgs84") -> list[DecodedFix]:
    """Decode the track points of a GPX file, in document order."""
    datum = f.datum(datum, "datum")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError("gpx", "must be the bytes of a GPX file")
    if len(data) > MAX_BYTES:
        raise DecodeError("gpx", f"file larger than {MAX_BYTES} bytes")
    fixes: list[DecodedFix] = []
    seen_root = False
    try:
        events = safe_et.iterparse(io.BytesIO(bytes(data)), events=("start", "end"), forbid_dtd=True)
        for event, elem in events:
            if event == "start":
                if not seen_root:
                    _check_root(elem)
                    seen_root = True
                continue
            if _local(elem.tag) == "trkpt":
                if len(fixes) >= MAX_POINTS:
                    raise DecodeError("trkpt", f"more than {MAX_POINTS} track points")
                fixes.append(_decode_point(elem, len(fixes), datum))
                elem.clear()
    except DefusedXmlException:
        raise DecodeError("gpx", "DTDs and entity declarations are not allowed in GPX") from None
    except ParseError as exc:
        raise DecodeError("gpx", f"not well-formed XML ({exc})") from None
    except (ValueError, LookupError) as exc:
        # expat refuses some declared encodings (UTF-7, UTF-16 in an
        # 8-bit declaration...) with a ValueError/LookupError, not a ParseError.
        raise DecodeError("gpx", f"unsupported XML encoding ({exc}); send UTF-8") from None
    if not fixes:
        raise DecodeError("trkpt", "the file has no track points")
    return fixes


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _check_root(elem: Element) -> None:
    tag = elem.tag if isinstance(elem.tag, str) else ""
    namespace = tag[1:].split("}", 1)[0] if tag.startswith("{") else ""
    if _local(tag) != "gpx" or namespace not in _NAMESPACES:
        raise DecodeError("gpx", "not a GPX 1.0/1.1 document (root must be <gpx>)")


def _decode_point(pt: Element, index: int, datum: str) -> DecodedFix:
    path = f"trkpt[{index}]"
    lat = f.text_number(pt.get("lat"), f"{path}.lat", lo=-90.0, hi=90.0)
    lon = f.text_number(pt.get("lon"), f"{path}.lon", lo=-180.0, hi=180.0)
    if lat is None or lon is None:
        raise DecodeError(f"{path}.lat" if lat is None else f"{path}.lon", "is required")
    children = {_local(c.tag): (c.text or "").strip() for c in pt}
    if not children.get("time"):
        raise DecodeError(f"{path}.time", "is required (a track point without time cannot be placed)")
    time = f.iso_time(children["time"], f"{path}.time", assume_utc=True)
    hdop = f.text_number(children.get("hdop"), f"{path}.hdop", lo=0.0)
    course = f.text_number(children.get("course"), f"{path}.course", lo=0.0, hi=360.0)
    raw = {"lat": pt.get("lat"), "lon": pt.get("lon"), **{k: children[k] for k in ("time", "ele", "hdop", "speed", "course") if k in children}}
    return DecodedFix(
        client_fix_id=f"gpx:{time.isoformat(timespec='microseconds')}:{lat!r},{lon!r}",
        time=time,
        lat=lat,
        lon=lon,
        datum=datum,  # type: ignore[arg-type]
        accuracy_m=None if hdop is None else hdop * HDOP_TO_METRES,
        speed_mps=f.text_number(children.get("speed"), f"{path}.speed", lo=0.0),  # GPX 1.0 only
        heading_deg=course,  # GPX 1.0 only
        altitude_m=f.text_number(children.get("ele"), f"{path}.ele"),
        raw={"input": raw, "index": index},
        protocol=PROTOCOL,
    )
