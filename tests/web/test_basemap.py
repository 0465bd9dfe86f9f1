"""The map's base layer: a plain background with the outlines by default, or a configured tile
server whose datum decides the display shift (GCJ-02: shifted for display only).

A real tile server on loopback (a thread of this test) records every tile asked for; the
app runs as a real process once without tiles and once with them. Positions are checked
where Leaflet draws them against geo/datum.py, and the JS port of the transform against
geo/datum.py at points across China.
"""
from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, box
from sqlalchemy import text

from core.settings import Settings
from geo.boundaries import bundled_wgs84
from geo.datum import gcj02_to_wgs84, wgs84_to_gcj02
from supervision.models import Jurisdiction
from tests.conftest import migrated_database
from tests.factories import World, seed, seed_world_with_device
from tests.web.browser import AppServer, Browser, app_server, login, screenshot

FIX = (118.95, 28.97)  # supervisee "a"'s last fix (WGS-84), inside 衢江区


def _png() -> bytes:
    """A 256×256 grey PNG (a real image: Leaflet shows it as a tile)."""
    raw = b"".join(b"\x00" + b"\xcc" * 256 for _ in range(256))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 256, 256, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class TileServer:
    def __init__(self) -> None:
        tile, seen = _png(), []
        self.requests = seen

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                seen.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(tile)))
                self.end_headers()
                self.wfile.write(tile)

            def log_message(self, *args):
                pass
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def world_db(server_url: str) -> Iterator[tuple[str, World]]:
    with migrated_database(server_url, "zj_webtiles") as url:
        world, _ = seed_world_with_device(url, Settings())

        def outlines_and_fix(db) -> None:
            db.get(Jurisdiction, world.bureau.id).boundary = from_shape(bundled_wgs84("330803"), srid=4326)
            db.get(Jurisdiction, world.office_a.id).boundary = from_shape(
                MultiPolygon([box(118.85, 28.90, 119.05, 29.05)]), srid=4326)
            db.execute(text(
                "INSERT INTO fixes (supervisee_id, dedup_key, fingerprint, t, received_at, lon, lat, accuracy_m, datum,"
                " protocol, raw, purpose) VALUES (:s, 'tiles:1', md5('tiles'), now() - interval '2 minutes', now(), :lon,"
                " :lat, 15, 'wgs84', 'native', '{}'::jsonb, '信息化核查')"), {"s": world.supervisees["a"].id, "lon": FIX[0], "lat": FIX[1]})
        seed(url, outlines_and_fix)
        yield url, world


@pytest.fixture(scope="module")
def server(world_db) -> Iterator[AppServer]:
    with app_server(world_db[0]) as s:
        yield s


@pytest.fixture
def tiles() -> Iterator[TileServer]:
    t = TileServer()
    try:
        yield t
    finally:
        t.close()


# Where the map draws the supervisee's marker, and where a plain EPSG:3857 map would put
# the given (lon, lat): both as layer points of the map's current view.
MARKER = """([lon, lat]) => {
    const map = document.querySelector('#map').leafletMap;
    let found = null;
    map.eachLayer((l) => { if (l instanceof L.CircleMarker && l._point && Math.abs(l.getLatLng().lng - %s) < 1e-9) found = l; });
    const plain = L.CRS.EPSG3857.latLngToPoint(L.latLng(lat, lon), map.getZoom()).subtract(map.getPixelOrigin());
    return { drawn: [found._point.x, found._point.y], expected: [plain.x, plain.y],
             stored: [found.getLatLng().lng, found.getLatLng().lat] };
}""" % FIX[0]


def test_plain_background_draws_outlines_and_asks_for_no_tile(world_db, server: AppServer, browser: Browser,
                                                             tiles: TileServer) -> None:
    _, world = world_db
    csp = httpx.get(server.base + "/console/").headers["content-security-policy"]
    assert "img-src 'self' data: blob:;" in csp  # no tile host admitted
    page = login(browser.context(), server.base, world.users["officer_a"].username, hash_="#/map")
    page.wait_for_selector("#map[data-loaded='1']")
    page.wait_for_timeout(300)
    # No supervisee selected, yet the district and the office are outlined.
    assert page.locator("#map path.outline-bureau").count() >= 1
    assert page.locator("#map path.outline-office").count() == 1
    assert page.get_attribute("#map", "data-datum") == "none"
    screenshot(page, "map-outlines-desktop")
    assert page.locator("#map img.leaflet-tile").count() == 0
    images = page.evaluate("() => performance.getEntriesByType('resource').filter((e) => e.initiatorType === 'img').length")
    assert images == 0 and tiles.requests == []
    at = page.evaluate(MARKER, list(FIX))
    assert at["stored"] == list(FIX)
    assert abs(at["drawn"][0] - at["expected"][0]) < 0.5 and abs(at["drawn"][1] - at["expected"][1]) < 0.5


def test_datum_port_matches_geo_datum(server: AppServer, browser: Browser) -> None:
    points = [(118.95, 28.97), (116.39, 39.91), (121.47, 31.23), (113.26, 23.13), (87.6, 43.8), (126.6, 45.75),
              (2.35, 48.85)]  # the last one outside China: unchanged
    page = browser.context().new_page()
    page.goto(server.base + "/console/")
    got = page.evaluate("""async (pts) => {
        const d = await import('/console/static/js/datum.js');
        return pts.map(([lon, lat]) => [d.wgs84ToGcj02(lon, lat), d.gcj02ToWgs84(lon, lat)]);
    }""", [list(p) for p in points])
    for (lon, lat), (fwd, back) in zip(points, got):
        assert fwd == pytest.approx(list(wgs84_to_gcj02(lon, lat)), abs=1e-9)
        assert back == pytest.approx(list(gcj02_to_wgs84(lon, lat)), abs=1e-9)
    assert got[-1][0] == list(points[-1])


def test_gcj02_tiles_come_from_the_tile_server_and_shift_markers_for_display(world_db, tiles: TileServer) -> None:
    url, world = world_db
    server = AppServer(url, env={"ZHIJIAO_CONSOLE_TILE_URL": tiles.origin + "/{z}/{x}/{y}.png",
                                 "ZHIJIAO_CONSOLE_TILE_DATUM": "gcj02", "ZHIJIAO_CONSOLE_TILE_ATTRIBUTION": "© 测试底图 <b>x</b>"})
    server.start()
    browser = Browser(server.base, allow=(tiles.origin,))
    try:
        csp = httpx.get(server.base + "/console/").headers["content-security-policy"]
        assert f"img-src 'self' data: blob: {tiles.origin};" in csp
        page = login(browser.context(), server.base, world.users["officer_a"].username, hash_="#/map")
        page.wait_for_selector("#map[data-loaded='1']")
        page.wait_for_selector("#map img.leaflet-tile-loaded")
        assert page.get_attribute("#map", "data-datum") == "gcj02"
        assert tiles.requests and all(p.startswith("/11/") for p in tiles.requests[:4]), tiles.requests[:4]
        assert "© 测试底图 <b>x</b>" in page.inner_text(".leaflet-control-attribution")  # text, not markup
        at = page.evaluate(MARKER, list(wgs84_to_gcj02(*FIX)))
        assert at["stored"] == list(FIX)  # the data is never shifted
        assert abs(at["drawn"][0] - at["expected"][0]) < 0.5 and abs(at["drawn"][1] - at["expected"][1]) < 0.5
        unshifted = page.evaluate(MARKER, list(FIX))["expected"]
        moved = ((at["drawn"][0] - unshifted[0]) ** 2 + (at["drawn"][1] - unshifted[1]) ** 2) ** 0.5
        print(f"\nGCJ-02 display shift at zoom 11: {moved:.1f} px")
        assert moved > 5  # ~580 m is ~8 px at zoom 11
        assert browser.foreign == [] and browser.errors == []
    finally:
        browser.close()
        server.stop()
