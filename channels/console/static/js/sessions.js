// Sessions: the list (channel, state, last activity) and one session's view (its
// history, its live events, its pending approvals, /stop, reset, and for api:
// sessions a message box).

import * as approvals from "./approvals.js";
import { ApiError, api, path } from "./api.js";
import { card, markDecided, refreshTimes } from "./cards.js";
import { fill, h, sessionHref } from "./dom.js";
import { STATES, clock } from "./format.js";
import { follow } from "./sse.js";

const POLL = 4000;

function badge(state) {
  return h("span", { class: "state state-" + state }, STATES[state] || state);
}

function every(ms, signal, run) {
  const timer = setInterval(run, ms);
  signal.addEventListener("abort", () => clearInterval(timer));
}

export function sessionList(root, signal) {
  const body = h("tbody", { id: "sessions-body" });
  const empty = h("p", { class: "empty" }, "No sessions yet.");
  const name = h("input", {
    id: "new-session",
    type: "text",
    required: true,
    pattern: "[^\\s]+",
    placeholder: "me",
    autocomplete: "off",
  });
  const start = h(
    "form",
    { class: "inline-form", novalidate: false },
    h("label", { for: "new-session" }, "Talk in a new api: session"),
    h("div", { class: "row" }, h("span", { class: "prefix" }, "api:"), name, h("button", { type: "submit" }, "Open")),
  );
  start.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = sessionHref("api:" + name.value.trim());
  });

  let asked = 0;
  async function load() {
    const mine = ++asked;
    const data = await api("/runtime/sessions", { signal });
    if (mine !== asked) return; // a newer answer is on its way: never show an older one
    fill(
      body,
      data.sessions.map((s) =>
        h(
          "tr",
          { "data-session": s.session_key },
          h("th", { scope: "row" }, h("a", { href: sessionHref(s.session_key) }, s.session_key)),
          h("td", { "data-label": "Channel" }, s.channel),
          h("td", { "data-label": "State" }, badge(s.state)),
          h(
            "td",
            { "data-label": "Last activity" },
            h("span", { "data-since": s.last_activity, title: clock(s.last_activity) }, "—"),
          ),
          h("td", { "data-label": "Queued" }, String(s.queued)),
          h("td", { "data-label": "Approvals" }, String(s.pending_approvals)),
        ),
      ),
    );
    empty.hidden = data.sessions.length > 0;
    refreshTimes(body);
  }

  fill(
    root,
    h("div", { class: "view-head" }, h("h2", {}, "Sessions")),
    start,
    h(
      "table",
      { class: "sessions" },
      h("caption", { class: "visually-hidden" }, "Sessions, newest activity first"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Session", "Channel", "State", "Last activity", "Queued", "Approvals"].map((t) =>
            h("th", { scope: "col" }, t),
          ),
        ),
      ),
      body,
    ),
    empty,
  );
  const quiet = (error) => signal.aborted || console.warn("sessions", error);
  load().catch(quiet);
  every(POLL, signal, () => load().catch(quiet));
  approvals.subscribe(() => load().catch(quiet), signal);
}

function toolCall(call) {
  let args = call.arguments;
  try {
    args = JSON.stringify(JSON.parse(call.arguments), null, 2);
  } catch {
    // shown as the model sent it
  }
  return h(
    "div",
    { class: "call" },
    h("span", { class: "muted" }, "calls "),
    h("code", { class: "tool" }, call.name),
    h("pre", { class: "json" }, h("code", {}, args)),
  );
}

function message(m) {
  if (m.role === "user") {
    return h("li", { class: "msg user" }, h("div", { class: "who" }, m.user || "user"), h("div", { class: "text" }, m.content));
  }
  if (m.role === "assistant") {
    return h(
      "li",
      { class: "msg assistant" },
      h("div", { class: "who" }, "agent"),
      m.content ? h("div", { class: "text" }, m.content) : null,
      (m.tool_calls || []).map(toolCall),
    );
  }
  if (m.role === "tool") {
    return h(
      "li",
      { class: "msg tool" + (m.is_error ? " error" : "") },
      h("div", { class: "who" }, h("code", { class: "tool" }, m.name), m.is_error ? " failed" : " returned"),
      h("pre", { class: "text" }, h("code", {}, m.content)),
    );
  }
  return null; // tool_started markers are bookkeeping
}

/** The live part of the turn that runs now: its answer growing, tool output, notes. */
class Live {
  constructor(root) {
    this.root = root;
    this.answer = null;
  }

  clear() {
    this.root.replaceChildren();
    this.answer = null;
  }

  note(text, style = "") {
    this.root.appendChild(h("li", { class: "note " + style }, text));
  }

  text(content, replace) {
    if (!this.answer) {
      this.answer = h("div", { class: "text" });
      this.root.appendChild(h("li", { class: "msg assistant live-answer" }, h("div", { class: "who" }, "agent"), this.answer));
    }
    this.answer.textContent = replace ? content : this.answer.textContent + content;
  }

  event(type, e) {
    switch (type) {
      case "turn_started":
        return this.note("Turn started" + (e.user_name ? " by " + e.user_name : ""), "muted");
      case "response_chunk":
        return this.text(e.content, false);
      case "response":
        this.text(e.content, true);
        this.answer = null;
        return undefined;
      case "tool_output":
        return this.note(e.tool_name + (e.is_error ? " failed: " : " → ") + e.content, e.is_error ? "error" : "");
      case "code_execution_output":
        return this.root.appendChild(h("li", { class: "msg tool" }, h("pre", { class: "text" }, h("code", {}, e.text))));
      case "approval_request":
        return this.note("Waiting for a decision on " + e.tool_name, "waiting");
      case "approval_decided":
        return this.note(e.tool_name + ": " + (e.decision || e.status) + (e.decided_by ? " by " + e.decided_by : ""), "muted");
      case "error":
        return this.note("Error: " + e.message, "error");
      default:
        return undefined;
    }
  }
}

export function sessionView(root, signal, key) {
  const state = h("span", { class: "state", id: "session-state" });
  const history = h("ol", { class: "log", id: "history", "aria-label": "History" });
  const liveList = h("ol", { class: "log", id: "live", "aria-label": "Live", "aria-live": "polite" });
  const waiting = h("div", { class: "cards", id: "session-approvals" });
  const status = h("p", { class: "note-line", role: "status", id: "session-note" });
  const live = new Live(liveList);
  const shown = new Map();

  const stop = h("button", { type: "button", id: "stop" }, "Stop");
  const reset = h("button", { type: "button", class: "danger", id: "reset" }, "Reset");
  stop.addEventListener("click", async () => {
    await act(() => api(path("sessions", key, "stop"), { method: "POST" }), "Stop requested.");
  });
  reset.addEventListener("click", async () => {
    if (!confirm("Reset " + key + "? Its history and session rules go.")) return;
    await act(() => api(path("sessions", key), { method: "DELETE" }), "Reset.");
    live.clear();
    await refresh();
  });

  async function act(call, done) {
    status.textContent = "…";
    try {
      await call();
      status.textContent = done;
    } catch (error) {
      status.textContent = error.message;
    }
  }

  function showApprovals() {
    for (const record of approvals.sortedPending(key)) {
      if (shown.has(record.approval_id)) continue;
      const node = card(record, { showSession: false });
      shown.set(record.approval_id, node);
      waiting.appendChild(node);
    }
    for (const [id, node] of shown) {
      const record = approvals.decided.get(id);
      if (record && !node.classList.contains("decided")) markDecided(node, record);
    }
  }

  async function load() {
    try {
      const data = await api(path("sessions", key), { signal });
      fill(history, data.messages.map(message));
      fill(state, STATES[data.state.state] || data.state.state);
      state.className = "state state-" + data.state.state;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        fill(history, h("li", { class: "note muted" }, "No history yet."));
        fill(state, STATES.idle);
        state.className = "state state-idle";
      } else if (!signal.aborted) throw error;
    }
  }

  // One load at a time; a refresh asked for while one runs loads once more after it,
  // so what happened meanwhile (a turn that finished, a reset) is never missed.
  let running = null;
  let again = false;
  function refresh() {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await load();
      } while (again && !signal.aborted);
    })().finally(() => {
      running = null;
    });
    return running;
  }

  const parts = [
    h("div", { class: "view-head" }, h("h2", {}, h("code", { id: "session-key" }, key)), state),
    h("div", { class: "actions" }, stop, reset),
    status,
    h("section", { "aria-labelledby": "waiting-title" }, h("h3", { id: "waiting-title", class: "visually-hidden" }, "Waiting for a decision"), waiting),
    h("section", { "aria-labelledby": "conversation-title" }, h("h3", { id: "conversation-title" }, "Conversation"), history, liveList),
  ];
  if (key.startsWith("api:")) parts.push(composer(key, status));
  fill(root, ...parts);

  approvals.subscribe((change) => {
    if (change.kind === "decided" && shown.has(change.record.approval_id)) {
      markDecided(shown.get(change.record.approval_id), change.record);
    }
    showApprovals();
  }, signal);
  showApprovals();

  const quiet = (error) => signal.aborted || console.warn("session", error);
  follow(path("sessions", key, "events"), {
    signal,
    onOpen: () => refresh().catch(quiet),
    onEvent: (type, event) => {
      live.event(type, event);
      if (["turn_started", "approval_request", "approval_decided"].includes(type)) refresh().catch(quiet);
      if (type === "turn_finished" || type === "session_reset") {
        refresh().then(() => live.clear()).catch(quiet);
      }
    },
  });
}

function composer(key, status) {
  const text = h("textarea", { id: "message", rows: 3, required: true, maxlength: 32000 });
  const form = h(
    "form",
    { class: "composer", id: "composer" },
    h("label", { for: "message" }, "Message to " + key),
    text,
    h("button", { type: "submit", class: "primary" }, "Send"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = text.value.trim();
    if (!value) return;
    try {
      await api("/messages", { method: "POST", body: { session: key, text: value, user: "console" } });
      text.value = "";
      status.textContent = "Sent.";
    } catch (error) {
      status.textContent = "Not sent: " + error.message;
    }
  });
  return form;
}
