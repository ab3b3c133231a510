// The approvals inbox: what waits for a decision, live, and what was decided.

import * as approvals from "./approvals.js";
import { card, historyItem, markDecided, refreshTimes } from "./cards.js";
import { fill, h } from "./dom.js";

export function inbox(root, signal) {
  const cards = h("div", { class: "cards", id: "pending" });
  const empty = h("p", { class: "empty", id: "pending-empty" }, "Nothing waits for a decision.");
  const history = h("ol", { class: "history", id: "decided" });
  const none = h("p", { class: "empty" }, "Nothing decided yet.");
  const live = h("span", { class: "live", id: "feed-state" });
  const shown = new Map();

  function showState() {
    const value = approvals.state();
    live.textContent = value === "live" ? "live" : value === "reconnecting" ? "reconnecting…" : "connecting…";
    live.className = "live " + value;
  }

  function showEmpty() {
    empty.hidden = [...shown.values()].some((node) => !node.classList.contains("decided"));
    none.hidden = history.childElementCount > 0;
  }

  function add(record) {
    if (shown.has(record.approval_id)) return;
    const node = card(record);
    shown.set(record.approval_id, node);
    cards.appendChild(node);
  }

  function renderAll() {
    for (const record of approvals.sortedPending()) add(record);
    fill(history, approvals.sortedDecided().map(historyItem));
    for (const [id, node] of shown) {
      const record = approvals.decided.get(id);
      if (record && !node.classList.contains("decided")) markDecided(node, record);
    }
    refreshTimes(history);
    showEmpty();
  }

  approvals.subscribe((change) => {
    if (change.kind === "state") return showState();
    if (change.kind === "request") add(change.record);
    if (change.kind === "decided") {
      const node = shown.get(change.record.approval_id);
      if (node) markDecided(node, change.record);
      const item = historyItem(change.record);
      history.prepend(item);
      refreshTimes(item);
    }
    if (change.kind === "reset") renderAll();
    showEmpty();
  }, signal);

  fill(
    root,
    h("div", { class: "view-head" }, h("h2", {}, "Approvals"), live),
    h(
      "section",
      { "aria-labelledby": "pending-title" },
      h("h3", { id: "pending-title" }, "Waiting for a decision"),
      empty,
      cards,
    ),
    h(
      "section",
      { "aria-labelledby": "decided-title" },
      h("h3", { id: "decided-title" }, "Decided"),
      none,
      history,
    ),
  );
  showState();
  renderAll();
  approvals.loadDecided().catch((error) => console.warn("decided approvals", error));
}
