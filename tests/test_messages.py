"""What a finding says: a short headline, the reason apart, and a severity that is the rule's
own unless the headline says why it is lower (never higher)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from biaslint import engine
from biaslint.config import Settings
from biaslint.rules import RULES

ROOT = Path(__file__).resolve().parent.parent
RANK = {"info": 0, "warning": 1, "error": 2}
LOWERED = re.compile(r" \((info|warning): [^()]+\)$")


def _findings() -> list:  # type: ignore[type-arg]
    paths = [str(ROOT / "examples"), str(ROOT / "tests" / "fixtures")]
    result = engine.run(paths, jobs=1, settings=Settings())
    findings = list(result.findings)
    assert len(findings) > 50
    # every rule's invalid examples too: they exercise each rule's own cases
    for code, rule in RULES.items():
        for i, source in enumerate(rule.invalid):
            model = engine.check_source(f"{code}_{i}.py", source.encode(), Settings())
            findings.extend(model.findings)
    return findings


FINDINGS = _findings()


def test_every_rule_is_exercised() -> None:
    assert {f.code for f in FINDINGS} == set(RULES)


@pytest.mark.parametrize("code", sorted(RULES))
def test_headlines_are_short_and_reasons_given(code: str) -> None:
    for f in (f for f in FINDINGS if f.code == code):
        assert len(f.message) <= 100, f"{f.path}:{f.line}: {len(f.message)} characters: {f.message}"
        assert f.reason and f.reason not in f.message, f"{f.path}:{f.line}: no reason apart"


@pytest.mark.parametrize("code", sorted(RULES))
def test_severity_is_the_rules_or_says_why_it_is_lower(code: str) -> None:
    declared = RULES[code].severity
    for f in (f for f in FINDINGS if f.code == code):
        assert RANK[f.severity] <= RANK[declared], f"{f.path}:{f.line}: {f.severity} above {declared}"
        if f.severity != declared:
            match = LOWERED.search(f.message)
            assert match and match.group(1) == f.severity, f"{f.path}:{f.line}: lowered silently: {f.message}"
        else:
            assert not LOWERED.search(f.message), f"{f.path}:{f.line}: says lowered but is not"


def test_a_lowering_above_the_rules_severity_is_refused() -> None:
    from biaslint.model import FileModel
    from biaslint.rules.registry import Context

    model = engine.check_source("m.py", RULES["BIA201"].invalid[0].encode(), Settings())
    site = model.findings[0].site
    assert site is not None
    with pytest.raises(ValueError, match="lowered"):
        Context(FileModel("m.py"), Settings()).finding(site, "BIA201", "x", "y", ("warning", "no"))
