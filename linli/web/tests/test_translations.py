"""Every Chinese source string in linli/ has an English translation, and the compiled .mo matches the .po."""

import importlib.util
import re
from pathlib import Path

import polib
import pytest
from django.urls import reverse
from django.utils import translation

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "compile_messages.py"
PO = Path(__file__).resolve().parents[2] / "locale" / "en" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\(\w+\)s")


@pytest.fixture(scope="module")
def messages():
    spec = importlib.util.spec_from_file_location("compile_messages", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_extractor_finds_strings_in_python_and_templates(messages):
    found = messages.extract()
    assert "身份证号校验位错误" in found  # gettext_lazy in linli/people/identity.py
    assert "显示完整信息" in found  # {% translate %} in a template
    assert "第 %(n)s / %(total)s 页" in found  # {% blocktranslate %} with variables


def test_every_msgid_has_an_english_translation(messages):
    translated = messages.translations(polib.pofile(str(PO)))
    missing = sorted(m for m in messages.extract() if not translated.get(m, "").strip())
    assert missing == [], "run: python scripts/compile_messages.py --update, translate, compile"


def test_translations_keep_the_placeholders():
    for entry in polib.pofile(str(PO)):
        if entry.msgstr:
            assert sorted(PLACEHOLDER.findall(entry.msgid)) == sorted(PLACEHOLDER.findall(entry.msgstr)), entry.msgid


def test_the_compiled_catalogue_is_up_to_date():
    mo = PO.with_suffix(".mo")
    assert mo.exists(), "run: python scripts/compile_messages.py"
    po_entries = {e.msgid: e.msgstr for e in polib.pofile(str(PO)) if e.msgstr and not e.obsolete}
    mo_entries = {e.msgid: e.msgstr for e in polib.mofile(str(mo)) if e.msgid}
    assert mo_entries == po_entries, "the .mo is stale: run python scripts/compile_messages.py"


def test_django_serves_english_from_the_catalogue():
    with translation.override("en"):
        assert translation.gettext("身份证号校验位错误") == "Wrong check character in the ID number"
    with translation.override("zh-hans"):
        assert translation.gettext("身份证号校验位错误") == "身份证号校验位错误"


def test_the_language_switch_turns_the_console_english(district, client_for):
    client = client_for(district.a.users["property_manager"])
    assert "人员" in client.get(reverse("web:home")).content.decode()
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("web:home")})
    assert response.status_code == 302
    html = client.get(reverse("web:home")).content.decode()
    assert ">People<" in html and ">Audit log<" in html and 'lang="en"' in html
