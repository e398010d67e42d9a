"""Rules: their own examples, their documentation, the declared findings of every fixture,
and the seed case (the TF1 VGG16 with conv 0.0 / fully-connected 1.0)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import ROOT, fixture_files

from biaslint import engine
from biaslint.config import Settings
from biaslint.model import Finding
from biaslint.rules import RULES

_FINDS = re.compile(r"#\s*finds:\s*([A-Z0-9, ]+)")


def check_text(source: str, name: str = "snippet.py", **settings: float) -> list[Finding]:
    model = engine.check_source(name, source.encode(), Settings(**settings))  # type: ignore[arg-type]
    assert model.error is None, model.error
    return model.findings


EXAMPLES = [(code, i, src) for code, r in RULES.items() for i, src in enumerate(r.invalid)]
VALID = [(code, i, src) for code, r in RULES.items() for i, src in enumerate(r.valid)]


@pytest.mark.parametrize(("code", "i", "source"), EXAMPLES, ids=[f"{c}-invalid-{i}" for c, i, _ in EXAMPLES])
def test_invalid_example_triggers_its_rule(code: str, i: int, source: str) -> None:
    assert code in {f.code for f in check_text(source)}


@pytest.mark.parametrize(("code", "i", "source"), VALID, ids=[f"{c}-valid-{i}" for c, i, _ in VALID])
def test_valid_example_stays_quiet(code: str, i: int, source: str) -> None:
    assert code not in {f.code for f in check_text(source)}


@pytest.mark.parametrize("code", sorted(RULES))
def test_every_rule_is_documented_with_examples(code: str) -> None:
    rule = RULES[code]
    assert rule.invalid and rule.valid
    assert rule.what and rule.why and rule.example and rule.instead and rule.sources
    doc = rule.doc()
    for heading in ("What it does", "Why", "Example", "Use instead", "Sources"):
        assert heading in doc


def test_catalog_is_complete() -> None:
    expected = {
        f"BIA{n}"
        for n in (
            101,
            102,
            103,
            104,
            105,
            201,
            202,
            203,
            204,
            205,
            206,
            301,
            302,
            303,
            401,
            402,
            403,
            404,
            501,
            502,
            601,
        )
    }
    assert set(RULES) == expected


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_fixture_findings_match_annotations(path: Path) -> None:
    """``# finds: BIA101,BIA301`` marks every line that must have findings; all others must not."""
    expected = defaultdict(set)
    for lineno, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = _FINDS.search(text)
        if m:
            expected[lineno] = {c.strip() for c in m.group(1).split(",") if c.strip()}
    got = defaultdict(set)
    for f in engine.check_source(str(path), path.read_bytes(), Settings()).findings:
        got[f.line].add(f.code)
    assert dict(got) == dict(expected)


def _vgg_findings(source: str) -> dict[int, dict[str, Finding]]:
    out: dict[int, dict[str, Finding]] = defaultdict(dict)
    for f in check_text(source, "vgg16_tf1.py"):
        out[f.line][f.code] = f
    return out


def test_seed_case_vgg16() -> None:
    source = (ROOT / "examples" / "vgg16_tf1.py").read_text()
    lines = source.splitlines()
    fc1 = next(i for i, t in enumerate(lines, 1) if "fc1b = tf.Variable" in t)
    fc2 = next(i for i, t in enumerate(lines, 1) if "fc2b = tf.Variable" in t)
    fc3 = next(i for i, t in enumerate(lines, 1) if "fc3b = tf.Variable" in t)
    found = _vgg_findings(source)
    assert "BIA101" in found[fc1] and "BIA101" in found[fc2]
    why = found[fc1]["BIA301"].reason
    assert "AlexNet" in why and "VGG used zeros" in why and "softmax" in why
    assert "truncated_normal(0.1)" in found[fc1]["BIA101"].message
    assert not {c for c in found.get(fc3, {}) if c.startswith(("BIA1", "BIA5"))}
    # the file loads pretrained weights: value findings are info and say why
    assert found[fc1]["BIA101"].severity == "info" and "placeholder" in found[fc1]["BIA101"].reason
    assert found[fc1]["BIA101"].message.endswith("(info: weights loaded later)")
    # without the loading, the same value is a warning
    unloaded = source.replace(".load_weights(", ".summary(").replace("def load_weights", "def _unused")
    unloaded = re.sub(r"np\.load\(", "dict(", unloaded)
    again = _vgg_findings(unloaded)
    assert again[fc1]["BIA101"].severity == "warning"
    assert "placeholder" not in again[fc1]["BIA101"].reason and "loaded" not in again[fc1]["BIA101"].message


def test_thresholds_are_settings() -> None:
    source = RULES["BIA101"].invalid[0]
    assert "BIA101" in {f.code for f in check_text(source)}
    assert "BIA101" not in {f.code for f in check_text(source, large_constant=2.0)}
    spread = RULES["BIA103"].invalid[1]  # half-width 0.5
    assert "BIA103" not in {f.code for f in check_text(spread, random_spread=0.6)}


def test_noqa_silences_only_what_it_names(tmp_path: Path) -> None:
    src = (ROOT / "examples" / "vgg16_tf1.py").read_text().splitlines()
    fc1 = next(i for i, t in enumerate(src) if "fc1b = tf.Variable" in t)
    fc2 = next(i for i, t in enumerate(src) if "fc2b = tf.Variable" in t)
    src[fc1] = src[fc1].split("  #")[0] + "  # noqa: BIA101"
    src[fc2] = src[fc2].split("  #")[0] + "  # noqa"
    findings = check_text("\n".join(src))
    codes = {(f.line, f.code) for f in findings}
    assert (fc1 + 1, "BIA101") not in codes and (fc1 + 1, "BIA301") in codes
    assert not [f for f in findings if f.line == fc2 + 1]


def test_settings_select_and_ignore_prefixes() -> None:
    s = Settings(select=["BIA1", "BIA3"], ignore=["BIA30"])
    assert s.enabled("BIA101") and not s.enabled("BIA301") and not s.enabled("BIA201")
    assert Settings(select=["BIA"], ignore=["BIA1"]).enabled("BIA201")
    s = Settings(per_file_ignores={"tests/*": ["BIA1"]})
    assert not s.enabled("BIA101", "tests/test_x.py") and s.enabled("BIA101", "src/x.py")
