// Runtime health (the figures /metrics and /healthz have, for a person) and schedules.

import { ApiError, api, path } from "./api.js";
import { fill, h, sessionHref } from "./dom.js";
import { clock, within } from "./format.js";

const POLL = 5000;

function figure(label, value, id, warn = false) {
  return h("div", { class: "figure" + (warn ? " warn" : ""), id }, h("div", { class: "number" }, String(value)), h("div", { class: "label" }, label));
}

function rows(pairs) {
  return h("dl", { class: "pairs" }, pairs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))]));
}

export function runtime(root, signal) {
  const figures = h("div", { class: "figures", id: "figures" });
  const details = h("div", { class: "details" });
  const schedules = h("section", { "aria-labelledby": "schedules-title", id: "schedules" });

  async function load() {
    const r = await api("/runtime", { signal });
    const failed = (r.http_responses["5xx"] || 0);
    fill(
      figures,
      figure("workers alive", r.workers_alive, "workers-alive", r.workers_alive === 0),
      figure("turns queued", r.queue_depth, "queue-depth"),
      figure("approvals pending", r.approvals_pending, "approvals-pending"),
      figure("errors", r.errors, "errors", r.errors > 0),
    );
    const decisions = Object.entries(r.approval_decisions).map(([k, v]) => k.replace("_", " ") + " " + v).join(", ");
    fill(
      details,
      h("h3", {}, "Gateway"),
      rows([
        ["Redis", r.redis],
        ...Object.entries(r.channels).map(([name, value]) => ["Channel " + name, value]),
        ["Turns submitted", r.turns_submitted],
        ["Approval decisions", decisions || "none"],
        ["Mean time to a decision", r.approval_latency.mean_seconds === null ? "—" : r.approval_latency.mean_seconds + " s"],
        ["HTTP answers", `${r.http_responses["2xx"]} ok, ${r.http_responses["4xx"]} refused, ${failed} failed`],
      ]),
      h("h3", {}, "Workers"),
      r.workers.length
        ? h("ul", { class: "plain" }, r.workers.map((w) => h("li", {}, h("code", {}, w.worker_id), ` seen ${w.seconds_ago} s ago`)))
        : h("p", { class: "empty" }, "No worker has been seen in the last " + r.worker_stale_after + " s."),
      h("p", { class: "muted" }, "Counters are this gateway's since it started."),
    );
  }

  fill(root, h("div", { class: "view-head" }, h("h2", {}, "Runtime")), figures, details, schedules);
  const quiet = (error) => signal.aborted || console.warn("runtime", error);
  load().catch(quiet);
  const timer = setInterval(() => load().catch(quiet), POLL);
  signal.addEventListener("abort", () => clearInterval(timer));
  loadSchedules(schedules, signal).catch(quiet);
}

function when(s) {
  if (s.cron) return "cron " + s.cron + (s.timezone ? " (" + s.timezone + ")" : "");
  if (s.at) return "once at " + s.at;
  if (s.every) return "every " + s.every + " s";
  return "";
}

/** GET /api/v1/schedules (DESIGN "Schedules"); a 404 means an older gateway without them. */
export async function loadSchedules(root, signal) {
  const title = h("h3", { id: "schedules-title" }, "Schedules");
  let data;
  try {
    data = await api("/schedules", { signal });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      fill(root, title, h("p", { class: "empty", id: "schedules-missing" }, "Schedules are not available in this version."));
      return;
    }
    throw error;
  }
  const note = h("p", { role: "status", class: "note-line" });
  const list = (data.schedules || []).map((s) => {
    const cancel = h("button", { type: "button", class: "danger" }, "Cancel");
    cancel.addEventListener("click", async () => {
      if (!confirm("Cancel this schedule?")) return;
      try {
        await api(path("schedules", s.schedule_id), { method: "DELETE" });
        await loadSchedules(root, signal);
      } catch (error) {
        note.textContent = "Not cancelled: " + error.message;
      }
    });
    const next = s.next_run ? Date.parse(s.next_run) / 1000 : null;
    // a config job is changed in config.json only (the server refuses it with 409)
    const action = s.source === "config" ? h("p", { class: "note-line" }, "Set in config.json.") : cancel;
    return h(
      "li",
      { class: "card schedule", "data-schedule-id": s.schedule_id },
      h("h4", {}, s.name || s.schedule_id),
      rows([
        ["When", when(s)],
        ["Next run", next ? clock(next) + " (" + within(next) + ")" : "—"],
        ["Source", (s.source || "") + (s.created_by ? " by " + s.created_by : "")],
      ]),
      h("p", {}, h("a", { href: sessionHref(s.session_key) }, s.session_key)),
      h("pre", { class: "text" }, h("code", {}, s.prompt || "")),
      action,
    );
  });
  fill(root, title, note, list.length ? h("ul", { class: "plain cards" }, list) : h("p", { class: "empty" }, "No schedules."));
}
