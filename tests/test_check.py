"""`biaslint check`, `rules`, `explain`: output format, exit codes, options, config files."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES, FIXTURES, ROOT, WARN
from conftest import run_cli as run

from biaslint.cli import rules_table
from biaslint.rules import RULES

VGG = str(EXAMPLES / "vgg16_tf1.py")
CLEAN = """import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "clean.py").write_text(CLEAN)
    (tmp_path / "warn.py").write_text(WARN)
    return tmp_path


def test_flake8_style_lines_and_exit_codes(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    code, out, _ = run(capsys, "check", str(project / "warn.py"))
    assert code == 1
    assert re.fullmatch(
        r".*warn\.py:6:10: BIA101 \[warning\] dense bias starts at 1 before ReLU.*", out.strip()
    )
    assert "\033[" not in out  # no colour when not on a terminal
    assert run(capsys, "check", str(project / "clean.py"))[0] == 0
    assert run(capsys, "check", "--exit-zero", str(project / "warn.py"))[0] == 0
    code, out, _ = run(capsys, "check", "--color", "always", str(project / "warn.py"))
    assert "\033[33mwarning" in out


def test_errors_win_over_findings(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    (project / "broken.py").write_text("import torch\ndef f(:\n")
    code, out, _ = run(capsys, "check", str(project))
    assert code == 2
    # flake8's E999, at the syntax error's own line and column
    assert re.search(r"broken\.py:2:7: E999 syntax error: ", out) and "BIA101" in out


def test_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--format", "json", VGG)
    doc = json.loads(out)
    assert code == 1 and doc["version"] == 3 and doc["errors"] == []
    assert {tuple(f) for f in doc["findings"]} == {
        ("path", "cell", "line", "col", "code", "severity", "message", "reason", "evidence")
    }
    assert all(f["cell"] is None for f in doc["findings"])  # a .py file has no cells
    assert {(f["line"], f["code"]) for f in doc["findings"]} == {
        (154, "BIA101"),
        (154, "BIA301"),
        (164, "BIA101"),
    }


def test_select_ignore_statistics(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(EXAMPLES), str(FIXTURES / "tf1")]
    _, out, _ = run(capsys, "check", "--select", "BIA1", *paths)
    assert out and all(" BIA1" in line for line in out.splitlines())
    _, out, _ = run(capsys, "check", "--ignore", "BIA1,BIA2", *paths)
    assert out and not re.search(r" BIA[12]\d\d ", out)
    _, out, _ = run(capsys, "check", "--statistics", *paths)
    stats = [line for line in out.splitlines() if re.match(r"^\d+\s+BIA\d{3} ", line)]
    counted = {line.split()[1]: int(line.split()[0]) for line in stats}
    listed = re.findall(r": (BIA\d{3}) \[", out)
    assert counted == {c: listed.count(c) for c in set(listed)}
    assert counted["BIA101"] >= 7


def test_unknown_codes_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "--select", "BIA999", VGG)
    assert code == 2 and "unknown rule code" in err
    code, _, err = run(capsys, "explain", "BIA999")
    assert code == 2 and "unknown rule" in err


def test_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(WARN.encode())))
    code, out, _ = run(capsys, "check", "-", "--stdin-filename", "src/model.py")
    assert code == 1 and out.startswith("src/model.py:6:10: BIA101")


def test_pyproject_config_found_by_walking_up(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.biaslint]\nignore = ["BIA101"]\nlarge-constant = 0.5\n')
    sub = project / "pkg" / "models"
    sub.mkdir(parents=True)
    (sub / "warn.py").write_text(WARN)
    assert run(capsys, "check", str(sub / "warn.py"))[0] == 0
    # the command line overrides the file
    assert run(capsys, "check", "--ignore", "BIA2", str(sub / "warn.py"))[0] == 1


def test_setup_cfg_thresholds_and_per_file_ignores(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    (project / "setup.cfg").write_text("[biaslint]\nlarge_constant = 2.0\n")
    assert run(capsys, "check", str(project / "warn.py"))[0] == 0
    (project / "setup.cfg").write_text("[biaslint]\nper-file-ignores =\n    warn.py: BIA101\n")
    assert run(capsys, "check", str(project / "warn.py"))[0] == 0
    (project / "setup.cfg").write_text("[biaslint]\nexclude = warn.py\n")
    assert run(capsys, "check", str(project))[0] == 0


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[tool.biaslint]\nselct = ['BIA1']\n", "unknown setting 'selct'"),
        ("[tool.biaslint]\nselect = ['BIA77']\n", "unknown rule code or prefix 'BIA77'"),
        ("[tool.biaslint]\nlarge_constant = 'big'\n", "must be a number"),
    ],
)
def test_bad_config_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], project: Path, text: str, needle: str
) -> None:
    (project / "pyproject.toml").write_text(text)
    code, _, err = run(capsys, "check", str(project))
    assert code == 2 and needle in err and "pyproject.toml" in err


def test_rules_and_explain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules")
    assert code == 0 and len(out.splitlines()) == len(RULES)
    assert out.splitlines()[0].split()[:2] == ["BIA101", "warning"]
    code, out, _ = run(capsys, "explain", "bia301")
    assert code == 0 and "AlexNet" in out and "Use instead" in out and "Sources" in out


def test_readme_rules_table_matches_registry() -> None:
    readme = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- rules:begin -->\n(.*?)\n<!-- rules:end -->", readme, re.S)
    assert m, "README needs the generated rules table between the rules markers"
    assert m.group(1).strip() == rules_table("markdown").strip(), "run: biaslint rules --format markdown"
