// Server-Sent Events over fetch(): EventSource cannot send an Authorization header.
// The body is read as it streams and split into frames (`event:`, `id:`, `data:`);
// when the stream ends or fails it reconnects with `Last-Event-ID`, so nothing is
// missed that the gateway still holds.

import { PREFIX, headers, signOut } from "./api.js";

const RETRY_MIN = 500;
const RETRY_MAX = 10000;

/**
 * Follow `path` until `signal` aborts. `onEvent(type, data, id)` gets each event;
 * `onOpen()` runs each time the stream is connected (headers received): the place to
 * (re)load a list, knowing that nothing published from now on will be missed.
 */
export async function follow(path, { onEvent, onOpen, onState, signal }) {
  let lastId = null;
  let wait = RETRY_MIN;
  while (!signal.aborted) {
    try {
      const extra = { Accept: "text/event-stream" };
      if (lastId) extra["Last-Event-ID"] = lastId;
      const response = await fetch(PREFIX + path, {
        headers: headers(extra),
        signal,
        cache: "no-store",
        credentials: "omit",
      });
      if (response.status === 401) {
        signOut("The gateway refused the token; sign in again.");
        return;
      }
      if (!response.ok || !response.body) throw new Error("HTTP " + response.status);
      wait = RETRY_MIN;
      if (onState) onState("live");
      if (onOpen) await onOpen();
      await read(response.body, (frame) => {
        if (frame.id) lastId = frame.id;
        if (frame.data === undefined) return;
        let data;
        try {
          data = JSON.parse(frame.data);
        } catch {
          return;
        }
        onEvent(frame.event || "message", data, frame.id);
      });
    } catch (error) {
      if (signal.aborted) return;
      console.warn("event stream", path, error);
    }
    if (signal.aborted) return;
    if (onState) onState("reconnecting");
    await sleep(wait, signal);
    wait = Math.min(wait * 2, RETRY_MAX);
  }
}

async function read(body, onFrame) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
      onFrame(parse(block));
    }
  }
}

function parse(block) {
  const frame = {};
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    frame[name] = name === "data" && frame.data !== undefined ? frame.data + "\n" + value : value;
  }
  return frame;
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
