// The officer's page of one supervisee: record, devices, fences, leave, alerts, track.
// Every read here is audited by the API. Below them, the lawful lifecycle: risk with its
// factors, tier proposals, sanctions, monthly assessments, positioning orders, end of term.
/* global L */
import { api } from "./api.js";
import { fmtTime, isoToShanghaiInput, shanghaiInputToIso, t } from "./i18n.js";
import { h } from "./names.js";
import { drawFences, drawTrack, makeMap } from "./maplib.js";
import { historyCard } from "./checkins.js";
import { lifecycleCards } from "./decisions.js";
import { rollcallCard } from "./rollcall.js";

export function superviseePage(view, { arg, toast, session }) {
  const id = Number(arg);
  const urls = [];
  const card = h("section", { class: "card", id: "supervisee-record" });
  const mapEl = h("div", { class: "map", id: "supervisee-map" });
  const slider = h("input", { type: "range", id: "replay", disabled: true });
  const label = h("span", { class: "muted" });
  const since = h("input", { type: "datetime-local", value: isoToShanghaiInput(new Date(Date.now() - 864e5)) });
  const until = h("input", { type: "datetime-local", value: isoToShanghaiInput(new Date()) });
  const lists = h("div", { class: "stack" });
  view.append(h("div", { class: "desk" }, h("div", {}, card, lists),
    h("section", { class: "card" }, h("h3", {}, `${t("fences")} · ${t("track")}`),
      h("div", { class: "track-controls" }, since, until,
        h("button", { onclick: () => loadTrack() }, t("show")), slider, label), mapEl)));
  const map = makeMap(mapEl, { zoom: 12 });
  const fences = L.featureGroup().addTo(map);
  const track = L.featureGroup().addTo(map);

  async function loadTrack() {
    const q = new URLSearchParams({ since: shanghaiInputToIso(since.value), until: shanghaiInputToIso(until.value), limit: "5000" });
    try { drawTrack(map, track, (await api(`/supervisees/${id}/fixes?${q}`)).fixes, slider, label); } catch (e) { toast(e.message); }
  }

  (async () => {
    try {
      const s = await api(`/supervisees/${id}`);
      card.append(h("h2", {}, s.name), h("dl", { class: "kv" },
        h("dt", {}, t("tier")), h("dd", { id: "record-tier" }, t(s.tier)), h("dt", {}, t("sentence")), h("dd", {}, s.sentence_type),
        h("dt", {}, t("term")), h("dd", {}, `${s.term_start} — ${s.term_end}`),
        h("dt", {}, t("residence")), h("dd", {}, s.residence_address || "—"),
        h("dt", {}, t("permitted")), h("dd", {}, s.permitted_area_codes.join(" ∪ "))),
      ...s.warnings.map((w) => h("p", { class: "error" }, w)));
      const [devices, leave, alerts] = await Promise.all([api(`/devices?supervisee_id=${id}`),
        api(`/leave?supervisee_id=${id}`), api(`/alerts?supervisee_id=${id}&limit=20`)]);
      lists.append(
        h("section", { class: "card" }, h("h3", {}, t("devices")), h("ul", {}, devices.items.map((d) =>
          h("li", {}, `${d.name} (${d.protocol}) · ${t("last_seen")} ${fmtTime(d.last_seen_at)}`)))),
        h("section", { class: "card" }, h("h3", {}, t("leave")), h("ul", {}, leave.items.map((l) =>
          h("li", {}, `${l.address} · ${fmtTime(l.depart_at)} → ${fmtTime(l.return_at)} · `,
            h("span", { class: `status status-${l.status}` }, t(l.status)))))),
        h("section", { class: "card" }, h("h3", {}, t("alerts")), h("ul", {}, alerts.items.map((a) =>
          h("li", {}, `${fmtTime(a.occurred_at)} ${a.title} · ${t(a.state)}`)))),
        historyCard(id, urls), rollcallCard(id, { session, toast, urls }));
      const lifecycle = h("div", { class: "stack", id: "lifecycle-cards" });
      lists.append(lifecycle);
      lifecycleCards(lifecycle, id, { session, toast }).catch((e) => lifecycle.append(h("p", { class: "error" }, e.message)));
      if (["officer", "manager"].includes(session.user.role)) {
        card.append(h("button", { id: "spot-check", onclick: async () => {
          try {
            await api("/checkins/spot-checks", { method: "POST", body: { supervisee_id: id, requires_face: true } });
            toast(t("done"));
          } catch (e) { toast(e.message); }
        } }, t("spot_check")));
      }
      const drawn = await drawFences(fences, id);
      if (drawn.length && fences.getLayers().length) map.fitBounds(fences.getBounds());
      await loadTrack();
    } catch (e) { card.append(h("p", { class: "error" }, e.message)); }
  })();
  return () => { map.remove(); urls.forEach((u) => URL.revokeObjectURL(u)); };
}
