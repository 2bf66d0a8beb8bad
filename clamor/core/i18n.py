"""One catalogue for every UI string and message, zh-CN (default) and English side by side.

The catalogue lives in `catalogue.yaml` next to this module: `key: {zh-CN: …, en: …}`, and the
error messages of each domain in `messages/<domain>.yaml` (same form, keys `error.<domain>.…`).
Keys are dotted (`nav.dashboard`). A missing key is a bug, so `translate` shows the key itself
(visible in the UI) and tests check that every key used in the templates and in `keyed(…)`
errors exists in both languages.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

LANGUAGES: tuple[str, ...] = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
LANGUAGE_NAMES = {"zh-CN": "中文", "en": "English"}


HERE = Path(__file__).parent


@cache
def catalogue() -> dict[str, dict[str, str]]:
    entries: dict[str, dict[str, str]] = {}
    for path in [HERE / "catalogue.yaml", *sorted((HERE / "messages").glob("*.yaml"))]:
        for key, entry in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            if key in entries:
                raise ValueError(f"{path.name}: catalogue key {key!r} is defined twice")
            entries[key] = entry
    return entries


def normalise_language(value: str | None) -> str:
    """Map `zh`, `zh-cn`, `en-US` … onto a supported language; default zh-CN."""
    if not value:
        return DEFAULT_LANGUAGE
    lowered = value.strip().lower()
    if lowered.startswith("en"):
        return "en"
    if lowered.startswith("zh"):
        return "zh-CN"
    return DEFAULT_LANGUAGE


def locale_language(environ: Mapping[str, str]) -> str:
    """The language of a terminal's user, from the POSIX locale (`LC_ALL`, then `LC_MESSAGES`,
    then `LANG`): Chinese for `zh_*`, else English. The CLI follows the shell it runs in, not
    the web pages' default."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name)
        if value:
            return "zh-CN" if value.lower().startswith("zh") else "en"
    return "en"


def translate(key: str, language: str, /, **params: Any) -> str:
    entry = catalogue().get(key)
    if entry is None:
        return key
    text = entry.get(language) or entry.get(DEFAULT_LANGUAGE) or key
    return text.format(**params) if params else text


def pick(localised: dict[str, str] | None, language: str) -> str:
    """Choose one language from a `{zh-CN: …, en: …}` value stored as data (org names, duties)."""
    if not localised:
        return ""
    return (
        localised.get(language) or localised.get(DEFAULT_LANGUAGE) or next(iter(localised.values()))
    )


def action_label(action: str, language: str) -> str:
    """The words for an audit action (`incident.assess` → 评估定级) where the catalogue has them;
    "" where it has not (the page then shows the code)."""
    domain, _, rest = action.partition(".")
    candidates = {
        "incident": f"incidents.audit.{rest}",
        "complaint": f"complaints.action.{rest}",
    }
    key = candidates.get(domain)
    return translate(key, language) if key and key in catalogue() else ""
