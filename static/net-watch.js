// Claw Post network watcher: the page's own create call as evidence of a post.
//
// Runs in the page's MAIN world at document_start, only on the five
// platforms' hosts (see manifest.json), so it wraps `fetch` and
// `XMLHttpRequest` before the page's code keeps references to them. It is
// idle until the DOM agent (isolated world) arms it, right before the
// publish click, with the selector pack's network rules (`NetRule` in
// extension-core/src/pack.rs): a URL pattern, an optional method and an
// optional text the request body must contain, and the JSON paths of the
// values to capture.
//
// What it reads: only the bodies of responses to requests that match an
// armed rule (and, for `bodyContains`, that request's own body). What it
// hands over: only the captured values of a matching response (the new
// post's id, its author's handle), as a `clawpost-net-hit` event on the
// document. It never reads or hands over cookies, headers, or any other
// request or response, and it changes nothing the page sends or receives.
(() => {
  "use strict";
  const FLAG = "__clawpostNetWatch";
  if (window[FLAG]) return;
  Object.defineProperty(window, FLAG, { value: true });

  let rules = [];

  function compile(rule) {
    try {
      return { rule, re: new RegExp(rule.urlMatches) };
    } catch (_) {
      return null;
    }
  }

  document.addEventListener("clawpost-net-arm", (e) => {
    try {
      const list = JSON.parse(String(e.detail));
      if (Array.isArray(list)) rules = list.map(compile).filter(Boolean);
    } catch (_) {
      /* a malformed arm message arms nothing */
    }
  });

  // Rules whose URL and method match (the body is checked later).
  function byUrl(url, method) {
    if (!rules.length) return [];
    return rules.filter(
      ({ rule, re }) => re.test(url) && (!rule.method || rule.method.toUpperCase() === method)
    );
  }

  // A request body as text, for `bodyContains` (only for matching URLs).
  async function bodyText(body) {
    if (body == null) return "";
    if (typeof body === "string") return body;
    if (body instanceof URLSearchParams) return body.toString();
    if (body instanceof FormData) {
      const parts = [];
      for (const [k, v] of body.entries()) if (typeof v === "string") parts.push(`${k}=${v}`);
      return parts.join("&");
    }
    if (body instanceof Blob) return body.text();
    if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return new TextDecoder().decode(body);
    return "";
  }

  // Integers too large for a double (post ids sent as JSON numbers) keep
  // their digits, as strings.
  function exact(_key, value, context) {
    if (typeof value === "number" && !Number.isSafeInteger(value) && context && /^-?\d+$/.test(context.source)) {
      return context.source;
    }
    return value;
  }

  function parseAll(text) {
    const t = String(text || "").replace(/^\s*for\s*\(\s*;\s*;\s*\)\s*;/, "");
    try {
      return [JSON.parse(t, exact)];
    } catch (_) {
      /* several JSON documents, one a line (Facebook) */
    }
    const docs = [];
    for (const line of t.split("\n")) {
      const l = line.trim();
      if (!l) continue;
      try {
        docs.push(JSON.parse(l, exact));
      } catch (_) {
        /* not JSON */
      }
    }
    return docs;
  }

  function at(doc, path) {
    let v = doc;
    for (const seg of String(path).split(".")) {
      if (v == null || typeof v !== "object") return undefined;
      v = Array.isArray(v) && /^\d+$/.test(seg) ? v[Number(seg)] : v[seg];
    }
    return v;
  }

  function capture(rule, docs) {
    const values = {};
    for (const [name, cap] of Object.entries(rule.captures || {})) {
      let pattern = null;
      try {
        pattern = cap.match ? new RegExp(cap.match) : null;
      } catch (_) {
        continue;
      }
      search: for (const doc of docs) {
        for (const path of cap.paths || []) {
          const v = at(doc, path);
          if (typeof v !== "string" && typeof v !== "number") continue;
          // A number that lost digits in parsing is no id (no source access).
          if (typeof v === "number" && Math.abs(v) > Number.MAX_SAFE_INTEGER) continue;
          let s = String(v);
          if (!s) continue;
          if (pattern) {
            const m = s.match(pattern);
            if (!m) continue;
            s = m[0];
          }
          values[name] = s;
          break search;
        }
      }
    }
    return values;
  }

  async function report(matched, requestBody, responseText) {
    const body = matched.some(({ rule }) => rule.bodyContains) ? await requestBody : "";
    const docs = parseAll(await responseText);
    if (!docs.length) return;
    for (const { rule } of matched) {
      if (rule.bodyContains && !String(body).includes(rule.bodyContains)) continue;
      const values = capture(rule, docs);
      if (values[rule.requires] == null) continue;
      document.dispatchEvent(
        new CustomEvent("clawpost-net-hit", { detail: JSON.stringify({ id: rule.id, values }) })
      );
    }
  }

  // ---- fetch --------------------------------------------------------------

  const originalFetch = window.fetch;
  if (typeof originalFetch === "function") {
    window.fetch = function fetch(input, init) {
      let matched = [];
      let requestBody = Promise.resolve("");
      try {
        const isRequest = typeof Request === "function" && input instanceof Request;
        const raw = isRequest ? input.url : input instanceof URL ? input.href : String(input);
        const url = new URL(raw, location.href).href;
        const method = String((init && init.method) || (isRequest ? input.method : "GET")).toUpperCase();
        matched = byUrl(url, method);
        if (matched.length) {
          if (init && init.body != null) requestBody = bodyText(init.body);
          else if (isRequest) requestBody = input.clone().text().catch(() => "");
        }
      } catch (_) {
        matched = [];
      }
      const response = originalFetch.apply(this, arguments);
      if (matched.length) {
        response
          .then((r) => report(matched, requestBody, r.clone().text()))
          .catch(() => {});
      }
      return response;
    };
  }

  // ---- XMLHttpRequest -----------------------------------------------------

  const requests = new WeakMap();
  const proto = XMLHttpRequest.prototype;
  const originalOpen = proto.open;
  const originalSend = proto.send;

  proto.open = function open(method, url) {
    try {
      requests.set(this, {
        method: String(method).toUpperCase(),
        url: new URL(String(url), location.href).href,
      });
    } catch (_) {
      requests.delete(this);
    }
    return originalOpen.apply(this, arguments);
  };

  function responseTextOf(xhr) {
    switch (xhr.responseType) {
      case "":
      case "text":
        return Promise.resolve(xhr.responseText);
      case "json":
        return Promise.resolve(JSON.stringify(xhr.response));
      case "blob":
        return xhr.response ? xhr.response.text() : Promise.resolve("");
      case "arraybuffer":
        return Promise.resolve(xhr.response ? new TextDecoder().decode(xhr.response) : "");
      default:
        return Promise.resolve("");
    }
  }

  proto.send = function send(body) {
    try {
      const info = requests.get(this);
      const matched = info ? byUrl(info.url, info.method) : [];
      if (matched.length) {
        const requestBody = bodyText(body).catch(() => "");
        this.addEventListener("loadend", () => {
          if (this.status >= 200 && this.status < 300) {
            report(matched, requestBody, responseTextOf(this)).catch(() => {});
          }
        });
      }
    } catch (_) {
      /* never disturb the page's request */
    }
    return originalSend.apply(this, arguments);
  };
})();
