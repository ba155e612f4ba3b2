// Translation catalogues (zh-CN default, en) served from /static/i18n/<lang>.json.
// Elements carry data-i18n="key" (text) or data-i18n-attr="attr:key;attr2:key2".

// Scripts: right-to-left languages set dir="rtl" on <html> (the pages lay out with flex/grid, so they
// mirror); base.css picks the Uyghur and Tibetan font stacks by :lang(). No such catalogue ships yet:
// the pseudo-locale ?lang=x-rtl (the zh-CN texts wrapped in «…», lang ug-x-pseudo, right to left)
// shows what a translation would have to handle (tests/displays/test_accessibility_browser.py).
export const PSEUDO_RTL = "x-rtl";
const RTL = new Set(["ar", "fa", "he", "ug", "ur"]);
const KNOWN = new Set(["zh-CN", "en", PSEUDO_RTL]);

const cache = new Map();
let current = { lang: "zh-CN", messages: {}, fallback: {} };
const listeners = new Set();

async function load(lang) {
  if (!cache.has(lang)) {
    const res = await fetch(`/static/i18n/${lang}.json`, { cache: "no-cache" });
    cache.set(lang, res.ok ? await res.json() : {});
  }
  return cache.get(lang);
}

/** Load a language (falls back to zh-CN per key) and re-translate the page. */
export async function setLang(lang) {
  const fallback = await load("zh-CN");
  const pseudo = lang === PSEUDO_RTL;
  const messages = lang === "zh-CN" || pseudo ? fallback : await load(lang);
  current = { lang, messages, fallback };
  const tag = pseudo ? "ug-x-pseudo" : lang;
  document.documentElement.lang = tag;
  document.documentElement.dir = RTL.has(tag.split("-")[0]) ? "rtl" : "ltr";
  apply(document);
  for (const fn of listeners) fn(lang);
  return lang;
}

export function lang() { return current.lang; }

export function onLangChange(fn) { listeners.add(fn); }

/** Translate a key; {name} placeholders are filled from params. */
export function t(key, params = {}) {
  return pseudo(raw(key, params));
}

function raw(key, params) {
  let s = current.messages[key] ?? current.fallback[key] ?? key;
  for (const [k, v] of Object.entries(params)) s = s.split(`{${k}}`).join(String(v));
  return s;
}

/** The visible pseudo form of a catalogue text (only under the pseudo-locale). */
function pseudo(s) { return current.lang === PSEUDO_RTL && s ? `«${s}»` : s; }

/** Pick the message of an API problem document in the current language. */
export function problemText(problem) {
  if (!problem) return t("error.generic");
  const en = current.lang.startsWith("en");
  return (en ? problem.en : problem.zh) || problem.detail || problem.title || t("error.generic");
}

export function apply(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":");
      if (attr && key) el.setAttribute(attr.trim(), t(key.trim()));
    }
  }
}

/** Initial language: ?lang=en, then the page's default. */
export function initialLang(fallback = "zh-CN") {
  const q = new URLSearchParams(location.search).get("lang");
  return KNOWN.has(q) ? q : fallback;
}

/** Translate a key, or return `fallback` when the catalogues do not know it. */
export function tOr(key, fallback, params = {}) {
  const s = raw(key, params);
  return pseudo(s === key ? fallback : s);
}

/** A configured name in the current language: `o.name_en` (or `<field>_en`) in English when the hall gave one. */
export function localName(o, field = "name") {
  if (!o) return "";
  const en = current.lang.startsWith("en") ? o[field + "_en"] : "";
  return en || o[field] || "";
}
