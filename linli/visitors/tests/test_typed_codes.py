"""A visitor's invitation code as a guard types it: full-width letters and digits from a Chinese input
method and spaces read as the code; what can never be a code is a 422 naming the field."""

import pytest

from linli.core.tests.apiclient import ApiClient
from linli.visitors.models import Visit
from linli.visitors.tests.conftest import invite

pytestmark = pytest.mark.django_db


def full_width(text: str) -> str:
    """`text` as a Chinese input method in full-width mode types it (ＡＢ１２, ＿, －)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def test_a_code_typed_in_full_width_with_spaces_admits_the_visitor(district):
    _, code = invite(district)
    typed = " ".join((full_width(code[:8]), code[8:16], full_width(code[16:])))
    answer = ApiClient(district.a.users["guard"]).post("/api/visitors/honour", {"code": typed})
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "admitted"


@pytest.mark.parametrize("typed", ["邀请码一二三", "abcé", "\u0660\u0661\u0662"])
def test_a_code_that_can_never_be_one_answers_422_naming_the_field(district, typed):
    answer = ApiClient(district.a.users["guard"]).post("/api/visitors/honour", {"code": typed})
    assert answer.status_code == 422 and list(answer.json()["error"]["fields"]) == ["code"]
    assert not Visit.objects.exists()
