// The console's shell: login, navigation by role, language, the live feed.
import { api, hasToken, login, logout, setExpiredHandler } from "./api.js";
import { getLang, setLang, t } from "./i18n.js";
import { LiveFeed } from "./live.js";
import { desk } from "./desk.js";
import { mapPage } from "./map.js";
import { loadMapConfig } from "./maplib.js";
import { superviseePage } from "./supervisee.js";
import { mePage } from "./me.js";
import { managerPage } from "./manager.js";
import { checkinsPage } from "./checkins.js";
import { adminPage } from "./admin.js";
import { camerasPage } from "./cameras.js";
import { riskPage } from "./decisions.js";
import { AlertStore } from "./store.js";

const STAFF = ["officer", "manager", "auditor"];
// Pages by route; `roles` decides the nav.
const PAGES = [
  { route: "desk", label: "desk", roles: STAFF, render: desk },
  { route: "map", label: "map", roles: STAFF, render: mapPage },
  { route: "approvals", label: "approvals", roles: ["officer", "manager", "auditor"], render: managerPage },
  { route: "checkins", label: "checkins", roles: STAFF, render: checkinsPage },
  { route: "risk", label: "risk", roles: STAFF, render: riskPage },
  { route: "cameras", label: "cameras", roles: STAFF, render: camerasPage },
  { route: "me", label: "me", roles: ["supervisee"], render: mePage },
  { route: "admin", label: "admin", roles: ["admin"], render: adminPage },
];
const session = { user: null, feed: null, store: new AlertStore(), cleanup: null };
window.zhijiao = session; // for the browser tests to observe (no secrets in it)

const $ = (s) => document.querySelector(s);
const loginForm = $("#login");

export function toast(text) {
  const el = $("#toast");
  el.textContent = text; el.classList.add("show");
  clearTimeout(el.timer); el.timer = setTimeout(() => el.classList.remove("show"), 4000);
}

function showConn(state) {
  const el = $("#conn");
  el.dataset.state = state; el.textContent = t(state);
}

async function start() {
  session.user = await api("/auth/me");
  $("#who").textContent = `${session.user.full_name}`;
  $("#bar").hidden = false;
  loginForm.remove();
  if (STAFF.includes(session.user.role)) {
    // Base map and outlines before the first map is drawn; without them, a plain map.
    await loadMapConfig().catch((e) => toast(e.message));
    $("#conn").hidden = false;
    session.feed = new LiveFeed({
      onSnapshot: (alerts) => session.store.snapshot(alerts),
      onEvent: (msg) => session.store.event(msg),
      onStatus: showConn,
    });
    session.feed.start();
  }
  drawNav();
  route();
}

function pagesForMe() { return PAGES.filter((p) => p.roles.includes(session.user.role)); }

function drawNav() {
  const nav = $("#nav");
  nav.replaceChildren(...pagesForMe().filter((p) => !p.hidden).map((p) => {
    const a = document.createElement("a");
    a.href = `#/${p.route}`; a.dataset.t = p.label; a.textContent = t(p.label); a.dataset.route = p.route;
    return a;
  }));
}

function route() {
  if (!session.user) return;
  const [name, arg] = location.hash.replace(/^#\/?/, "").split("/");
  const mine = pagesForMe();
  let page = mine.find((p) => p.route === name && p.render);
  if (name === "supervisee" && STAFF.includes(session.user.role)) page = { route: "supervisee", render: superviseePage };
  if (!page) { location.hash = `#/${mine[0].route}`; return; }
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.route === page.route);
  if (session.cleanup) session.cleanup();
  session.cleanup = null;
  const view = $("#view");
  view.replaceChildren();
  session.cleanup = page.render(view, { session, arg, toast }) || null;
}

function reset(notice) {
  if (session.feed) session.feed.stop();
  if (session.cleanup) session.cleanup();
  // Nothing more is drawn: clearing the hash below must not route (and clean up) again.
  session.cleanup = null; session.user = null; session.feed = null;
  // A fresh page: nothing of the previous user stays in memory. Only the notice for
  // the login form survives the reload (a message key, no secret).
  sessionStorage.clear();
  if (notice) sessionStorage.setItem("zj-notice", notice);
  location.hash = "";
  location.reload();
}

loginForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  const data = new FormData(loginForm);
  try {
    await login(data.get("username"), data.get("password"));
    await start();
  } catch (err) {
    $("#login-error").textContent = err.status === 401 ? t("wrong_login") : err.message;
  }
});
// Expired (the timer) or refused (a 401): once, then the login form says why.
setExpiredHandler(() => reset("session_expired"));
$("#logout").addEventListener("click", () => { logout(); reset(); });
for (const id of ["#lang", "#lang-login"]) {
  $(id)?.addEventListener("click", () => {
    setLang(getLang() === "en" ? "zh-CN" : "en");
    for (const b of document.querySelectorAll("#lang, #lang-login")) b.textContent = getLang() === "en" ? "中文" : "English";
    if (session.feed) showConn($("#conn").dataset.state);
    route();
  });
}
window.addEventListener("hashchange", route);
if (!hasToken()) setLang("zh-CN");
const notice = sessionStorage.getItem("zj-notice");
if (notice) { sessionStorage.removeItem("zj-notice"); $("#login-error").textContent = t(notice); }
