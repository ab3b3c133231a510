// An approval card: the tool, its arguments (code shown as code), the session, who
// asked, age and expiry, and the four choices. Tool arguments are written by the
// model: every one of them reaches the page as text (dom.js), never as markup.

import { decide } from "./approvals.js";
import { h, sessionHref } from "./dom.js";
import { ago, clock, outcome, within } from "./format.js";

const CHOICES = [
  ["approve", "Approve", "primary"],
  ["reject", "Reject", "danger"],
  ["session", "Allow for session", ""],
  ["always", "Always allow", ""],
];

const CODE_NAMES = new Set(["code", "command", "cmd", "script", "source", "query", "sql"]);

function argument(name, value) {
  let shown;
  if (typeof value === "string" && (CODE_NAMES.has(name) || value.includes("\n"))) {
    shown = h("pre", { class: "code" }, h("code", {}, value));
  } else if (typeof value === "string") {
    shown = h("p", { class: "value" }, value);
  } else {
    shown = h("pre", { class: "json" }, h("code", {}, JSON.stringify(value, null, 2)));
  }
  return h("div", { class: "arg" }, h("div", { class: "arg-name" }, name), shown);
}

/** Elements with a time to keep fresh: `data-since` (an age) or `data-until` (an expiry). */
export function refreshTimes(root = document) {
  for (const node of root.querySelectorAll("[data-since]")) {
    node.textContent = ago(Number(node.dataset.since));
  }
  for (const node of root.querySelectorAll("[data-until]")) {
    node.textContent = within(Number(node.dataset.until));
  }
}

function meta(label, value) {
  return [h("dt", {}, label), h("dd", {}, value)];
}

/** The card of `record`; `showSession` links its session (not needed in the session view). */
export function card(record, { showSession = true } = {}) {
  const title = "Approval for " + record.tool_name;
  const note = h("p", { class: "outcome", role: "status" });
  const buttons = CHOICES.map(([value, label, style]) =>
    h("button", { type: "button", class: style, "data-decision": value }, label),
  );
  const actions = h("div", { class: "actions", role: "group", "aria-label": "Decide" }, buttons);
  const node = h(
    "article",
    { class: "card approval", "data-approval-id": record.approval_id, "aria-label": title },
    h(
      "header",
      {},
      h("h3", {}, h("code", { class: "tool" }, record.tool_name)),
      record.agent_id && record.agent_id !== "main"
        ? h("span", { class: "tag" }, "subagent " + record.agent_id)
        : null,
    ),
    h(
      "dl",
      { class: "meta" },
      showSession
        ? meta("Session", h("a", { href: sessionHref(record.session_key) }, record.session_key))
        : null,
      meta("Asked by", record.requested_by || "unknown"),
      meta("Asked", h("span", { "data-since": record.created_at, title: clock(record.created_at) })),
      meta("Expires", h("span", { "data-until": record.expires_at, title: clock(record.expires_at) })),
    ),
    h(
      "div",
      { class: "args" },
      Object.keys(record.tool_args || {}).length
        ? Object.entries(record.tool_args).map(([name, value]) => argument(name, value))
        : h("p", { class: "muted" }, "(no arguments)"),
    ),
    actions,
    note,
  );
  actions.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-decision]");
    if (!button) return;
    for (const each of buttons) each.disabled = true;
    note.textContent = "Sending…";
    try {
      const problem = await decide(record.approval_id, button.dataset.decision);
      if (problem) note.textContent = problem;
    } catch (error) {
      note.textContent = "Could not decide: " + error.message;
    } finally {
      if (node.isConnected && !node.classList.contains("decided")) {
        for (const each of buttons) each.disabled = false;
      }
    }
  });
  refreshTimes(node);
  return node;
}

/** Show on `node` what became of its approval; its buttons go (decided elsewhere too). */
export function markDecided(node, record) {
  node.classList.add("decided", "status-" + (record.status || "decided"));
  const actions = node.querySelector(".actions");
  if (actions) actions.remove();
  const expiry = node.querySelector("[data-until]");
  if (expiry) {
    delete expiry.dataset.until;
    expiry.textContent = "—";
  }
  node.querySelector(".outcome").textContent = outcome(
    record.decision,
    record.status,
    record.decided_by,
  );
}

/** One line of the decided history. */
export function historyItem(record) {
  return h(
    "li",
    { class: "status-" + record.status, "data-approval-id": record.approval_id },
    h("code", { class: "tool" }, record.tool_name || "?"),
    " ",
    h("a", { href: sessionHref(record.session_key || "") }, record.session_key || ""),
    h("span", { class: "what" }, outcome(record.decision, record.status, record.decided_by)),
    h("span", { class: "when", "data-since": record.decided_at, title: clock(record.decided_at) }),
  );
}
