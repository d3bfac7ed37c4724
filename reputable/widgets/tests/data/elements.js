// What a document shows, its shadow roots included, for test_browser_widgets.py:
// - tags: the elements inside widget content (shadow roots, `.rp` fragments, and on the profile
//   its reviews, headings and search form), where review text is shown;
// - bad: markup no page of ours writes: event handler attributes, script URLs, scripts that are
//   neither JSON-LD nor loaded from one of `origins`;
// - text: all the text shown.
(origins) => {
  const roots = [document];
  const tags = new Set();
  const bad = [];
  const texts = [];
  const urls = new Set(["href", "src", "action", "formaction", "xlink:href", "data", "srcdoc", "poster"]);
  for (let i = 0; i < roots.length; i++) {
    const root = roots[i];
    texts.push(i ? root.textContent : document.documentElement.textContent);
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) roots.push(el.shadowRoot);
      for (const a of el.attributes) {
        if (a.name.startsWith("on")) bad.push(`${el.localName}[${a.name}]`);
        if (urls.has(a.name) && /^\s*(javascript|vbscript|data):/i.test(a.value)) bad.push(`${el.localName}[${a.name}]`);
      }
      if (el.localName === "script" && el.getAttribute("type") !== "application/ld+json") {
        const src = el.getAttribute("src") || el.getAttribute("href") || "";
        const url = src && new URL(src, document.baseURI).href; // a frame's own script is relative
        if (!origins.some((o) => url.startsWith(`${o}/`))) bad.push(`script ${src || "inline"}`);
      }
    }
    const content = i ? root.querySelectorAll("*") : root.querySelectorAll(".rp *, article *, h1 *, form *");
    for (const el of content) tags.add(el.localName);
  }
  return { tags: [...tags].sort(), bad, text: texts.join("\n") };
}
