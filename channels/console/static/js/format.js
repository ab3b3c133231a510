// Times and words, for people.

export function ago(epochSeconds, now = Date.now() / 1000) {
  if (epochSeconds === null || epochSeconds === undefined) return "never";
  return span(now - epochSeconds) + " ago";
}

export function within(epochSeconds, now = Date.now() / 1000) {
  const left = epochSeconds - now;
  return left <= 0 ? "expired" : "in " + span(left);
}

function span(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return s + " s";
  const m = Math.round(s / 60);
  if (m < 60) return m + " min";
  const hours = Math.round(m / 60);
  if (hours < 48) return hours + " h";
  return Math.round(hours / 24) + " d";
}

export function clock(epochSeconds) {
  if (!epochSeconds) return "";
  return new Date(epochSeconds * 1000).toLocaleString();
}

export const STATES = {
  idle: "idle",
  running: "running",
  waiting_for_approval: "waiting for approval",
  parked: "parked",
};

const OUTCOMES = {
  approve: "Approved",
  reject: "Rejected",
  session: "Allowed for the session",
  always: "Always allowed",
  expired: "Expired",
};

/** "Approved by api", "Expired" — what became of an approval. */
export function outcome(decision, status, decidedBy) {
  const key = decision || status;
  const words = OUTCOMES[key] || (status ? status[0].toUpperCase() + status.slice(1) : "Decided");
  if (key === "expired" || !decidedBy) return words;
  if (decidedBy === "facio") return words + " (the turn stopped)";
  return words + " by " + decidedBy;
}
