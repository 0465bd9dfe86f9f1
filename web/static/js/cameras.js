// Cameras on the maps: each camera as its field-of-view sector (position, heading
// clockwise from north, angle, range; a 360° dome is a circle), the big map's
// camera layer, and the cameras page (health per office, the registry in scope,
// a frame grabbed on demand).
/* global L */
import { api, blobUrl } from "./api.js";
import { fmtTime, t } from "./i18n.js";
import { h } from "./names.js";
import { makeMap, textTip } from "./maplib.js";

const M_PER_DEG = 111320;
// Drawn from this zoom up (a street or two across): a district's 14,000 cameras at
// a county's zoom would be a smear of wedges, and a slow one.
export const CAMERA_MIN_ZOOM = 14;
const CAMERA_STYLE = { color: "#6a1b9a", weight: 1, fillOpacity: 0.12 };
const NEARBY_LIMIT = 200; // /cameras/nearby's cap

// The sector's outline in [lat, lon] pairs: a small local projection around the
// camera, as the engine's own (metres east/north), fine at a camera's range.
export function sectorLatLngs(cam, steps = 16) {
  const cos = Math.cos((cam.lat * Math.PI) / 180);
  const at = (deg, r) => {
    const a = (deg * Math.PI) / 180;
    return [cam.lat + (r * Math.cos(a)) / M_PER_DEG, cam.lon + (r * Math.sin(a)) / (M_PER_DEG * cos)];
  };
  if (cam.fov >= 360) return Array.from({ length: 48 }, (_, i) => at((360 * i) / 48, cam.range_m));
  const from = cam.heading - cam.fov / 2;
  const arc = Array.from({ length: steps + 1 }, (_, i) => at(from + (cam.fov * i) / steps, cam.range_m));
  return [[cam.lat, cam.lon], ...arc];
}

// The sector never takes a click: on the big map it lies over people's markers (one canvas
// renderer picks the layer drawn last), so only the camera's own dot has the tooltip.
export function cameraLayer(cam, style = {}) {
  const distance = cam.distance_m !== undefined ? ` · ${Math.round(cam.distance_m)} m` : "";
  return L.featureGroup([
    L.polygon(sectorLatLngs(cam), { ...CAMERA_STYLE, ...style, interactive: false, className: "camera-sector" }),
    L.circleMarker([cam.lat, cam.lon], { radius: 4, color: style.color || CAMERA_STYLE.color, fillOpacity: 1,
      className: "camera-dot" }).bindTooltip(textTip(`${t("camera")} ${cam.name} (${cam.code})${distance}`)),
  ]);
}

// The big map's layer: the cameras in view, from zoom 14, reloaded when a pan or zoom
// ends (at most 200, /cameras/nearby's cap, nearest the centre first; the count says
// when the view holds more).
export function cameraOverlay(map, { toast, onCount }) {
  const group = L.featureGroup();
  let on = false;
  let asked = 0;
  async function load() {
    const mine = ++asked; // a later pan's (or zoom-out's) answer wins over this one
    group.clearLayers();
    if (!on || map.getZoom() < CAMERA_MIN_ZOOM) { onCount(null); return; }
    const c = map.getCenter();
    const radius = Math.min(10000, Math.max(50, map.distance(c, map.getBounds().getNorthEast())));
    const q = new URLSearchParams({ lon: c.lng.toFixed(6), lat: c.lat.toFixed(6), radius: radius.toFixed(0),
      limit: String(NEARBY_LIMIT) });
    try {
      const hits = (await api(`/cameras/nearby?${q}`)).items;
      if (mine !== asked) return;
      for (const cam of hits) cameraLayer(cam).addTo(group);
      onCount(hits.length, hits.length >= NEARBY_LIMIT);
    } catch (e) { if (mine === asked) toast(e.message); }
  }
  map.on("moveend", load);
  return {
    group,
    set(visible) {
      on = visible;
      if (on) group.addTo(map); else group.remove();
      return load();
    },
  };
}

// A snapshot's frames as images: fetched with the token (never in a URL), shown from blob URLs.
export async function frameImages(snap, urls) {
  const images = [];
  for (let i = 0; i < snap.frames; i += 1) {
    const url = await blobUrl(`/camera-snapshots/${snap.id}/frames/${i}`, urls);
    images.push(h("img", { class: "frame", src: url, alt: `${t("frame")} ${i + 1}`, "data-snapshot-id": snap.id }));
  }
  return images;
}

export function snapshotState(snap) {
  if (snap.state === "failed") return `${t("snap_failed")}: ${snap.error || ""}`;
  return `${t(`snap_${snap.state}`)}${snap.done_at ? ` · ${fmtTime(snap.done_at)}` : ""}`;
}

// 视频监控: camera health per office, the cameras in scope with their sectors, and a
// frame grabbed on demand (the snapshot job takes the request; this page waits for it).
export function camerasPage(view, { session, toast }) {
  const urls = [];
  const health = h("tbody", { id: "camera-offices" });
  const rows = h("tbody", { id: "camera-rows" });
  const more = h("button", { id: "cameras-more", hidden: true }, t("more"));
  const none = h("p", { class: "muted", id: "cameras-none", hidden: true }, t("none"));
  const frame = h("div", { id: "camera-frame", class: "frames" });
  const mapEl = h("div", { class: "map", id: "cameras-map" });
  view.append(h("div", { class: "desk" },
    h("div", { class: "stack" },
      h("section", { class: "card" }, h("h2", {}, t("camera_health")), h("table", {},
        h("thead", {}, h("tr", {}, h("th", {}, t("office")), h("th", {}, t("online")), h("th", {}, t("degraded")),
          h("th", {}, t("offline")), h("th", {}, t("unknown")))), health)),
      h("section", { class: "card" }, h("h2", {}, t("cameras")), h("table", {},
        h("thead", {}, h("tr", {}, h("th", {}, t("code")), h("th", {}, t("name")), h("th", {}, t("state")), h("th", {}, ""))),
        rows), none, more)),
    h("section", { class: "card" }, mapEl, frame)));
  const map = makeMap(mapEl, { zoom: 12 });
  const drawn = L.featureGroup().addTo(map);
  const canGrab = ["officer", "manager"].includes(session.user.role);
  let offset = 0;
  let closed = false;

  let grabbing = 0; // the latest grab asked for owns #camera-frame

  async function waitForFrame(snap, cam, mine) {
    const stale = () => closed || mine !== grabbing;
    frame.replaceChildren(h("p", { class: "muted" }, `${cam.name} · ${snapshotState(snap)}`));
    for (let i = 0; i < 60 && snap.state === "pending"; i += 1) {
      await new Promise((r) => setTimeout(r, 2000));
      if (stale()) return;
      snap = await api(`/camera-snapshots/${snap.id}`);
    }
    if (stale()) return;
    const images = snap.state === "done" ? await frameImages(snap, urls) : [];
    if (closed) { urls.forEach((u) => URL.revokeObjectURL(u)); return; }
    if (mine !== grabbing) return;
    frame.replaceChildren(h("p", { class: "muted", id: "camera-frame-state" }, `${cam.name} · ${snapshotState(snap)}`),
      ...images);
  }

  async function grab(cam) {
    const mine = ++grabbing;
    try { await waitForFrame(await api(`/cameras/${cam.id}/snapshots`, { method: "POST" }), cam, mine); } catch (e) {
      if (!closed) toast(e.message);
    }
  }

  let loading = false;
  async function page() {
    if (loading) return; // a double click on 更多 loads one page, not the same one twice
    loading = true;
    try {
      const p = await api(`/cameras?limit=50&offset=${offset}`);
      if (closed) return;
      offset += p.items.length;
      more.hidden = offset >= p.total;
      none.hidden = p.total > 0;
      for (const cam of p.items) {
        const layer = cameraLayer(cam).addTo(drawn);
        rows.append(h("tr", { "data-camera-id": cam.id, onclick: () => map.fitBounds(layer.getBounds().pad(1), { maxZoom: 17 }) },
          h("td", {}, cam.code), h("td", {}, cam.name), h("td", {}, t(cam.status)),
          h("td", {}, canGrab ? h("button", { class: "grab", onclick: (e) => { e.stopPropagation(); grab(cam); } }, t("grab_frame")) : "")));
      }
      if (offset === p.items.length && drawn.getLayers().length) map.fitBounds(drawn.getBounds().pad(0.1), { maxZoom: 16 });
    } catch (e) { if (!closed) toast(e.message); } finally { loading = false; }
  }
  more.addEventListener("click", page);

  (async () => {
    try {
      const summary = await api("/camera-health");
      if (closed) return;
      health.replaceChildren(...(summary.items.length ? [] : [h("tr", {}, h("td", { colspan: 5, class: "muted" }, t("none")))]),
        ...summary.items.map((o) => h("tr", { class: o.outage_since ? "outage" : "", "data-jurisdiction-id": o.jurisdiction_id },
        h("td", {}, o.jurisdiction_name), h("td", {}, String(o.online)),
        h("td", {}, String(o.degraded)), h("td", {}, String(o.offline)), h("td", {}, String(o.unknown)))));
    } catch (e) { toast(e.message); }
    await page();
  })();
  return () => { closed = true; map.remove(); urls.forEach((u) => URL.revokeObjectURL(u)); };
}
