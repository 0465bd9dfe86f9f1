// The supervisee's own page, mobile first (360 px): today's obligations, ask for
// leave and see its status, report back (销假) with the browser's position and
// its accuracy. The API never sends this page an exclusion zone, and it draws none.
import { api } from "./api.js";
import { fmtTime, isoToShanghaiInput, shanghaiInputToIso, t } from "./i18n.js";
import { h } from "./names.js";
import { checkinCard, position } from "./checkin.js";
import { myRollcalls, watchMyRollcalls } from "./rollcall.js";

// Destinations offered as a 10 km circle around the city centre (WGS-84).
const DESTINATIONS = [
  { name: "杭州市", lon: 120.1551, lat: 30.2741 }, { name: "金华市", lon: 119.6474, lat: 29.0790 },
  { name: "上海市", lon: 121.4737, lat: 31.2304 }, { name: "宁波市", lon: 121.5500, lat: 29.8750 },
];

const AREAS = { 330803: "衢江区", 330802: "柯城区" };

export function mePage(view, { session, toast }) {
  const sid = session.user.supervisee_id;
  const obligations = h("section", { class: "card", id: "obligations" }, h("h2", {}, t("obligations")));
  const leaveList = h("ul", { id: "my-leave" });
  const tomorrow = new Date(Date.now() + 864e5);
  const form = h("form", { class: "stack", id: "leave-form" },
    h("label", {}, t("destination"), h("select", { name: "dest" }, DESTINATIONS.map((d, i) => h("option", { value: i }, d.name)))),
    h("label", {}, t("reason"), h("input", { name: "reason", required: true })),
    h("label", {}, t("depart"), h("input", { type: "datetime-local", name: "depart", required: true, value: isoToShanghaiInput(tomorrow) })),
    h("label", {}, t("return_time"), h("input", { type: "datetime-local", name: "ret", required: true,
      value: isoToShanghaiInput(new Date(tomorrow.getTime() + 2 * 864e5)) })),
    h("button", { class: "primary" }, t("submit")));
  const rollcalls = h("section", { class: "card", id: "my-rollcalls", hidden: true });
  view.append(rollcalls, obligations, checkinCard(toast), h("section", { class: "card" }, h("h2", {}, t("ask_leave")), form),
    h("section", { class: "card" }, h("h2", {}, t("my_leave")), leaveList));

  async function loadLeave() {
    const page = await api(`/leave?supervisee_id=${sid}`);
    leaveList.replaceChildren(...page.items.map((l) => h("li", { "data-leave-id": l.id },
      `${l.address} · ${fmtTime(l.depart_at)} → ${fmtTime(l.return_at)} · `,
      h("span", { class: `status status-${l.status}` }, t(l.status)),
      l.status === "approved" && !l.returned_at && new Date(l.depart_at) <= new Date()
        ? h("button", { class: "report-back", onclick: () => reportBack(l.id) }, t("report_back")) : null,
      l.returned_at ? ` · ${t("report_back")} ${fmtTime(l.returned_at)}` : null)));
  }

  async function reportBack(id) {
    try {
      const p = await position();
      await api(`/leave/${id}/return`, { method: "POST", body: { lon: p.coords.longitude, lat: p.coords.latitude,
        accuracy_m: Math.max(1, p.coords.accuracy), datum: "wgs84" } });
      toast(t("done")); loadLeave();
    } catch (e) { toast(e.message); }
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const d = DESTINATIONS[Number(f.get("dest"))];
    try {
      await api("/leave", { method: "POST", body: {
        destination: { address: d.name, circle: { lon: d.lon, lat: d.lat, radius_m: 10000 }, datum: "wgs84" },
        reason: f.get("reason"), depart_at: shanghaiInputToIso(f.get("depart")), return_at: shanghaiInputToIso(f.get("ret")),
      } });
      toast(t("done")); form.reset(); loadLeave();
    } catch (err) { toast(err.message); }
  });

  (async () => {
    try {
      const [me, fences] = await Promise.all([api(`/supervisees/${sid}`), api(`/supervisees/${sid}/fences?limit=50`)]);
      obligations.append(h("ul", {},
        h("li", {}, `${t("tier")}: ${t(me.tier)} — ${t(`checkin_cadence_${me.tier}`)}`),
        h("li", {}, t("stay_in_area"), me.permitted_area_codes.map((c) => AREAS[c] || c).join(" ∪ ") || "—"),
        // Curfews and active leave destinations only: the API withholds exclusion zones.
        fences.items.filter((f) => f.kind === "curfew" || f.kind === "leave_destination").map((f) => h("li", {}, `${t(f.kind)}: ${f.label}`))));
      await Promise.all([loadLeave(), myRollcalls(rollcalls)]);
    } catch (err) { obligations.append(h("p", { class: "error" }, err.message)); }
  })();
  return watchMyRollcalls(rollcalls);
}
