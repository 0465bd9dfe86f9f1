// Supervisee names for the pages that only have ids (alerts carry ids, not names).
import { all } from "./api.js";

let names = null;

export async function superviseeNames() {
  if (!names) {
    names = new Map();
    try {
      for (const s of await all("/supervisees")) names.set(s.id, s.name);
    } catch { /* an auditor without rights still sees ids */ }
  }
  return names;
}

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}
