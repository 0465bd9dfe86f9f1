// Leave decisions and the leave audit report: the approval queue, charts by office
// and month, CSV/PDF export, and the escalated alerts of the jurisdiction.
/* global Chart */
import { api, download } from "./api.js";
import { fmtTime, t } from "./i18n.js";
import { h, superviseeNames } from "./names.js";

export function managerPage(view, { session, toast }) {
  const queue = h("tbody", { id: "leave-queue" });
  const escalated = h("ul", { id: "escalated" });
  const byOffice = h("canvas", { id: "chart-office" });
  const byMonth = h("canvas", { id: "chart-month" });
  const canDecide = session.user.role !== "auditor";
  view.append(
    h("section", { class: "card" }, h("h2", {}, t("queue")), h("table", {}, h("thead", {}, h("tr", {},
      h("th", {}, t("person")), h("th", {}, t("destination")), h("th", {}, t("depart")), h("th", {}, t("return_time")),
      h("th", {}, t("reason")), h("th", {}, ""))), queue)),
    h("section", { class: "card" }, h("h2", {}, t("report")),
      h("div", { class: "actions" },
        h("button", { id: "csv", onclick: () => download("/reports/leave?format=csv", "leave-report.csv").catch((e) => toast(e.message)) }, t("download_csv")),
        h("button", { id: "pdf", onclick: () => download("/reports/leave?format=pdf", "leave-report.pdf").catch((e) => toast(e.message)) }, t("download_pdf"))),
      h("div", { class: "charts" }, h("div", {}, h("h3", {}, t("by_office")), byOffice), h("div", {}, h("h3", {}, t("by_month")), byMonth))),
    h("section", { class: "card" }, h("h2", {}, t("escalated_alerts")), escalated));
  const charts = [];

  async function loadQueue() {
    const names = await superviseeNames();
    const page = await api("/leave?status=pending&limit=200");
    queue.replaceChildren(...page.items.map((l) => {
      const reason = h("input", { name: "reason", placeholder: t("reason"), value: "" });
      const decide = async (how) => {
        try {
          await api(`/leave/${l.id}/${how}`, { method: "POST", body: { reason: reason.value || t(how === "approve" ? "approved" : "rejected") } });
          toast(t("done")); loadQueue();
        } catch (e) { toast(e.message); }
      };
      return h("tr", { "data-leave-id": l.id }, h("td", {}, names.get(l.supervisee_id) || `#${l.supervisee_id}`),
        h("td", {}, l.address), h("td", {}, fmtTime(l.depart_at)), h("td", {}, fmtTime(l.return_at)), h("td", {}, l.reason),
        h("td", {}, canDecide ? [reason, h("button", { class: "primary approve", onclick: () => decide("approve") }, t("approve")),
          h("button", { class: "reject", onclick: () => decide("reject") }, t("reject"))] : null));
    }));
  }

  async function loadReport() {
    const report = await api("/reports/leave");
    const offices = new Map();
    for (const r of report.rows) {
      const o = offices.get(r.office) || { requests: 0, approved: 0, rejected: 0, flagged: 0, violations: 0 };
      o.requests += 1; o[r.decision] = (o[r.decision] || 0) + 1; o.flagged += r.flags.length ? 1 : 0;
      o.violations += r.violations; offices.set(r.office, o);
    }
    const months = new Map();
    for (const row of report.totals) {
      const m = months.get(row.month) || { requests: 0, approved: 0, flagged: 0 };
      m.requests += row.requests; m.approved += row.approved; m.flagged += row.flagged; months.set(row.month, m);
    }
    const keys = ["requests", "approved", "rejected", "flagged", "violations"];
    const colours = ["#1f6feb", "#2e7d32", "#ef6c00", "#8e24aa", "#c62828"];
    charts.push(new Chart(byOffice, { type: "bar", options: { animation: false, responsive: true },
      data: { labels: [...offices.keys()], datasets: keys.map((k, i) => ({ label: t(k), backgroundColor: colours[i],
        data: [...offices.values()].map((o) => o[k] || 0) })) } }));
    charts.push(new Chart(byMonth, { type: "line", options: { animation: false, responsive: true },
      data: { labels: [...months.keys()], datasets: ["requests", "approved", "flagged"].map((k, i) => ({ label: t(k),
        borderColor: colours[[0, 1, 3][i]], data: [...months.values()].map((m) => m[k]) })) } }));
    view.dataset.reportRows = String(report.rows.length);
  }

  async function loadEscalated() {
    const page = await api("/alerts?state=open&limit=200");
    const names = await superviseeNames();
    escalated.replaceChildren(...page.items.filter((a) => a.escalation_level > 0).map((a) => h("li", {},
      h("span", { class: `sev sev-${a.severity}` }, t(a.severity)), ` ${fmtTime(a.occurred_at)} ${a.title} · `,
      names.get(a.supervisee_id) || `#${a.supervisee_id}`, h("span", { class: "escalated" }, ` ${t("escalated")} ${a.escalation_level} ${t("level")}`))));
    if (!escalated.children.length) escalated.append(h("li", { class: "muted" }, t("none")));
  }

  loadQueue().catch((e) => toast(e.message));
  loadReport().catch((e) => toast(e.message));
  loadEscalated().catch((e) => toast(e.message));
  return () => charts.forEach((c) => c.destroy());
}
