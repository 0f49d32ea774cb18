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

/** Loads the DOM agent's source as a classic script, once. */
export function install_agent(source) {
  if (globalThis.__clawpostAgent) return;
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
