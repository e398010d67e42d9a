"""Never crash, never hang, never lose the run: hostile trees, crashing workers, signals, pipes.

The input shapes come from a bug report: a file that segfaults libcst's native parser, a FIFO
and a `/dev/zero` symlink named `*.py`, numbers that are not finite, a file over the size limit.
Every other file's results must survive, the exit status must stay 0/1/2 (130/143 for signals),
and flake8 must never see an exception.
"""

from __future__ import annotations

import ast
import faulthandler
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

from biaslint import engine
from biaslint.cli import main
from biaslint.config import Settings
from biaslint.flake8_plugin import BiasLintChecker

GOOD = """import tensorflow as tf


def net(x, w):
    b = tf.Variable(tf.constant(1.0, shape=[256]))
    return tf.nn.relu(tf.matmul(x, w) + b)
"""
CRASHER = "import torch\nx = " + " and ".join(["a"] * 8000) + "\n"
DOTTED = "import torch\nimport " + ".".join(["a"] * 10_000) + "\n"
NON_FINITE = (
    """import torch
import torch.nn as nn

lstm = nn.LSTM(4, 8)
lstm.bias_ih_l0.chunk(float("inf"))
lstm.bias_ih_l0.chunk(10**10)
gates = lstm.bias_hh_l0[float("nan"):]
nn.Linear(3, float("inf"))
nn.Linear(3, 1"""
    + "0" * 400
    + """)
"""
)


def hostile_tree(root: Path, good: int = 3) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(good):
        (root / f"good{i}.py").write_text(GOOD)
    (root / "crash.py").write_text(CRASHER)
    (root / "dotted.py").write_text(DOTTED)
    (root / "nonfinite.py").write_text(NON_FINITE)
    (root / "lone_cr.py").write_bytes(b"import tensorflow as tf\rd=tf\ne")
    os.mkfifo(root / "fifo.py")
    (root / "zero.py").symlink_to("/dev/zero")
    return root


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_hostile_tree_keeps_every_good_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: str
) -> None:
    tree = hostile_tree(tmp_path / "tree", good=3 if jobs == "1" else 10)
    code = main(["check", "--jobs", jobs, str(tree)])
    out, err = capsys.readouterr()
    assert code == 2  # a file could not be analysed
    assert "Traceback" not in out + err and "internal error" not in out + err
    goods = [line for line in out.splitlines() if "/good" in line and "BIA101" in line]
    assert len(goods) == (3 if jobs == "1" else 10)
    assert "crash.py:0:1: E902" in out and "would crash the parser" in out
    assert "dotted.py:0:1: E902" in out
    assert "nonfinite.py" not in err
    assert "fifo.py: a FIFO, not a source file; skipped" in err
    assert "zero.py: a device, not a source file; skipped" in err


def test_special_files_named_on_the_command_line_are_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.mkfifo(tmp_path / "fifo.py")
    code = main(["check", str(tmp_path / "fifo.py")])
    out = capsys.readouterr().out
    assert code == 2 and "a FIFO, not a source file; not read" in out


def test_reading_stops_at_the_size_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "MAX_BYTES", 100)
    big = tmp_path / "big.py"
    big.write_text(GOOD * 10)
    reads: list[int] = []
    real_open = open

    def spy_open(path, mode="r", *a, **k):  # type: ignore[no-untyped-def]
        fh = real_open(path, mode, *a, **k)
        if str(path) == str(big):
            real_read = fh.read
            fh.read = lambda n=-1: reads.append(n) or real_read(n)  # type: ignore[method-assign]
        return fh

    monkeypatch.setattr("builtins.open", spy_open)
    assert main(["check", str(big)]) == 2
    assert "file too large" in capsys.readouterr().out
    assert reads == [101]


def _segfault_on_crash_file(target, *args, **kwargs):  # type: ignore[no-untyped-def]
    if target.path.endswith("boom.py"):
        faulthandler.disable()  # pytest's handler, inherited by the fork, would print a trace
        os.kill(os.getpid(), signal.SIGSEGV)
    return _REAL_ANALYSE(target, *args, **kwargs)


_REAL_ANALYSE = engine.analyse_target


def test_a_worker_killed_by_a_file_loses_only_that_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A native crash the screen does not know: the pool breaks, the unfinished chunks run
    again file by file in fresh processes (forked, so they inherit this patch)."""
    for i in range(20):
        (tmp_path / f"m{i:02d}.py").write_text(GOOD)
    (tmp_path / "m05boom.py").write_text(GOOD)
    monkeypatch.setattr(engine, "analyse_target", _segfault_on_crash_file)
    result = engine.run([str(tmp_path)], jobs=2, settings=Settings())
    assert len(result.files) == 21
    crashed = [e for e in result.errors if e.path.endswith("boom.py")]
    assert len(crashed) == 1 and "the parser crashed on this file" in crashed[0].message
    assert len(result.errors) == 1
    assert sum(1 for f in result.findings if f.code == "BIA101") == 20


def test_jobs_is_capped_at_the_cpu_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(10):
        (tmp_path / f"m{i}.py").write_text(GOOD)
    seen: list[int] = []

    def fake_pool(targets, settings, project, jobs):  # type: ignore[no-untyped-def]
        seen.append(jobs)
        return [engine.analyse_target(t, settings=settings) for t in targets]

    monkeypatch.setattr(engine, "_run_pool", fake_pool)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    engine.run([str(tmp_path)], jobs=32)
    assert seen == [2]


# --------------------------------------------------------------------------- flake8 plugin
def _flake8(path: Path) -> list[tuple[int, int, str]]:
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    lines = text.splitlines(keepends=True)
    try:
        tree = ast.parse(text)
    except (SyntaxError, RecursionError, MemoryError):
        tree = ast.Module(body=[], type_ignores=[])
    return [(line, col, msg) for line, col, msg, _ in BiasLintChecker(tree, str(path), lines).run()]


def test_flake8_plugin_reports_instead_of_raising(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = hostile_tree(tmp_path / "tree", good=1)
    assert (
        _flake8(tree / "crash.py")
        == [
            (1, 0, _flake8(tree / "crash.py")[0][2]),
        ]
        and "BIA900" in _flake8(tree / "crash.py")[0][2]
    )
    assert all("BIA900" not in m for _, _, m in _flake8(tree / "nonfinite.py"))
    assert any("BIA101" in m for _, _, m in _flake8(tree / "good0.py"))

    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise ValueError("something biaslint did not expect")

    monkeypatch.setattr(engine, "check_source", boom)
    [(line, col, msg)] = _flake8(tree / "good0.py")
    assert (line, col) == (1, 0) and msg.startswith("BIA900 ") and "ValueError" in msg


def test_flake8_plugin_applies_the_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "MAX_BYTES", 50)
    path = tmp_path / "big.py"
    path.write_text(GOOD)
    [(line, _, msg)] = _flake8(path)
    assert line == 1 and "BIA900" in msg and "too large" in msg


def test_flake8_on_the_hostile_files_prints_no_traceback(tmp_path: Path) -> None:
    pytest.importorskip("flake8")
    tree = hostile_tree(tmp_path / "tree", good=1)
    files = [str(tree / n) for n in ("good0.py", "crash.py", "dotted.py", "nonfinite.py", "lone_cr.py")]
    proc = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "BIA", *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "BIA101" in proc.stdout and "crash.py:1:1: BIA900" in proc.stdout
    assert proc.returncode == 1


# --------------------------------------------------------------------------- signals, pipes
def _slow_tree(root: Path, n: int = 400) -> Path:
    root.mkdir()
    body = (ROOT / "examples" / "vgg16_tf1.py").read_text(encoding="utf-8")
    for i in range(n):
        (root / f"m{i:03d}.py").write_text(body)
    return root


def _start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "biaslint", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: orphaned workers would stay in it
    )


def _children_started(pid: int, within: float = 60.0) -> bool:
    """Wait until ``pid`` has child processes (the pool's workers), as /proc shows them."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                text = status.read_text()
            except OSError:
                continue
            if f"\nPPid:\t{pid}\n" in text:
                return True
        time.sleep(0.1)
    return False


def _group_gone(pgid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize(
    ("sig", "status", "word"), [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")]
)
def test_signals_stop_the_workers_with_one_line(tmp_path: Path, sig: int, status: int, word: str) -> None:
    tree = _slow_tree(tmp_path / "tree")
    proc = _start(["check", "--jobs", "2", str(tree)], tmp_path)
    assert _children_started(proc.pid), "the pool's workers never started"
    time.sleep(0.5)  # the workers are at work
    assert proc.poll() is None, "the run finished before it could be interrupted"
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)  # Ctrl-C reaches the whole foreground group
    else:
        proc.send_signal(sig)  # `kill PID` reaches the parent alone
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == status
    assert err.strip() == f"biaslint: {word}"
    assert _group_gone(proc.pid), "worker processes were left behind"


def test_a_closed_stdout_keeps_the_exit_status(tmp_path: Path) -> None:
    """`biaslint check . | head -1`: the findings still make it exit 1, without a traceback."""
    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(40):
        (tree / f"m{i}.py").write_text(GOOD)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "biaslint", "check", "--jobs", "1", str(tree)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_python_m_does_not_import_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "json.py").write_text("raise SystemExit('the analysed tree was imported')\n")
    (tmp_path / "libcst.py").write_text("raise SystemExit('the analysed tree was imported')\n")
    (tmp_path / "model.py").write_text(GOOD)
    env = {**os.environ, "PYTHONPATH": ""}
    proc = subprocess.run(
        [sys.executable, "-m", "biaslint", "check", "--format", "json", "model.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "imported" not in proc.stderr + proc.stdout
    assert proc.returncode == 1 and '"BIA101"' in proc.stdout


@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        (["--model", "m:f", "--input-shape", "3,a"], "--input-shape"),
        (["--model", "m:f", "--input-shape", "0,3"], "--input-shape"),
        (["--model", "m:f"], "--input-shape"),
        (["--plot", "/no/such/folder/loss.png"], "does not exist"),
    ],
)
def test_probe_options_are_checked_before_training(
    capsys: pytest.CaptureFixture[str], flags: list[str], needle: str
) -> None:
    code = main(["probe", str(ROOT / "examples" / "vgg16_tf1.py"), *flags])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and needle in err


def test_a_coding_cookie_is_honoured(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """PEP 263: a latin-1 file that says so is valid Python; one that does not is not UTF-8."""
    body = GOOD.encode("utf-8")
    declared = tmp_path / "declared.py"
    declared.write_bytes(b"# -*- coding: latin-1 -*-\n# Mod\xe8le\n" + body)
    undeclared = tmp_path / "undeclared.py"
    undeclared.write_bytes(b"# Mod\xe8le\n" + body)
    assert main(["check", str(declared)]) == 1
    assert "BIA101" in capsys.readouterr().out
    assert main(["check", str(undeclared)]) == 2
    assert "not valid UTF-8: byte 0xe8 at line 1" in capsys.readouterr().out
