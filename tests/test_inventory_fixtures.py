"""Every fixture and example declares its bias sites inline (``# expect: ...``); the
collector must find exactly those lines and agree on every declared field."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, expectations, fixture_files, site_problems

from biaslint.collect import analyse_source


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_sites_match_annotations(path: Path) -> None:
    expected = expectations(path)
    model = analyse_source(str(path), path.read_bytes())
    assert model.error is None, model.error
    problems = site_problems(expected, model.sites)
    assert not problems, "\n".join(problems)
