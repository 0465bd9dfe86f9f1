// Map helpers shared by the pages. No base map is reachable offline, so by default the
// map is a plain background with the administrative outlines, fences and points drawn
// on it (WGS-84 as stored); a configured tile URL (GET /map/config) adds a base map,
// and GCJ-02 tiles get a CRS that shifts the drawing only (datum.js).
/* global L */
import { t, fmtTime } from "./i18n.js";
import { api } from "./api.js";
import { gcj02Crs } from "./datum.js";

let config = { tiles: null, outlines: [] };

// Once per login, before any map is drawn (staff only: the API refuses anyone else).
export async function loadMapConfig() {
  config = await api("/map/config");
  return config;
}

export const QUJIANG = [28.98, 118.96];
const FENCE_STYLE = {
  permitted: { color: "#2e7d32", fillOpacity: 0.04, weight: 2 },
  leave_destination: { color: "#1f6feb", fillOpacity: 0.08, weight: 2 },
  curfew: { color: "#ef6c00", fillOpacity: 0.12, weight: 2 },
  exclusion: { color: "#c62828", fillOpacity: 0.2, weight: 2 },
};

// Canvas for the big map (thousands of markers); SVG elsewhere (few shapes, each one a DOM node).
// The big map also zooms in one step, unanimated: with the animation (its frames, then
// every cluster icon and the canvas redrawn at its end) a zoom over 5,000 markers took a
// 204-220 ms task on the loaded test machine, without it 119 ms (tests/web/test_map_scale.py).
export function makeMap(el, { zoom = 11, canvas = false } = {}) {
  const tiles = config.tiles;
  const crs = tiles && tiles.datum === "gcj02" ? gcj02Crs(L) : L.CRS.EPSG3857;
  const maxZoom = tiles ? tiles.max_zoom : 18;
  const map = L.map(el, { crs, preferCanvas: canvas, zoomAnimation: !canvas, attributionControl: !!(tiles && tiles.attribution),
    minZoom: 5, maxZoom }).setView(QUJIANG, zoom);
  if (tiles) {
    if (map.attributionControl) map.attributionControl.setPrefix(false);
    const options = { maxZoom, attribution: textOnly(tiles.attribution) };
    if (tiles.subdomains.length) options.subdomains = tiles.subdomains;
    L.tileLayer(tiles.url, options).addTo(map);
  }
  el.dataset.datum = tiles ? tiles.datum : "none";
  el.leafletMap = map; // for the browser tests to observe
  drawOutlines(map);
  return map;
}

// The jurisdiction outlines under everything else, never in the way of a click.
function drawOutlines(map) {
  const renderer = L.svg({ padding: 0.5 });
  for (const o of config.outlines) {
    L.geoJSON(o.geometry, { renderer, interactive: false,
      style: { className: `outline outline-${o.level}`, color: "#52606d", weight: o.level === "bureau" ? 2.5 : 1.5,
        dashArray: o.level === "bureau" ? null : "6 4", fill: false } }).addTo(map);
  }
}

// Leaflet's attribution is HTML; a setting is shown as text.
function textOnly(text) {
  const span = document.createElement("span");
  span.textContent = text || "";
  return span.innerHTML;
}

// One fence version's geometry: a circle is its centre Point plus radius_m.
export function fenceLayer(fence) {
  const style = FENCE_STYLE[fence.kind] || FENCE_STYLE.permitted;
  const g = fence.current.geometry;
  const layer = g.type === "Point" && fence.current.radius_m
    ? L.circle([g.coordinates[1], g.coordinates[0]], { radius: fence.current.radius_m, ...style })
    : L.geoJSON(g, { style });
  return layer.bindTooltip(textTip(`${t(fence.kind)} · ${fence.label}`));
}

// Leaflet puts a string tooltip into innerHTML; labels carry user text (a leave
// address is the supervisee's own words), so tooltips are always text nodes.
export function textTip(text) {
  const span = document.createElement("span");
  span.textContent = text;
  return span;
}

// The fences of one supervisee, drawn on ``group``. The API never gives a
// supervisee exclusion zones; staff see them (they are on this page only for staff).
export async function drawFences(group, superviseeId) {
  const page = await api(`/supervisees/${superviseeId}/fences?limit=50`);
  const fences = await Promise.all(page.items.map((f) => api(`/fences/${f.id}`)));
  for (const f of fences) fenceLayer(f).addTo(group);
  return fences;
}

// A track as a line plus a slider that replays it point by point.
export function drawTrack(map, group, fixes, slider, label) {
  group.clearLayers();
  if (!fixes.length) { label.textContent = t("none"); slider.disabled = true; return; }
  const pts = fixes.map((f) => [f.lat, f.lon]);
  L.polyline(pts, { color: "#334e68", weight: 2 }).addTo(group);
  const cursor = L.circleMarker(pts[0], { radius: 7, color: "#c62828" }).addTo(group);
  const ring = L.circle(pts[0], { radius: fixes[0].accuracy_m || 0, color: "#c62828", weight: 1 }).addTo(group);
  slider.min = 0; slider.max = fixes.length - 1; slider.value = 0; slider.disabled = false;
  const show = () => {
    const f = fixes[Number(slider.value)];
    cursor.setLatLng([f.lat, f.lon]); ring.setLatLng([f.lat, f.lon]); ring.setRadius(f.accuracy_m || 0);
    label.textContent = `${fmtTime(f.t)} · ±${Math.round(f.accuracy_m || 0)} m`;
  };
  slider.oninput = show;
  show();
  map.fitBounds(L.latLngBounds(pts).pad(0.2));
}
