// The approvals the page knows: pending ones, live, and the recently decided.
// One feed (GET /api/v1/approvals/events) runs while signed in; it connects first
// and then loads the pending list, so an approval asked in between is not missed
// (the feed starts after the newest event at connect time). Events and answers of
// the API may report the same approval twice: everything here is keyed by its id.

import { api, path } from "./api.js";
import { follow } from "./sse.js";

export const pending = new Map();
export const decided = new Map();
const listeners = new Set();
let feedState = "connecting";

/** listener({kind: "request" | "decided" | "reset" | "state", record}) */
export function subscribe(listener, signal) {
  listeners.add(listener);
  signal.addEventListener("abort", () => listeners.delete(listener));
}

function emit(change) {
  for (const listener of listeners) listener(change);
}

export function state() {
  return feedState;
}

export function sortedPending(sessionKey = null) {
  return [...pending.values()]
    .filter((record) => sessionKey === null || record.session_key === sessionKey)
    .sort((a, b) => a.created_at - b.created_at);
}

export function sortedDecided() {
  return [...decided.values()].sort((a, b) => (b.decided_at || 0) - (a.decided_at || 0));
}

function requested(record) {
  if (decided.has(record.approval_id) || record.status !== "pending") return;
  const known = pending.has(record.approval_id);
  pending.set(record.approval_id, record);
  if (!known) emit({ kind: "request", record });
}

function settled(record) {
  const before = pending.get(record.approval_id) || decided.get(record.approval_id) || {};
  const merged = { ...before, ...record };
  pending.delete(record.approval_id);
  const known = decided.has(record.approval_id);
  decided.set(record.approval_id, merged);
  if (!known) emit({ kind: "decided", record: merged });
}

function fromEvent(type, event) {
  if (type === "approval_request") {
    requested({
      approval_id: event.approval_id,
      session_key: event.session_key,
      turn_id: event.turn_id,
      agent_id: event.agent_id || "main",
      tool_name: event.tool_name,
      tool_args: event.tool_args || {},
      status: "pending",
      created_at: event.ts,
      expires_at: event.expires_at,
      requested_by: event.user_id || null,
    });
  } else if (type === "approval_decided") {
    settled({
      approval_id: event.approval_id,
      session_key: event.session_key,
      tool_name: event.tool_name,
      status: event.status,
      decision: event.decision === "expired" ? null : event.decision,
      decided_by: event.decided_by || null,
      decided_at: event.ts,
    });
  }
}

async function loadPending() {
  const body = await api("/approvals?status=pending");
  const listed = new Set();
  for (const record of body.approvals) {
    listed.add(record.approval_id);
    requested(record);
  }
  for (const id of [...pending.keys()]) {
    if (!listed.has(id)) pending.delete(id); // decided while the feed was away
  }
  emit({ kind: "reset" });
}

export async function loadDecided(limit = 50) {
  const body = await api("/approvals?status=decided&limit=" + limit);
  for (const record of body.approvals) {
    if (!decided.has(record.approval_id)) decided.set(record.approval_id, record);
  }
  emit({ kind: "reset" });
}

/** Follow the approvals feed until `signal` aborts. */
export function startFeed(signal) {
  pending.clear();
  decided.clear();
  follow("/approvals/events", {
    signal,
    onOpen: loadPending,
    onEvent: fromEvent,
    onState: (value) => {
      feedState = value;
      emit({ kind: "state" });
    },
  });
}

/** Decide through the API (the chat buttons' compare-and-set); returns a note for the person. */
export async function decide(approvalId, decision) {
  const body = await api(path("approvals", approvalId), {
    method: "POST",
    body: { decision },
    expect: [403, 404, 409, 410],
  });
  if (body && body.error) {
    if (body.record && body.record.status !== "pending") settled(body.record);
    return body.error;
  }
  settled(body);
  return "";
}
