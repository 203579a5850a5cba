"""Check the English catalogue against the source: every message translated, placeholders kept.

Extracts the messages from the code and templates exactly as ``pybabel extract`` does
(``babel.cfg``, keywords ``_``, ``gettext``, ``_l``, ``lazy_gettext``…), so a string added
since the last ``pybabel update`` counts as missing. Exits 1 and lists the problems:

    .venv/bin/python scripts/check_translations.py

To fix them: extract, update, translate, compile (see the README's "Translations").
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "src" / "consult_hub" / "translations"
LOCALES = ("en",)
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2),
            "lazy_pgettext": ((1, "c"), 2), "_lp": ((1, "c"), 2)}
# %(name)s-style placeholders and the escaped %%; any other % breaks formatting.
PLACEHOLDER = re.compile(r"%(?:\((\w+)\)[#0\- +]*\d*(?:\.\d+)?[sdifr]|%)")
HAN = re.compile(r"[\u3400-\u9fff]")


def _searched(dirpath: str) -> bool:
    """Every folder but hidden ones and caches: templates/_macros holds UI text too (Babel's
    default filter skipped it, and the pagination links stayed Chinese on English pages)."""
    name = Path(dirpath).name
    return not name.startswith(".") and name not in {"node_modules", "instance", "__pycache__"}


def source_messages() -> dict[tuple[str, str | None], list[str]]:
    """Every (msgid, context) in the code and templates, with where it is used."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[tuple[str, str | None], list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
            ROOT, method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True,
            directory_filter=_searched):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault((msgid, context), []).append(f"{filename}:{lineno}")
    return found


def placeholders(text: str) -> list[str]:
    return sorted(m.group(0) if m.group(1) is None else m.group(1)
                  for m in PLACEHOLDER.finditer(text))


def stray_percent(text: str) -> bool:
    return "%" in PLACEHOLDER.sub("", text)


def check_locale(locale: str, wanted: dict[tuple[str, str | None], list[str]]) -> list[str]:
    """The problems of one locale's catalogue, as lines for people."""
    folder = TRANSLATIONS / locale / "LC_MESSAGES"
    with open(folder / "messages.po", "rb") as po:
        catalog = read_po(po, locale=locale)
    problems = []
    for (msgid, context), where in sorted(wanted.items(), key=lambda item: item[1][0]):
        message = catalog.get(msgid, context=context)
        at = where[0]
        if message is None:
            problems.append(f"{at}: not in the {locale} catalogue "
                            f"(run pybabel extract/update): {msgid!r}")
            continue
        texts = list(message.string) if message.pluralizable else [message.string]
        originals = list(message.id) if message.pluralizable else [message.id]
        if not all(texts):
            problems.append(f"{at}: untranslated: {msgid!r}")
            continue
        if message.fuzzy:
            problems.append(f"{at}: fuzzy (check the translation, then drop the flag): {msgid!r}")
        for translated in texts:
            if placeholders(translated) not in [placeholders(o) for o in originals]:
                problems.append(f"{at}: placeholders differ: {msgid!r} → {translated!r}")
            if stray_percent(translated):
                problems.append(f"{at}: a lone % (write %%): {translated!r}")
            if HAN.search(translated):
                problems.append(f"{at}: Chinese left in the translation: {translated!r}")
    problems += check_compiled(folder, catalog)
    return problems


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _texts(string) -> tuple[str, ...] | str:
    """A message's text; a plural's forms as a tuple (the .po gives a tuple, the .mo a list)."""
    return tuple(string) if isinstance(string, (list, tuple)) else string


def check_compiled(folder: Path, catalog) -> list[str]:
    """The .mo must say what the .po says: a stale one shows old text."""
    compiled = folder / "messages.mo"
    if not compiled.exists():
        return [f"{_shown(compiled)} is missing: run `make install` "
                f"(or .venv/bin/pybabel compile -d src/consult_hub/translations)"]
    with open(compiled, "rb") as mo:
        built = read_mo(mo)
    stale = [m.id for m in catalog if m.id and m.string and not m.fuzzy
             and (built.get(m.id, context=m.context) is None
                  or _texts(built.get(m.id, context=m.context).string) != _texts(m.string))]
    if stale:
        return [f"{_shown(compiled)} is out of date ({len(stale)} messages differ, "
                f"e.g. {stale[0]!r}): run `make install` or pybabel compile"]
    return []


def main() -> int:
    wanted = source_messages()
    problems = [line for locale in LOCALES for line in check_locale(locale, wanted)]
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} translation problem(s)", file=sys.stderr)
        return 1
    print(f"{len(wanted)} messages, all translated into {', '.join(LOCALES)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
