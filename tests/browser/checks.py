"""Checks every page a browser test visits: accessibility, touch targets, labels, CSP; plus a screenshot."""
from __future__ import annotations

import os
import re
import weakref
from functools import lru_cache
from pathlib import Path

from .phone import axe_source

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / ("postgresql" if os.environ.get("ZALOAN_TEST_DATABASE_URL") else "sqlite")
SEVERE = ("serious", "critical")
MIN_TARGET = 44  # CSS px; WCAG 2.5.5. The app's own rule is 48 (app.css).

# Every control a thumb must hit. A radio button or checkbox is hit through its
# label, and so is any field hidden behind a styled label; a link inside a
# sentence is exempt (WCAG 2.5.8 "inline").
TOUCH_TARGETS_JS = """(min) => {
  const out = [], seen = new Set();
  const box = (el) => {
    const s = getComputedStyle(el), r = el.getBoundingClientRect();
    if (s.display === 'none' || s.visibility === 'hidden' || (r.width === 0 && r.height === 0)) return null;
    return r;
  };
  const labelOf = (el) => el.closest('label') || (el.labels && el.labels[0]) || null;
  const describe = (el) => {
    const text = (el.innerText || el.value || el.getAttribute('aria-label') || el.name || '').trim().replace(/\\s+/g, ' ');
    return el.tagName.toLowerCase() + (el.type ? '[' + el.type + ']' : '') + ' "' + text.slice(0, 40) + '"';
  };
  for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')) {
    if (el.matches('a') && getComputedStyle(el).display === 'inline' && el.closest('p')) continue;
    let target = el;
    const own = box(el);
    if (el.matches('input[type=radio], input[type=checkbox]') || (own && own.width <= 2 && own.height <= 2)) {
      target = labelOf(el) || el;
    }
    if (seen.has(target)) continue;
    seen.add(target);
    const r = box(target);
    if (!r) continue;
    const w = Math.round(r.width), h = Math.round(r.height);
    if (w < min || h < min) out.push(describe(target) + ' is ' + w + 'x' + h + ' px');
  }
  return out;
}"""

UNLABELLED_FIELDS_JS = """() => {
  const named = (el) => {
    if (Array.from(el.labels || []).some((l) => l.textContent.trim())) return true;
    if ((el.getAttribute('aria-label') || '').trim()) return true;
    const ids = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean);
    return ids.some((id) => { const t = document.getElementById(id); return t && t.textContent.trim(); });
  };
  const fields = document.querySelectorAll(
    'input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=reset]):not([type=image]), select, textarea');
  return Array.from(fields).filter((el) => !named(el)).map((el) => el.tagName.toLowerCase() + ' name=' + el.name);
}"""

MIN_FONT_PX = 16  # UX.md: base text 18 px, never below 16 px

# Every visible element that shows text of its own (a text node child, or a
# field's value), with a computed font size under the minimum.
SMALL_TEXT_JS = """(min) => {
  const out = [];
  const visible = (el) => {
    const s = getComputedStyle(el), r = el.getBoundingClientRect();
    return s.display !== 'none' && s.visibility !== 'hidden' && r.width > 0 && r.height > 0;
  };
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('[hidden], [aria-hidden=true], script, style, noscript, template')) continue;
    const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own && !el.matches('input:not([type=hidden]), select, textarea, button')) continue;
    if (!visible(el)) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < min) {
      const text = (el.innerText || el.value || '').trim().replace(/\\s+/g, ' ');
      out.push(el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ').join('.') : '')
               + ' "' + text.slice(0, 30) + '" is ' + size + ' px');
    }
  }
  return out;
}"""

_console: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def watch(page):
    """Record what the browser refuses on `page` (CSP violations); call before the first navigation."""
    refused: list[str] = []
    _console[page] = refused

    def on_console(msg):
        if msg.type == "error" and "Content Security Policy" in msg.text:
            refused.append(msg.text)

    page.on("console", on_console)
    return page


@lru_cache(maxsize=1)
def _axe() -> str:
    return axe_source()


def axe_violations(page) -> list[str]:
    """Run axe-core on the page; return its serious and critical violations, one line each.

    The script is evaluated through the DevTools protocol, which the page's CSP
    does not govern, so the pages are tested under their real CSP.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe())
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    lines = []
    for v in result["violations"]:
        if v["impact"] in SEVERE:
            where = ", ".join(" ".join(n["target"]) for n in v["nodes"][:5])
            lines.append(f"axe {v['impact']} {v['id']}: {v['help']} at {where}")
    return lines


def small_touch_targets(page) -> list[str]:
    return page.evaluate(TOUCH_TARGETS_JS, MIN_TARGET)


def small_text(page) -> list[str]:
    return page.evaluate(SMALL_TEXT_JS, MIN_FONT_PX)


def unlabelled_fields(page) -> list[str]:
    return page.evaluate(UNLABELLED_FIELDS_JS)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / (re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") + ".png")
    page.screenshot(path=str(path), full_page=True)
    return path


def check_page(page, name: str) -> None:
    """Check the page now on screen and keep a screenshot of it in test-artifacts/.

    Fails listing every problem: axe-core serious/critical violations, touch
    targets under 44x44 CSS px, text under 16 px, form fields without a label,
    CSP refusals.
    """
    page.wait_for_load_state("load")
    problems = axe_violations(page)
    problems += [f"touch target too small: {t}" for t in small_touch_targets(page)]
    problems += [f"text under {MIN_FONT_PX} px: {t}" for t in small_text(page)]
    problems += [f"field without a label: {f}" for f in unlabelled_fields(page)]
    refused = _console.get(page, [])
    problems += [f"refused by the CSP: {m}" for m in refused]
    refused.clear()
    screenshot(page, name)
    assert not problems, f"{name} ({page.url}):\n  " + "\n  ".join(problems)
