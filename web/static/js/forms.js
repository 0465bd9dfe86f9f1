// Forms shared by the pages.
import { t } from "./i18n.js";
import { h } from "./names.js";

// A decision form: the choices as buttons, and the reason the law's file keeps. Each choice
// is its own click (Enter in the reason field decides nothing: a custody proposal must not
// be imposed by a key press), and the buttons are off while the decision is on its way.
export function decideForm(id, choices, send) {
  const reason = h("input", { name: "reason", required: true, placeholder: t("reason") });
  const form = h("form", { class: "decide", id, onsubmit: (e) => e.preventDefault() }, reason);
  const buttons = choices.map(([value, label, cls]) => h("button", { type: "button", value, class: cls || "" }, t(label)));
  for (const button of buttons) {
    button.addEventListener("click", async () => {
      if (!reason.value.trim()) { reason.reportValidity(); reason.focus(); return; }
      buttons.forEach((b) => { b.disabled = true; });
      try { await send(button.value, reason.value); } finally { buttons.forEach((b) => { b.disabled = false; }); }
    });
    form.append(button);
  }
  return form;
}
