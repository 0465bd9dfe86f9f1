// Remote roll-call (远程点名) on the console. The officer picks one of the cameras nearest
// the phone's last position and starts it; the supervisee's phone page says which camera,
// which gesture and until when; the server grabs frames in that window and matches faces;
// the officer sees the outcome with its frames and confirms or overturns it with a reason.
import { api, blobUrl } from "./api.js";
import { fmtTime, t } from "./i18n.js";
import { h } from "./names.js";
import { decideForm } from "./forms.js";

const OFFICERS = ["officer", "manager"];

async function frameImages(frames, urls) {
  const out = [];
  for (const f of frames) {
    const url = await blobUrl(`/rollcall-frames/${f.id}`, urls);
    out.push(h("figure", { class: "camera-evidence" }, h("img", { class: "frame", src: url, alt: t("frame") }),
      h("figcaption", {}, `${fmtTime(f.grabbed_at)} · ${t(`rc_${f.outcome}`)}`)));
  }
  return out;
}

function rollcallItem(r, { role, toast, urls, redraw }) {
  const outcome = r.outcome ? ` · ${t(`rc_${r.outcome}`)}` : "";
  const li = h("li", { "data-rollcall-id": r.id, class: `rollcall state-${r.state}` },
    h("strong", {}, r.camera.name), ` · ${r.prompt} · ${t("deadline")} ${fmtTime(r.deadline_at)} · ${t(`rc_state_${r.state}`)}${outcome}`,
    r.decision ? h("p", { class: "muted" }, `${t(`rc_${r.decision}`)}: ${r.decision_reason}`) : null);
  // Frames of a person's face: the officers' and managers' only (the API refuses auditors).
  if (r.state !== "waiting" && OFFICERS.includes(role)) {
    li.append(h("button", { class: "show-frames", onclick: async (e) => {
      const button = e.target;
      button.disabled = true;
      try {
        const full = await api(`/rollcalls/${r.id}`);
        li.append(h("div", { class: "frames" }, ...(full.frames.length ? await frameImages(full.frames, urls)
          : [h("span", { class: "muted" }, t("none"))])));
        button.remove();
      } catch (err) { button.disabled = false; toast(err.message); }
    } }, t("show_frames")));
  }
  const act = (path, body) => api(`/rollcalls/${r.id}/${path}`, { method: "POST", body })
    .then(() => { toast(t("done")); return redraw(); }, (err) => toast(err.message));
  if (OFFICERS.includes(role) && r.state === "done" && !r.decision) {
    li.append(decideForm(`decide-rollcall-${r.id}`, [["confirmed", "rc_confirm", "primary"], ["overturned", "rc_overturn"]],
      (decision, reason) => act("decision", { decision, reason })));
  }
  if (OFFICERS.includes(role) && r.state === "waiting") {
    li.append(decideForm(`cancel-rollcall-${r.id}`, [["cancel", "rc_cancel"]], (_, reason) => act("cancel", { reason })));
  }
  return li;
}

// The supervisee page's card: start one (officers), the roll-calls with outcome and frames.
export function rollcallCard(superviseeId, { session, toast, urls }) {
  const role = session.user.role;
  const list = h("ul", { class: "records", id: "rollcalls" });
  const start = h("form", { class: "decide", id: "rollcall-form", hidden: true });
  const card = h("section", { class: "card", id: "rollcall-card" }, h("h3", {}, t("rollcall")), start, list);

  let timer = null;
  async function redraw() {
    clearTimeout(timer);
    const page = await api(`/rollcalls?supervisee_id=${superviseeId}&limit=10`);
    list.replaceChildren(...(page.items.length ? page.items.map((r) => rollcallItem(r, { role, toast, urls, redraw }))
      : [h("li", { class: "muted" }, t("none"))]));
    // A roll-call under way: its outcome comes from the server's job; look again every 5 s while
    // this page is shown — but not under the officer's hands (a reason being typed waits).
    if (page.items.some((r) => r.state === "waiting")) later();
  }
  function later() {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (!card.isConnected) return;
      // Not under the officer's hands: a reason being typed, or frames opened, wait.
      if ([...list.querySelectorAll("input")].some((i) => i.value) || list.querySelector(".frames")) later();
      else redraw().catch(() => later()); // a failed look is tried again, not given up
    }, 5000);
  }

  async function offer() {
    // The suggestion reads the phone's last position: audited by the API as a location read.
    const s = await api(`/supervisees/${superviseeId}/rollcall-cameras`);
    if (!s.cameras.length) { start.replaceChildren(h("span", { class: "muted" }, t("no_camera_near"))); start.hidden = false; return; }
    start.replaceChildren(
      h("select", { name: "camera" }, s.cameras.map((c) => h("option", { value: c.id }, `${c.name} · ${Math.round(c.distance_m)} m`))),
      h("label", {}, h("input", { name: "minutes", type: "number", min: 1, max: 240, value: 30 }), ` ${t("minutes")}`),
      h("button", { class: "primary" }, t("rollcall_start")));
    start.hidden = false;
  }

  start.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(start);
    try {
      await api("/rollcalls", { method: "POST", body: { supervisee_id: superviseeId, camera_id: Number(f.get("camera")),
        minutes: Number(f.get("minutes")) } });
      toast(t("done")); start.hidden = true; await redraw();
    } catch (err) { toast(err.message); }
  });

  if (OFFICERS.includes(role)) {
    card.insertBefore(h("button", { id: "rollcall-offer", onclick: () => offer().catch((err) => toast(err.message)) },
      t("rollcall_start")), start);
  }
  redraw().catch((err) => list.replaceChildren(h("li", { class: "error" }, err.message)));
  return card;
}

// The supervisee's phone: which camera, which gesture, until when. Supervisees have no
// live socket, so the page looks every 30 s while it is shown (a roll-call's window is minutes).
const MINE_EVERY_MS = 30_000;

export async function myRollcalls(el) {
  const open = await api("/rollcalls/mine");
  el.hidden = open.length === 0;
  el.replaceChildren(h("h2", {}, t("rollcall")), ...open.map((r) => h("p", { class: "prompt", "data-rollcall-id": r.id },
    `${t("rollcall_go")} ${r.camera.name} · ${r.prompt} · ${t("deadline")} ${fmtTime(r.deadline_at)}`)));
}

export function watchMyRollcalls(el) {
  const timer = setInterval(() => { if (el.isConnected) myRollcalls(el).catch(() => {}); }, MINE_EVERY_MS);
  return () => clearInterval(timer);
}
