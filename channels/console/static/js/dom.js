// Building the page: elements from data, never HTML from data.
// Every string that reaches the page goes through a text node (textContent), so
// tool arguments written by the model, session keys and user names are shown as
// text and can run nothing. There is no innerHTML anywhere in the console.

/**
 * h("button", {class: "primary", onclick: fn, "aria-label": "…"}, "Approve", child…)
 * Attributes: `class`, `text`, `on<event>` (a function), anything else with setAttribute.
 * Children: nodes, strings (become text nodes), null/false (skipped), arrays.
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = String(value);
    else if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name === "href") node.setAttribute("href", safeHref(value));
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
}

/** Only links inside the console (hash routes): nothing else is ever put in an href. */
function safeHref(value) {
  const text = String(value);
  return text.startsWith("#/") ? text : "#/";
}

/** Replace every child of `node` with `children`. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** A link to a session's view; the key is percent-encoded into the hash. */
export function sessionHref(key) {
  return "#/session/" + encodeURIComponent(key);
}
