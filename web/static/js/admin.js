// The administrator's page: their notices (camera outages of the offices they run, resets of
// their account) and the cameras' health per office. Admins have no alert socket (alerts are
// about people; an admin does not reach location data), so the page re-reads both every minute.
import { api } from "./api.js";
import { fmtTime, t } from "./i18n.js";
import { h } from "./names.js";

const REFRESH_MS = 60_000;
const STATES = ["online", "degraded", "offline", "unknown"];

export function adminPage(view, { toast }) {
  const notices = h("ul", { id: "admin-notices" });
  const health = h("tbody", { id: "camera-health" });
  view.append(
    h("section", { class: "card" }, h("h2", {}, t("notices")), notices),
    h("section", { class: "card" }, h("h2", {}, t("camera_health")),
      h("table", {}, h("thead", {}, h("tr", {}, ...["office", ...STATES, "offline_share", "outage_since", "last_probe"]
        .map((k) => h("th", {}, t(k))))), health)));

  async function load() {
    const [me, summary] = await Promise.all([api("/auth/me"), api("/camera-health")]);
    notices.replaceChildren(...(me.notices.length ? me.notices.map((n) => h("li", {
      class: n.kind === "camera_outage" ? "notice warn" : "notice", "data-kind": n.kind,
    }, `${fmtTime(n.created_at)} · ${n.message}`)) : [h("li", { class: "muted" }, t("none"))]));
    health.replaceChildren(...(summary.items.length ? summary.items.map((o) => h("tr", {
      "data-jurisdiction-id": o.jurisdiction_id, class: o.outage_since ? "outage" : "",
    }, h("td", {}, o.jurisdiction_name), ...STATES.map((s) => h("td", {}, String(o[s]))),
      h("td", {}, `${Math.round(o.offline_share * 100)}%`),
      h("td", {}, o.outage_since ? fmtTime(o.outage_since) : "—"),
      h("td", {}, o.last_probe_at ? fmtTime(o.last_probe_at) : "—")))
      : [h("tr", {}, h("td", { colspan: 8, class: "muted" }, t("none")))]));
  }

  load().catch((e) => toast(e.message));
  const timer = setInterval(() => load().catch((e) => toast(e.message)), REFRESH_MS);
  return () => clearInterval(timer);
}
