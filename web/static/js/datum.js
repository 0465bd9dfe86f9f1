// WGS-84 → GCJ-02 for display on GCJ-02 tiles (Amap, Tencent), a port of geo/datum.py
// (the same published formulas, the same mainland bbox, the inverse by the same
// fixed-point iteration). Only the drawing is shifted: every position the API sends
// and receives stays WGS-84 (tests/web/test_basemap.py checks it against geo/datum.py).
const A = 6378245.0;
const EE = 0.00669342162296594323;
const BBOX = [72.004, 0.8293, 137.8347, 55.8271];
const PI = Math.PI;

export function inChina(lon, lat) {
  return lon >= BBOX[0] && lon <= BBOX[2] && lat >= BBOX[1] && lat <= BBOX[3];
}

function delta(lon, lat) {
  const x = lon - 105.0, y = lat - 35.0, sx = Math.sqrt(Math.abs(x));
  const common = (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
  let dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + common;
  dlat += (20.0 * Math.sin(y * PI) + 40.0 * Math.sin(y / 3.0 * PI)) * 2.0 / 3.0;
  dlat += (160.0 * Math.sin(y / 12.0 * PI) + 320.0 * Math.sin(y * PI / 30.0)) * 2.0 / 3.0;
  let dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + common;
  dlon += (20.0 * Math.sin(x * PI) + 40.0 * Math.sin(x / 3.0 * PI)) * 2.0 / 3.0;
  dlon += (150.0 * Math.sin(x / 12.0 * PI) + 300.0 * Math.sin(x / 30.0 * PI)) * 2.0 / 3.0;
  const radlat = lat / 180.0 * PI;
  const magic = 1.0 - EE * Math.sin(radlat) ** 2;
  const sqrtmagic = Math.sqrt(magic);
  dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrtmagic) * PI);
  dlon = (dlon * 180.0) / (A / sqrtmagic * Math.cos(radlat) * PI);
  return [dlon, dlat];
}

export function wgs84ToGcj02(lon, lat) {
  if (!inChina(lon, lat)) return [lon, lat];
  const [dlon, dlat] = delta(lon, lat);
  return [lon + dlon, lat + dlat];
}

export function gcj02ToWgs84(lon, lat) {
  if (!inChina(lon, lat)) return [lon, lat];
  const [dlon, dlat] = delta(lon, lat);
  let wl = lon - dlon, wt = lat - dlat;
  for (let i = 0; i < 30; i++) {
    const [fl, ft] = wgs84ToGcj02(wl, wt);
    const el = fl - lon, et = ft - lat;
    wl -= el; wt -= et;
    if (Math.abs(el) <= 1e-10 && Math.abs(et) <= 1e-10) break;
  }
  return [wl, wt];
}

// A Leaflet CRS that draws WGS-84 positions where GCJ-02 tiles have them: the
// projection shifts on the way to the screen and back, so markers, fences, tracks
// and clicks all keep their stored WGS-84 coordinates.
export function gcj02Crs(L) {
  const sm = L.Projection.SphericalMercator;
  const projection = {
    bounds: sm.bounds,
    project(ll) { const [lon, lat] = wgs84ToGcj02(ll.lng, ll.lat); return sm.project(L.latLng(lat, lon)); },
    unproject(p) { const g = sm.unproject(p); const [lon, lat] = gcj02ToWgs84(g.lng, g.lat); return L.latLng(lat, lon); },
  };
  return L.extend({}, L.CRS.EPSG3857, { code: "EPSG:3857-gcj02-display", projection });
}
