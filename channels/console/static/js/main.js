// The console: sign-in, navigation, and the views.
// Routes live in the URL's hash (#/inbox, #/sessions, #/session/<key>, #/runtime);
// the token never does.

import * as approvals from "./approvals.js";
import { onSignOut, signIn, signOut, token } from "./api.js";
import { refreshTimes } from "./cards.js";
import { inbox } from "./inbox.js";
import { runtime } from "./runtime.js";
import { sessionList, sessionView } from "./sessions.js";

const $ = (id) => document.getElementById(id);
let session = null; // AbortController of everything that runs while signed in
let view = null; // AbortController of the open view

function route() {
  const hash = location.hash || "#/inbox";
  if (hash.startsWith("#/session/")) {
    let key;
    try {
      key = decodeURIComponent(hash.slice("#/session/".length));
    } catch {
      key = "";
    }
    return { name: "sessions", open: (root, signal) => sessionView(root, signal, key) };
  }
  if (hash === "#/sessions") return { name: "sessions", open: sessionList };
  if (hash === "#/runtime") return { name: "runtime", open: runtime };
  return { name: "inbox", open: inbox };
}

function show() {
  if (!session) return;
  if (view) view.abort();
  view = new AbortController();
  const { name, open } = route();
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const root = $("view");
  root.replaceChildren();
  open(root, view.signal);
  root.focus({ preventScroll: true });
}

function badge() {
  const count = approvals.pending.size;
  const node = $("badge");
  node.textContent = count ? String(count) : "";
  node.hidden = count === 0;
  node.setAttribute("aria-label", count + " waiting");
  document.title = (count ? `(${count}) ` : "") + "facio console";
}

function start() {
  session = new AbortController();
  $("sign-in").hidden = true;
  $("app").hidden = false;
  $("nav").hidden = false;
  $("sign-out").hidden = false;
  approvals.subscribe(badge, session.signal);
  approvals.startFeed(session.signal);
  show();
}

function stop(reason) {
  if (session) session.abort();
  if (view) view.abort();
  session = view = null;
  approvals.pending.clear();
  approvals.decided.clear();
  $("view").replaceChildren();
  $("app").hidden = true;
  $("nav").hidden = true;
  $("sign-out").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = reason || "";
  badge();
  $("token").focus();
}

async function trySignIn(candidate) {
  let response;
  try {
    response = await fetch("/api/v1/runtime", {
      headers: { Authorization: "Bearer " + candidate },
      cache: "no-store",
      credentials: "omit",
    });
  } catch {
    return "The gateway does not answer.";
  }
  if (response.ok) return null;
  if (response.status === 429) {
    const wait = response.headers.get("Retry-After") || "60";
    return `Too many failed attempts. Try again in ${wait} s.`;
  }
  if (response.status === 401) {
    const body = await response.json().catch(() => ({}));
    const disabled = String(body.error || "").includes("apiToken is empty");
    return disabled ? "The API is disabled: gateway.apiToken is empty." : "That token is not right.";
  }
  return "The gateway answered " + response.status + ".";
}

function wire() {
  const form = $("sign-in-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("token");
    const candidate = input.value.trim();
    if (!candidate) return;
    const button = form.querySelector("button");
    button.disabled = true;
    $("sign-in-error").textContent = "Signing in…";
    const problem = await trySignIn(candidate);
    button.disabled = false;
    input.value = "";
    if (problem) {
      $("sign-in-error").textContent = problem;
      input.focus();
      return;
    }
    $("sign-in-error").textContent = "";
    signIn(candidate);
    start();
  });
  $("sign-out").addEventListener("click", () => signOut("Signed out."));
  onSignOut(stop);
  window.addEventListener("hashchange", show);
  setInterval(() => refreshTimes(), 10000);
}

wire();
if (token()) start();
else stop("");
$("noscript-note").remove(); // the page runs: drop the "needs JavaScript" note
