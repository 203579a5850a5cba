"""One term per concept: the synonyms docs/glossary.md lists as "not to use" appear nowhere.

The list is read from the glossary itself, so the document and the check cannot drift apart.
Chinese terms are looked for in the catalogue's message ids (every UI string's Chinese source)
and in the Chinese string literals of the code (flashes, exports, open data, Open311 errors,
the demo data); English terms in the English translations. A forbidden term inside a longer
term the glossary does use is fine (联系点 in 社情民意联系点). A literal on a line marked
``# legacy-term`` is an old word kept on purpose (an import alias, a stored note's old text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

from consult_hub.core.i18n import stored_text
from tests.support.issues import act, stored, today, walk
from tests.ui.test_typography import CATALOGUE, ROOT, chinese, python_strings

GLOSSARY = ROOT / "docs/glossary.md"
HAN = re.compile("[\u4e00-\u9fff]")
TERM = re.compile(r"`([^`]+)`")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")
LEGACY = "# legacy-term"



@dataclass(frozen=True)
class Row:
    concept: str
    chosen: tuple[str, ...]
    forbidden: tuple[str, ...]


def glossary_rows(text: str) -> list[Row]:
    """The glossary's table rows: the terms to use (Chinese and English) and those not to."""
    rows = []
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) != 5 or cells[0] in ("concept", "---"):
            continue
        rows.append(Row(cells[0], tuple(TERM.findall(cells[1]) + TERM.findall(cells[2])),
                        tuple(TERM.findall(cells[3]))))
    return rows


ROWS = glossary_rows(GLOSSARY.read_text("utf-8"))
CHOSEN = sorted({term for row in ROWS for term in row.chosen}, key=len, reverse=True)


def found(term: str, text: str) -> bool:
    """Whether ``term`` occurs in ``text`` other than inside a longer chosen term."""
    is_chinese = bool(HAN.search(term))
    for longer in CHOSEN:
        if len(longer) > len(term) and term.lower() in longer.lower():
            text = re.sub(re.escape(longer), "|", text, flags=re.I)
    if is_chinese:
        return term in text
    return re.search(rf"\b{re.escape(term)}", text, re.I) is not None


def offences(where: str, text: str, *, english: bool) -> list[str]:
    text = PLACEHOLDER.sub(" ", text)
    return [f"{where}: {term!r} ({row.concept}) in {text[:80]!r}"
            for row in ROWS for term in row.forbidden
            if bool(HAN.search(term)) is not english and found(term, text)]


@pytest.mark.rolled_back
@pytest.mark.database_independent
def test_the_glossary_names_terms_for_every_concept_it_lists() -> None:
    concepts = {row.concept for row in ROWS}
    for needed in ("platform", "liaison point", "consultation event", "minutes", "problem",
                   "outcomes", "review", "assign", "department", "acknowledge", "reply",
                   "confirm", "return", "rework", "extension", "member", "coordinator",
                   "district staff", "city staff", "annual report", "messages", "dashboard",
                   "resident", "rating"):
        assert needed in concepts
    for row in ROWS:
        assert any(HAN.search(t) for t in row.chosen), row
        assert any(not HAN.search(t) for t in row.chosen), row
        assert not set(row.forbidden) & set(CHOSEN), row
    assert sum(len(row.forbidden) for row in ROWS) >= 30


@pytest.mark.rolled_back
@pytest.mark.database_independent
def test_message_ids_use_the_glossary_terms() -> None:
    with CATALOGUE.open("rb") as f:
        catalogue = read_po(f)
    problems = []
    for message in catalogue:
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        where = f"msgid {ids[0][:30]!r}"
        problems += [o for text in ids for o in offences(where, text, english=False)]
        problems += [o for text in strings if text
                     for o in offences(where + " (English)", text, english=True)]
    assert not problems, "\n".join(problems)


@pytest.mark.rolled_back
@pytest.mark.database_independent
def test_chinese_strings_in_the_code_use_the_glossary_terms() -> None:
    problems = []
    for path in sorted((ROOT / "src/consult_hub").rglob("*.py")):
        lines = path.read_text("utf-8").splitlines()
        for number, literal in python_strings(path):
            if chinese(PLACEHOLDER.sub("", literal)) and LEGACY not in lines[number - 1]:
                problems += offences(f"{path.relative_to(ROOT)}:{number}", literal,
                                     english=False)
    assert not problems, "\n".join(problems)


@pytest.mark.rolled_back
@pytest.mark.database_independent
@pytest.mark.parametrize("term, text, hit", [
    ("诉求", "登记群众诉求", True),
    ("联系点", "到社情民意联系点反映", False),  # inside the chosen 社情民意联系点
    ("联系点", "到联系点反映", True),
    ("群众", "群众急难愁盼问题", False),
    ("群众", "反馈给群众", True),
    ("meeting", "The Meeting", True),
    ("answer", "not yet answered", True),
    ("result", "the outcome", False),
])
def test_the_check_itself(term: str, text: str, hit: bool) -> None:
    assert found(term, text) is hit


# -- flashes read as sentences ----------------------------------------------------------------


@pytest.fixture()
def problem(make):
    """A received problem on a 江岸区 platform, its district staff (wangli) and a department."""
    district = make("district", name="江岸区")
    platform = make("platform", district_id=district.id, name="百步亭社区协商议事室")
    department = make("department", name="江岸区城管局", district_id=district.id)
    make("user", role="district_admin", district_id=district.id, username="wangli", name="王丽")
    issue = make("issue", platform_id=platform.id)
    return issue.id, issue.reference, department.id


def flashed(client, issue_id: int) -> str:
    page = client.get(f"/manage/issues/{issue_id}").text
    return re.search(r'<p class="flash flash-success" role="status">([^<]*)</p>', page).group(1)


def test_assigning_flashes_who_has_the_problem_and_until_when(app, client, auth, problem):
    issue_id, reference, department_id = problem
    auth.login("wangli")
    due = today() + timedelta(days=10)
    assert act(client, issue_id, "assign", department=department_id,
               due_on=due.isoformat()).status_code == 303
    assert flashed(client, issue_id) == (
        f"已将问题 {reference} 交办给江岸区城管局，办理期限为 {due.isoformat()}。")
    assert stored(app, issue_id).department_id == department_id
    client.get("/locale/en")
    assert act(client, issue_id, "note", note="已约谈物业。").status_code == 303
    assert flashed(client, issue_id) == f"Progress recorded for problem {reference}."


@pytest.mark.parametrize("action, data, said", [
    ("note", {"note": "已约谈物业。"}, "已为问题 {ref} 添加办理进展。"),
    ("resolve", {"resolution": "已修好。"}, "问题 {ref} 已办结：已解决或采纳。"),
    ("reject", {"reason": "不属于受理范围。"}, "问题 {ref} 不予受理，理由已记录。"),
])
def test_staff_actions_flash_a_sentence_not_a_record(client, auth, problem, action, data, said):
    """Once "WH26-01508：办结（已解决或采纳），已保存"; now what happened, in words."""
    issue_id, reference, _department_id = problem
    auth.login("wangli")
    assert act(client, issue_id, action, **data).status_code == 303
    assert flashed(client, issue_id) == said.format(ref=reference)


def test_reopening_says_where_the_problem_is_now(app, client, auth, problem):
    issue_id, reference, department_id = problem
    with app.app_context():
        walk(issue_id, "resolve", department_id=department_id)
    auth.login("wangli")
    assert act(client, issue_id, "reopen", reason="居民反映仍未解决。").status_code == 303
    assert flashed(client, issue_id) == f"问题 {reference} 已重新办理，状态回到“已受理”。"


@pytest.mark.rolled_back
@pytest.mark.database_independent
def test_notes_stored_in_old_words_read_in_todays(app):
    """A rating note stored before the renames reads as a new one, in both languages."""
    with app.test_request_context():
        assert stored_text("群众满意度评价:满意") == "居民评价：满意"  # legacy-term
        assert stored_text("居民对办理结果不满意,重新办理") == "居民对办理结果不满意，重新办理"
        with force_locale("en"):
            old = "群众满意度评价:不满意"  # legacy-term
            assert stored_text(old) == "Resident's rating: Unsatisfied"
            assert stored_text("居民评价：基本满意") == "Resident's rating: Basically satisfied"
        # What people wrote stays exactly as written.
        assert stored_text("费用:100元") == "费用:100元"
