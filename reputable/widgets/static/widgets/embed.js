// Reputable's widget loader. Upgrades <reputable-stars>, <reputable-badge>, <reputable-reviews>
// and <reputable-carousel> (attributes shop, sku or gtin, lang, theme, limit) into Shadow DOM.
// It defines no globals, sets no cookies, uses no storage, and only talks to the host it came from.
const base = new URL("./", import.meta.url);
const options = ["lang", "theme", "limit"];
// Style sheets by path, each fetched once: the widgets' own and each shop's brand colour.
const sheets = {};
const sheet = (path) =>
  (sheets[path] ??= fetch(new URL(path, base), { credentials: "omit" })
    .then((r) => r.text())
    .then((text) => {
      const s = new CSSStyleSheet();
      s.replaceSync(text);
      return s;
    }));

async function fragment(shop, name, query) {
  const url = new URL(`${encodeURIComponent(shop)}/${name}?${query}`, base);
  const r = await fetch(url, { credentials: "omit", referrerPolicy: "no-referrer" });
  const t = document.createElement("template");
  t.innerHTML = await r.text();
  for (const link of t.content.querySelectorAll("link")) link.remove();
  return t.content;
}

function query(el) {
  const q = new URLSearchParams();
  for (const o of options) if (el.getAttribute(o)) q.set(o, el.getAttribute(o));
  return q;
}

async function show(el, content) {
  const root = el.shadowRoot ?? el.attachShadow({ mode: "open" });
  const brand = `${encodeURIComponent(el.getAttribute("shop"))}/brand.css`;
  root.adoptedStyleSheets = await Promise.all(["widgets.css", brand].map(sheet));
  root.replaceChildren(content);
}

class Widget extends HTMLElement {
  connectedCallback() {
    if (this.shadowRoot) return;
    this.attachShadow({ mode: "open" }).addEventListener("click", (e) => {
      const a = e.target.closest?.("a[data-rp-params]");
      if (!a) return;
      e.preventDefault();
      this.load(new URLSearchParams(a.dataset.rpParams));
    });
    const q = query(this);
    if (this.getAttribute("sku")) q.set("sku", this.getAttribute("sku"));
    this.load(q);
  }

  async load(q) {
    const content = await fragment(this.getAttribute("shop"), this.localName.slice(10), q);
    // Structured data stays in the page itself, where search engines read it.
    for (const old of this.querySelectorAll(":scope > script")) old.remove();
    this.append(...content.querySelectorAll('script[type="application/ld+json"]'));
    await show(this, content);
  }
}

// All stars of one shop (and options) on a page come in one request, up to 100 products each.
const waiting = new Map();

class Stars extends HTMLElement {
  connectedCallback() {
    if (this.shadowRoot) return;
    this.attachShadow({ mode: "open" });
    const id = this.getAttribute("sku") ? ["sku", this.getAttribute("sku")] : ["gtin", this.getAttribute("gtin")];
    const key = `${this.getAttribute("shop")}?${query(this)}`;
    if (!waiting.has(key)) {
      waiting.set(key, []);
      queueMicrotask(() => stars(key));
    }
    waiting.get(key).push([this, id]);
  }
}

async function stars(key) {
  const all = waiting.get(key);
  waiting.delete(key);
  const [shop, options] = [key.slice(0, key.indexOf("?")), key.slice(key.indexOf("?") + 1)];
  const ids = [...new Map(all.map(([, id]) => [id.join("="), id])).values()];
  for (let i = 0; i < ids.length; i += 100) {
    const q = new URLSearchParams(options);
    for (const [k, v] of ids.slice(i, i + 100)) q.append(k, v);
    const root = (await fragment(shop, "stars", q)).querySelector(".rp");
    for (const [el, [k, v]] of all) {
      const item = [...root.children].find((c) => c.dataset[k] === v);
      if (!item) continue;
      const one = root.cloneNode(false);
      one.append(item.cloneNode(true));
      show(el, one);
    }
  }
}

for (const tag of ["badge", "reviews", "carousel"]) {
  if (!customElements.get(`reputable-${tag}`)) customElements.define(`reputable-${tag}`, class extends Widget {});
}
if (!customElements.get("reputable-stars")) customElements.define("reputable-stars", Stars);

// Widgets in iframes (/w/<shop>/frame/<widget>) say how tall they are: take a height, from our origin only.
addEventListener("message", (e) => {
  const height = e.data?.reputableHeight;
  if (e.origin !== base.origin || typeof height !== "number") return;
  for (const frame of document.querySelectorAll("iframe")) {
    if (frame.contentWindow === e.source) frame.height = String(Math.min(Math.max(Math.round(height), 0), 10000));
  }
});
