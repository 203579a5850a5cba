"""Personal data in residents' words: what the reviewer sees marked and what publishing refuses."""

from __future__ import annotations

import pytest

from consult_hub.issues import privacy

TEXT = ("我叫张三，电话 138-0013-8000，住百步亭花园12号楼3单元501室，"
        "身份证420102199001011234，座机027-85612345。")


def test_each_kind_of_personal_data_is_marked_where_it_is() -> None:
    marked = [(s.text, s.kind) for s in privacy.segments(TEXT, "张三") if s.kind]
    assert marked == [("张三", "name"), ("138-0013-8000", "phone"), ("12号楼", "door"),
                      ("3单元", "door"), ("501室", "door"),
                      ("420102199001011234", "id_number"), ("027-85612345", "phone")]
    # Nothing is lost: the pieces put back together are the text.
    assert "".join(s.text for s in privacy.segments(TEXT, "张三")) == TEXT


@pytest.mark.parametrize("text", [
    "诉求编号 WH24-00123，涉及 1380013800012 元资金",  # digits inside a longer number
    "2024年共解决1,300个问题", "路灯坏了两盏", ""])
def test_ordinary_text_is_not_mistaken_for_personal_data(text: str) -> None:
    assert privacy.found(text) == set()


def test_a_name_of_one_character_is_not_searched_for() -> None:
    assert "name" not in privacy.found("王大爷说路灯坏了", "王")


def test_publishing_refuses_phone_and_id_numbers_and_names_the_field() -> None:
    errors = privacy.public_text_errors({"title": "路灯不亮 13800138000",
                                         "description": "身份证 42010219900101123X 的居民反映"})
    assert set(errors) == {"title", "description"}
    assert "电话号码" in errors["title"] and "身份证号" in errors["description"]
    # Door numbers are only marked for the reviewer: "3号楼" may be the place everyone means.
    assert privacy.public_text_errors({"title": "3号楼路灯不亮", "description": "夜间很黑"}) == {}


def test_redaction_removes_phone_and_id_numbers_only() -> None:
    assert privacy.redact(TEXT) == ("我叫张三，电话 ［已删除］，住百步亭花园12号楼3单元501室，"
                                    "身份证［已删除］，座机［已删除］。")
    assert privacy.redact(None) is None


def test_accepting_refuses_a_title_longer_than_the_column(app) -> None:
    """The accept form's title reaches a String(200) column: refused on the field, not a 500."""
    from consult_hub.core.errors import ValidationFailed
    from consult_hub.extensions import db
    from consult_hub.issues.operations import change_status, create_issue
    from tests.support import factories

    with app.test_request_context():
        platform = factories.platform()
        issue = create_issue(platform=platform, title="路灯不亮", description="两盏路灯坏了。",
                             kind="doorstep", category="society", source="resident",
                             needs_review=True)
        with pytest.raises(ValidationFailed) as refused:
            change_status(issue, "accept", actor_id=None, title="长" * 201,
                          description="路灯损坏，夜间照明不足。")
        assert set(refused.value.errors) == {"title"}
        assert issue.published_at is None
        db.session.rollback()
