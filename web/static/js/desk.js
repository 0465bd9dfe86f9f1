// The officer's alert desk: the live list (websocket), filters, and one alert's
// detail with its evidence on a map and the actions (acknowledge, assign, note, resolve).
/* global L */
import { api, all } from "./api.js";
import { fmtTime, t } from "./i18n.js";
import { h, superviseeNames } from "./names.js";
import { fenceLayer, makeMap, textTip } from "./maplib.js";
import { cameraLayer, frameImages, snapshotState } from "./cameras.js";

const KINDS = ["left_permitted_area", "entered_exclusion_zone", "curfew_breach", "outside_leave_destination",
  "overdue_return", "signal_lost", "device", "integrity", "missed_checkin", "term_ending", "notice", "obligation_shortfall"];
const REASONS = ["confirmed_violation", "false_alarm", "excused", "police_notified"];
let soundOn = false;

// Evidence distances are signed: outside the fence > 0, inside (an exclusion zone) < 0.
function distanceText(m) {
  return m >= 0 ? `${Math.round(m)} m` : `${t("inside_by")} ${Math.round(-m)} m`;
}

function beep() {
  if (!soundOn) return;
  const ctx = new AudioContext();
  const osc = ctx.createOscillator();
  osc.frequency.value = 880; osc.connect(ctx.destination); osc.start(); osc.stop(ctx.currentTime + 0.2);
}

function select(name, values, label) {
  return h("label", {}, `${t(label)} `, h("select", { name },
    h("option", { value: "" }, t("all")), values.map((v) => h("option", { value: v }, t(v)))));
}

export function desk(view, { session, toast }) {
  const store = session.store;
  const filters = h("form", { class: "filters", id: "filters" },
    select("kind", KINDS, "kind"), select("state", ["open", "acknowledged", "resolved"], "state"),
    select("severity", ["critical", "high", "medium", "low"], "severity"),
    h("label", {}, h("input", { type: "checkbox", name: "sound", checked: soundOn }), ` ${t("sound")}`));
  const body = h("tbody", { id: "alert-rows" });
  const table = h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, t("time")), h("th", {}, t("severity")),
    h("th", {}, t("alert")), h("th", {}, t("person")), h("th", { class: "wide" }, t("state")),
    h("th", { class: "wide" }, t("escalation")))), body);
  const detail = h("section", { class: "card", id: "alert-detail" }, h("p", { class: "muted" }, t("select_alert")));
  view.append(h("div", { class: "desk" }, h("section", { class: "card" }, h("h2", {}, t("desk")), filters, table),
    detail));
  let names = new Map();
  let selected = null;
  let shownId = null;
  let evidenceMap = null;
  let frameUrls = [];
  let framesTimer = null;
  // Each open() is one generation: an answer that arrives after another alert was opened
  // (or the page was left) is dropped, so a slow alert never paints over the one shown.
  let openSeq = 0;

  function visible(a) {
    const f = new FormData(filters);
    return (!f.get("kind") || a.kind === f.get("kind")) && (!f.get("state") || a.state === f.get("state"))
      && (!f.get("severity") || a.severity === f.get("severity"));
  }

  function draw() {
    const rows = [...store.alerts.values()].filter(visible)
      .sort((a, b) => (b.occurred_at || "").localeCompare(a.occurred_at || ""));
    body.replaceChildren(...rows.map((a) => h("tr", {
      class: `alert-row${a.id === selected ? " selected" : ""}`, "data-alert-id": a.id, onclick: () => open(a.id),
    }, h("td", {}, fmtTime(a.occurred_at)), h("td", {}, h("span", { class: `sev sev-${a.severity}` }, t(a.severity))),
    h("td", {}, a.title), h("td", {}, names.get(a.supervisee_id) || `#${a.supervisee_id}`),
    h("td", { class: "wide" }, t(a.state)),
    h("td", { class: `wide${a.escalation_level > 0 ? " escalated" : ""}` },
      a.escalation_level > 0 ? `${t("escalated")} ${a.escalation_level} ${t("level")}` : "—"))));
  }

  filters.addEventListener("change", (e) => { if (e.target.name === "sound") soundOn = e.target.checked; draw(); });
  const unsubscribe = store.subscribe((msg) => {
    if (msg && msg.event === "created") beep();
    draw();
    // The open detail is not redrawn under the officer's hands (a half-typed note
    // would vanish); only its state follows the live events.
    if (msg && msg.alert_id === selected && msg.alert?.state) {
      const el = detail.querySelector("#detail-state");
      if (el) el.textContent = t(msg.alert.state);
    }
  });
  superviseeNames().then((n) => { names = n; draw(); });
  draw();

  async function act(path, payload) {
    try {
      const answer = await api(`/alerts/${selected}/${path}`, { method: "POST", body: payload });
      if (path !== "notes") store.update(answer); // the others answer with the alert
      for (const input of detail.querySelectorAll(`#${path === "notes" ? "note" : path}-form input`)) input.value = "";
      toast(t("done"));
      await open(selected, false);
    } catch (e) { toast(e.message); }
  }

  async function open(id, redraw = true) {
    const gen = ++openSeq;
    selected = id;
    if (redraw) draw();
    let a;
    try { a = await api(`/alerts/${id}`); } catch (e) {
      if (gen === openSeq) detail.replaceChildren(h("p", { class: "error" }, e.message));
      return;
    }
    const officers = session.user.role === "auditor" ? [] : await all("/users?role=officer").catch(() => []);
    if (gen !== openSeq) return;
    const mapEl = h("div", { class: "map", id: "evidence-map" });
    const outside = a.evidence.map((e) => e.distance_m).filter((d) => d !== null && d !== undefined);
    const readOnly = session.user.role === "auditor" || a.state === "resolved";
    // What the officer was typing or choosing survives a redraw of the same alert.
    const typed = id === shownId ? [...detail.querySelectorAll("input[name], select[name]")]
      .map((i) => [i.closest("form")?.id, i.name, i.value]) : [];
    shownId = id;
    detail.replaceChildren(
      h("h2", {}, a.title),
      h("dl", { class: "kv" },
        h("dt", {}, t("kind")), h("dd", {}, t(a.kind)), h("dt", {}, t("state")), h("dd", { id: "detail-state" }, t(a.state)),
        h("dt", {}, t("severity")), h("dd", {}, t(a.severity)), h("dt", {}, t("time")), h("dd", {}, fmtTime(a.occurred_at)),
        h("dt", {}, t("person")), h("dd", {}, h("a", { href: `#/supervisee/${a.supervisee_id}` },
          names.get(a.supervisee_id) || `#${a.supervisee_id}`)),
        h("dt", {}, t("escalation")), h("dd", { class: a.escalation_level ? "escalated" : "" },
          a.escalation_level ? `${t("escalated")} ${a.escalation_level} ${t("level")} · ${fmtTime(a.escalated_at)}` : "—"),
        h("dt", {}, t("distance_outside")), h("dd", { id: "distance-outside" },
          outside.length ? distanceText(Math.max(...outside)) : "—"),
        a.resolution ? [h("dt", {}, t("resolve")), h("dd", {}, `${t(a.resolution)} · ${a.resolution_note || ""}`)] : null),
      h("h3", {}, `${t("evidence")} (${a.evidence_count})`), mapEl,
      alertCameras(a) ? h("section", { id: "alert-cameras" }, h("h3", {}, t("camera_evidence")),
        h("div", { class: "frames", id: "alert-frames" }, h("p", { class: "muted" }, "…")),
        readOnly ? null : h("button", { id: "grab-again", onclick: () => grabAgain(id) }, t("grab_again"))) : null,
      readOnly ? null : h("div", { class: "actions" },
        a.state === "open" ? h("button", { id: "ack", class: "primary", onclick: () => act("acknowledge") }, t("acknowledge")) : null,
        h("form", { id: "assign-form", onsubmit: (e) => { e.preventDefault(); act("assign", { officer_id: Number(new FormData(e.target).get("officer")) }); } },
          h("select", { name: "officer" }, officers.map((o) => h("option", { value: o.id, selected: o.id === a.assigned_to }, o.full_name))),
          h("button", {}, t("assign"))),
        h("form", { id: "note-form", onsubmit: (e) => { e.preventDefault(); act("notes", { body: new FormData(e.target).get("body") }); } },
          h("input", { name: "body", required: true, placeholder: t("note") }), h("button", {}, t("add"))),
        h("form", { id: "resolve-form", onsubmit: (e) => {
          e.preventDefault(); const f = new FormData(e.target);
          act("resolve", { reason: f.get("reason"), note: f.get("note") });
        } },
        h("select", { name: "reason" }, REASONS.map((r) => h("option", { value: r }, t(r)))),
        h("input", { name: "note", required: true, placeholder: t("reason") }), h("button", {}, t("resolve")))),
      h("h3", {}, t("notes")),
      h("ul", {}, a.notes.length ? a.notes.map((n) => h("li", {}, `${fmtTime(n.created_at)} ${n.body}`)) : h("li", { class: "muted" }, t("none"))));
    for (const [form, name, value] of typed) {
      const input = detail.querySelector(`#${form} [name=${name}]`);
      if (input && value) input.value = value;
    }
    dropEvidence();
    evidenceMap = makeMap(mapEl, { zoom: 13 });
    const map = evidenceMap;
    await drawEvidence(map, a, () => gen !== openSeq);
    if (gen !== openSeq) return;
    if (alertCameras(a)) await cameraEvidence(a, map, gen);
  }

  // The previous alert's map, frames and polling, before another is drawn (or the page is left).
  function dropEvidence() {
    clearTimeout(framesTimer);
    if (evidenceMap) evidenceMap.remove();
    evidenceMap = null;
    frameUrls.forEach((u) => URL.revokeObjectURL(u));
    frameUrls = [];
  }

  // The covering cameras' sectors (once) and the frames grabbed from them. While a grab is
  // pending, only this part is looked at again (every 3 s, a minute at most): the rest of
  // the detail, and what the officer is typing or choosing there, stays as it is.
  async function cameraEvidence(a, map, gen) {
    const cams = alertCameras(a);
    const urls = frameUrls;
    const stale = () => gen !== openSeq;
    for (const c of cams) {
      const cam = await api(`/cameras/${c.camera_id}`).catch(() => null);
      if (stale()) return;
      if (cam) cameraLayer({ ...cam, distance_m: c.distance_m }).addTo(map);
    }
    const images = new Map(); // snapshot id -> its <img>s
    for (let tries = 0; ; tries += 1) {
      const snaps = (await api(`/alerts/${a.id}/snapshots`).catch(() => ({ items: [] }))).items;
      if (stale()) return;
      for (const snap of snaps.filter((x) => x.state === "done" && !images.has(x.id))) {
        const imgs = await frameImages(snap, urls).catch(() => []);
        if (stale()) { urls.forEach((u) => URL.revokeObjectURL(u)); return; }
        images.set(snap.id, imgs);
      }
      const el = detail.querySelector("#alert-frames");
      if (!el) return;
      el.replaceChildren(...cameraFigures(cams, snaps, images));
      if (!snaps.some((x) => x.state === "pending")) return;
      if (tries >= 20) { el.append(h("p", { class: "muted" }, t("frames_later"))); return; }
      await new Promise((resolve) => { framesTimer = setTimeout(resolve, 3000); });
      if (stale()) return;
    }
  }

  async function grabAgain(id) {
    try {
      await api(`/alerts/${id}/snapshots`, { method: "POST" });
      toast(t("grab_requested"));
      if (selected === id) await open(id, false);
    } catch (e) { toast(e.message); }
  }

  return () => {
    unsubscribe();
    openSeq += 1; // whatever is still on its way is dropped
    dropEvidence();
  };
}

// The cameras that could see where the violation began (attached when the alert was made).
function alertCameras(alert) {
  const cams = alert.evidence.flatMap((e) => (e.detail && e.detail.cameras) || []);
  return cams.length ? cams : null;
}

// One figure per camera: the covering ones first (nearest first, as attached), then any other
// camera asked again for this alert; each with its grabs' states and frames.
function cameraFigures(cams, snaps, images) {
  const named = new Map(cams.map((c) => [c.camera_id, c]));
  const ids = [...named.keys(), ...new Set(snaps.map((x) => x.camera_id).filter((cid) => !named.has(cid)))];
  return ids.map((cid) => {
    const c = named.get(cid);
    const mine = snaps.filter((x) => x.camera_id === cid);
    return h("figure", { class: "camera-evidence", "data-camera-id": cid },
      h("figcaption", {}, c ? `${c.name} (${c.code}) · ${Math.round(c.distance_m)} m` : `${t("camera")} #${cid}`,
        ...mine.map((x) => h("span", { class: `snap snap-${x.state}` }, ` · ${snapshotState(x)}`))),
      ...mine.flatMap((x) => images.get(x.id) || []));
  });
}

// The fixes behind the alert with their accuracy circles, and the fence it is about.
async function drawEvidence(map, alert, stale) {
  const group = L.featureGroup().addTo(map);
  for (const e of alert.evidence) {
    if (e.lat === null || e.lon === null) continue;
    L.circle([e.lat, e.lon], { radius: e.accuracy_m || 1, color: "#c62828", weight: 1, fillOpacity: 0.1 }).addTo(group);
    L.circleMarker([e.lat, e.lon], { radius: 4, color: "#c62828", fillOpacity: 1 })
      .bindTooltip(textTip(`${fmtTime(e.t)} ±${Math.round(e.accuracy_m || 0)} m${e.distance_m ? ` · ${Math.round(e.distance_m)} m` : ""}`))
      .addTo(group);
  }
  if (alert.fence_id) {
    const fence = await api(`/fences/${alert.fence_id}`).catch(() => null); // retired or not visible
    if (stale()) return; // another alert was opened meanwhile: this map is gone
    if (fence) fenceLayer(fence).addTo(map);
  }
  if (group.getLayers().length) map.fitBounds(group.getBounds().pad(0.5), { maxZoom: 15 });
}
