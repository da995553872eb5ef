"""Compile linli/locale/*/LC_MESSAGES/django.po into django.mo with polib (no GNU gettext needed).

    python scripts/compile_messages.py            compile every catalogue
    python scripts/compile_messages.py --update   first sync the .po with the msgids used in linli/
    python scripts/compile_messages.py --check    exit 1 if a msgid lacks a translation or a .mo is stale

Source strings are Chinese; English lives in linli/locale/en. Msgids are found with regular
expressions over `_("…")`, `gettext_lazy("…")`, `{% translate "…" %}` and single-line
`{% blocktranslate %}` blocks — the forms this code base uses.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "linli"
LOCALE = SOURCE / "locale"

_LITERAL = r"""("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')"""
PY_CALL = re.compile(r"\b(?:_|gettext|gettext_lazy|gettext_noop)\(\s*" + _LITERAL)
TEMPLATE_TAG = re.compile(r"{%\s*(?:translate|trans)\s+" + _LITERAL)
TEMPLATE_CALL = re.compile(r"\b_\(\s*" + _LITERAL + r"\s*\)")
BLOCK = re.compile(r"{%\s*blocktrans(?:late)?\b([^%]*)%}(.*?){%\s*endblocktrans(?:late)?\s*%}", re.S)
BLOCK_VAR = re.compile(r"{{\s*(\w+)\s*}}")


def _unquote(literal: str) -> str:
    return ast.literal_eval(literal)


def _block_msgid(options: str, body: str) -> str:
    if "trimmed" in options:
        body = " ".join(line.strip() for line in body.strip().splitlines())
    return BLOCK_VAR.sub(lambda m: f"%({m.group(1)})s", body)


def extract(root: Path = SOURCE) -> dict[str, set[str]]:
    """Every msgid used under `root`, mapped to the files that use it."""
    found: dict[str, set[str]] = {}

    def add(msgid: str, path: Path) -> None:
        if msgid:
            found.setdefault(msgid, set()).add(str(path.relative_to(ROOT)))

    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts or "tests" in path.parts:
            continue
        for match in PY_CALL.finditer(path.read_text(encoding="utf-8")):
            add(_unquote(match.group(1)), path)
    for path in sorted(root.rglob("templates/**/*.html")):
        text = path.read_text(encoding="utf-8")
        for pattern in (TEMPLATE_TAG, TEMPLATE_CALL):
            for match in pattern.finditer(text):
                add(_unquote(match.group(1)), path)
        for match in BLOCK.finditer(text):
            add(_block_msgid(match.group(1), match.group(2)), path)
    return found


def catalogues() -> list[Path]:
    return sorted(LOCALE.glob("*/LC_MESSAGES/django.po"))


def translations(po: polib.POFile) -> dict[str, str]:
    return {e.msgid: e.msgstr for e in po if e.msgstr and not e.obsolete and "fuzzy" not in e.flags}


def update(po_path: Path, found: dict[str, set[str]]) -> tuple[list[str], list[str]]:
    """Add msgids newly used in linli/, drop ones no longer used, refresh where each is used."""
    po = polib.pofile(str(po_path))
    known = {e.msgid for e in po}
    added = sorted(m for m in found if m not in known)
    for msgid in added:
        flags = ["python-format"] if "%(" in msgid else []
        po.append(polib.POEntry(msgid=msgid, msgstr="", flags=flags))
    dropped = sorted(e.msgid for e in po if e.msgid not in found)
    for entry in [e for e in po if e.msgid not in found]:
        po.remove(entry)
    for entry in po:
        entry.occurrences = [(f, "") for f in sorted(found[entry.msgid])]
    po.sort(key=lambda e: e.msgid)
    po.save(str(po_path))
    return added, dropped


def compile_catalogue(po_path: Path) -> Path:
    mo_path = po_path.with_suffix(".mo")
    polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
    return mo_path


def problems() -> list[str]:
    """What --check and the test suite complain about: missing translations and stale .mo files."""
    found = extract()
    issues = []
    for po_path in catalogues():
        po = polib.pofile(str(po_path))
        done = translations(po)
        for msgid in sorted(found):
            if msgid not in done:
                issues.append(f"{po_path.relative_to(ROOT)}: no translation for {msgid!r} ({', '.join(sorted(found[msgid]))})")
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists():
            issues.append(f"{mo_path.relative_to(ROOT)}: missing; run scripts/compile_messages.py")
        elif translations(polib.mofile(str(mo_path))) != done:
            issues.append(f"{mo_path.relative_to(ROOT)}: out of date; run scripts/compile_messages.py")
    return issues


def main(argv: list[str]) -> int:
    if "--check" in argv:
        issues = problems()
        print("\n".join(issues) or "translations complete, .mo files up to date")
        return 1 if issues else 0
    if "--update" in argv:
        found = extract()
        for po_path in catalogues():
            added, dropped = update(po_path, found)
            for msgid in added:
                print(f"{po_path.relative_to(ROOT)}: added {msgid!r} (translate it)")
            for msgid in dropped:
                print(f"{po_path.relative_to(ROOT)}: dropped {msgid!r} (no longer used)")
    for po_path in catalogues():
        print(f"compiled {compile_catalogue(po_path).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
