"""Every fixture and example declares its bias sites inline (``# expect: ...``); the
collector must find exactly those lines and agree on every declared field."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from conftest import ROOT, expectations, fixture_files

from biaslint.collect import analyse_source


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_sites_match_annotations(path: Path) -> None:
    expected = expectations(path)
    model = analyse_source(str(path), path.read_bytes())
    assert model.error is None, model.error
    by_line = defaultdict(list)
    for site in model.sites:
        by_line[site.line].append(site)
    problems = []
    exp_lines = {e.line for e in expected}
    for line in sorted(set(by_line) - exp_lines):
        for s in by_line[line]:
            problems.append(f"line {line}: unexpected site {s.layer_kind} {s.init_kind} ({s.api})")
    exp_by_line = defaultdict(list)
    for e in expected:
        exp_by_line[e.line].append(e)
    for line, exps in sorted(exp_by_line.items()):
        got = sorted(by_line.get(line, []), key=lambda s: s.col)
        if len(got) != len(exps):
            problems.append(f"line {line}: expected {len(exps)} site(s), found {len(got)}")
            continue
        for e, s in zip(exps, got):
            for key, want in e.fields.items():
                have = getattr(s, key)
                if key == "init_value" and have is not None:
                    have = round(have, 4)
                    want = round(want, 4)  # type: ignore[arg-type]
                if have != want:
                    problems.append(f"line {line}: {key} is {have!r}, expected {want!r}")
    assert not problems, "\n".join(problems)
