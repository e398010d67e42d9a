"""Fuzzing: generated programs and known crashers through ``check_source`` and the flake8 plugin.

Every program runs in a forked child with a timeout and a memory limit (``benchmarks/fuzz.py``),
so a hang, a segfault of libcst's native parser or a memory blowup fails one test instead of
taking pytest down. What counts as a failure: an exception escaping, an "internal error", a
timeout, a crash, running out of memory. A per-file error (a syntax error, "too deeply nested",
"not analysed: ...") is a fine answer.

The inputs in ``tests/fuzz_regressions/`` come from bug reports and fuzz runs; add the
minimised file of every new failure there.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REGRESSIONS = sorted((Path(__file__).resolve().parent / "fuzz_regressions").glob("*.py"))

_spec = importlib.util.spec_from_file_location("biaslint_fuzz", ROOT / "benchmarks" / "fuzz.py")
assert _spec is not None and _spec.loader is not None
fuzz = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = fuzz  # dataclasses look their module up
_spec.loader.exec_module(fuzz)

#: the bounded run: 200 programs in about 30 s on 2 cores (most of it forking children)
BOUNDED = {"n": 200, "seed": 0, "pool_grammar": 40, "pool_node": 2, "timeout": 10.0}
#: what each regression input may take, per stage, before it counts as a hang
REGRESSION_TIMEOUT = 20.0
ACCEPTED = {"ok", "skipped", "recursion"}


def test_bounded_fuzz_run_has_no_failures() -> None:
    pytest.importorskip("hypothesmith")
    pool = fuzz.hypothesmith_pool(BOUNDED["seed"], BOUNDED["pool_grammar"], BOUNDED["pool_node"])
    assert len(pool) >= 10
    report = fuzz.fuzz(
        BOUNDED["n"], seed=BOUNDED["seed"], timeout=BOUNDED["timeout"], jobs=2, out=None, pool=pool
    )
    assert len(report.outcomes) == BOUNDED["n"] * len(fuzz.STAGES)
    again = (
        f"python benchmarks/fuzz.py {BOUNDED['n']} --seed {BOUNDED['seed']} "
        f"--pool-grammar {BOUNDED['pool_grammar']} --pool-node {BOUNDED['pool_node']}"
    )
    assert not report.failures(), f"{report.summary()}\n\nminimise and reproduce with: {again}"


def test_generation_is_deterministic() -> None:
    pool = ["x = 1\n", "def f():\n    return (a, b)\n", "class C:\n    pass\n"]
    one = fuzz.Generator(7, pool)
    two = fuzz.Generator(7, list(pool))
    assert [one.program(i) for i in range(30)] == [two.program(i) for i in reversed(range(30))][::-1]
    assert [one.program(i) for i in range(30)] != [fuzz.Generator(8, pool).program(i) for i in range(30)]


def test_the_harness_sees_each_kind_of_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fault planted in ``check_source`` shows as what it is, in both stages."""
    import os
    import time

    from biaslint import engine
    from biaslint.model import FileError, FileModel

    def faulty(path: str, data: bytes, settings: object, **kwargs: object) -> FileModel:
        what = data.decode()
        if "boom" in what:
            raise ZeroDivisionError("planted")
        if "internal" in what:
            return FileModel(
                path, error=FileError(path, "internal error while analysing (X: y); please report it")
            )
        if "hang" in what:
            time.sleep(60)
        if "segfault" in what:
            os.kill(os.getpid(), 11)
        if "hog" in what:
            return FileModel(path, hints={"hog": bytearray(3 * 2**30)})  # over the 2 GiB RLIMIT_AS
        if "deep" in what:
            raise RecursionError
        return FileModel(path)

    monkeypatch.setattr(engine, "check_source", faulty)  # the children are forked: they see it
    # the plugin may let an exception through (exception) or turn it into a message (internal)
    cases = {
        "boom": ("exception", {"exception", "internal"}),
        "internal": ("internal", {"internal"}),
        "hang": ("timeout", {"timeout"}),
        "segfault": ("crash", {"crash"}),
        "hog": ("memory", {"memory"}),
    }
    for word, (direct, plugin) in cases.items():
        got = fuzz.check_file("t.py", f"import torch\n{word} = 1\n".encode(), timeout=2.0)
        assert got[0].kind == direct and got[1].kind in plugin, (word, got)
        assert all(o.failed for o in got)
    deep = fuzz.check_file("t.py", b"import torch\ndeep = 1\n", timeout=2.0)
    assert [o.kind for o in deep] == ["recursion", "recursion"]


@pytest.mark.parametrize("path", REGRESSIONS, ids=[p.name for p in REGRESSIONS])
def test_regression_input_is_analysed_without_failure(path: Path) -> None:
    outcomes = fuzz.check_file(str(path), path.read_bytes(), timeout=REGRESSION_TIMEOUT)
    assert [o.stage for o in outcomes] == list(fuzz.STAGES)
    bad = [o for o in outcomes if o.kind not in ACCEPTED]
    assert not bad, "\n\n".join(f"{o.stage}: {o.kind} {o.signature}\n{o.detail[-1500:]}" for o in bad)


def test_there_are_regression_inputs() -> None:
    assert len(REGRESSIONS) >= 11
