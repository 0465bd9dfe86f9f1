from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.ingest.decoders import gpx
from geo.ingest.errors import DecodeError

TRACK = b"""<?xml version="1.0" encoding="UTF-8" standalone="no" ?>
<gpx xmlns="http://www.topografix.com/GPX/1/1" version="1.1" creator="OsmAnd~ 4.6.8"
     xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
     xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1"
     xsi:schemaLocation="http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd">
  <metadata><name>2023-11-15_walk</name><time>2023-11-14T22:13:00Z</time></metadata>
  <wpt lat="28.9600" lon="118.8600"><name>home</name></wpt>
  <trk>
    <name>walk</name>
    <trkseg>
      <trkpt lat="28.970100" lon="118.871200"><ele>70.2</ele><time>2023-11-14T22:13:20Z</time><hdop>2.4</hdop></trkpt>
      <trkpt lat="28.970180" lon="118.871350"><ele>70.6</ele><time>2023-11-14T22:13:25.500Z</time>
        <extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>92</gpxtpx:hr></gpxtpx:TrackPointExtension></extensions>
      </trkpt>
    </trkseg>
    <trkseg>
      <trkpt lat="28.970300" lon="118.871500"><time>2023-11-15T06:13:30+08:00</time></trkpt>
    </trkseg>
  </trk>
</gpx>
"""


def test_gpx_11_track():
    a, b, c = gpx.decode_file(TRACK)
    assert a.time == datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)
    assert (a.lat, a.lon, a.altitude_m, a.accuracy_m) == (28.9701, 118.8712, 70.2, pytest.approx(12.0))
    assert b.accuracy_m is None and b.time.microsecond == 500000
    assert c.time == datetime(2023, 11, 14, 22, 13, 30, tzinfo=timezone.utc) and c.altitude_m is None
    assert a.client_fix_id == "gpx:2023-11-14T22:13:20.000000+00:00:28.9701,118.8712"
    assert a.raw == {"input": {"lat": "28.970100", "lon": "118.871200", "time": "2023-11-14T22:13:20Z",
                               "ele": "70.2", "hdop": "2.4"}, "index": 0}
    assert a.protocol == "gpx" and a.datum == "wgs84"


def test_ids_are_stable_across_imports_and_datum_is_declared_by_the_caller():
    first, again = gpx.decode_file(TRACK), gpx.decode_file(TRACK, datum="gcj02")
    assert [f.dedup_key for f in first] == [f.dedup_key for f in again]
    assert {f.datum for f in again} == {"gcj02"} and again[0].lat == 28.9701  # not converted


def test_gpx_10_with_speed_and_naive_utc_time():
    doc = b"""<gpx version="1.0" creator="GPSBabel" xmlns="http://www.topografix.com/GPX/1/0">
      <trk><trkseg><trkpt lat="1.5" lon="2.5"><time>2023-11-14T22:13:20</time><speed>1.25</speed><course>45</course></trkpt></trkseg></trk></gpx>"""
    [fix] = gpx.decode_file(doc)
    assert fix.time == datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)
    assert (fix.speed_mps, fix.heading_deg) == (1.25, 45)


def _error(doc: bytes, **kw) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        gpx.decode_file(doc, **kw)
    return info.value


def test_point_without_time_is_named():
    doc = TRACK.replace(b"<time>2023-11-14T22:13:25.500Z</time>", b"")
    assert _error(doc).field == "trkpt[1].time"


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        (b'lat="28.970300"', b'lat="NaN"', "trkpt[2].lat"),
        (b'lon="118.871500"', b'lon="181"', "trkpt[2].lon"),
        (b'lat="28.970300"', b"", "trkpt[2].lat"),
        (b"<hdop>2.4</hdop>", b"<hdop>-1</hdop>", "trkpt[0].hdop"),
        (b"2023-11-15T06:13:30+08:00", b"last tuesday", "trkpt[2].time"),
        (b"</gpx>", b"", "gpx"),  # truncated upload
        (b"<gpx ", b"<kml ", "gpx"),
    ],
)
def test_errors_name_the_field(old, new, field):
    doc = TRACK.replace(old, new)
    if new == b"<kml ":
        doc = doc.replace(b"</gpx>", b"</kml>")
    assert _error(doc).field == field


def test_xxe_is_refused():
    doc = b"""<?xml version="1.0"?>
<!DOCTYPE gpx [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<gpx xmlns="http://www.topografix.com/GPX/1/1" version="1.1"><trk><trkseg>
<trkpt lat="1" lon="2"><time>2023-11-14T22:13:20Z</time><name>&xxe;</name></trkpt></trkseg></trk></gpx>"""
    err = _error(doc)
    assert err.field == "gpx" and "DTD" in err.message


def test_billion_laughs_is_refused():
    doc = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<gpx version="1.1"><trk><trkseg><trkpt lat="1" lon="2"><time>&lol3;</time></trkpt></trkseg></trk></gpx>"""
    assert _error(doc).field == "gpx"


def test_point_cap(monkeypatch):
    monkeypatch.setattr(gpx, "MAX_POINTS", 2)
    assert _error(TRACK).field == "trkpt"


def test_size_cap(monkeypatch):
    monkeypatch.setattr(gpx, "MAX_BYTES", 100)
    assert _error(TRACK).field == "gpx"


def test_file_without_track_points_is_refused():
    doc = b'<gpx xmlns="http://www.topografix.com/GPX/1/1" version="1.1"><wpt lat="1" lon="2"/></gpx>'
    assert _error(doc).field == "trkpt"


def test_unknown_datum_is_refused():
    assert _error(TRACK, datum="epsg:4490").field == "datum"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.integers(0, len(TRACK)).map(lambda n: TRACK[:n]))
def test_never_raises_anything_but_decode_error(data):
    try:
        gpx.decode_file(data)
    except DecodeError:
        pass
