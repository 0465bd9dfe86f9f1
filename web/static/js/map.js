// The officer's map: last positions of the jurisdiction's supervisees, clustered
// (chunked loading keeps 5,000 markers smooth), a supervisee's fences and a
// track for a chosen period with a replay slider.
/* global L */
import { api } from "./api.js";
import { fmtTime, isoToShanghaiInput, shanghaiInputToIso, t } from "./i18n.js";
import { h } from "./names.js";
import { drawFences, drawTrack, makeMap } from "./maplib.js";
import { CAMERA_MIN_ZOOM, cameraOverlay } from "./cameras.js";

export function mapPage(view, { toast }) {
  const mapEl = h("div", { class: "map bigmap", id: "map" });
  const now = new Date();
  const since = h("input", { type: "datetime-local", name: "since", value: isoToShanghaiInput(new Date(now - 864e5)) });
  const until = h("input", { type: "datetime-local", name: "until", value: isoToShanghaiInput(now) });
  const slider = h("input", { type: "range", id: "replay", disabled: true });
  const label = h("span", { class: "muted", id: "replay-label" }, "");
  const who = h("strong", { id: "map-selected" }, "");
  const loadTrack = h("button", { id: "load-track", disabled: true }, `${t("track")} · ${t("show")}`);
  const camerasOn = h("input", { type: "checkbox", id: "show-cameras" });
  const cameraCount = h("span", { class: "muted", id: "camera-count" }, "");
  view.append(h("section", { class: "card" },
    h("div", { class: "track-controls" }, h("span", { id: "position-count" }, t("positions")), who,
      t("from"), since, t("to"), until, loadTrack, t("replay"), slider, label,
      h("label", {}, camerasOn, ` ${t("cameras")} `), cameraCount), mapEl));
  const map = makeMap(mapEl, { canvas: true });
  const fences = L.featureGroup().addTo(map);
  const track = L.featureGroup().addTo(map);
  // Chunked loading yields to the browser every 50 ms while 5,000 markers are
  // clustered; no cluster animations (each one re-lays out every visible cluster).
  const cluster = L.markerClusterGroup({ chunkedLoading: true, chunkInterval: 50, chunkDelay: 10,
    removeOutsideVisibleBounds: true, spiderfyOnMaxZoom: true, animate: false, maxClusterRadius: 80,
    chunkProgress: (done, total) => { if (done === total) mapEl.dataset.clustered = String(total); } });
  // A zoom swaps every drawn cluster and marker within these bounds: markercluster's own
  // are the view padded by a whole view on each side (9 views' worth, ~1,000 markers at
  // zoom 14 over 5,000 people, a 300-500 ms task). Only the view itself, as markercluster
  // does on phones: what a pan uncovers is drawn when the pan ends.
  cluster._getExpandedVisibleBounds = function visible() { return this._checkBoundsMaxLat(this._map.getBounds()); };
  map.addLayer(cluster);
  // Cameras and their sectors over the people (from zoom 14; the count says how many are drawn).
  const cameras = cameraOverlay(map, { toast, onCount: (n, more) => {
    cameraCount.textContent = n === null ? (camerasOn.checked ? t("zoom_in_for_cameras").replace("{z}", CAMERA_MIN_ZOOM) : "")
      : `${n}${more ? ` · ${t("cameras_nearest")}` : ""}`;
    mapEl.dataset.cameras = n === null ? "" : String(n);
  } });
  camerasOn.addEventListener("change", () => cameras.set(camerasOn.checked));
  let current = null;

  async function choose(p) {
    current = p;
    who.textContent = p.name; loadTrack.disabled = false;
    fences.clearLayers();
    try { await drawFences(fences, p.supervisee_id); } catch (e) { toast(e.message); }
  }

  loadTrack.addEventListener("click", async () => {
    if (!current) return;
    const q = new URLSearchParams({ since: shanghaiInputToIso(since.value), until: shanghaiInputToIso(until.value),
      limit: "5000" });
    try {
      const tr = await api(`/supervisees/${current.supervisee_id}/fixes?${q}`);
      drawTrack(map, track, tr.fixes, slider, label);
    } catch (e) { toast(e.message); }
  });

  api("/positions").then((data) => {
    // One click handler and one popup for the whole group, not one of each per marker:
    // 5,000 popups and their listeners made every add and remove (each zoom) slower.
    const markers = data.positions.map((p) => L.circleMarker([p.lat, p.lon],
      { radius: 6, color: "#1f6feb", fillOpacity: 0.8, position: p }));
    const popup = L.popup();
    cluster.on("click", (e) => {
      const p = e.layer.options.position;
      if (!p) return;
      popup.setLatLng(e.layer.getLatLng()).setContent(h("div", {}, h("strong", {}, p.name), h("br"),
        `${fmtTime(p.t)} ±${Math.round(p.accuracy_m || 0)} m`, h("br"),
        h("a", { href: `#/supervisee/${p.supervisee_id}` }, t("open_record")))).openOn(map);
      choose(p);
    });
    cluster.addLayers(markers);
    document.getElementById("position-count").textContent = `${t("positions")}: ${data.count}`;
    mapEl.dataset.loaded = String(data.count);
  }).catch((e) => toast(e.message));
  return () => map.remove();
}
