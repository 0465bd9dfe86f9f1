// Map helpers shared by the pages. No base map is reachable offline, so the map is
// a plain background with the fences and points drawn on it (WGS-84 as stored).
/* global L */
import { t, fmtTime } from "./i18n.js";
import { api } from "./api.js";

export const QUJIANG = [28.98, 118.96];
const FENCE_STYLE = {
  permitted: { color: "#2e7d32", fillOpacity: 0.04, weight: 2 },
  leave_destination: { color: "#1f6feb", fillOpacity: 0.08, weight: 2 },
  curfew: { color: "#ef6c00", fillOpacity: 0.12, weight: 2 },
  exclusion: { color: "#c62828", fillOpacity: 0.2, weight: 2 },
};

// Canvas for the big map (thousands of markers); SVG elsewhere (few shapes, each one a DOM node).
export function makeMap(el, { zoom = 11, canvas = false } = {}) {
  return L.map(el, { preferCanvas: canvas, attributionControl: false, minZoom: 5, maxZoom: 18 }).setView(QUJIANG, zoom);
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
