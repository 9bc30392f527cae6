#!/usr/bin/env python3
"""Keep the Vietnamese catalogue complete.

  python scripts/i18n.py update          extract messages from the code into vi/messages.po
  python scripts/i18n.py missing         list messages without a Vietnamese translation (exit 1 if any)
  python scripts/i18n.py set FILE.json   apply {"English msgid": "bản dịch"} to the catalogue

After `update`, fill the new entries (with `set` or by editing the .po), then `make translations`.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "zaloan"
PO = PACKAGE / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def extracted() -> Catalog:
    """Return a catalogue of every message the code marks for translation."""
    catalog = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
        str(PACKAGE), METHODS, keywords=KEYWORDS, options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def load() -> Catalog:
    with PO.open("rb") as f:
        return read_po(f, locale="vi")


def save(catalog: Catalog) -> None:
    with PO.open("wb") as f:
        write_po(f, catalog, width=0, no_location=True, sort_output=True, ignore_obsolete=True)


def missing(catalog: Catalog, template: Catalog) -> list[str]:
    out = []
    for msg in template:
        if not msg.id:
            continue
        have = catalog.get(msg.id, context=msg.context)
        strings = have.string if have is not None else None
        if isinstance(strings, (list, tuple)):
            ok = all(strings)
        else:
            ok = bool(strings)
        if not ok or (have is not None and have.fuzzy):
            out.append(msg.id if isinstance(msg.id, str) else msg.id[0])
    return out


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "missing"
    if cmd == "update":
        catalog = load()
        catalog.update(extracted(), no_fuzzy_matching=True)
        save(catalog)
        untranslated = missing(catalog, extracted())
        print(f"{len(untranslated)} messages need a Vietnamese translation.")
        return 0
    if cmd == "missing":
        untranslated = missing(load(), extracted())
        for m in untranslated:
            print(m)
        return 1 if untranslated else 0
    if cmd == "set":
        pairs = json.loads(Path(argv[2]).read_text(encoding="utf-8"))
        catalog = load()
        catalog.update(extracted(), no_fuzzy_matching=True)
        for msgid, msgstr in pairs.items():
            msg = catalog.get(msgid)
            if msg is None:
                print(f"not in the code: {msgid!r}", file=sys.stderr)
                continue
            if isinstance(msg.id, (list, tuple)):
                forms = msgstr if isinstance(msgstr, list) else [msgstr]
                msg.string = tuple(forms + forms[-1:] * (catalog.num_plurals - len(forms)))[: catalog.num_plurals]
            else:
                msg.string = msgstr
            msg.flags.discard("fuzzy")
        save(catalog)
        print(f"{len(missing(catalog, extracted()))} messages still need a translation.")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
