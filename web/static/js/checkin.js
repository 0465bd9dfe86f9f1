// The supervisee's check-in on the phone (报到): today's open check-ins, the
// challenge and its zh-CN prompt, the browser's position with its accuracy, the
// two camera photos, submit. The answer says only that the check-in was received:
// the face and fence judgements stay with the officer (one bit per check-in would
// let a supervisee probe where the exclusion zones are).
import { api, ApiError, postForm } from "./api.js";
import { fmtTime, t } from "./i18n.js";
import { h } from "./names.js";

// The browser's position (WGS-84) with its accuracy; the caller shows or sends it.
export function position() {
  return new Promise((resolve, reject) => navigator.geolocation.getCurrentPosition(resolve, reject,
    { enableHighAccuracy: true, timeout: 15000 }));
}

const camera = (name) => h("input", { type: "file", accept: "image/*", capture: "user", name, required: true });

export function checkinCard(toast) {
  const list = h("ul", { id: "due-checkins" });
  const card = h("section", { class: "card", id: "checkin" }, h("h2", {}, t("checkin_due")), list);

  async function load() {
    const due = await api("/checkins/due");
    list.replaceChildren(...(due.length ? due.map(item) : [h("li", { class: "muted" }, t("checkin_none"))]));
  }

  function item(occ) {
    const li = h("li", { "data-occurrence-id": occ.id },
      `${t(`checkin_kind_${occ.kind}`)} · ${t("closes")} ${fmtTime(occ.closes_at)} `);
    li.append(h("button", { class: "primary start-checkin", onclick: () => start(li, occ) }, t("checkin_start")));
    return li;
  }

  async function start(li, occ) {
    try {
      const ch = await api(`/checkins/${occ.id}/challenge`, { method: "POST" });
      const where = h("p", { class: "where muted" }, t("locating"));
      const result = h("p", { class: "result" });
      const face = occ.requires_face;
      const neutral = camera("neutral");
      const challenge = camera("challenge");
      const form = h("form", { class: "stack checkin-form" },
        face ? h("p", { class: "prompt" }, `${t("challenge_prompt")}：${ch.prompt}`) : null,
        face ? h("label", {}, t("photo_neutral"), neutral) : null,
        face ? h("label", {}, `${t("photo_challenge")}（${ch.prompt}）`, challenge) : null,
        where, h("button", { class: "primary" }, t("submit")), result);
      li.querySelector(".start-checkin").remove();
      li.append(form);
      const p = await position();
      const fix = { lon: p.coords.longitude, lat: p.coords.latitude, accuracy_m: Math.max(1, p.coords.accuracy) };
      where.textContent = `${t("accuracy")} ±${Math.round(fix.accuracy_m)} m`;
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        try {
          const body = { nonce: ch.nonce, ...fix, datum: "wgs84" };
          let out;
          if (face) {
            const data = new FormData();
            for (const [k, v] of Object.entries(body)) data.append(k, String(v));
            data.append("neutral", neutral.files[0]); data.append("challenge", challenge.files[0]);
            out = await postForm(`/checkins/${occ.id}/submit`, data);
          } else {
            out = await api(`/checkins/${occ.id}/location`, { method: "POST", body });
          }
          result.textContent = t("checkin_received");
          result.dataset.status = out.status;
          form.querySelector("button").remove();
          toast(result.textContent);
        } catch (err) { result.textContent = err instanceof ApiError ? err.message : String(err); }
      });
    } catch (err) { toast(err.message || t("no_position")); }
  }

  load().catch((err) => list.append(h("li", { class: "error" }, err.message)));
  return card;
}
