// Officers' check-in pages: the review queue (pending ledger entries, the
// submission's photos, confirm / overturn with a reason), a supervisee's
// check-in history, and the managers' per-office compliance table. Photos are
// fetched with the token in a header and shown from blob URLs (never cached:
// the API answers no-store), and every read is audited by the API.
import { api, blobUrl } from "./api.js";
import { fmtTime, t } from "./i18n.js";
import { h, superviseeNames } from "./names.js";
import { decideForm } from "./forms.js";

const WRITERS = ["officer", "manager"];

// One stored photo as an <img>; the blob URL is released when the page goes.
export function photoImg(mediaId, urls) {
  const img = h("img", { class: "checkin-photo", alt: t("photo"), "data-media-id": mediaId });
  blobUrl(`/checkins/photos/${mediaId}`, urls).then((url) => { img.src = url; }).catch(() => { img.alt = t("photo_unavailable"); });
  return img;
}

// The submission's judgement as the officer sees it (history items, staff view).
export function submissionLine(s, urls) {
  if (!s) return h("span", { class: "muted" }, t("no_submission"));
  return h("span", { class: "submission" },
    `${fmtTime(s.submitted_at)} · ${t(`outcome_${s.outcome}`)} · ${t("location")} ${s.location}`,
    s.face ? ` · ${t("face")} ${s.face}${s.face_distance != null ? ` (${s.face_distance.toFixed(2)})` : ""}` : "",
    // A failed liveness check is already among the review reasons.
    s.liveness && !(s.review || []).some((r) => r.includes(s.liveness)) ? ` · ${t("liveness")} ${s.liveness}` : "",
    s.review?.length ? h("span", { class: "error" }, ` · ${s.review.join("; ")}`) : null,
    h("span", { class: "photos" }, (s.photos || []).map((m) => photoImg(m, urls))));
}

export function historyCard(superviseeId, urls) {
  const list = h("ul", { id: "checkin-history" });
  api(`/checkins/history?supervisee_id=${superviseeId}&limit=20`).then((page) => {
    list.replaceChildren(...(page.items.length ? page.items.map((o) => h("li", { "data-occurrence-id": o.id },
      `${fmtTime(o.opens_at)} ${t(`checkin_kind_${o.kind}`)} · ${t(o.state)} · `, submissionLine(o.submission, urls)))
      : [h("li", { class: "muted" }, t("none"))]));
  }).catch((e) => list.append(h("li", { class: "error" }, e.message)));
  return h("section", { class: "card" }, h("h3", {}, t("checkin_history")), list);
}

export function checkinsPage(view, { session, toast }) {
  const urls = [];
  const queue = h("ul", { id: "review-queue" });
  view.append(h("section", { class: "card" }, h("h2", {}, t("review_queue")), queue));
  const role = session.user.role;

  async function loadQueue() {
    const [page, names] = await Promise.all([api("/checkins/ledger?pending=true&limit=100"), superviseeNames()]);
    queue.replaceChildren(...(page.items.length ? page.items.map((e) => entry(e, names))
      : [h("li", { class: "muted" }, t("none"))]));
  }

  function entry(e, names) {
    const li = h("li", { class: "ledger-entry", "data-entry-id": e.id },
      h("a", { href: `#/supervisee/${e.supervisee_id}` }, names.get(e.supervisee_id) || `#${e.supervisee_id}`),
      ` · ${t(`ledger_${e.kind}`)} · ${e.outcome} · ${fmtTime(e.created_at)}`);
    const detail = h("div", { class: "entry-detail" });
    li.append(detail);
    if (e.submission_id) {
      api(`/checkins/history?supervisee_id=${e.supervisee_id}&limit=50`).then((page) => {
        const o = page.items.find((i) => i.submission && i.submission.id === e.submission_id);
        if (o) detail.prepend(submissionLine(o.submission, urls));
      }).catch((err) => detail.append(h("p", { class: "error" }, err.message)));
    }
    if (WRITERS.includes(role)) {
      detail.append(decideForm(`decide-ledger-${e.id}`,
        [["confirmed", "decide_confirm", "confirm"], ["overturned", "decide_overturn", "overturn"]],
        async (decision, reason) => {
          try {
            await api(`/checkins/ledger/${e.id}/decide`, { method: "POST", body: { decision, reason } });
            toast(t("done")); loadQueue();
          } catch (err) { toast(err.message); }
        }));
    }
    return li;
  }

  if (role === "manager" || role === "auditor") view.append(complianceCard(toast));
  loadQueue().catch((err) => queue.append(h("li", { class: "error" }, err.message)));
  return () => urls.forEach((u) => URL.revokeObjectURL(u));
}

function complianceCard(toast) {
  const month = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 7);
  const from = h("input", { type: "month", value: month });
  const to = h("input", { type: "month", value: month });
  const body = h("tbody", {});
  const cols = ["on_time", "in_review", "missed", "missed_outage", "failed"];
  async function load() {
    try {
      const [rows, offices] = await Promise.all([
        api(`/checkins/compliance?month_from=${from.value}-01&month_to=${to.value}-01`), api("/jurisdictions")]);
      const name = new Map((offices.items || offices).map((j) => [j.id, j.name]));
      body.replaceChildren(...rows.map((r) => h("tr", {}, h("td", {}, r.month), h("td", {}, name.get(r.office_id) || r.office_id),
        cols.map((c) => h("td", { class: "num" }, r[c])))));
    } catch (e) { toast(e.message); }
  }
  load();
  return h("section", { class: "card", id: "compliance" }, h("h2", {}, t("compliance")),
    h("div", { class: "track-controls" }, from, to, h("button", { onclick: load }, t("load"))),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, t("month")), h("th", {}, t("office")),
      cols.map((c) => h("th", {}, t(`compliance_${c}`))))), body));
}
