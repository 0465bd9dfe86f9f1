// The lawful lifecycle on the console: what the system proposes (sanctions, tier
// moves) and the officer decides with a reason; the explainable risk score; the
// monthly assessments; electronic-positioning orders; the end of term.
// Cards for the supervisee page, and the 风险与奖惩 page (the office's queue).
import { api, all } from "./api.js";
import { fmtTime, t } from "./i18n.js";
import { h, superviseeNames } from "./names.js";
import { decideForm } from "./forms.js";

const DECIDERS = ["officer", "manager"];

function reasonsList(reasons) {
  return h("ul", { class: "reasons" }, reasons.map((r) => h("li", { "data-rule": r.rule }, `${t(`rule_${r.rule}`)}: ${r.detail}`)));
}

export function sanctionItem(s, { role, name, onDone, toast }) {
  const li = h("li", { class: `sanction state-${s.status}`, "data-sanction-id": s.id },
    h("strong", {}, t(`sanction_${s.kind}`)), ` · ${t(`decision_${s.status}`)} · ${fmtTime(s.proposed_at)}`,
    name ? h("span", {}, ` · `, h("a", { href: `#/supervisee/${s.supervisee_id}` }, name)) : null,
    h("p", {}, s.facts),
    s.decision_reason ? h("p", { class: "muted" }, `${t("reason")}: ${s.decision_reason}`) : null);
  if (s.status === "proposed" && DECIDERS.includes(role)) {
    li.append(decideForm(`decide-sanction-${s.id}`, [["impose", "impose", "primary"], ["reject", "reject"]],
      async (decision, reason) => {
        try {
          await api(`/sanctions/${s.id}/decide`, { method: "POST", body: { decision, reason } });
          toast(t("done")); onDone();
        } catch (e) { toast(e.message); }
      }));
  }
  return li;
}

export function tierItem(p, { role, name, onDone, toast }) {
  const li = h("li", { class: `tier-proposal state-${p.status}`, "data-proposal-id": p.id },
    h("strong", {}, `${t(p.from_tier)} → ${t(p.to_tier)}`), ` · ${t(`decision_${p.status}`)} · ${fmtTime(p.proposed_at)}`,
    name ? h("span", {}, ` · `, h("a", { href: `#/supervisee/${p.supervisee_id}` }, name)) : null,
    reasonsList(p.reasons),
    p.decision_reason ? h("p", { class: "muted" }, `${t("reason")}: ${p.decision_reason}`) : null);
  if (p.status === "proposed" && DECIDERS.includes(role)) {
    li.append(decideForm(`decide-tier-${p.id}`, [["confirm", "confirm", "primary"], ["reject", "reject"]],
      async (decision, reason) => {
        try {
          const decided = await api(`/tier-proposals/${p.id}/decide`, { method: "POST", body: { decision, reason } });
          toast(t("done"));
          // The record card above says the tier too: the new one, from now on.
          const shown = document.querySelector("#record-tier");
          if (shown && decided.status === "confirmed") shown.textContent = t(decided.to_tier);
          onDone();
        } catch (e) { toast(e.message); }
      }));
  }
  return li;
}

// The score as the sum of its named factors: each weight × value = points, with the evidence ids.
export function riskCard(risk) {
  const card = h("section", { class: "card", id: "risk-card" }, h("h3", {}, t("risk_score")));
  const a = risk.assessment;
  if (!a) { card.append(h("p", { class: "muted" }, t("risk_none"))); return card; }
  card.append(h("p", {}, h("strong", { id: "risk-score", class: "score" }, a.score.toFixed(1)),
    ` · ${a.computed_on}`),
  h("table", { class: "factors" }, h("thead", {}, h("tr", {}, h("th", {}, t("factor")), h("th", {}, t("weight")),
    h("th", {}, t("value")), h("th", {}, t("points")))),
  h("tbody", {}, a.factors.map((f) => h("tr", { "data-factor": f.name, class: f.points ? "" : "muted" },
    h("td", { title: evidenceText(f.evidence) }, t(`factor_${f.name}`)), h("td", {}, String(f.weight)),
    h("td", {}, String(f.value)), h("td", {}, f.points.toFixed(1)))))));
  return card;
}

function evidenceText(evidence) {
  return Object.entries(evidence || {}).map(([k, ids]) => `${k}: ${[].concat(ids).join(", ")}`).join("; ");
}

function assessmentItem(a, { role, onDone, toast }) {
  const li = h("li", { "data-assessment-id": a.id }, h("strong", {}, a.month), ` · ${t(`grade_${a.grade}`)} · ${a.score}`,
    ` · ${a.confirmed ? `${t("confirmed")} ${fmtTime(a.confirmed_at)}` : t("unconfirmed")}`);
  if (!a.confirmed && DECIDERS.includes(role)) {
    li.append(decideForm(`confirm-assessment-${a.id}`, [["confirm", "confirm", "primary"]], async (_, reason) => {
      try {
        await api(`/assessments/${a.id}/confirm`, { method: "POST", body: { reason } });
        toast(t("done")); onDone();
      } catch (e) { toast(e.message); }
    }));
  }
  return li;
}

function orderItem(o) {
  return h("li", { "data-order-id": o.id, class: `order state-${o.status}` },
    h("strong", {}, t(`order_${o.status}`)), ` · ${fmtTime(o.starts_at)} → ${fmtTime(o.ends_at)}`,
    h("p", {}, o.ground_wording), h("p", { class: "muted" }, o.facts),
    o.end_reason ? h("p", { class: "muted" }, `${t("reason")}: ${o.end_reason}`) : null);
}

// The term's end instant is local midnight after its last day: the officer reads the last day.
function lastDay(iso) {
  return new Intl.DateTimeFormat("sv-SE", { timeZone: "Asia/Shanghai" }).format(new Date(new Date(iso).getTime() - 1000));
}

function lifecycleCard(l) {
  return h("section", { class: "card", id: "lifecycle-card" }, h("h3", {}, t("lifecycle")), h("dl", { class: "kv" },
    h("dt", {}, t("state")), h("dd", {}, t(`supervision_${l.status}`)),
    h("dt", {}, t("term_end")), h("dd", {}, lastDay(l.term_end_at)),
    l.release ? [h("dt", {}, t("released")), h("dd", {}, `${fmtTime(l.release.released_at)} · ${l.release.reason}`),
      h("dt", {}, t("purge_due")), h("dd", {}, l.release.purged_at ? `${t("purged")} ${fmtTime(l.release.purged_at)}`
        : fmtTime(l.release.purge_due_at))] : null,
    h("dt", {}, t("legal_holds")), h("dd", {}, l.holds.filter((x) => !x.lifted_at).map((x) => x.reason).join("; ") || "—")));
}

function listCard(id, title, items, empty = t("none")) {
  return h("section", { class: "card", id }, h("h3", {}, title),
    h("ul", { class: "records" }, items.length ? items : h("li", { class: "muted" }, empty)));
}

// The supervisee page's lifecycle cards, redrawn after each decision.
export function lifecycleCards(el, superviseeId, { session, toast }) {
  const role = session.user.role;
  async function draw() {
    const base = `/supervisees/${superviseeId}`;
    const [risk, tiers, sanctions, assessments, orders, life] = await Promise.all([api(`${base}/risk`),
      api(`${base}/tier-proposals?limit=10`), api(`${base}/sanctions?limit=20`), api(`${base}/assessments?limit=6`),
      api(`${base}/positioning-orders`), api(`${base}/lifecycle`)]);
    const ctx = { role, toast, onDone: () => draw().catch((e) => toast(e.message)) };
    el.replaceChildren(riskCard(risk),
      listCard("tier-card", t("tier_proposals"), tiers.items.map((p) => tierItem(p, ctx))),
      listCard("sanctions-card", t("sanctions"), sanctions.items.map((s) => sanctionItem(s, ctx))),
      listCard("assessments-card", t("assessments"), assessments.items.map((a) => assessmentItem(a, ctx))),
      listCard("orders-card", t("positioning_orders"), orders.map(orderItem)),
      lifecycleCard(life));
  }
  return draw();
}

// 风险与奖惩: everything in the office waiting for an officer's decision.
export function riskPage(view, { session, toast }) {
  const tiers = h("ul", { class: "records", id: "pending-tiers" });
  const sanctions = h("ul", { class: "records", id: "pending-sanctions" });
  view.append(h("div", { class: "desk" },
    h("section", { class: "card" }, h("h2", {}, t("pending_tiers")), tiers),
    h("section", { class: "card" }, h("h2", {}, t("pending_sanctions")), sanctions)));
  async function draw() {
    const [names, tp, sp] = await Promise.all([superviseeNames(), all("/tier-proposals?pending=true", 1000),
      all("/sanctions?pending=true", 1000)]);
    const ctx = (x) => ({ role: session.user.role, toast, name: names.get(x.supervisee_id) || `#${x.supervisee_id}`,
      onDone: () => draw().catch((e) => toast(e.message)) });
    tiers.replaceChildren(...(tp.length ? tp.map((p) => tierItem(p, ctx(p))) : [h("li", { class: "muted" }, t("none"))]));
    sanctions.replaceChildren(...(sp.length ? sp.map((s) => sanctionItem(s, ctx(s))) : [h("li", { class: "muted" }, t("none"))]));
  }
  draw().catch((e) => toast(e.message));
}
