"""docs/rules.md names the scenario tests of each rule: the names must exist, and every scenario test
must be named there, so the document cannot drift from the suite."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _scenario_tests() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests" / "scenarios").glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                names.add(node.name)
    return names


def test_rules_doc_names_only_existing_scenario_tests_and_all_of_them() -> None:
    named = set(re.findall(r"`(test_r\d+_\d+_\w+)`", (ROOT / "docs" / "rules.md").read_text()))
    existing = _scenario_tests()
    assert named - existing == set(), "docs/rules.md names tests that do not exist"
    assert existing - named == set(), "scenario tests missing from docs/rules.md"


def test_every_scenario_test_is_named_after_a_rule() -> None:
    assert all(re.match(r"test_r\d+_\d+_", name) for name in _scenario_tests())
