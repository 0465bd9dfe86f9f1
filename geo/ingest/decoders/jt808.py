"""JT/T 808 location reports (0x0200, and 0x0704 batches of them) as fixes.

``message.body`` is one frame (between or with its 0x7e flags, still escaped),
as the TCP listener (geo/ingest/jt808/listener.py) read it.

* Position: DWORDs in 1e-6 degrees; the standard defines them as **WGS-84**, so
  ``datum="wgs84"``. Status bit 2 = south, bit 3 = west.
* Accuracy: the standard carries none. A positioned fix (status bit 1) with no
  GNSS fault alarm gets ``NOMINAL_ACCURACY_M``; an unpositioned one, or one
  reported with a GNSS fault (alarm bits 4–6), gets none, so the pipeline keeps
  it as evidence, flags it ``accuracy`` and does not judge it.
* Speed WORD in 0.1 km/h, course WORD degrees, altitude WORD metres (read
  signed, as Traccar does), time BCD[6] in GMT+8.
* Tamper: JT/T 808 is a vehicle standard and has no strap bit. We read alarm
  bit 26 (车辆被盗, "stolen via the anti-theft device", Traccar's ``tampering``)
  as tamper / strap cut, which is how wristbands built on JT/T 808 report
  removal. SF/T 0056 names the alarm (剪断/拆除) but its wire mapping was not
  available to check: ``TAMPER_BITS`` is the one place to change.
* Battery: the standard has none for a wristband; alarm bit 7 (main power
  under-voltage) and bit 8 (power down) are kept as named alarms in ``raw``. A
  percentage comes from the 0xE4 real-time status item some terminals send
  (charging BYTE, level BYTE 1–6); the low-battery alert needs that percentage.
* ``raw`` keeps the message id, alarm and status words, their named bits, the
  additional items in hex, and the body in hex: the evidence as sent.
* Fixes carry no id: ``client_fix_id`` is None, and the server dedups on time.
"""
from __future__ import annotations

from geo.ingest.decoders.message import Decoded, DeviceMessage
from geo.ingest.errors import DecodeError
from geo.ingest.fix import DecodedFix
from geo.ingest.jt808 import codec
from geo.ingest.jt808.messages import BATCH, LOCATION, Location, parse_batch, parse_location

PROTOCOL = "jt808"
NOMINAL_ACCURACY_M = 20.0  # consumer GNSS outdoors is ~5–10 m (95 %); wristbands worn on a wrist indoors do worse
TAMPER_BITS = (26,)
GNSS_FAULT_BITS = (4, 5, 6)
ALARM_NAMES = {0: "sos", 4: "gnss_fault", 5: "gnss_antenna_open", 6: "gnss_antenna_short", 7: "power_low",
               8: "power_down", 20: "area", 26: "tamper", 28: "moved"}
STATUS_POSITIONED = 0x2


def decode(message: DeviceMessage) -> Decoded:
    """The fixes of one 0x0200 or 0x0704 frame."""
    return Decoded(fixes_of(codec.decode_frame(message.body)), plain_json=True)


def fixes_of(frame: codec.Frame) -> list[DecodedFix]:
    """The fixes of a decoded location or batch frame."""
    msg_id = frame.header.msg_id
    if msg_id == LOCATION:
        return [location_fix(parse_location(frame.body), frame.body, "0200")]
    if msg_id == BATCH:
        _, items = parse_batch(frame.body)
        return [location_fix(parse_location(item, f"batch[{i}]"), item, "0704") for i, item in enumerate(items)]
    raise DecodeError("header.msg_id", f"0x{msg_id:04X} is not a location report")


def _bits(word: int, names: dict[int, str]) -> list[str]:
    return [name for bit, name in names.items() if word >> bit & 1]


def _battery(extras: dict[int, bytes]) -> tuple[float | None, bool | None]:
    item = extras.get(0xE4)
    if item is None or len(item) < 2 or not 1 <= item[1] <= 6:
        return None, None
    return item[1] * 100.0 / 6, item[0] == 1


def location_fix(loc: Location, body: bytes, msg: str) -> DecodedFix:
    """One fix from one location report."""
    gnss_fault = any(loc.alarm >> b & 1 for b in GNSS_FAULT_BITS)
    positioned = bool(loc.status & STATUS_POSITIONED) and not gnss_fault
    battery, charging = _battery(loc.extras)
    raw = {"msg": msg, "alarm": loc.alarm, "status": loc.status, "alarms": _bits(loc.alarm, ALARM_NAMES),
           "positioned": bool(loc.status & STATUS_POSITIONED),
           "extras": {f"{k:02X}": v.hex() for k, v in sorted(loc.extras.items())}, "body": body.hex()}
    if 0x01 in loc.extras and len(loc.extras[0x01]) == 4:
        raw["mileage_km"] = int.from_bytes(loc.extras[0x01], "big") / 10
    if 0x30 in loc.extras and len(loc.extras[0x30]) == 1:
        raw["signal"] = loc.extras[0x30][0]
    return DecodedFix(
        client_fix_id=None, time=loc.time, lat=loc.lat, lon=loc.lon, datum="wgs84",
        accuracy_m=NOMINAL_ACCURACY_M if positioned else None,
        speed_mps=loc.speed_kmh / 3.6, heading_deg=float(loc.course) if loc.course <= 360 else None,
        altitude_m=float(loc.altitude_m), battery_pct=battery, charging=charging,
        tamper=any(loc.alarm >> b & 1 for b in TAMPER_BITS), raw=raw, protocol=PROTOCOL,
    )
