// The browser harness of test_browser_widgets.py, run in every frame before any script of its
// own (and outside its CSP). It records into window.__harness what a visit fails on: CSP
// violations, layout shifts, calls a payload would make, writes to cookies and storage.
(() => {
  const seen = { csp: [], shifts: [], calls: [], storage: [] };
  Object.defineProperty(window, "__harness", { value: seen });

  document.addEventListener(
    "securitypolicyviolation",
    (e) => seen.csp.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`),
    true,
  );

  const node = (s) => (s.node ? `${s.node.nodeName}.${s.node.className || ""}` : "?");
  const rect = (r) => `${r.x},${r.y} ${r.width}x${r.height}`;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      seen.shifts.push({
        value: e.value,
        input: e.hadRecentInput,
        sources: e.sources.map((s) => `${node(s)} ${rect(s.previousRect)} -> ${rect(s.currentRect)}`),
      });
    }
  }).observe({ type: "layout-shift", buffered: true });

  for (const name of ["alert", "confirm", "prompt", "print"]) {
    window[name] = (...args) => {
      seen.calls.push(`${name}(${args.join(", ")}) in ${location.href}`);
    };
  }

  const cookie = Object.getOwnPropertyDescriptor(Document.prototype, "cookie");
  Object.defineProperty(Document.prototype, "cookie", {
    configurable: true,
    get() {
      return cookie.get.call(this);
    },
    set(value) {
      seen.storage.push(`document.cookie = ${value}`);
      cookie.set.call(this, value);
    },
  });
  for (const name of ["setItem", "removeItem", "clear"]) {
    const original = Storage.prototype[name];
    Storage.prototype[name] = function (...args) {
      seen.storage.push(`${name}(${args})`);
      return original.apply(this, args);
    };
  }
  const open = IDBFactory.prototype.open;
  IDBFactory.prototype.open = function (...args) {
    seen.storage.push(`indexedDB.open(${args})`);
    return open.apply(this, args);
  };
})();
