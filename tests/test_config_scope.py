"""Config means what it says, wherever biaslint starts: each file gets the config nearest above
it, its ``exclude`` / ``per-file-ignores`` globs are relative to that config's folder, and
``biaslint check`` (from the root or a subfolder) and ``flake8 --select BIA`` report the same
findings for the same files, project-aware helpers included."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, WARN, run_cli

from biaslint.config import glob_matches

Finding = tuple[str, int, str]  # (path relative to the project's parent, line, code)

HELPERS = """import tensorflow as tf


def bias_variable(shape, value):
    return tf.Variable(tf.constant(value, shape=shape))
"""
#: BIA101 at line 8 only when the helper in pkg/helpers.py is followed (project-aware)
MODEL = """import tensorflow as tf

from pkg.helpers import bias_variable


def net(x):
    w1 = tf.Variable(tf.truncated_normal([784, 256], stddev=0.1))
    b1 = bias_variable([256], 1.0)
    h1 = tf.nn.relu(tf.matmul(x, w1) + b1)
    w2 = tf.Variable(tf.truncated_normal([256, 10], stddev=0.1))
    b2 = tf.Variable(tf.zeros([10]))
    return tf.matmul(h1, w2) + b2
"""
SMALL = WARN.replace("tf.constant(1.0", "tf.constant(0.6")  # BIA101 only below the 0.8 threshold
PYPROJECT = """[tool.biaslint]
exclude = ["third_party/*"]
large-constant = 0.8

[tool.biaslint.per-file-ignores]
"tests/*" = ["BIA1"]
"""
#: what `biaslint check` reports from the project's root
EXPECTED = {("proj/pkg/model.py", 8, "BIA101"), ("proj/pkg/warn.py", 6, "BIA101")}


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    assert WARN.count("tf.constant(1.0") == 1
    write(
        tmp_path / "proj",
        {
            "pyproject.toml": PYPROJECT,
            "pkg/__init__.py": "",
            "pkg/helpers.py": HELPERS,
            "pkg/model.py": MODEL,
            "pkg/warn.py": WARN,
            "pkg/small.py": SMALL,
            "tests/test_warn.py": WARN,  # per-file-ignores
            "tests/unit/test_deep.py": WARN,  # per-file-ignores: "*" also crosses folders
            "third_party/vendored.py": WARN,  # exclude
        },
    )
    return tmp_path / "proj"


def check(capsys: pytest.CaptureFixture[str], cwd: Path, *argv: str) -> tuple[int, set[Finding]]:
    old = os.getcwd()
    os.chdir(cwd)
    try:
        code, out, err = run_cli(capsys, "check", "--format", "json", *argv)
    finally:
        os.chdir(old)
    assert code in (0, 1), err
    doc = json.loads(out)
    assert not doc["errors"], doc["errors"]
    return code, {_key(cwd, f["path"], f["line"], f["code"]) for f in doc["findings"]}


def flake8(cwd: Path, *argv: str, stdin: str | None = None) -> set[Finding]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "flake8", "--isolated", "--select", "BIA"]
    cmd += ["--format", "%(path)s\t%(row)d\t%(code)s\t%(text)s", *argv]
    proc = subprocess.run(cmd, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    return {_key(cwd, path, int(row), code) for path, row, code, _ in rows}


def _key(cwd: Path, path: str, line: int, code: str) -> Finding:
    # relative to the tmp folder that holds the project(s), whatever folder the run started in
    here = cwd.resolve()
    base = next(p for p in (here, *here.parents) if p.name.startswith("test_"))
    return os.path.relpath((cwd / path).resolve(), base).replace(os.sep, "/"), line, code


def under(findings: set[Finding], folder: str) -> set[Finding]:
    return {f for f in findings if f[0].startswith(f"{folder}/")}


# -- from anywhere, the same findings ---------------------------------------------------------
def test_check_from_the_root_applies_the_config(capsys: pytest.CaptureFixture[str], proj: Path) -> None:
    code, got = check(capsys, proj)
    assert (code, got) == (1, EXPECTED)
    # the command line overrides the config: the threshold, and a bare --exclude glob
    _, got = check(capsys, proj, "--large-constant", "0.5", "--exclude", "model.py")
    assert got == {("proj/pkg/warn.py", 6, "BIA101"), ("proj/pkg/small.py", 6, "BIA101")}


@pytest.mark.parametrize("sub", ["pkg", "tests", "tests/unit", "third_party"])
def test_check_from_a_subfolder_reports_what_the_root_reports(
    capsys: pytest.CaptureFixture[str], proj: Path, sub: str
) -> None:
    assert check(capsys, proj / sub, ".")[1] == under(EXPECTED, f"proj/{sub}")


def test_check_of_named_files_from_a_subfolder(capsys: pytest.CaptureFixture[str], proj: Path) -> None:
    """A file named on the command line (as pre-commit passes them) is excluded / ignored too."""
    names = ["../tests/test_warn.py", "../third_party/vendored.py", "model.py"]
    assert check(capsys, proj / "pkg", *names)[1] == {("proj/pkg/model.py", 8, "BIA101")}


@pytest.mark.parametrize("sub", ["", "pkg", "tests"])
def test_flake8_reports_what_check_reports(proj: Path, sub: str) -> None:
    assert flake8(proj / sub, ".") == under(EXPECTED, "proj" + (f"/{sub}" if sub else ""))


def test_flake8_threshold_option_overrides_the_config(proj: Path) -> None:
    got = flake8(proj / "pkg", "--biaslint-large-constant", "0.5", ".")
    assert got == EXPECTED | {("proj/pkg/small.py", 6, "BIA101")}


def test_flake8_broken_config_is_bia900_not_a_crash(proj: Path) -> None:
    (proj / "pyproject.toml").write_text("[tool.biaslint]\nselct = ['BIA1']\n", encoding="utf-8")
    got = flake8(proj / "pkg", "model.py")
    assert got == {("proj/pkg/model.py", 1, "BIA900")}


# -- several projects in one run ----------------------------------------------------------------
def test_each_file_uses_its_own_projects_config(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a/pyproject.toml": "[tool.biaslint]\nlarge-constant = 2.0\n",
            "a/warn.py": WARN,
            "b/setup.cfg": "[biaslint]\nfail-on = warning\nper-file-ignores =\n    sub/*: BIA101\n",
            "b/warn.py": WARN,
            "b/sub/warn.py": WARN,
        },
    )
    want = {("b/warn.py", 6, "BIA101")}
    assert check(capsys, tmp_path, "a", "b") == (1, want)
    assert check(capsys, tmp_path / "a", ".", "../b") == (1, want)
    assert flake8(tmp_path, "a", "b") == want


def test_fail_on_is_each_files_own(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # a's findings are warnings, which its config does not fail on; b's config fails on them
    write(tmp_path, {"a/pyproject.toml": '[tool.biaslint]\nfail-on = "error"\n', "a/warn.py": WARN})
    assert check(capsys, tmp_path, "a")[0] == 0
    write(tmp_path, {"b/setup.cfg": "[biaslint]\nfail-on = warning\n", "b/warn.py": WARN})
    assert check(capsys, tmp_path, "a", "b")[0] == 1


# -- stdin ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cwd", "name", "source", "want"),
    [
        ("", "pkg/model.py", MODEL, {("proj/pkg/model.py", 8, "BIA101")}),  # project-aware too
        ("pkg", "model.py", MODEL, {("proj/pkg/model.py", 8, "BIA101")}),
        ("", "tests/test_new.py", WARN, set()),  # per-file-ignores
        ("pkg", "../tests/test_new.py", WARN, set()),
        ("", "third_party/new.py", WARN, set()),  # exclude
        ("", "pkg/new_small.py", SMALL, set()),  # the threshold
    ],
    ids=["project-aware", "from-pkg", "ignored", "ignored-from-pkg", "excluded", "threshold"],
)
def test_stdin_filename_picks_the_config(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    proj: Path,
    cwd: str,
    name: str,
    source: str,
    want: set[Finding],
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(source.encode())))
    assert check(capsys, proj / cwd, "-", "--stdin-filename", name)[1] == want


def test_flake8_stdin_display_name_picks_the_config(proj: Path) -> None:
    assert flake8(proj, "--stdin-display-name", "pkg/model.py", "-", stdin=MODEL) == {
        ("proj/pkg/model.py", 8, "BIA101")
    }
    assert flake8(proj, "--stdin-display-name", "tests/test_new.py", "-", stdin=WARN) == set()


def test_stdin_filename_in_another_project(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write(tmp_path, {"a/pyproject.toml": "[tool.biaslint]\nlarge-constant = 2.0\n", "b/x.py": ""})
    for name, want in (("a/new.py", set()), ("b/new.py", {("b/new.py", 6, "BIA101")})):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(WARN.encode())))
        assert check(capsys, tmp_path / "b", "-", "--stdin-filename", f"../{name}")[1] == want


# -- --config ------------------------------------------------------------------------------------
def test_config_option_applies_to_every_file_relative_to_its_folder(
    capsys: pytest.CaptureFixture[str], proj: Path
) -> None:
    """A TOML file with [tool.biaslint] (not named pyproject.toml): it replaces the project's
    pyproject.toml for every file, and its globs are relative to its own folder."""
    write(proj, {"lint/biaslint.toml": '[tool.biaslint]\nexclude = ["../pkg/warn.py"]\n'})
    got = check(capsys, proj / "pkg", "--config", "../lint/biaslint.toml", ".", "../tests")[1]
    assert got == {
        ("proj/pkg/model.py", 8, "BIA101"),
        ("proj/pkg/small.py", 6, "BIA101"),  # the default threshold, not the pyproject's
        ("proj/tests/test_warn.py", 6, "BIA101"),  # the pyproject's per-file-ignores are not read
        ("proj/tests/unit/test_deep.py", 6, "BIA101"),
    }


# -- the globs -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "pattern", "folder", "matches"),
    [
        ("/p/tests/a.py", "tests/*", False, True),
        ("/p/tests/unit/a.py", "tests/*", False, True),
        ("/p/pkg/tests/a.py", "tests/*", False, False),  # anchored at the config's folder
        ("/p/pkg/tests/a.py", "*/tests/*", False, True),
        ("/p/pkg/gen/a.py", "pkg/gen", False, True),  # a folder: every file below it
        ("/p/pkg/gen", "pkg/gen/*", True, True),  # ... so the walk can skip it
        ("/p/pkg/gen", "pkg/gen/*", False, False),
        ("/p/x/y/msg_pb2.py", "*_pb2.py", False, True),  # a bare glob: any file name ...
        ("/p/x/third_party/a.py", "third_party", False, True),  # ... or folder name
        ("/p/a.py", "./a.py", False, True),
        ("/p/a.py", "/p/*.py", False, True),  # absolute
        ("/elsewhere/tests/a.py", "tests/*", False, False),  # outside the config's folder
        ("/p/tests_old/a.py", "tests", False, False),
    ],
)
def test_glob_matches(path: str, pattern: str, folder: bool, matches: bool) -> None:
    assert glob_matches(path, pattern, "/p", folder) is matches
