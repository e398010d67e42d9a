"""Malformed configuration: one line on stderr naming the file, exit 2, never a traceback; and
configuration means what it says (no silent coercion, no silently empty selection)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import WARN
from conftest import run_cli as run

HUGE = "9" * 400


def _id(value: object) -> str:
    """Readable test ids: long texts (400-digit numbers, UTF-16 bytes) cut short."""
    text = repr(value)
    return text if len(text) <= 50 else f"{text[:47]}..."


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "warn.py").write_text(WARN)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def assert_one_line_error(
    capsys: pytest.CaptureFixture[str], argv: list[str], name: str, needle: str = ""
) -> str:
    code, out, err = run(capsys, *argv)
    assert "Traceback" not in out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (code, out, err)
    assert len(lines) == 1 and err.count("\n") == 1, err
    assert lines[0].startswith("biaslint: error: "), err
    assert name in lines[0], err
    assert needle in lines[0], err
    assert out == ""
    return lines[0]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("tool = 5\n", "'tool' must be a table"),
        ("[[tool]]\nbiaslint = 1\n", "'tool' must be a table"),
        ("[tool]\nbiaslint = 5\n", "'tool.biaslint' must be a table"),
        ('[tool]\nbiaslint = "BIA1"\n', "'tool.biaslint' must be a table"),
        ('[tool.biaslint]\nselect = "BIA1"\n', "'select' must be a list of strings"),
        ('[tool.biaslint]\nignore = "BIA1"\n', "'ignore' must be a list of strings"),
        ('[tool.biaslint]\nexclude = "x/*"\n', "'exclude' must be a list of strings"),
        ("[tool.biaslint]\nselect = [1, 2]\n", "'select' must be a list of strings"),
        ('[tool.biaslint]\nselect = ["BIA1", true]\n', "'select' must be a list of strings"),
        ("[tool.biaslint]\nselect = []\n", "'select' names no rule"),
        ('[tool.biaslint]\nselect = ["", " "]\n', "'select' names no rule"),
        ('[tool.biaslint]\nselect = ["bia1"]\n', "unknown rule code or prefix 'bia1'"),
        (f"[tool.biaslint]\nlarge-constant = {HUGE}\n", "must be a finite positive number"),
        (f"[tool.biaslint]\nrandom-spread = -{HUGE}\n", "must be a finite positive number"),
        ("[tool.biaslint]\nlarge-constant = true\n", "'large-constant' must be a number, not true"),
        ("[tool.biaslint]\nabsurd-constant = false\n", "'absurd-constant' must be a number"),
        ("[tool.biaslint]\nlarge-constant = nan\n", "must be a finite positive number"),
        ("[tool.biaslint]\nlarge-constant = inf\n", "must be a finite positive number"),
        ("[tool.biaslint]\nlarge-constant = -inf\n", "must be a finite positive number"),
        ("[tool.biaslint]\nlarge-constant = 1e400\n", "must be a finite positive number"),
        ("[tool.biaslint]\nlarge-constant = 0\n", "must be a finite positive number"),
        ("[tool.biaslint]\nlarge-constant = -1.5\n", "must be a finite positive number"),
        ('[tool.biaslint]\nlarge-constant = "2.5"\n', "'large-constant' must be a number"),
        ("[tool.biaslint]\nlarge-constant = [1]\n", "'large-constant' must be a number"),
        ("[tool.biaslint]\nlarge-constant = 1979-05-27\n", "'large-constant' must be a number"),
        ("[tool.biaslint]\nlarge-constant = 2\nlarge_constant = 3\n", "given twice"),
        ("[tool.biaslint]\nselct = ['BIA1']\n", "did you mean 'select'?"),
        ("[tool.biaslint]\ncolour = 'always'\n", "known: absurd-constant, exclude, fail-on, ignore"),
        ('[tool.biaslint]\nper-file-ignores = "x.py: BIA1"\n', "must be a table mapping globs"),
        ('[tool.biaslint.per-file-ignores]\n"x.py" = "BIA1"\n', "must be a list of strings"),
        ('[tool.biaslint.per-file-ignores]\n"x.py" = ["BIA999"]\n', "unknown rule code"),
        ("[tool.biaslint\n", "invalid TOML: Expected ']'"),
        ("[tool.biaslint]\nselect = [\n", "invalid TOML"),
        ("[tool.biaslint]\nselect = ['BIA1']\nselect = ['BIA2']\n", "invalid TOML"),
        (f"[tool.biaslint]\nlarge-constant = {'9' * 5000}\n", "invalid TOML"),
    ],
    ids=_id,
)
def test_bad_pyproject(capsys: pytest.CaptureFixture[str], project: Path, text: str, needle: str) -> None:
    (project / "pyproject.toml").write_text(text, encoding="utf-8")
    assert_one_line_error(capsys, ["check", "warn.py"], "pyproject.toml", needle)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("select = BIA1\n[biaslint]\n", "line 1: 'select = BIA1' comes before any [section] header"),
        ("[biaslint]\nselect = BIA1\nselect = BIA2\n", "line 3: 'select' is set twice in [biaslint]"),
        ("[biaslint]\nselect = BIA1\n[biaslint]\n", "line 3: section [biaslint] appears twice"),
        ("[biaslint]\nselect = BIA1\n  more\ngarbage\n[x\n", "line 4: cannot parse 'garbage' (and 1 more)"),
        ("[biaslint]\nlarge-constant = 50%\n", "'large-constant' must be a finite positive number"),
        ("[biaslint]\nselect = BIA%(x)s\n", "unknown rule code or prefix 'BIA%(x)s'"),
        ("[biaslint]\nselect = ,,,\n", "'select' names no rule"),
        ("[biaslint]\nselect =\n", "'select' names no rule"),
        ("[biaslint]\nlarge-constant = true\n", "'large-constant' must be a finite positive number"),
        ("[biaslint]\nlarge-constant = nan\n", "must be a finite positive number"),
        ("[biaslint]\nlarge-constant = 1e400\n", "must be a finite positive number"),
        (f"[biaslint]\nlarge-constant = {HUGE}\n", "must be a finite positive number"),
        ("[biaslint]\nlarge-constant = 2\nlarge_constant = 3\n", "given twice"),
        ("[biaslint]\nignroe = BIA1\n", "did you mean 'ignore'?"),
        ("[biaslint]\nper-file-ignores =\n    x.py BIA101\n", "lines look like 'GLOB: CODE,CODE'"),
    ],
    ids=_id,
)
def test_bad_setup_cfg(capsys: pytest.CaptureFixture[str], project: Path, text: str, needle: str) -> None:
    (project / "setup.cfg").write_text(text, encoding="utf-8")
    assert_one_line_error(capsys, ["check", "warn.py"], "setup.cfg", needle)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("pyproject.toml", b"[tool.biaslint]\nlarge-constant = 2.5 # \xff\n"),
        ("pyproject.toml", "[tool.biaslint]\nlarge-constant = 2.5\n".encode("utf-16")),
        ("pyproject.toml", "[tool.biaslint]\nlarge-constant = 2.5\n".encode("utf-32")),
        ("setup.cfg", b"[biaslint]\nlarge-constant = 2.5 ; \xe9t\xe9\n"),
        ("setup.cfg", "[biaslint]\nlarge-constant = 2.5\n".encode("utf-16")),
    ],
    ids=_id,
)
def test_undecodable_file_that_may_hold_our_section(
    capsys: pytest.CaptureFixture[str], project: Path, name: str, data: bytes
) -> None:
    (project / name).write_bytes(data)
    assert_one_line_error(capsys, ["check", "warn.py"], name, "not UTF-8")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("pyproject.toml", b"[tool.black]\n# \xff\xfe\n"),
        ("pyproject.toml", "[tool.black]\nline-length = 99\n".encode("utf-16")),
        ("pyproject.toml", b"[tool.black\n"),
        ("setup.cfg", b"[flake8]\n# caf\xe9\n"),
        ("setup.cfg", b"[flake8]\nmax-line-length = 99\nmax-line-length = 100\n"),
        ("setup.cfg", b"max-line-length = 99\n"),
    ],
    ids=_id,
)
def test_broken_file_that_cannot_hold_our_section_is_skipped(
    capsys: pytest.CaptureFixture[str], project: Path, name: str, data: bytes
) -> None:
    """The decision documented in ``config._read_section``: a file on the way up that is not
    UTF-8 or not valid TOML/INI and never mentions biaslint is not ours to judge; the walk goes
    on past it to the config above."""
    (project / "pyproject.toml").write_text("[tool.biaslint]\nlarge-constant = 2.5\n")
    sub = project / "pkg"
    sub.mkdir()
    (sub / "warn.py").write_text(WARN)
    (sub / name).write_bytes(data)
    # the broken file is skipped and the config one level up (threshold 2.5) is used: clean
    assert run(capsys, "check", "pkg/warn.py") == (0, "", "")
    # without that config the defaults apply: a finding, and still no error
    (project / "pyproject.toml").unlink()
    code, out, err = run(capsys, "check", "pkg/warn.py")
    assert (code, err.strip()) == (1, "1 finding (1 warning) in 1 file") and "BIA101" in out


@pytest.mark.parametrize(
    ("argv", "name", "needle"),
    [
        (["--select", ",,,"], "command line", "'--select' names no rule"),
        (["--select="], "command line", "'--select' names no rule"),
        (["--large-constant", "nan"], "command line", "'--large-constant' must be a finite positive"),
        (["--random-spread", "-1"], "command line", "'--random-spread' must be a finite positive"),
        (["--absurd-constant", "inf"], "command line", "'--absurd-constant' must be a finite positive"),
        (["--absurd-constant", "0"], "command line", "'--absurd-constant' must be a finite positive"),
        (["--config", "missing.toml"], "missing.toml", "no such config file"),
        (["--config", "no/such/dir/"], "no/such/dir", "no such config file"),
        (["--config", "sub"], "sub", "no pyproject.toml with [tool.biaslint]"),
        (["--config", "other.toml"], "other.toml", "has no [tool.biaslint] section"),
        (["--config", "tox.ini"], "tox.ini", "has no [biaslint] section"),
        (["--config", "latin1.cfg"], "latin1.cfg", "not UTF-8"),
        (["--config", "broken.toml"], "broken.toml", "invalid TOML"),
    ],
    ids=_id,
)
def test_bad_command_line_and_config_option(
    capsys: pytest.CaptureFixture[str], project: Path, argv: list[str], name: str, needle: str
) -> None:
    (project / "sub").mkdir()
    (project / "other.toml").write_text("[tool.black]\nline-length = 99\n")
    (project / "tox.ini").write_text("[tox]\nenvlist = py311\n")
    (project / "latin1.cfg").write_bytes(b"[flake8]\n# caf\xe9\n")
    (project / "broken.toml").write_text("[tool.black\n")
    assert_one_line_error(capsys, ["check", *argv, "warn.py"], name, needle)


def test_messages_stay_short_for_huge_values(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    (project / "pyproject.toml").write_text(f"[tool.biaslint]\nlarge-constant = {'9' * 4000}\n")
    line = assert_one_line_error(capsys, ["check", "warn.py"], "pyproject.toml", "finite positive")
    assert len(line) < 200 + len(str(project))


# --- valid configurations still mean what they say -------------------------------------------


def test_defaults_find_the_bias(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    code, out, err = run(capsys, "check", "warn.py")
    assert code == 1 and "BIA101" in out and err.strip() == "1 finding (1 warning) in 1 file"


@pytest.mark.parametrize(
    ("name", "text", "overridden"),
    [
        ("pyproject.toml", "[tool.biaslint]\nlarge-constant = 2.5\n", 1),
        ("pyproject.toml", "[tool.biaslint]\nlarge_constant = 3\nignore = []\nexclude = []\n", 1),
        ("pyproject.toml", '[tool.biaslint]\nselect = ["BIA2", ""]\n', 1),
        ("pyproject.toml", '[tool.biaslint.per-file-ignores]\n"warn.py" = ["BIA1"]\n', 0),
        ("pyproject.toml", '\ufeff[tool.biaslint]\r\nignore = ["BIA101"]\r\n', 0),
        ("setup.cfg", "[biaslint]\nlarge-constant = 2.5\n", 1),
        ("setup.cfg", "[biaslint]\n# 100% sure\nexclude = 100%_generated.py\nlarge-constant = 2.5\n", 1),
        ("setup.cfg", "[DEFAULT]\nname = x\n[biaslint]\nlarge-constant = 2.5\n", 1),
        ("setup.cfg", "[biaslint]\nselect = BIA2, BIA3,\n", 1),
        ("setup.cfg", "[biaslint]\nper-file-ignores =\n    warn.py: BIA101\n", 0),
        ("setup.cfg", "[metadata]\nname = a%b\nversion = %(x\n\n[biaslint]\r\nignore = BIA101\r\n", 0),
    ],
    ids=_id,
)
def test_valid_config_changes_behaviour(
    capsys: pytest.CaptureFixture[str], project: Path, name: str, text: str, overridden: int
) -> None:
    (project / name).write_bytes(text.encode("utf-8"))
    assert run(capsys, "check", "warn.py") == (0, "", "")
    # the command line overrides select and thresholds (an ignore in the file still holds)
    code, out, err = run(capsys, "check", "--large-constant", "0.5", "--select", "BIA", "warn.py")
    assert code == overridden and "error" not in err  # stderr: the summary line only
    assert ("BIA101" in out) == bool(overridden)


def test_empty_ignore_means_nothing_ignored(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.biaslint]\nignore = []\n")
    assert run(capsys, "check", "--ignore", ",", "warn.py")[0] == 1


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("custom.toml", "[tool.biaslint]\nlarge-constant = 2.5\n"),
        ("tox.ini", "[tox]\nenvlist = py311\n\n[biaslint]\nlarge-constant = 2.5\n"),
        ("setup.cfg", "[biaslint]\nlarge-constant = 2.5\n"),
    ],
    ids=_id,
)
def test_config_option_reads_the_named_file(
    capsys: pytest.CaptureFixture[str], project: Path, name: str, text: str
) -> None:
    # neither the pyproject.toml nearest the checked file nor one beside the named file may win
    low = "[tool.biaslint]\nlarge-constant = 0.1\n"
    (project / "pyproject.toml").write_text(low)
    (project / "conf").mkdir()
    (project / "conf" / "pyproject.toml").write_text(low)
    (project / "conf" / name).write_text(text)
    assert run(capsys, "check", "warn.py")[0] == 1
    assert run(capsys, "check", "--config", f"conf/{name}", "warn.py") == (0, "", "")


def test_config_option_directory_searches_from_there(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    (project / "conf" / "deeper").mkdir(parents=True)
    (project / "conf" / "setup.cfg").write_text("[biaslint]\nlarge-constant = 2.5\n")
    assert run(capsys, "check", "--config", "conf/deeper", "warn.py") == (0, "", "")
