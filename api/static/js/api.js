// The API client shared by the pages: the API key (localStorage), JSON calls, SSE streams, /v1/me.
// Signed in with the company's identity provider, the pages hold no token at all: the browser sends
// the HttpOnly session cookie, and state-changing calls add the session's CSRF token from /v1/me.

const KEY_STORAGE = "policy-assistant.api-key";
let csrfToken = ""; // in memory only; from GET /v1/me when signed in with the session cookie

export function getKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

export function setKey(value) {
  if (value) localStorage.setItem(KEY_STORAGE, value);
  else localStorage.removeItem(KEY_STORAGE);
}

function headers(extra = {}) {
  const h = { ...extra };
  const key = getKey();
  if (key) h.Authorization = `Bearer ${key}`;
  else if (csrfToken) h["X-CSRF-Token"] = csrfToken;
  return h;
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function toError(response) {
  let code = "http_error";
  let message = `HTTP ${response.status}`;
  try {
    const body = await response.json();
    if (body && body.error) ({ code, message } = body.error);
  } catch {
    /* not JSON: keep the status line */
  }
  return new ApiError(response.status, code, message);
}

/**
 * An API path from raw segments, each percent-encoded; a segment that is empty, "." or ".." (which a
 * browser would resolve into another route) is refused with an ApiError instead of being sent.
 */
export function apiPath(...segments) {
  const parts = segments.map((s) => String(s));
  const bad = parts.find((s) => s === "" || s === "." || s === "..");
  if (bad !== undefined) throw new ApiError(0, "invalid_path", `not a valid path segment: "${bad}"`);
  return `/${parts.map(encodeURIComponent).join("/")}`;
}

/** Call the API; resolves to the parsed JSON body, rejects with ApiError. */
export async function api(path, { method = "GET", body } = {}) {
  const init = { method, headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(path, init);
  if (!response.ok) throw await toError(response);
  return response.status === 204 ? null : response.json();
}

/** POST a JSON body and call onEvent(name, data) for each server-sent event of the reply. */
export async function stream(path, body, onEvent, signal) {
  const response = await fetch(path, {
    method: "POST",
    headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw await toError(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}

/**
 * Who the caller is: GET /v1/me. Without the auth feature (404) everyone is treated as an admin.
 * Returns {key_id, name, role, groups, indexes, authEnabled}.
 */
export async function whoAmI() {
  try {
    const me = await api("/v1/me");
    csrfToken = me.csrf_token || "";
    return { ...me, authEnabled: true };
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      return { key_id: null, name: "anyone (authentication is off)", role: "admin", groups: [], indexes: [], authEnabled: false };
    }
    throw error;
  }
}

/**
 * Fill box with "Sign in" (nobody identified) or "Sign out" (signed in with the session cookie) when
 * the server offers sign-in with the company's identity provider; leave it empty otherwise.
 */
export async function sessionControls(box, me) {
  box.replaceChildren();
  let config;
  try {
    config = await api("/auth/config");
  } catch {
    return; // an older server without sign-in
  }
  if (!config.sign_in) return;
  if (me && me.kind === "user" && me.csrf_token) {
    const signOut = async () => {
      await api("/auth/logout", { method: "POST" });
      csrfToken = "";
      location.assign("/");
    };
    box.append(el("button", { type: "button", id: "sign-out", onclick: signOut }, "Sign out"));
  } else if (!me) {
    box.append(el("a", { href: "/auth/login", id: "sign-in" }, "Sign in"));
  }
}

/** Build an index: the owner of that index or an admin. */
export function canBuild(me, index) {
  if (me.role === "admin") return true;
  return me.role === "owner" && Array.isArray(me.indexes) && (me.indexes.includes(index) || me.indexes.includes("*"));
}

/** Promote and roll back: admins only. */
export function canPromote(me) {
  return me.role === "admin";
}

/** Wire a page's API key field (a form with an input named "key") to localStorage. */
export function keyField(form, onChange) {
  const input = form.elements.namedItem("key");
  input.value = getKey();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setKey(input.value.trim());
    onChange();
  });
}

/** Create an element: el("a", {href: "/"}, "text", child...). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** "Title › heading › heading" without repeating the title. */
export function where(citation) {
  return [citation.title, ...citation.heading_path.filter((h) => h !== citation.title)].join(" › ");
}
