// Claw Post DOM agent: a small, generic executor of page primitives.
//
// It runs as a content script on the platforms' pages and answers JSON
// commands from the extension's service worker (chrome.tabs.sendMessage with
// {to: "clawpost-agent", command}). It knows no platform: every selector,
// flow and decision comes from the worker's selector packs. The protocol is
// `AgentCommand` / `AgentReply` in extension-core/src/engine.rs.
//
// Primitives: find an element by an ordered list of locators (CSS, ARIA role,
// accessible name, text; open shadow roots are searched), wait for page
// states (MutationObserver with a timeout), click with the full pointer/mouse
// sequence, insert text the way editors accept it (synthetic paste, then
// execCommand('insertText'); never textContent), read text/values/attributes,
// and attach files handed over in base64 chunks.
(() => {
  "use strict";
  if (globalThis.__clawpostAgent) return; // injected twice (manifest + scripting)

  // ---- text -------------------------------------------------------------

  // Same rules as engine::normalize_text in Rust.
  function normalizeText(s) {
    return String(s ?? "")
      .replace(/\r\n?/g, "\n")
      .replace(/[\u200b\ufeff]/g, "")
      .replace(/\u00a0/g, " ")
      .split("\n")
      .map((l) => l.replace(/\s+$/u, ""))
      .join("\n")
      .trim();
  }

  function isTextField(el) {
    return el instanceof HTMLTextAreaElement ||
      (el instanceof HTMLInputElement && !["file", "checkbox", "radio", "button", "submit"].includes(el.type));
  }

  const BLOCK = /^(DIV|P|LI|H[1-6]|PRE|BLOCKQUOTE|UL|OL|SECTION|ARTICLE|TABLE|TR)$/;

  // A <br> that only holds an empty line (or ends a block) adds no text.
  function isPlaceholderBr(br, root) {
    for (let n = br; n && n !== root; n = n.parentNode) {
      for (let s = n.nextSibling; s; s = s.nextSibling) {
        if (s.nodeType !== Node.TEXT_NODE || s.data.length > 0) return false;
      }
      const p = n.parentNode;
      if (p && p.nodeType === Node.ELEMENT_NODE && BLOCK.test(p.tagName)) return true;
    }
    return true;
  }

  // The text of a rich-text editor as its model holds it: one line per
  // block (Draft.js blocks, Lexical/ProseMirror paragraphs), an empty block
  // as an empty line, a soft <br> as a line break. (innerText would count
  // an empty block's placeholder <br> as an extra line.)
  function editorText(root) {
    const lines = [];
    let line = null;
    const flush = () => {
      if (line !== null) lines.push(line);
      line = null;
    };
    const walk = (node) => {
      for (const child of node.childNodes) {
        if (child.nodeType === Node.TEXT_NODE) {
          if (/\n/.test(child.data) && !child.data.trim()) continue; // markup indentation
          line = (line ?? "") + child.data;
        } else if (child.nodeType === Node.ELEMENT_NODE) {
          if (child.tagName === "BR") {
            line = (line ?? "") + (isPlaceholderBr(child, root) ? "" : "\n");
          } else if (BLOCK.test(child.tagName)) {
            flush();
            walk(child);
            flush();
          } else {
            walk(child);
          }
        }
      }
    };
    walk(root);
    flush();
    return lines.join("\n");
  }

  function textOf(el) {
    if (isTextField(el)) return el.value;
    if (el.isContentEditable) return editorText(el);
    const t = typeof el.innerText === "string" ? el.innerText : "";
    return t || el.textContent || "";
  }

  // ---- finding ----------------------------------------------------------

  // Every open shadow root under `root` (depth first).
  function shadowRoots(root, out = []) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT);
    for (let n = walker.currentNode; n; n = walker.nextNode()) {
      if (n.shadowRoot) {
        out.push(n.shadowRoot);
        shadowRoots(n.shadowRoot, out);
      }
    }
    return out;
  }

  function deepQueryAll(css) {
    const out = [];
    for (const root of [document, ...shadowRoots(document)]) {
      for (const el of root.querySelectorAll(css)) out.push(el);
    }
    return out;
  }

  const IMPLICIT_ROLES = {
    button: 'button, input[type="button"], input[type="submit"], input[type="reset"], summary',
    link: "a[href], area[href]",
    textbox:
      'textarea, input:not([type]), input[type="text"], input[type="email"], input[type="search"], input[type="url"], input[type="tel"], [contenteditable=""], [contenteditable="true"]',
    checkbox: 'input[type="checkbox"]',
    dialog: "dialog",
    img: "img[alt]:not([alt=''])",
    heading: "h1, h2, h3, h4, h5, h6",
    article: "article",
    form: "form",
  };

  function roleSelector(role) {
    const esc = String(role).replace(/["\\]/g, "\\$&");
    const implicit = IMPLICIT_ROLES[role];
    return implicit ? `[role="${esc}"], ${implicit}` : `[role="${esc}"]`;
  }

  function hasRole(el, role) {
    const explicit = el.getAttribute("role");
    if (explicit) return explicit.split(/\s+/).includes(role);
    const implicit = IMPLICIT_ROLES[role];
    return !!implicit && el.matches(implicit);
  }

  function squash(s) {
    return String(s ?? "").replace(/\s+/g, " ").trim().toLowerCase();
  }

  function accessibleName(el) {
    const label = el.getAttribute("aria-label");
    if (label && label.trim()) return label;
    const by = el.getAttribute("aria-labelledby");
    if (by) {
      const root = el.getRootNode();
      const parts = by.split(/\s+/).map((id) => (root.getElementById ? root.getElementById(id) : document.getElementById(id)));
      const text = parts.filter(Boolean).map((p) => p.textContent).join(" ");
      if (text.trim()) return text;
    }
    if (el.labels && el.labels.length) return Array.from(el.labels).map((l) => l.textContent).join(" ");
    if (el instanceof HTMLImageElement) return el.alt || "";
    if (isTextField(el) || el.isContentEditable) {
      return el.getAttribute("placeholder") || el.getAttribute("aria-placeholder") || el.title || "";
    }
    return el.textContent || el.title || "";
  }

  function matchesCriteria(el, loc) {
    if (loc.role && !hasRole(el, loc.role)) return false;
    if (loc.name && squash(accessibleName(el)) !== squash(loc.name)) return false;
    if (loc.text && !squash(textOf(el)).includes(squash(loc.text))) return false;
    return true;
  }

  function isRendered(el) {
    return el.getClientRects().length > 0;
  }

  // Elements matching one locator, in document order (shadow roots after).
  function findAll(loc) {
    let candidates;
    if (loc.css) candidates = deepQueryAll(loc.css);
    else if (loc.role) candidates = deepQueryAll(roleSelector(loc.role));
    else candidates = deepQueryAll("body *");
    let matches = candidates.filter((el) => matchesCriteria(el, loc));
    if (!loc.css && !loc.role) {
      // Text-only: the innermost elements holding the text, not their ancestors.
      matches = matches.filter((el) => !matches.some((o) => o !== el && el.contains(o)));
    }
    if (loc.inner) {
      matches = matches
        .map((el) => el.querySelector(loc.inner) || (el.shadowRoot && el.shadowRoot.querySelector(loc.inner)))
        .filter(Boolean);
    }
    return matches;
  }

  // The first locator that matches anything wins; among its matches a
  // rendered element is preferred (hidden inputs are still found).
  function resolve(target) {
    const locators = Array.isArray(target) ? target : [];
    for (let via = 0; via < locators.length; via++) {
      const found = findAll(locators[via]);
      if (found.length) {
        const el = found.find(isRendered) || found[0];
        return { el, via };
      }
    }
    return null;
  }

  function isEnabled(el) {
    return !el.disabled &&
      el.getAttribute("aria-disabled") !== "true" &&
      el.getAttribute("data-disabled") !== "true";
  }

  // ---- waiting ----------------------------------------------------------

  function probeState(probe) {
    const r = probe.target ? resolve(probe.target) : null;
    const state = { found: !!r, enabled: !!r && isEnabled(r.el) };
    if (r) {
      state.via = r.via;
      if (probe.textEquals != null) state.text = textOf(r.el);
    }
    let holds = true;
    if (probe.target) {
      if (probe.gone) holds = !r;
      else holds = !!r;
      if (holds && r && probe.enabled && !state.enabled) holds = false;
      if (holds && r && probe.textEquals != null && normalizeText(state.text) !== normalizeText(probe.textEquals)) holds = false;
    }
    if (holds && probe.urlMatches) holds = new RegExp(probe.urlMatches).test(location.href);
    return { holds, state };
  }

  function evaluate(branches) {
    for (const b of branches) {
      const results = (b.probes || []).map(probeState);
      if (results.length && results.every((r) => r.holds)) {
        return { key: b.key, probes: results.map((r) => r.state) };
      }
    }
    return null;
  }

  // Re-evaluates `check` on every DOM change (document and open shadow
  // roots), URL change, and a slow backstop tick, until it returns a value
  // or the timeout passes (resolves null).
  function waitUntil(check, timeoutMs) {
    const first = check();
    if (first != null || !(timeoutMs > 0)) return Promise.resolve(first);
    return new Promise((resolvePromise) => {
      let done = false;
      const observed = new WeakSet();
      const observer = new MutationObserver(run);
      const opts = { childList: true, subtree: true, attributes: true, characterData: true };
      const watchRoots = () => {
        for (const root of [document, ...shadowRoots(document)]) {
          if (!observed.has(root)) {
            observed.add(root);
            observer.observe(root, opts);
          }
        }
      };
      const finish = (value) => {
        if (done) return;
        done = true;
        observer.disconnect();
        clearTimeout(timer);
        clearInterval(tick);
        removeEventListener("popstate", run);
        removeEventListener("hashchange", run);
        resolvePromise(value);
      };
      function run() {
        if (done) return;
        let value;
        try {
          value = check();
        } catch (e) {
          finish(null);
          return;
        }
        if (value != null) finish(value);
        else watchRoots();
      }
      watchRoots();
      addEventListener("popstate", run);
      addEventListener("hashchange", run);
      // Backstop for changes no event reports (pushState, layout).
      const tick = setInterval(run, 500);
      const timer = setTimeout(() => finish(null), timeoutMs);
    });
  }

  async function waitForTarget(target, timeoutMs) {
    return waitUntil(() => resolve(target), timeoutMs);
  }

  // ---- acting -----------------------------------------------------------

  function click(el) {
    try {
      el.scrollIntoView({ block: "center", inline: "center" });
    } catch (_) {
      /* detached or not scrollable */
    }
    const rect = el.getBoundingClientRect();
    const x = rect.left + rect.width / 2;
    const y = rect.top + rect.height / 2;
    const base = { bubbles: true, cancelable: true, composed: true, view: window, clientX: x, clientY: y, button: 0 };
    const pointer = { ...base, pointerId: 1, pointerType: "mouse", isPrimary: true };
    el.dispatchEvent(new PointerEvent("pointerover", pointer));
    el.dispatchEvent(new PointerEvent("pointerenter", { ...pointer, bubbles: false }));
    el.dispatchEvent(new MouseEvent("mouseover", base));
    el.dispatchEvent(new MouseEvent("mouseenter", { ...base, bubbles: false }));
    el.dispatchEvent(new PointerEvent("pointerdown", { ...pointer, buttons: 1 }));
    el.dispatchEvent(new MouseEvent("mousedown", { ...base, buttons: 1, detail: 1 }));
    if (typeof el.focus === "function") el.focus({ preventScroll: true });
    el.dispatchEvent(new PointerEvent("pointerup", pointer));
    el.dispatchEvent(new MouseEvent("mouseup", { ...base, detail: 1 }));
    el.dispatchEvent(new MouseEvent("click", { ...base, detail: 1 }));
  }

  // Selects everything in an editor so the next insertion replaces it.
  function selectAll(el) {
    el.focus({ preventScroll: true });
    if (isTextField(el)) {
      el.select();
      return;
    }
    const root = el.getRootNode();
    const sel = (root.getSelection && root.getSelection()) || document.getSelection();
    const range = document.createRange();
    range.selectNodeContents(el);
    sel.removeAllRanges();
    sel.addRange(range);
  }

  // Editors track the selection through `selectionchange`, which fires
  // asynchronously: let it arrive before inserting, so the insertion
  // replaces what was selected (at most `timeoutMs` when nothing changed).
  function selectionSettled(timeoutMs = 100) {
    return new Promise((resolvePromise) => {
      const done = () => {
        document.removeEventListener("selectionchange", done);
        clearTimeout(timer);
        resolvePromise();
      };
      document.addEventListener("selectionchange", done);
      const timer = setTimeout(done, timeoutMs);
    });
  }

  // The editable element that takes input: the target itself or the
  // contenteditable inside it.
  function editableOf(el) {
    if (isTextField(el) || el.isContentEditable) return el;
    return el.querySelector('[contenteditable="true"], [contenteditable=""], textarea, input') || el;
  }

  async function settleText(el, text) {
    const want = normalizeText(text);
    return waitUntil(() => (normalizeText(textOf(el)) === want ? true : null), 1500);
  }

  async function insertText(el, text) {
    const editor = editableOf(el);
    // 1. Synthetic paste: what Draft.js and Lexical editors handle as a whole
    //    (multi-paragraph text included).
    selectAll(editor);
    await selectionSettled();
    const data = new DataTransfer();
    data.setData("text/plain", text);
    const paste = new ClipboardEvent("paste", { bubbles: true, cancelable: true, composed: true, clipboardData: data });
    editor.dispatchEvent(paste);
    if (paste.defaultPrevented && (await settleText(editor, text))) {
      return { method: "paste", text: textOf(editor) };
    }
    // 2. execCommand('insertText'): real beforeinput/input events from the
    //    browser's editing engine. Paragraphs go in one by one.
    selectAll(editor);
    await selectionSettled();
    if (isTextField(editor)) {
      document.execCommand("insertText", false, text);
    } else {
      const lines = text.split("\n");
      if (!text) document.execCommand("delete", false);
      lines.forEach((line, i) => {
        if (i > 0) document.execCommand("insertParagraph", false);
        if (line) document.execCommand("insertText", false, line);
      });
    }
    await settleText(editor, text);
    return { method: "execCommand", text: textOf(editor) };
  }

  function read(el, what) {
    switch (what) {
      case "text":
        return textOf(el);
      case "value":
        return "value" in el ? String(el.value) : el.getAttribute("value");
      case "href": {
        const raw = el.getAttribute("href");
        if (raw == null) return null;
        return new URL(raw, location.href).href;
      }
      default:
        return el.getAttribute(what);
    }
  }

  // ---- files ------------------------------------------------------------

  const files = new Map(); // fileId -> {name, mime, total, chunks: []}

  function putFileChunk(cmd) {
    let f = files.get(cmd.fileId);
    if (!f) {
      f = { name: cmd.name, mime: cmd.mime, total: cmd.total, chunks: new Array(cmd.total) };
      files.set(cmd.fileId, f);
    }
    const bin = atob(cmd.data);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    f.chunks[cmd.index] = bytes;
    return { received: f.chunks.filter(Boolean).length };
  }

  function buildFile(id) {
    const f = files.get(id);
    if (!f) throw new Error(`unknown file ${id}`);
    for (let i = 0; i < f.total; i++) if (!f.chunks[i]) throw new Error(`file ${id} misses chunk ${i}`);
    return new File(f.chunks, f.name, { type: f.mime, lastModified: Date.now() });
  }

  function attachFiles(el, ids) {
    const list = ids.map(buildFile);
    const dt = new DataTransfer();
    for (const f of list) dt.items.add(f);
    let count;
    if (el instanceof HTMLInputElement && el.type === "file") {
      // The prototype setter, in case a framework wrapped the property.
      const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "files").set;
      setter.call(el, dt.files);
      count = el.files ? el.files.length : 0;
      el.dispatchEvent(new Event("input", { bubbles: true, composed: true }));
      el.dispatchEvent(new Event("change", { bubbles: true, composed: true }));
    } else {
      const init = { bubbles: true, cancelable: true, composed: true, dataTransfer: dt };
      el.dispatchEvent(new DragEvent("dragenter", init));
      el.dispatchEvent(new DragEvent("dragover", init));
      el.dispatchEvent(new DragEvent("drop", init));
      count = list.length;
    }
    for (const id of ids) files.delete(id);
    return count;
  }

  // ---- outline (failure diagnostics) -------------------------------------

  // A sanitized outline of the page: structure only (tags, ids, roles, test
  // ids, the labels of controls, editable/disabled states, open shadow
  // roots), one element per line, indented by depth. Never text content,
  // field values or links: a diagnostic must not carry what the user wrote.
  const OUTLINE_TAGS = /^(BUTTON|INPUT|TEXTAREA|SELECT|DIALOG|FORM|MAIN|NAV|HEADER|ASIDE|IFRAME)$/;
  const CONTROL_ROLES = /^(button|textbox|dialog|menuitem|tab|link|checkbox|combobox|alert|status)$/;

  function outline(maxNodes) {
    const lines = [];
    const short = (s) => (s.length > 40 ? `${s.slice(0, 40)}…` : s);
    const isEditable = (el) => el.hasAttribute("contenteditable") && el.getAttribute("contenteditable") !== "false";
    const interesting = (el) =>
      OUTLINE_TAGS.test(el.tagName) ||
      el.hasAttribute("role") ||
      el.hasAttribute("data-testid") ||
      isEditable(el) ||
      !!el.shadowRoot;
    const describe = (el, depth) => {
      let d = el.tagName.toLowerCase();
      if (el.id && el.id.length <= 40) d += `#${el.id}`;
      const role = el.getAttribute("role");
      if (role) d += `[role=${short(role)}]`;
      const testId = el.getAttribute("data-testid");
      if (testId) d += `[data-testid=${short(testId)}]`;
      if (el.tagName === "INPUT") d += `[type=${el.type}]`;
      const label = el.getAttribute("aria-label");
      const control = /^(BUTTON|INPUT|TEXTAREA|SELECT|DIALOG)$/.test(el.tagName) || CONTROL_ROLES.test(role || "");
      if (label && control) d += `[aria-label="${short(label).replace(/"/g, "'")}"]`;
      if (isEditable(el)) d += "[contenteditable]";
      if (el.disabled || el.getAttribute("aria-disabled") === "true") d += "[disabled]";
      if (el.shadowRoot) d += " #shadow-root";
      return "  ".repeat(Math.min(depth, 16)) + d;
    };
    const walk = (root, depth) => {
      for (const el of root.children) {
        if (lines.length >= maxNodes) return;
        if (el.tagName === "SCRIPT" || el.tagName === "STYLE") continue;
        const take = interesting(el);
        if (take) lines.push(describe(el, depth));
        if (el.shadowRoot) walk(el.shadowRoot, depth + 1);
        walk(el, take ? depth + 1 : depth);
      }
    };
    if (document.body) walk(document.body, 0);
    return lines.join("\n");
  }

  // ---- commands ---------------------------------------------------------

  async function withTarget(cmd, act) {
    const r = await waitForTarget(cmd.target, cmd.timeoutMs || 0);
    if (!r) return { found: false };
    return { found: true, via: r.via, ...(await act(r.el)) };
  }

  async function execute(cmd) {
    switch (cmd && cmd.op) {
      case "ping":
        return {};
      case "waitFor": {
        const branches = cmd.branches || [];
        const hit = await waitUntil(() => evaluate(branches), cmd.timeoutMs || 0);
        if (hit) {
          const via = hit.probes.find((p) => p.via != null);
          return { matched: hit.key, probes: hit.probes, ...(via ? { via: via.via } : {}) };
        }
        const first = branches[0] ? branches[0].probes.map((p) => probeState(p).state) : [];
        return { probes: first };
      }
      case "click":
        return withTarget(cmd, (el) => {
          click(el);
          return {};
        });
      case "insertText":
        return withTarget(cmd, (el) => insertText(el, String(cmd.text ?? "")));
      case "read":
        return withTarget(cmd, (el) => ({ value: read(el, cmd.what || "text") }));
      case "putFileChunk":
        return putFileChunk(cmd);
      case "attachFiles":
        return withTarget(cmd, (el) => ({ count: attachFiles(el, cmd.fileIds || []) }));
      case "dropFiles":
        for (const id of cmd.fileIds || []) files.delete(id);
        return {};
      case "outline":
        return { value: outline(Math.max(1, Math.min(Number(cmd.maxNodes) || 150, 500))) };
      default:
        throw new Error(`unknown command ${JSON.stringify(cmd && cmd.op)}`);
    }
  }

  // Runs one command; always answers {ok, url, ...}.
  async function handle(cmd) {
    try {
      const out = await execute(cmd);
      return { ok: true, url: location.href, ...out };
    } catch (e) {
      return { ok: false, url: location.href, error: String((e && e.message) || e) };
    }
  }

  globalThis.__clawpostAgent = { handle, normalizeText };

  if (globalThis.chrome && chrome.runtime && chrome.runtime.onMessage) {
    chrome.runtime.onMessage.addListener((msg, _sender, sendResponse) => {
      if (!msg || msg.to !== "clawpost-agent") return false;
      handle(msg.command).then(sendResponse);
      return true; // answered asynchronously
    });
  }
})();
