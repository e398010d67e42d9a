"""The flake8 plugin, through the real ``flake8`` in a subprocess: it must report exactly what
the engine (``biaslint check``) reports, honour its threshold options and flake8's ``# noqa``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES, FIXTURES, FRAMEWORK_DIRS, ROOT

from biaslint import __version__, engine
from biaslint.config import Settings

FORMAT = "%(path)s\t%(row)d\t%(col)d\t%(code)s\t%(text)s"
VGG = EXAMPLES / "vgg16_tf1.py"
VGG_BIA101_LINES = {154, 164}

Row = tuple[str, int, int, str, str]


def flake8(
    *args: str, cwd: Path = ROOT, stdin: str | None = None, isolated: bool = True
) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "flake8", *(["--isolated"] if isolated else []), *args]
    return subprocess.run(
        cmd, cwd=cwd, input=stdin, capture_output=True, text=True, encoding="utf-8", timeout=300
    )


def parse(out: str) -> set[Row]:
    rows = set()
    for line in out.splitlines():
        path, row, col, code, text = line.split("\t", 4)
        rows.add((os.path.normpath(path), int(row), int(col), code, text))
    return rows


def bia(*args: str, cwd: Path = ROOT, isolated: bool = True) -> set[Row]:
    proc = flake8("--select", "BIA", "--format", FORMAT, *args, cwd=cwd, isolated=isolated)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return parse(proc.stdout)


def engine_rows(paths: list[str], cwd: Path = ROOT) -> set[Row]:
    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = engine.run(paths, settings=Settings(), project=True)  # as `biaslint check` runs
    finally:
        os.chdir(old)
    # flake8 shows columns 1-based; the engine's are 0-based
    return {(os.path.normpath(f.path), f.line, f.col + 1, f.code, f.message) for f in result.findings}


def lines_of(rows: set[Row], code: str) -> set[int]:
    return {r[1] for r in rows if r[3] == code}


def describe(rows: set[Row]) -> str:
    return "\n".join(f"  {p}:{line}:{col}: {code}" for p, line, col, code, _ in sorted(rows)) or "  (none)"


# -- same findings as the engine ---------------------------------------------------------------
TARGETS = [str((FIXTURES / d).relative_to(ROOT)) for d in FRAMEWORK_DIRS] + [str(EXAMPLES.relative_to(ROOT))]


def test_flake8_reports_exactly_what_the_engine_reports() -> None:
    got = bia(*TARGETS)
    want = engine_rows(TARGETS)
    assert want, "the engine found nothing in the fixtures: the comparison would be vacuous"
    assert len({r[0] for r in want}) >= 5, "expected findings in several files"
    missing, extra = want - got, got - want
    assert not missing and not extra, (
        f"reported by the engine only:\n{describe(missing)}\nreported by flake8 only:\n{describe(extra)}"
    )


def test_stdin_matches_the_file() -> None:
    proc = flake8(
        "--select", "BIA", "--format", FORMAT, "--stdin-display-name", "examples/vgg16_tf1.py", "-",
        stdin=VGG.read_text(encoding="utf-8"),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    got = parse(proc.stdout)
    assert got == bia("examples/vgg16_tf1.py")
    assert lines_of(got, "BIA101") == VGG_BIA101_LINES


# -- options --------------------------------------------------------------------------------------
def test_large_constant_default_reports_bia101() -> None:
    rows = bia("examples/vgg16_tf1.py")
    assert lines_of(rows, "BIA101") == VGG_BIA101_LINES


def test_large_constant_option_changes_results() -> None:
    # two files and two jobs: the option must reach flake8's worker processes too
    files = ["examples/vgg16_tf1.py", "examples/alexnet_tf1.py"]
    assert {r[3] for r in bia("-j", "2", *files)} >= {"BIA101"}
    rows = bia("-j", "2", "--biaslint-large-constant", "2.0", *files)
    assert {r for r in rows if r[3] == "BIA101"} == set()
    assert lines_of(rows, "BIA301") == {154}, "the other rules must still run"


@pytest.mark.parametrize("config_name", ["setup.cfg", "tox.ini", ".flake8"])
def test_threshold_from_config_file(tmp_path: Path, config_name: str) -> None:
    shutil.copy(VGG, tmp_path / "vgg.py")
    assert lines_of(bia("vgg.py", cwd=tmp_path, isolated=False), "BIA101") == VGG_BIA101_LINES
    (tmp_path / config_name).write_text("[flake8]\nbiaslint-large-constant = 2.0\n", encoding="utf-8")
    rows = bia("vgg.py", cwd=tmp_path, isolated=False)
    assert lines_of(rows, "BIA101") == set()
    assert lines_of(rows, "BIA301") == {154}


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--biaslint-large-constant", "-1"),
        ("--biaslint-random-spread", "0"),
        ("--biaslint-absurd-constant", "nan"),
        ("--biaslint-large-constant", "big"),
    ],
)
def test_bad_threshold_is_a_clean_error(option: str, value: str) -> None:
    proc = flake8("--select", "BIA", f"{option}={value}", "examples/vgg16_tf1.py")
    assert proc.returncode != 0
    assert option.lstrip("-") in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "BIA101" not in proc.stdout


def test_bad_threshold_in_config_file(tmp_path: Path) -> None:
    shutil.copy(VGG, tmp_path / "vgg.py")
    (tmp_path / "setup.cfg").write_text("[flake8]\nbiaslint-absurd-constant = lots\n", encoding="utf-8")
    proc = flake8("--select", "BIA", "vgg.py", cwd=tmp_path, isolated=False)
    assert proc.returncode != 0
    assert "biaslint-absurd-constant" in proc.stdout + proc.stderr
    assert "'lots'" in proc.stdout + proc.stderr


# -- noqa: flake8 applies it (the plugin passes noqa=False), and agrees with `biaslint check` ------
NOQA_CASES = [
    pytest.param("# noqa: BIA101", {"BIA301"}, id="code"),
    pytest.param("# noqa:BIA101", {"BIA301"}, id="no-space-after-colon"),
    pytest.param("# NOQA: BIA101", {"BIA301"}, id="upper-noqa"),
    pytest.param("# noqa: BIA1", {"BIA301"}, id="prefix"),
    pytest.param("# noqa: BIA101,BIA301", set(), id="two-codes"),
    pytest.param("# noqa: BIA101 BIA301", set(), id="two-codes-space"),
    pytest.param("# noqa", set(), id="bare"),
    pytest.param("# noqa: BIA", set(), id="no-digits-is-bare"),  # flake8's pattern needs digits
    pytest.param("# noqa: E501", {"BIA101", "BIA301"}, id="other-code"),
    pytest.param("#noqa: BIA101", {"BIA101", "BIA301"}, id="no-space-after-hash"),  # not a noqa to flake8
    pytest.param("# noqa: bia101", {"BIA101", "BIA301"}, id="lower-code"),  # flake8 compares as written
]


@pytest.mark.parametrize(("comment", "left_on_154"), NOQA_CASES)
def test_noqa_on_the_finding_line(tmp_path: Path, comment: str, left_on_154: set[str]) -> None:
    lines = VGG.read_text(encoding="utf-8").splitlines(keepends=True)
    assert "tf.constant(1.0" in lines[153]
    lines[153] = f"{lines[153].rstrip()}  {comment}\n"
    (tmp_path / "vgg.py").write_text("".join(lines), encoding="utf-8")

    rows = bia("vgg.py", cwd=tmp_path)
    assert {r[3] for r in rows if r[1] == 154} == left_on_154
    assert lines_of(rows, "BIA101") - {154} == {164}, "noqa must silence only its own line"
    # the same comment means the same to `biaslint check` (the engine applies noqa itself)
    assert rows == engine_rows(["vgg.py"], cwd=tmp_path)


# -- plumbing -------------------------------------------------------------------------------------
def test_version_lists_biaslint() -> None:
    proc = flake8("--version")
    assert proc.returncode == 0, proc.stderr
    assert f"biaslint: {__version__}" in proc.stdout


def test_files_biaslint_cannot_analyse_yield_nothing() -> None:
    """Syntax errors are flake8's to report (E999); the plugin must neither crash nor add to them."""
    proc = flake8("--select", "BIA,E999", "--format", FORMAT, "tests/fixtures/bad")
    assert "Traceback" not in proc.stderr, proc.stderr
    rows = parse(proc.stdout)
    assert {(Path(r[0]).name, r[3]) for r in rows} == {("python2.py", "E999"), ("syntax_error.py", "E999")}


def test_flake8_never_runs_the_analysed_code(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    env = {**os.environ, "BIASLINT_MARKER": str(marker)}
    cmd = [
        sys.executable,
        "-m",
        "flake8",
        "--isolated",
        "--select",
        "BIA",
        "tests/fixtures/bad/marker_if_run.py",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    assert not marker.exists()
