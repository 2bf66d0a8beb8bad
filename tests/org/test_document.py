from pathlib import Path

import pytest

from clamor.core.errors import ValidationError
from clamor.org.document import dump_org_yaml, parse_org_yaml

DEFAULT = (Path(__file__).resolve().parents[2] / "clamor" / "org" / "default_org.yaml").read_text(
    encoding="utf-8"
)


def test_the_plans_organisation_parses() -> None:
    document = parse_org_yaml(DEFAULT)
    assert [g.key for g in document.groups] == [
        "leadership",
        "complaint_handling",
        "opinion_monitoring",
        "logistics_support",
    ]
    leadership = document.groups[0]
    assert [(m.person, m.role) for m in leadership.members][:3] == [
        ("gm", "leader"),
        ("marketing_manager", "deputy"),
        ("cs_manager", "deputy"),
    ]
    assert "统筹" in leadership.duties["zh-CN"] and "coordinate" in leadership.duties["en"]


def test_dump_then_parse_is_the_same_document() -> None:
    document = parse_org_yaml(DEFAULT)
    assert parse_org_yaml(dump_org_yaml(document)) == document


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        ("groups: [", r"line \d+: not valid YAML"),
        ("", "line 1: the file is empty"),
        ("- a\n- b\n", "line 1: document: must be a mapping"),
        (
            "groups:\n  - key: g\n    name: G\n    members:\n"
            "      - {person: nobody, role: leader}\n",
            "line 5: groups\\[0\\].members\\[0\\].person: no person 'nobody'",
        ),
        (
            "people:\n  - key: p\n    name: P\ngroups:\n  - key: g\n    name: G\n    members:\n"
            "      - {person: p, role: boss}\n",
            "line 8: groups\\[0\\].members\\[0\\].role: must be one of",
        ),
        (
            "people:\n  - key: p\n    name: P\n  - key: p\n    name: Q\n",
            "line 4: people\\[1\\].key: 'p' is used twice",
        ),
        (
            "people:\n  - key: p\n    name: P\n    shoe: 42\n",
            "line 4: people\\[0\\].shoe: unknown field",
        ),
        (
            "people:\n  - key: p\n    name: P\n    email: not-an-address\n",
            "line 4: people\\[0\\].email",
        ),
        (
            "people:\n  - {key: a, name: A}\n  - {key: b, name: B}\n"
            "groups:\n  - key: g\n    name: G\n"
            "    members:\n      - {person: a, role: leader}\n      - {person: b, role: leader}\n",
            "line 9: .*a group has one leader",
        ),
        ("groups:\n  - key: Bad Key\n    name: G\n", "line 2: groups\\[0\\].key: use lower-case"),
        ("version: 7\n", "line 1: version: must be 1"),
    ],
)
def test_errors_name_the_line_and_field(broken: str, expected: str) -> None:
    with pytest.raises(ValidationError, match=expected):
        parse_org_yaml(broken)
