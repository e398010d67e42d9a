"""The probe's verdicts on cases with known answers, at default settings (PyTorch backend).

The full set, on both backends and with the LSTM cases (a minute each), is
``benchmarks/probe_known_answers.py``, which CI runs after the tests. Here: every case whose
surrogate is a digits network or the batch-norm demonstration, a few seconds each."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("torch")

_SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "probe_known_answers.py"
_spec = importlib.util.spec_from_file_location("probe_known_answers", _SCRIPT)
assert _spec is not None and _spec.loader is not None
known = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(known)

FAST = [
    (path, right) for path, right in known.CASES if "forget_gate" not in path.name and "lstm" not in path.name
]


def test_the_fast_set_covers_every_kind_of_answer() -> None:
    assert {frozenset({"better"}), frozenset({"equivalent"}), frozenset({"equivalent", "better"})} <= {
        right for _, right in FAST
    }
    assert len(FAST) >= 12


@pytest.mark.parametrize("path,right", FAST, ids=[f"{p.parent.name}/{p.name}" for p, _ in FAST])
def test_verdict_is_right(path: Path, right: frozenset[str]) -> None:
    results = known.probe(path, "torch")
    assert results, f"{path.name}: nothing was probed"
    for code, setup, verdict in results:
        assert verdict in right, f"{path.name}: {code} {setup}: {verdict}, right: {sorted(right)}"
