// Strict fixture DOMs for the DOM agent's browser tests (imported by the
// wasm-bindgen tests through `#[wasm_bindgen(module = ...)]`).
//
// The editor behaves like Draft.js / Lexical where it matters: it keeps its
// own model and re-renders from it, accepts text only through paste,
// beforeinput or the browser's own editing (input events), and reverts any
// other DOM change (textContent assignments included). Its submit control
// stays disabled until the model holds text.

const posted = [];
const events = [];
const cleanups = []; // listeners a fixture put on the document

let agentStale = false;

/** Loads the DOM agent's source as a classic script, once per fixture. */
export function install_agent(source) {
  if (globalThis.__clawpostAgent && !agentStale) return;
  delete globalThis.__clawpostAgent;
  agentStale = false;
  const s = document.createElement("script");
  s.textContent = source;
  document.head.appendChild(s);
}

/** Runs one agent command (JSON in, JSON out). */
export async function agent(commandJson) {
  const reply = await globalThis.__clawpostAgent.handle(JSON.parse(commandJson));
  return JSON.stringify(reply);
}

// Fixtures live in their own container: the test harness reports results
// through elements of the page's body, which must survive.
function stage() {
  let el = document.getElementById("fixture");
  if (!el) {
    el = document.createElement("div");
    el.id = "fixture";
    document.body.appendChild(el);
  }
  return el;
}

export function reset() {
  stage().replaceChildren();
  for (const t of document.querySelectorAll('[data-testid="toast"]')) t.remove();
  posted.length = 0;
  events.length = 0;
  for (const undo of cleanups.splice(0)) undo();
  // Every fixture is a new page: the next install loads a fresh agent (its
  // memory of the last editor, armed network hits), as a page load would.
  agentStale = true;
}

export function posted_json() {
  return JSON.stringify(posted);
}

export function events_json() {
  return JSON.stringify(events);
}

/** A model-driven editor; `acceptPaste` false makes it ignore paste. */
function strictEditor(root, { acceptPaste = true, testid = "tweetTextarea_0", label = "Post text" } = {}) {
  let model = "";
  let rendering = false;
  const editor = document.createElement("div");
  editor.contentEditable = "true";
  editor.setAttribute("role", "textbox");
  editor.setAttribute("aria-label", label);
  editor.dataset.testid = testid;
  const button = document.createElement("button");
  button.dataset.testid = "tweetButton";
  button.textContent = "Post";
  root.append(editor, button);

  const render = () => {
    rendering = true;
    editor.replaceChildren(
      ...(model === "" ? [""] : model.split("\n")).map((line) => {
        const d = document.createElement("div");
        d.dataset.block = "true";
        if (line) d.textContent = line;
        else d.appendChild(document.createElement("br"));
        return d;
      }),
    );
    button.disabled = model.trim() === "";
    button.setAttribute("aria-disabled", String(model.trim() === ""));
    observer.takeRecords();
    rendering = false;
    caretToEnd();
  };
  // One line per top-level node, as the editor renders its model.
  const domText = () =>
    Array.from(editor.childNodes)
      .map((n) => (n.nodeType === Node.TEXT_NODE ? n.data : n.textContent))
      .join("\n");
  // Like a real editor, keep the caret after the text when re-rendering.
  const caretToEnd = () => {
    const root = editor.getRootNode();
    if ((root.activeElement || document.activeElement) !== editor) return;
    const sel = root.getSelection ? root.getSelection() : document.getSelection();
    const range = document.createRange();
    range.selectNodeContents(editor);
    range.collapse(false);
    sel.removeAllRanges();
    sel.addRange(range);
  };
  const wholeSelected = () => {
    const sel = editor.getRootNode().getSelection ? editor.getRootNode().getSelection() : document.getSelection();
    return sel && sel.rangeCount > 0 && sel.toString().replace(/\n/g, "") === model.replace(/\n/g, "");
  };
  const insert = (text) => {
    model = wholeSelected() ? text : model + text;
    render();
  };
  // Anything that changed the DOM without going through the model is undone.
  const observer = new MutationObserver(() => {
    if (!rendering && domText() !== model) render();
  });
  observer.observe(editor, { childList: true, subtree: true, characterData: true });

  editor.addEventListener("paste", (e) => {
    if (!acceptPaste) return;
    e.preventDefault();
    insert(e.clipboardData.getData("text/plain"));
  });
  editor.addEventListener("beforeinput", (e) => {
    if (e.inputType === "insertText" && e.data != null) {
      e.preventDefault();
      insert(e.data);
    } else if (e.inputType === "insertParagraph") {
      e.preventDefault();
      model += "\n";
      render();
    } else if (e.inputType.startsWith("delete")) {
      e.preventDefault();
      model = wholeSelected() ? "" : model.slice(0, -1);
      render();
    }
  });
  // The browser's own editing (execCommand): the model follows the DOM.
  editor.addEventListener("input", (e) => {
    if (!e.isTrusted) return; // a dispatched "input" proves nothing
    model = domText();
    render();
  });
  button.addEventListener("click", () => {
    if (!button.disabled) posted.push(model);
  });
  render();
  return { editor, button, model: () => model };
}

let current = null;

/** An X-like composer in the document. */
export function mount_composer(acceptPaste) {
  reset();
  const dialog = document.createElement("div");
  dialog.setAttribute("role", "dialog");
  stage().appendChild(dialog);
  current = strictEditor(dialog, { acceptPaste });
}

/** A composer inside an open shadow root (LinkedIn-style). */
export function mount_shadow_composer() {
  reset();
  const host = document.createElement("div");
  host.id = "interop-outlet";
  stage().appendChild(host);
  const shadow = host.attachShadow({ mode: "open" });
  const box = document.createElement("div");
  box.className = "share-box";
  shadow.appendChild(box);
  current = strictEditor(box, { testid: "shadow-editor", label: "Text editor for creating content" });
}

export function model() {
  return current.model();
}

export function submit_disabled() {
  return current.button.disabled;
}

/** The agent's rendered text of the first element matching `css`. */
export function rendered_text(css) {
  return globalThis.__clawpostAgent.renderedText(stage().querySelector(css));
}

/** Tries to cheat the editor the way naive automation does. */
export function assign_text_content(text) {
  current.editor.textContent = text;
}

/** Adds an element after `ms` milliseconds. */
export function add_later(html, ms) {
  setTimeout(() => stage().insertAdjacentHTML("beforeend", html), ms);
}

/** Removes the elements matching `css` after `ms` milliseconds. */
export function remove_later(css, ms) {
  setTimeout(() => stage().querySelectorAll(css).forEach((e) => e.remove()), ms);
}

export function set_html(html) {
  reset();
  stage().innerHTML = html;
}

/** Records the mouse/pointer events a button receives. */
export function mount_click_recorder() {
  reset();
  const b = document.createElement("div");
  b.setAttribute("role", "button");
  b.setAttribute("aria-label", "Publish now");
  b.textContent = "Publish";
  for (const t of ["pointerdown", "mousedown", "pointerup", "mouseup", "click"]) {
    b.addEventListener(t, (e) => events.push(`${t}:${e.bubbles}`));
  }
  stage().appendChild(b);
}

/** A file input (and a drop zone) recording what they receive. */
export function mount_file_targets() {
  reset();
  const input = document.createElement("input");
  input.type = "file";
  input.dataset.testid = "fileInput";
  input.multiple = true;
  input.style.display = "none";
  input.addEventListener("change", async () => {
    for (const f of input.files) {
      const bytes = new Uint8Array(await f.arrayBuffer());
      events.push({ via: "input", name: f.name, type: f.type, size: f.size, sum: bytes.reduce((a, b) => (a + b) % 65521, 0) });
    }
  });
  const zone = document.createElement("div");
  zone.id = "drop";
  zone.textContent = "Drop here";
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    for (const f of e.dataTransfer.files) events.push({ via: "drop", name: f.name, type: f.type, size: f.size });
  });
  stage().append(input, zone);
}

// ---------------------------------------------------------------------------
// An X-like page and a replaced chrome.* + fetch, for the worker runtime's
// browser tests. The tab the worker opens "is" this document: messages sent
// to it go to the DOM agent loaded here.

const POST_URL = "https://x.com/clawtest/status/1790000000000000001";
const received = []; // files the composer's input received

/** Composer, file input, attachments, toast with the post link, profile link. */
export function mount_x_page() {
  reset();
  received.length = 0;
  const nav = document.createElement("a");
  nav.dataset.testid = "AppTabBar_Profile_Link";
  nav.href = "https://x.com/clawtest";
  nav.textContent = "Profile";
  const dialog = document.createElement("div");
  dialog.setAttribute("role", "dialog");
  stage().append(nav, dialog);
  current = strictEditor(dialog);
  const input = document.createElement("input");
  input.type = "file";
  input.dataset.testid = "fileInput";
  input.style.display = "none";
  input.addEventListener("change", () => {
    for (const f of input.files) received.push({ name: f.name, type: f.type, size: f.size });
    const box = document.createElement("div");
    box.dataset.testid = "attachments";
    box.textContent = `${input.files.length} attached`;
    dialog.appendChild(box);
  });
  dialog.appendChild(input);
  current.button.addEventListener("click", () => {
    if (current.button.disabled) return;
    const toast = document.createElement("div");
    toast.dataset.testid = "toast";
    toast.setAttribute("role", "alert");
    toast.innerHTML = `Your post was sent. <a href="${POST_URL}">View</a>`;
    stage().appendChild(toast);
  });
}

export function received_json() {
  return JSON.stringify(received);
}

const mock = {};

/**
 * Installs a fresh `globalThis.chrome` and `fetch`. `jobs` is a JSON list of
 * jobs the fake server hands out on pull; `options` tunes failures.
 */
export function install_chrome_mock(jobsJson) {
  const store = {};
  const updated = [];
  const tabs = new Map();
  let nextTab = 1;
  Object.assign(mock, {
    jobs: JSON.parse(jobsJson),
    requests: [],
    created: [],
    removed: [],
    dieOnSubmitClick: false,
    killed: null,
    kill: null,
  });
  mock.killed = new Promise((resolve) => (mock.kill = resolve));
  store.serverUrl = "http://server.test";
  store.deviceToken = "cp_dev_test";
  const fire = (id, change) => {
    const t = tabs.get(id);
    for (const l of updated.slice()) l(id, change, { ...t });
  };
  const load = (t) => {
    setTimeout(() => {
      t.status = "loading";
      fire(t.id, { status: "loading" });
      setTimeout(() => {
        t.status = "complete";
        fire(t.id, { status: "complete" });
      }, 5);
    }, 5);
  };
  const clone = (v) => (v === undefined ? v : JSON.parse(JSON.stringify(v)));
  globalThis.chrome = {
    storage: {
      local: {
        async get(keys) {
          const out = {};
          for (const k of [].concat(keys)) if (k in store) out[k] = clone(store[k]);
          return out;
        },
        async set(items) {
          for (const [k, v] of Object.entries(items)) store[k] = clone(v);
        },
        async remove(keys) {
          for (const k of [].concat(keys)) delete store[k];
        },
      },
      onChanged: { addListener() {} },
    },
    alarms: {
      async get() {
        return undefined;
      },
      async create() {},
    },
    tabs: {
      async create({ url }) {
        const t = { id: nextTab++, url, status: "loading", lastAccessed: Date.now() };
        tabs.set(t.id, t);
        mock.created.push(url);
        load(t);
        return { ...t };
      },
      async update(id, { url }) {
        const t = tabs.get(id);
        if (!t) throw new Error(`No tab with id: ${id}.`);
        t.url = url;
        load(t);
        return { ...t };
      },
      async get(id) {
        const t = tabs.get(id);
        if (!t) throw new Error(`No tab with id: ${id}.`);
        return { ...t };
      },
      async query() {
        return [...tabs.values()].map((t) => ({ ...t }));
      },
      async remove(id) {
        tabs.delete(id);
        mock.removed.push(id);
      },
      sendMessage(id, msg) {
        if (!tabs.has(id)) {
          return Promise.reject(new Error("Could not establish connection. Receiving end does not exist."));
        }
        const cmd = msg.command;
        const reply = globalThis.__clawpostAgent.handle(cmd);
        const isSubmit = cmd.op === "click" && JSON.stringify(cmd.target).includes("tweetButton");
        if (isSubmit && mock.dieOnSubmitClick) {
          // The click happens; the worker is stopped before it hears back.
          return reply.then(() => {
            mock.kill();
            return new Promise(() => {});
          });
        }
        return reply;
      },
      onUpdated: {
        addListener(f) {
          updated.push(f);
        },
        removeListener(f) {
          const i = updated.indexOf(f);
          if (i >= 0) updated.splice(i, 1);
        },
      },
    },
    scripting: {
      async executeScript() {},
    },
    runtime: {
      async getPlatformInfo() {
        return {};
      },
    },
  };
  globalThis.fetch = async (req) => {
    const url = new URL(req.url);
    const body = req.method === "POST" ? await req.text() : "";
    mock.requests.push({
      method: req.method,
      path: url.pathname + url.search,
      auth: req.headers.get("authorization"),
      body: body ? JSON.parse(body) : null,
    });
    const json = (status, v) => new Response(JSON.stringify(v), { status, headers: { "content-type": "application/json" } });
    if (url.host === "media.test") {
      const bytes = new Uint8Array(1500).map((_, i) => i % 251);
      return new Response(bytes, { status: 200, headers: { "content-type": "image/png" } });
    }
    if (url.pathname === "/v1/extension/pull") {
      return mock.jobs.length ? json(200, mock.jobs.shift()) : new Response(null, { status: 204 });
    }
    if (url.pathname === "/v1/extension/progress" || url.pathname === "/v1/extension/ack") return json(200, {});
    return json(404, { error: "no such endpoint" });
  };
}

/** Resolves when the simulated worker death happened. */
export function killed() {
  return mock.killed;
}

export function set_die_on_submit_click(on) {
  mock.dieOnSubmitClick = on;
}

export function mock_json() {
  return JSON.stringify({ requests: mock.requests, created: mock.created, removed: mock.removed });
}

/** Appends (without a reset) an open shadow root holding an editor with a draft. */
export function append_shadow_editor() {
  const host = document.createElement("div");
  host.id = "interop-outlet";
  stage().appendChild(host);
  const shadow = host.attachShadow({ mode: "open" });
  const editor = document.createElement("div");
  editor.setAttribute("contenteditable", "true");
  editor.setAttribute("role", "textbox");
  editor.textContent = "draft text of the user";
  shadow.appendChild(editor);
}

// ---------------------------------------------------------------------------
// The agent's newer primitives: lazy permalinks, overlays, keys, a composer
// swapped after it opened, and the page's own network calls.

/**
 * Two story cards whose permalinks are href="#" until the page fills them
 * in, as Facebook does: one on mouseover (a moment later), one on focus
 * (at once). Clicking a link that is not filled in does nothing.
 */
export function mount_lazy_permalinks() {
  reset();
  const card = (id, url, event, delay) => {
    const article = document.createElement("div");
    article.setAttribute("role", "article");
    article.id = id;
    const p = document.createElement("p");
    p.textContent = `Story ${id}`;
    const a = document.createElement("a");
    a.setAttribute("href", "#");
    a.setAttribute("role", "link");
    a.tabIndex = 0;
    a.textContent = "Just now";
    a.addEventListener(event, () => {
      events.push(`${id}:${event}`);
      const fill = () => a.setAttribute("href", url);
      if (delay) setTimeout(fill, delay);
      else fill();
    });
    a.addEventListener("click", (e) => {
      if (a.getAttribute("href") === "#") e.preventDefault();
    });
    article.append(p, a);
    stage().appendChild(article);
  };
  card("hovered", "/clawtest/posts/pfbid0Hovered?__cft__[0]=AZWx1&__tn__=%2CO%2CP-R", "mouseover", 80);
  card("focused", "/clawtest/posts/pfbid0Focused?__cft__[0]=AZWx2&__tn__=%2CO%2CP-R", "focusin", 0);
}

/**
 * A tour dialog: "Next" only moves to the next step (with `rerender`, the
 * dialog's content is rendered anew, buttons included, as React does), and
 * "Got it" (when `closable`) closes it. Escape pressed anywhere closes it too.
 */
export function mount_tour(closable, rerender) {
  reset();
  const dialog = document.createElement("div");
  dialog.setAttribute("role", "dialog");
  dialog.setAttribute("aria-modal", "true");
  dialog.id = "tour";
  let step = 1;
  const close = (why) => {
    events.push(why);
    dialog.remove();
    document.removeEventListener("keydown", onKey);
  };
  const onKey = (e) => {
    events.push(`keydown:${e.key}:${e.code}:${e.keyCode}`);
    if (e.key === "Escape") close("escape");
  };
  document.addEventListener("keydown", onKey);
  cleanups.push(() => document.removeEventListener("keydown", onKey));
  const render = () => {
    const p = document.createElement("p");
    p.id = "step";
    p.textContent = `Step ${step} of 3`;
    const next = document.createElement("button");
    next.dataset.action = "next";
    next.textContent = "Next";
    next.addEventListener("click", () => {
      events.push("next");
      step += 1;
      if (rerender) render();
      else p.textContent = `Step ${step} of 3`;
    });
    const parts = [p, next];
    if (closable) {
      const done = document.createElement("button");
      done.dataset.action = "close";
      done.textContent = "Got it";
      done.addEventListener("click", () => close("close"));
      parts.push(done);
    }
    dialog.replaceChildren(...parts);
  };
  render();
  stage().appendChild(dialog);
}

/** Whether the tour dialog is still in the page. */
export function tour_open() {
  return !!document.getElementById("tour");
}

/** An input and a focusable box recording the key events they receive. */
export function mount_key_recorder() {
  reset();
  const input = document.createElement("input");
  input.id = "field";
  const box = document.createElement("div");
  box.id = "box";
  box.tabIndex = 0;
  box.textContent = "box";
  for (const el of [input, box]) {
    for (const t of ["keydown", "keyup"]) {
      el.addEventListener(t, (e) => events.push(`${el.id}:${t}:${e.key}:${e.code}:${e.keyCode}:${e.bubbles}`));
    }
  }
  stage().append(input, box);
}

export function active_id() {
  return document.activeElement ? document.activeElement.id : "";
}

/**
 * A composer whose editor is swapped for a new, empty one `ms` after text
 * first reaches it (a placeholder composer replaced by the real one): the
 * text typed into the first editor is lost.
 */
export function mount_swapping_composer(ms) {
  mount_composer(true);
  const dialog = current.editor.parentNode;
  let swapped = false;
  const swapSoon = () => {
    if (swapped) return;
    swapped = true;
    setTimeout(swap_editor, ms);
  };
  dialog.addEventListener("paste", swapSoon);
  dialog.addEventListener("input", swapSoon);
}

/** Replaces the composer's editor (and Post button) with new, empty ones. */
export function swap_editor() {
  const dialog = current.editor.parentNode;
  dialog.replaceChildren();
  current = strictEditor(dialog);
  events.push("swapped");
}

// --- the page's network calls, seen by net-watch.js ------------------------

// What the fake server answers, by path: {status, body}; every request it
// got, as the page sent it.
const routes = new Map();
const requests = [];
let pageFetch = null;
let PageXHR = null;

export function set_route(path, status, body) {
  routes.set(path, { status, body });
}

function serve(via, method, url, body) {
  const u = new URL(url, location.href);
  requests.push({ via, method, path: u.pathname + u.search, body });
  return routes.get(u.pathname) || { status: 404, body: '{"error":"not found"}' };
}

// The network below the watcher: fetch answers from `routes`.
async function fakeFetch(input, init) {
  const req = new Request(input, init);
  const body = req.method === "GET" || req.method === "HEAD" ? "" : await req.text();
  const r = serve("fetch", req.method, req.url, body);
  await new Promise((ok) => setTimeout(ok, 5));
  return new Response(r.body, { status: r.status, headers: { "content-type": "application/json" } });
}

// The network below the watcher: an XMLHttpRequest answering from `routes`.
class FakeXHR extends EventTarget {
  constructor() {
    super();
    this.readyState = 0;
    this.status = 0;
    this.responseType = "";
    this.response = null;
    this._text = "";
  }
  get responseText() {
    if (this.responseType !== "" && this.responseType !== "text") {
      throw new DOMException("responseText needs responseType '' or 'text'", "InvalidStateError");
    }
    return this._text;
  }
  open(method, url) {
    this._method = String(method).toUpperCase();
    this._url = new URL(String(url), location.href).href;
    this.readyState = 1;
  }
  setRequestHeader() {}
  send(body) {
    const text = body == null ? "" : body instanceof URLSearchParams ? body.toString() : String(body);
    const r = serve("xhr", this._method, this._url, text);
    setTimeout(() => {
      this.readyState = 4;
      this.status = r.status;
      this._text = r.body;
      switch (this.responseType) {
        case "json":
          try {
            this.response = JSON.parse(r.body);
          } catch (_) {
            this.response = null;
          }
          break;
        case "blob":
          this.response = new Blob([r.body], { type: "application/json" });
          break;
        case "arraybuffer":
          this.response = new TextEncoder().encode(r.body).buffer;
          break;
        default:
          this.response = r.body;
      }
      for (const type of ["readystatechange", "load", "loadend"]) {
        const ev = new ProgressEvent(type);
        if (typeof this[`on${type}`] === "function") this[`on${type}`](ev);
        this.dispatchEvent(ev);
      }
    }, 5);
  }
}

/**
 * Runs net-watch.js the way the MAIN world does at document_start, with
 * the fake network in place of fetch and XMLHttpRequest (so it wraps the
 * fakes); the page's fetch and XMLHttpRequest are then the wrapped ones.
 * The test page's own fetch stays untouched. Once per page.
 */
export function install_net_watch(source) {
  if (pageFetch) return;
  const realFetch = window.fetch;
  const RealXHR = window.XMLHttpRequest;
  window.fetch = fakeFetch;
  window.XMLHttpRequest = FakeXHR;
  try {
    const s = document.createElement("script");
    s.textContent = source;
    document.head.appendChild(s);
    pageFetch = window.fetch;
    PageXHR = window.XMLHttpRequest;
  } finally {
    window.fetch = realFetch;
    window.XMLHttpRequest = RealXHR;
  }
  if (pageFetch === fakeFetch) throw new Error("net-watch.js did not wrap fetch");
}

function requestBody(spec) {
  switch (spec.bodyType) {
    case "params":
      return new URLSearchParams(spec.body);
    case "form": {
      const f = new FormData();
      for (const [k, v] of Object.entries(spec.body)) f.append(k, v);
      return f;
    }
    case "json":
      return JSON.stringify(spec.body);
    case "blob":
      return new Blob([spec.body], { type: "text/plain" });
    default:
      return spec.body;
  }
}

/**
 * The page calls its API: spec {via: "fetch" | "fetchRequest" | "xhr",
 * method, url, body, bodyType, responseType}. Resolves with the response
 * body as the page read it.
 */
function pageRequest(spec) {
  const body = spec.body == null ? undefined : requestBody(spec);
  if (spec.via === "xhr") {
    return new Promise((resolve) => {
      const xhr = new PageXHR();
      xhr.open(spec.method, spec.url, true);
      xhr.responseType = spec.responseType || "";
      xhr.onload = () => {
        const r = xhr.response;
        if (xhr.responseType === "json") resolve(JSON.stringify(r));
        else if (xhr.responseType === "blob") r.text().then(resolve);
        else if (xhr.responseType === "arraybuffer") resolve(new TextDecoder().decode(r));
        else resolve(xhr.responseText);
      };
      xhr.send(body);
    });
  }
  const init = { method: spec.method, body };
  const call = spec.via === "fetchRequest" ? pageFetch(new Request(spec.url, init)) : pageFetch(spec.url, init);
  return call.then((r) => r.text());
}

/** The page calls its API now; resolves with the body the page got. */
export async function page_request(specJson) {
  return pageRequest(JSON.parse(specJson));
}

/**
 * A publish button that calls the page's API when clicked (the create
 * call); what the page got back is recorded in the events.
 */
export function mount_publish(specJson) {
  reset();
  // A new page: its watcher is idle until armed.
  document.dispatchEvent(new CustomEvent("clawpost-net-arm", { detail: "[]" }));
  const button = document.createElement("div");
  button.setAttribute("role", "button");
  button.dataset.testid = "publish";
  button.textContent = "Post";
  button.addEventListener("click", () => {
    pageRequest(JSON.parse(specJson)).then((text) => events.push(text));
  });
  stage().appendChild(button);
}

export function requests_json() {
  return JSON.stringify(requests);
}

export function clear_requests() {
  requests.length = 0;
}
