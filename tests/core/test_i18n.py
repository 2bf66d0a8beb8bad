import re
import string
from pathlib import Path

from clamor.core.i18n import (
    LANGUAGES,
    catalogue,
    locale_language,
    normalise_language,
    pick,
    translate,
)

PACKAGE = Path(__file__).resolve().parents[2] / "clamor"
LITERAL_KEY = re.compile(r"""\bt\(\s*["']([a-z_.]+)["']\s*[,)]""")
ERROR_KEY = re.compile(r"""\.keyed\(\s*["']([a-z0-9_.]+)["']""")


def test_every_entry_has_both_languages() -> None:
    incomplete = [key for key, entry in catalogue().items() if set(entry) != set(LANGUAGES)]
    assert incomplete == []


def test_every_key_used_in_templates_exists() -> None:
    used = set()
    for template in PACKAGE.rglob("templates/**/*.html"):
        used |= set(LITERAL_KEY.findall(template.read_text(encoding="utf-8")))
    assert used, "no translation keys found in templates"
    assert sorted(used - set(catalogue())) == []


def test_translate_with_parameters_and_fallback() -> None:
    assert translate("dashboard.members", "en", count=3) == "3 members"
    assert translate("dashboard.members", "zh-CN", count=3) == "3 名成员"
    assert translate("no.such.key", "en") == "no.such.key"


def test_language_names_are_normalised() -> None:
    assert normalise_language("en-US") == "en"
    assert normalise_language("zh") == "zh-CN"
    assert normalise_language("fr") == "zh-CN"
    assert normalise_language(None) == "zh-CN"


def test_pick_falls_back_to_chinese() -> None:
    assert pick({"zh-CN": "客服部"}, "en") == "客服部"
    assert pick({"zh-CN": "客服部", "en": "Customer service"}, "en") == "Customer service"


def test_every_error_key_raised_exists() -> None:
    used = set()
    for module in PACKAGE.rglob("*.py"):
        used |= set(ERROR_KEY.findall(module.read_text(encoding="utf-8")))
    assert used, "no keyed errors found"
    assert sorted(used - set(catalogue())) == []


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_of_an_entry_take_the_same_parameters() -> None:
    differing = [
        key
        for key, entry in catalogue().items()
        if len({frozenset(_placeholders(text)) for text in entry.values()}) > 1
    ]
    assert differing == []


def test_a_terminal_s_language_comes_from_its_locale() -> None:
    assert locale_language({"LANG": "zh_CN.UTF-8"}) == "zh-CN"
    assert locale_language({"LANG": "zh_CN.UTF-8", "LC_ALL": "C"}) == "en"  # LC_ALL wins
    assert locale_language({"LC_MESSAGES": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}) == "zh-CN"
    assert locale_language({}) == "en"
