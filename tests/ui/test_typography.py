"""Chinese text uses full-width punctuation (GB/T 15834): ，；：（）？！ between Chinese words.

Checked where the interface's Chinese comes from: the catalogue's source strings, the
templates, and the string literals in the code (flashes, emails, reminders, exports and the demo
data's vocabulary). English text that names a Chinese term ("the department (承办单位)") keeps
its own punctuation: a string counts as Chinese when it has more Chinese characters than Latin
letters. Digits keep their thousands separators ("1,006个").
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "src/consult_hub/translations/en/LC_MESSAGES/messages.po"
HAN = "\u4e00-\u9fff"
# A half-width mark with a Chinese character on either side of it.
HALF_WIDTH = re.compile(f"[{HAN}][,;:?!()]|[,;:?!()][{HAN}]")
TEMPLATE_COMMENT = re.compile(r"\{#.*?#\}", re.S)
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")

pytestmark = [pytest.mark.rolled_back, pytest.mark.database_independent]


def chinese(text: str) -> bool:
    return len(re.findall(f"[{HAN}]", text)) > len(re.findall("[A-Za-z]", text))


def offences(where: str, text: str) -> list[str]:
    return [f"{where}: …{text[max(0, m.start() - 12):m.end() + 12]}…"
            for m in HALF_WIDTH.finditer(text)]


def python_strings(path: Path) -> list[tuple[int, str]]:
    """The string literals of a module, less docstrings and raw strings (regular expressions)."""
    found = []
    after_statement = True
    for token in tokenize.generate_tokens(io.StringIO(path.read_text("utf-8")).readline):
        if token.type == tokenize.STRING:
            prefix = re.match(r"[A-Za-z]*", token.string).group().lower()
            docstring = after_statement and token.string.lstrip(prefix + prefix.upper())[:3] in (
                '"""', "'''")
            if "r" not in prefix and "b" not in prefix and not docstring:
                found.append((token.start[0], token.string))
        if token.type not in (tokenize.NL, tokenize.COMMENT):
            after_statement = token.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)
    return found


def test_the_catalogue_uses_full_width_punctuation_in_chinese() -> None:
    with CATALOGUE.open("rb") as f:
        catalogue = read_po(f)
    found = []
    for message in catalogue:
        for text in ([message.id] if isinstance(message.id, str) else message.id or ()):
            words = PLACEHOLDER.sub("", text)  # "%(topic)s(%(start)s)" is Chinese around values
            if chinese(words):
                found += offences("msgid", text)
                if re.search("[()]", words) and not HALF_WIDTH.search(text):
                    found.append(f"msgid: {text}")
    assert not found, "\n".join(found)


def test_templates_use_full_width_punctuation_in_chinese() -> None:
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = TEMPLATE_COMMENT.sub("", path.read_text("utf-8"))
        for number, line in enumerate(text.splitlines(), 1):
            found += offences(f"{path.relative_to(ROOT)}:{number}", line)
    assert not found, "\n".join(found)


def test_code_and_demo_vocabulary_use_full_width_punctuation_in_chinese() -> None:
    found = []
    for path in sorted((ROOT / "src/consult_hub").rglob("*.py")):
        for number, literal in python_strings(path):
            if chinese(literal):
                found += offences(f"{path.relative_to(ROOT)}:{number}", literal)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("text, bad", [
    ("2025年,全市共建成1,006个平台", True),
    ("提交没有成功,请修改下面标出的内容。", True),
    ("标题(必填)", True),
    ("2025年，全市共建成1,006个平台", False),
    ("the department (承办单位), for", False),
])
def test_the_check_itself(text: str, bad: bool) -> None:
    assert bool(chinese(text) and offences("text", text)) is bad
