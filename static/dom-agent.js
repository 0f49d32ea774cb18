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

  // Class names sites give text that only screen readers get.
  const HIDDEN_CLASS = /(^|\s)(visually-hidden|visuallyhidden|sr-only|a11y-text|screen-reader-text|screenreader-only|a11y-hidden)(\s|$)/i;

  // Whether an element is in the page but not shown: display:none,
  // visibility:hidden, or the usual "visually hidden" clip (LinkedIn's
  // hidden "hashtag" word inside each hashtag link).
  function isVisuallyHidden(el, style) {
    if (el.hidden || HIDDEN_CLASS.test(el.className && el.className.baseVal == null ? el.className : "")) return true;
    if (!style) return false;
    if (style.display === "none" || style.visibility === "hidden" || style.visibility === "collapse") return true;
    if (style.position === "absolute" || style.position === "fixed") {
      const clipped = /rect\(\s*0(px)?[\s,]+0(px)?[\s,]+0(px)?[\s,]+0(px)?\s*\)/.test(style.clip) ||
        /inset\(\s*50%/.test(style.clipPath);
      const tiny = parseFloat(style.width) <= 1 && parseFloat(style.height) <= 1;
      if (clipped || tiny) return true;
    }
    return false;
  }

  // The text of an element as a reader sees it: emoji and other images by
  // their alt text, visually hidden text left out, each block on its own
  // line, NFC, and the invisible characters (variation selectors, joiners)
  // dropped — the same rules as extension-core's post_text::comparable.
  function renderedText(root) {
    let out = "";
    // A line break in the markup is a line on screen only where white
    // space is preserved (pre, pre-wrap, pre-line); elsewhere it is a space.
    const keepsBreaks = (style, inherited) => {
      if (!style) return inherited;
      const collapse = style.whiteSpaceCollapse;
      if (collapse) return /^(preserve|preserve-breaks|break-spaces)$/.test(collapse);
      return /^(pre|pre-wrap|pre-line|break-spaces)$/.test(style.whiteSpace);
    };
    const walk = (node, breaks) => {
      for (const child of node.childNodes) {
        if (child.nodeType === Node.TEXT_NODE) {
          out += breaks ? child.data : child.data.replace(/[\r\n]+/g, " ");
          continue;
        }
        if (child.nodeType !== Node.ELEMENT_NODE) continue;
        const tag = child.tagName;
        if (tag === "SCRIPT" || tag === "STYLE" || tag === "TEMPLATE" || tag === "NOSCRIPT") continue;
        const style = child.isConnected ? getComputedStyle(child) : null;
        if (isVisuallyHidden(child, style)) continue;
        if (tag === "IMG") {
          out += child.getAttribute("alt") || "";
          continue;
        }
        if (tag === "BR") {
          out += "\n";
          continue;
        }
        const display = style ? style.display : "";
        const block = style ? !/^(inline|contents)/.test(display) : BLOCK.test(tag);
        const childBreaks = keepsBreaks(style, breaks);
        if (block) out += "\n";
        walk(child, childBreaks);
        if (child.shadowRoot) walk(child.shadowRoot, childBreaks);
        if (block) out += "\n";
      }
    };
    const rootStyle = root.nodeType === Node.ELEMENT_NODE && root.isConnected ? getComputedStyle(root) : null;
    walk(root, keepsBreaks(rootStyle, true));
    return out.normalize("NFC").replace(/[\ufe0e\ufe0f\u200b\u200c\u200d\u2060\ufeff]/g, "");
  }

  const patterns = new Map();
  function regex(source) {
    let re = patterns.get(source);
    if (!re) {
      re = new RegExp(source);
      patterns.set(source, re);
    }
    return re;
  }

  // Whether the element (or, with `textIn`, an element inside it) shows
  // the post's whole text (`textPattern`, made by extension-core from the
  // job's text).
  function showsText(el, loc) {
    const re = regex(loc.textPattern);
    const holders = loc.textIn ? Array.from(el.querySelectorAll(loc.textIn)) : [el];
    return holders.some((h) => re.test(renderedText(h)));
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
    if (loc.nameAny && loc.nameAny.length) {
      const name = squash(accessibleName(el));
      if (!loc.nameAny.some((n) => squash(n) === name)) return false;
    }
    if (loc.text && !squash(textOf(el)).includes(squash(loc.text))) return false;
    if (loc.textAny && loc.textAny.length) {
      const text = squash(textOf(el));
      if (!loc.textAny.some((t) => text.includes(squash(t)))) return false;
    }
    if (loc.textPattern && !showsText(el, loc)) return false;
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
    if (!loc.css && !loc.role && !loc.textPattern) {
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

  // Every element any locator matches, in locator order, without repeats.
  function resolveAll(target) {
    const out = [];
    const locators = Array.isArray(target) ? target : [];
    for (let via = 0; via < locators.length; via++) {
      for (const el of findAll(locators[via])) {
        if (!out.some((o) => o.el === el)) out.push({ el, via });
      }
    }
    return out;
  }

  function isEnabled(el) {
    return !el.disabled &&
      el.getAttribute("aria-disabled") !== "true" &&
      el.getAttribute("data-disabled") !== "true";
  }

  // ---- network evidence -------------------------------------------------

  // Values the MAIN-world watcher (net-watch.js) captured from the page's
  // own create call, by rule id; only since the last arming.
  const netHits = new Map();
  const wakers = new Set();
  document.addEventListener("clawpost-net-hit", (e) => {
    try {
      const hit = JSON.parse(String(e.detail));
      if (hit && typeof hit.id === "string" && !netHits.has(hit.id) && hit.values) {
        const values = {};
        for (const [k, v] of Object.entries(hit.values)) values[k] = String(v);
        netHits.set(hit.id, values);
      }
    } catch (_) {
      return;
    }
    for (const wake of wakers) wake();
  });

  function arm(rules) {
    netHits.clear();
    document.dispatchEvent(new CustomEvent("clawpost-net-arm", { detail: JSON.stringify(rules || []) }));
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
    if (probe.network) {
      const values = netHits.get(probe.network);
      if (values) state.values = values;
      else holds = false;
    }
    if (probe.target) {
      if (probe.gone) holds = !r;
      else holds = !!r;
      if (holds && r && probe.enabled && !state.enabled) holds = false;
      if (holds && r && probe.textEquals != null && normalizeText(state.text) !== normalizeText(probe.textEquals)) holds = false;
      // The editor the text went into was replaced (a composer swapped
      // after it opened): say so, so the flow types again at once.
      if (r && probe.textEquals != null && lastEditor && !lastEditor.isConnected && r.el !== lastEditor &&
          normalizeText(state.text) === "") {
        state.replaced = true;
      }
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
        wakers.delete(run);
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
      wakers.add(run);
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

  // The editor text last went into (to notice it being replaced).
  let lastEditor = null;

  async function insertText(el, text) {
    const editor = editableOf(el);
    lastEditor = editor;
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
        if (raw == null || isPlaceholderHref(raw)) return null;
        return new URL(raw, location.href).href;
      }
      default:
        return el.getAttribute(what);
    }
  }

  // A value cut to its first match of `pattern` (null without one).
  function matched(value, pattern) {
    if (value == null || !pattern) return value;
    const m = String(value).match(regex(pattern));
    return m ? m[0] : null;
  }

  function isPlaceholderHref(raw) {
    const h = String(raw).trim();
    return h === "" || h === "#" || /^javascript:/i.test(h);
  }

  // Sites fill some permalinks only on hover or focus (Facebook's
  // timestamp link): point at the element, focus it, and let the page
  // fill the link in.
  function hover(el) {
    const rect = el.getBoundingClientRect();
    const base = {
      bubbles: true, cancelable: true, composed: true, view: window,
      clientX: rect.left + rect.width / 2, clientY: rect.top + rect.height / 2,
    };
    const pointer = { ...base, pointerId: 1, pointerType: "mouse", isPrimary: true };
    el.dispatchEvent(new PointerEvent("pointerover", pointer));
    el.dispatchEvent(new PointerEvent("pointerenter", { ...pointer, bubbles: false }));
    el.dispatchEvent(new MouseEvent("mouseover", base));
    el.dispatchEvent(new MouseEvent("mouseenter", { ...base, bubbles: false }));
    el.dispatchEvent(new PointerEvent("pointermove", pointer));
    el.dispatchEvent(new MouseEvent("mousemove", base));
    if (typeof el.focus === "function") el.focus({ preventScroll: true });
    el.dispatchEvent(new FocusEvent("focusin", { bubbles: true, composed: true }));
  }

  // Reads `what` of the first element the target matches whose value is
  // not excluded (posts seen before submitting); links not filled in yet
  // are hovered first. Waits up to `timeoutMs` for such an element.
  async function readNew(cmd) {
    // Values seen before (collected as read, without the pattern) compare
    // by what the pattern keeps of them, as the values read here do (a
    // permalink's tracking parameters differ between renders and pages).
    const exclude = new Set();
    for (const v of cmd.exclude || []) {
      exclude.add(v);
      const m = matched(v, cmd.pattern);
      if (m) exclude.add(m);
    }
    const hovered = new WeakSet();
    const interrupts = cmd.interrupts || [];
    const pick = () => {
      const hit = interrupted(interrupts);
      if (hit) return hit;
      for (const { el, via } of resolveAll(cmd.target)) {
        if (cmd.what === "href" && isPlaceholderHref(el.getAttribute("href") ?? "") && !hovered.has(el)) {
          hovered.add(el);
          hover(el);
        }
        const raw = read(el, cmd.what || "text");
        const value = matched(raw, cmd.pattern);
        if (value == null || value === "") continue;
        // Seen before submitting, as read or as cut to the pattern.
        if (exclude.has(value) || exclude.has(raw)) continue;
        return { el, via, value };
      }
      return null;
    };
    const got = await waitUntil(pick, cmd.timeoutMs || 0);
    if (got && got.interrupt) return interruptReply(got);
    if (got) return { found: true, via: got.via, value: got.value };
    // Nothing new: say whether anything matched at all.
    const seen = resolveAll(cmd.target);
    return seen.length ? { found: true, via: seen[0].via, value: null } : { found: false };
  }

  // Clicks each candidate in turn until the page changes (the candidate
  // or the dialog around it goes away); then presses Escape. For overlays
  // and tours whose first match is not the dismiss control.
  async function dismiss(target) {
    // Found again before each click: a click that did not close the
    // overlay may have rendered its content anew (a tour's next step),
    // detaching the candidates found before. A new element is taken for
    // one already tried when it has the same locator and name.
    const candidatesNow = () =>
      resolveAll(target)
        .filter(({ el }) => isRendered(el) && isEnabled(el))
        .map(({ el, via }) => ({ el, via, key: `${via}|${el.tagName}|${squash(accessibleName(el))}` }));
    const first = candidatesNow();
    if (!first.length) return { found: false };
    const original = new Set(first.map((c) => c.el));
    const triedEls = new Set();
    const triedKeys = new Set();
    for (let clicks = 0; clicks < 8; clicks++) {
      const next = candidatesNow().find(
        (c) => !triedEls.has(c.el) && (original.has(c.el) || !triedKeys.has(c.key))
      );
      if (!next) break;
      triedEls.add(next.el);
      triedKeys.add(next.key);
      const layer = next.el.closest('[role="dialog"], [role="alertdialog"], dialog, [aria-modal="true"]') || next.el;
      click(next.el);
      const gone = await waitUntil(() => (!layer.isConnected || !isRendered(layer) ? true : null), 600);
      if (gone) return { found: true, via: next.via };
    }
    press(document.activeElement || document.body, "Escape");
    return { found: true, via: first[0].via, escaped: true };
  }

  const KEY_CODES = { Escape: 27, Enter: 13, Tab: 9, " ": 32, ArrowDown: 40, ArrowUp: 38 };

  // The physical key of a key value: "a" → KeyA, "7" → Digit7.
  function keyCode(key) {
    if (key === " ") return { code: "Space", keyCode: 32 };
    if (/^[a-z]$/i.test(key)) return { code: `Key${key.toUpperCase()}`, keyCode: key.toUpperCase().charCodeAt(0) };
    if (/^[0-9]$/.test(key)) return { code: `Digit${key}`, keyCode: key.charCodeAt(0) };
    return { code: key, keyCode: KEY_CODES[key] || 0 };
  }

  function press(el, key) {
    const { code, keyCode: which } = keyCode(key);
    const init = { key, code, keyCode: which, which, bubbles: true, cancelable: true, composed: true };
    el.dispatchEvent(new KeyboardEvent("keydown", init));
    el.dispatchEvent(new KeyboardEvent("keyup", init));
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

  // Waits for the command's target, or for one of its `interrupts` (the
  // pack's signals: a checkpoint, a captcha) to show up instead.
  async function withTarget(cmd, act) {
    const got = await targetOrInterrupt(cmd);
    if (!got) return { found: false };
    if (got.interrupt) return interruptReply(got);
    return { found: true, via: got.via, ...(await act(got.el)) };
  }

  // One of the command's `interrupts` (the pack's signals) holding now.
  function interrupted(interrupts) {
    const hit = interrupts && interrupts.length ? evaluate(interrupts) : null;
    return hit ? { interrupt: hit } : null;
  }

  // Waits for the command's target or one of its interrupts.
  function targetOrInterrupt(cmd) {
    return waitUntil(() => interrupted(cmd.interrupts) || resolve(cmd.target), cmd.timeoutMs || 0);
  }

  function interruptReply(got) {
    return { found: false, matched: got.interrupt.key, probes: got.interrupt.probes };
  }

  // Types the text; when the editor is replaced while or right after the
  // text goes in (a placeholder composer swapped for the real one), finds
  // the target again and types into the new editor (a few times at most).
  async function insertInto(cmd) {
    return withTarget(cmd, async (el) => {
      if (cmd.keepDraft) {
        // The user's own tab: a draft they are writing is never typed over.
        const now = normalizeText(textOf(editableOf(el)));
        if (now !== "" && now !== normalizeText(String(cmd.text ?? ""))) return { draft: true };
      }
      let out = await insertText(el, String(cmd.text ?? ""));
      for (let attempt = 0; attempt < 3; attempt++) {
        const editor = lastEditor;
        const replaced = await waitUntil(() => (editor.isConnected ? null : true), 400);
        if (!replaced) break;
        const again = await waitForTarget(cmd.target, cmd.timeoutMs || 0);
        if (!again) break;
        out = await insertText(again.el, String(cmd.text ?? ""));
        out.retyped = attempt + 1;
      }
      return out;
    });
  }

  // A check whose editor was replaced after the text went in.
  function replacedIn(branch) {
    if (!branch) return null;
    const states = (branch.probes || []).map((p) => probeState(p).state);
    return states.some((st) => st.replaced) ? { replaced: true, probes: states } : null;
  }

  async function execute(cmd) {
    switch (cmd && cmd.op) {
      case "ping":
        return {};
      case "waitFor": {
        const branches = cmd.branches || [];
        const hit = await waitUntil(() => evaluate(branches) || replacedIn(branches[0]), cmd.timeoutMs || 0);
        if (hit && hit.replaced) return { replaced: true, probes: hit.probes };
        if (hit) {
          const via = hit.probes.find((p) => p.via != null);
          return { matched: hit.key, probes: hit.probes, ...(via ? { via: via.via } : {}) };
        }
        const first = branches[0] ? branches[0].probes.map((p) => probeState(p).state) : [];
        return { probes: first };
      }
      case "click":
        return withTarget(cmd, (el) => {
          if (cmd.arm && cmd.arm.length) arm(cmd.arm);
          click(el);
          return {};
        });
      case "insertText":
        return insertInto(cmd);
      case "read":
        return readNew(cmd);
      case "readAll": {
        const first = await targetOrInterrupt(cmd);
        if (first && first.interrupt) return { ...interruptReply(first), values: [] };
        if (cmd.what === "href") {
          // Links the page fills in only on hover or focus (lazy
          // permalinks): hover them and let the page fill them in, so the
          // list holds them too.
          const lazy = resolveAll(cmd.target)
            .map(({ el }) => el)
            .filter((el) => isPlaceholderHref(el.getAttribute("href") ?? ""));
          lazy.forEach(hover);
          const filled = () => (lazy.every((el) => !isPlaceholderHref(el.getAttribute("href") ?? "")) ? true : null);
          if (lazy.length) await waitUntil(filled, Math.min(cmd.timeoutMs || 0, 1000));
        }
        const all = resolveAll(cmd.target);
        const values = all
          .map(({ el }) => matched(read(el, cmd.what || "text"), cmd.pattern))
          .filter((v) => v != null && v !== "");
        return all.length ? { found: true, via: all[0].via, values } : { found: false, values: [] };
      }
      case "dismiss":
        return dismiss(cmd.target);
      case "press": {
        let el = document.activeElement || document.body;
        if (cmd.target) {
          const r = await waitForTarget(cmd.target, cmd.timeoutMs || 0);
          if (!r) return { found: false };
          el = r.el;
          if (typeof el.focus === "function") el.focus({ preventScroll: true });
        }
        press(el, String(cmd.key || "Escape"));
        return { found: true };
      }
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

  globalThis.__clawpostAgent = { handle, normalizeText, renderedText };

  if (globalThis.chrome && chrome.runtime && chrome.runtime.onMessage) {
    chrome.runtime.onMessage.addListener((msg, _sender, sendResponse) => {
      if (!msg || msg.to !== "clawpost-agent") return false;
      handle(msg.command).then(sendResponse);
      return true; // answered asynchronously
    });
  }
})();
