"""`check --format sarif|github` and `--fail-on`: what CI systems read, and when a run fails.

The SARIF output is validated against the SARIF 2.1.0 JSON schema vendored next to this file
(tests/sarif-schema-2.1.0.json, from oasis-tcs/sarif-spec at commit e0583813964e).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import EXAMPLES
from conftest import run_cli as run

SCHEMA = Path(__file__).resolve().parent / "sarif-schema-2.1.0.json"
ALEXNET = str(EXAMPLES / "alexnet_tf1.py")  # warnings and an info
KERAS_BN = str(EXAMPLES / "keras_cnn_bn.py")  # one info finding only


def test_sarif_is_valid_and_complete(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    broken = tmp_path / "broken.py"
    broken.write_text("import torch\ndef f(:\n")
    code, out, _ = run(capsys, "check", "--format", "sarif", ALEXNET, str(broken))
    assert code == 2
    doc = json.loads(out)
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(doc)
    run_ = doc["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    assert all(r["helpUri"].startswith("https://") and r["help"]["text"] for r in rules)
    results = run_["results"]
    assert {r["ruleId"] for r in results} == {"BIA101", "BIA302"}
    assert {r["level"] for r in results} == {"warning", "note"}
    first = results[0]
    assert rules[first["ruleIndex"]]["id"] == first["ruleId"]
    region = first["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] > 0 and region["startColumn"] >= 1
    prints = [r["partialFingerprints"]["biaslintFingerprint/v1"] for r in results]
    assert len(set(prints)) == len(prints)
    notes = run_["invocations"][0]["toolExecutionNotifications"]
    assert run_["invocations"][0]["executionSuccessful"] is False
    assert any("broken.py" in n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for n in notes)


def test_sarif_fingerprints_survive_a_shift(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = Path(ALEXNET).read_text(encoding="utf-8")
    a, b = tmp_path / "a" / "m.py", tmp_path / "b" / "m.py"
    a.parent.mkdir()
    b.parent.mkdir()
    a.write_text(src)
    b.write_text("# a comment added at the top\n\n" + src)

    def prints(path: Path) -> list[str]:
        out = run(capsys, "check", "--format", "sarif", str(path))[1]
        return [
            r["partialFingerprints"]["biaslintFingerprint/v1"] for r in json.loads(out)["runs"][0]["results"]
        ]

    import os

    cwd = os.getcwd()
    try:
        os.chdir(a.parent)
        first = prints(Path("m.py"))
        os.chdir(b.parent)
        second = prints(Path("m.py"))
    finally:
        os.chdir(cwd)
    assert first and first == second


def test_github_annotations(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    odd = tmp_path / "a,b:c.py"
    odd.write_text(Path(ALEXNET).read_text(encoding="utf-8"))
    code, out, _ = run(capsys, "check", "--format", "github", str(odd))
    assert code == 1
    lines = out.splitlines()
    assert lines and all(line.startswith(("::warning ", "::notice ", "::error ")) for line in lines)
    assert any(line.startswith("::notice ") and "BIA302" in line for line in lines)
    assert all("a%2Cb%3Ac.py" in line for line in lines)  # property values escaped
    assert all(",line=" in line and ",col=" in line for line in lines)


@pytest.mark.parametrize(
    ("path", "gate", "status"),
    [
        (KERAS_BN, None, 1),  # default: any finding fails
        (KERAS_BN, "info", 1),
        (KERAS_BN, "warning", 0),  # an info finding below the gate: printed, not failing
        (ALEXNET, "warning", 1),
        (ALEXNET, "error", 0),
    ],
)
def test_fail_on(capsys: pytest.CaptureFixture[str], path: str, gate: str | None, status: int) -> None:
    args = ["check", path] + (["--fail-on", gate] if gate else [])
    code, out, _ = run(capsys, *args)
    assert code == status
    assert "BIA" in out  # findings below the gate are still printed


def test_fail_on_from_the_config(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(Path(KERAS_BN).read_text(encoding="utf-8"))
    (tmp_path / "pyproject.toml").write_text('[tool.biaslint]\nfail-on = "warning"\n')
    assert run(capsys, "check", str(tmp_path / "m.py"))[0] == 0
    assert run(capsys, "check", "--fail-on", "info", str(tmp_path / "m.py"))[0] == 1
    (tmp_path / "pyproject.toml").write_text('[tool.biaslint]\nfail-on = "sometimes"\n')
    code, _, err = run(capsys, "check", str(tmp_path / "m.py"))
    assert code == 2 and "fail-on" in err and len(err.strip().splitlines()) == 1


def test_check_without_a_path_checks_the_working_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "m.py").write_text(Path(ALEXNET).read_text(encoding="utf-8"))
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "check")
    assert code == 1 and "m.py:" in out


def test_inventory_refuses_ci_formats(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "inventory", "--format", "sarif", ALEXNET)
    assert code == 2 and "check" in err


def test_text_output_ends_with_a_summary(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """On stderr when stdout is not a terminal (as here), so that piped output stays parseable."""
    broken = tmp_path / "broken.py"
    broken.write_text("import torch\ndef f(:\n")
    code, out, err = run(capsys, "check", ALEXNET, KERAS_BN, str(broken))
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "7 findings (5 warning, 2 info) in 2 files; 1 file could not be analysed"
    )
    assert "findings (" not in out
    assert run(capsys, "check", "--format", "json", ALEXNET)[2] == ""
