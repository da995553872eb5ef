"""A survey's questions as data, validated on save, and answers checked against them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as SchemaError

QuestionKind = Literal["single", "multiple", "text", "rating"]
MAX_TEXT = 1000


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=30, pattern=r"^[a-z0-9_]+$")
    text: str = Field(min_length=1, max_length=200)
    kind: QuestionKind
    options: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(default_factory=list, max_length=20)
    required: bool = True

    @model_validator(mode="after")
    def _options_fit_the_kind(self) -> Question:
        choosing = self.kind in ("single", "multiple")
        if choosing and len(self.options) < 2:
            raise ValueError("a choice question needs at least two options")
        if choosing and len(set(self.options)) != len(self.options):
            raise ValueError("options must differ")
        if not choosing and self.options:
            raise ValueError("only choice questions have options")
        return self


class Questions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    questions: list[Question] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _keys_unique(self) -> Questions:
        keys = [q.key for q in self.questions]
        if len(set(keys)) != len(keys):
            raise ValueError("question keys must be unique")
        return self


def validated_questions(questions: Any) -> list[dict[str, Any]]:
    """The questions as stored, or a ValidationError naming each bad part (`questions.1.options`)."""
    try:
        return Questions.model_validate({"questions": questions}).model_dump(mode="json")["questions"]
    except SchemaError as exc:
        errors: dict[str, list[ValidationError]] = {}
        for error in exc.errors():
            path = ".".join(str(part) for part in error["loc"])
            errors.setdefault(path, []).append(ValidationError(error["msg"], code="invalid"))
        raise ValidationError(errors) from None


def checked_answers(questions: list[dict[str, Any]], answers: Any) -> dict[str, Any]:
    """The answers as stored: one per question key, each of its question's kind."""
    if not isinstance(answers, dict):
        raise ValidationError({"answers": [_("答案格式错误")]})
    known = {q["key"] for q in questions}
    errors: dict[str, list[str]] = {}
    for key in answers:
        if key not in known:
            errors[f"answers.{key}"] = [_("没有这个问题")]
    clean: dict[str, Any] = {}
    for q in questions:
        value = answers.get(q["key"])
        problem = _problem(q, value)
        if problem:
            errors[f"answers.{q['key']}"] = [problem]
        elif value not in (None, "", []):
            clean[q["key"]] = value.strip() if isinstance(value, str) else value
    if errors:
        raise ValidationError(errors)
    return clean


def _problem(q: dict[str, Any], value: Any) -> str:
    if value in (None, "", []):
        return _("此题必答") if q["required"] else ""
    kind = q["kind"]
    if kind == "single" and (not isinstance(value, str) or value not in q["options"]):
        return _("请从选项中选择一项")
    if kind == "multiple" and (not isinstance(value, list) or not value or len(set(value)) != len(value)
                               or any(v not in q["options"] for v in value)):
        return _("请从选项中选择，每项最多一次")
    if kind == "rating" and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5):
        return _("评分须为1到5分")
    if kind == "text" and (not isinstance(value, str) or len(value) > MAX_TEXT):
        return _("文字答案不能超过%(n)s字") % {"n": MAX_TEXT}
    return ""
