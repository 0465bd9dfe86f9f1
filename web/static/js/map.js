// The officer's map: last positions of the jurisdiction's supervisees, clustered
// (chunked loading keeps 5,000 markers smooth), a supervisee's fences and a
// track for a chosen period with a replay slider.
/* global L */
import { api } from "./api.js";
import { fmtTime, isoToShanghaiInput, shanghaiInputToIso, t } from "./i18n.js";
import { h } from "./names.js";
import { drawFences, drawTrack, makeMap } from "./maplib.js";

export function mapPage(view, { toast }) {
  const mapEl = h("div", { class: "map bigmap", id: "map" });
  const now = new Date();
  const since = h("input", { type: "datetime-local", name: "since", value: isoToShanghaiInput(new Date(now - 864e5)) });
  const until = h("input", { type: "datetime-local", name: "until", value: isoToShanghaiInput(now) });
  const slider = h("input", { type: "range", id: "replay", disabled: true });
  const label = h("span", { class: "muted", id: "replay-label" }, "");
  const who = h("strong", { id: "map-selected" }, "");
  const loadTrack = h("button", { id: "load-track", disabled: true }, `${t("track")} · ${t("show")}`);
  view.append(h("section", { class: "card" },
    h("div", { class: "track-controls" }, h("span", { id: "position-count" }, t("positions")), who,
      t("from"), since, t("to"), until, loadTrack, t("replay"), slider, label), mapEl));
  const map = makeMap(mapEl, { canvas: true });
  const fences = L.featureGroup().addTo(map);
  const track = L.featureGroup().addTo(map);
  // Chunked loading yields to the browser every 50 ms while 5,000 markers are
  // clustered; no cluster animations (each one re-lays out every visible cluster).
  const cluster = L.markerClusterGroup({ chunkedLoading: true, chunkInterval: 50, chunkDelay: 10,
    removeOutsideVisibleBounds: true, spiderfyOnMaxZoom: true, animate: false, maxClusterRadius: 60,
    chunkProgress: (done, total) => { if (done === total) mapEl.dataset.clustered = String(total); } });
  map.addLayer(cluster);
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
    const markers = data.positions.map((p) => {
      const m = L.circleMarker([p.lat, p.lon], { radius: 6, color: "#1f6feb", fillOpacity: 0.8 });
      m.bindPopup(() => {
        const el = h("div", {}, h("strong", {}, p.name), h("br"), `${fmtTime(p.t)} ±${Math.round(p.accuracy_m || 0)} m`,
          h("br"), h("a", { href: `#/supervisee/${p.supervisee_id}` }, t("open_record")));
        return el;
      });
      m.on("click", () => choose(p));
      return m;
    });
    cluster.addLayers(markers);
    document.getElementById("position-count").textContent = `${t("positions")}: ${data.count}`;
    mapEl.dataset.loaded = String(data.count);
  }).catch((e) => toast(e.message));
  return () => map.remove();
}
