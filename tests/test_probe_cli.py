"""`biaslint probe` and `check --probe` end to end with the PyTorch backend (small budgets)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import EXAMPLES

from biaslint.cli import main

pytest.importorskip("torch")
pytest.importorskip("sklearn")

VGG = str(EXAMPLES / "vgg16_tf1.py")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_probe_json_is_reproducible(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("probe", VGG, "--seeds", "5", "--steps", "10", "--format", "json")
    code, first = run(capsys, *args)
    assert code == 0
    _, second = run(capsys, *args)
    assert first == second, "same seeds must give the same numbers"
    doc = json.loads(first)
    (own, he) = doc["probes"]
    assert own["setup"]["surrogate"]["weight_init"] == ["truncated_normal", 0.1]
    assert he["setup"]["surrogate"]["weight_init"] == ["he_normal", None]
    assert [a["name"] for a in own["arms"]] == ["yours", "advised"]
    assert own["verdict"] in ("better", "worse", "equivalent", "inconclusive")
    # the file's own truncated_normal(0.1), its gain kept at full size, may diverge: strict JSON
    # then says null with the value as text
    for arm in own["arms"]:
        assert arm["loss_final"] is not None or arm["loss_final_text"] in ("nan", "inf")
    for arm in he["arms"]:
        assert arm["loss_init"] > 0 and arm["loss_final"] > 0 and 0 <= arm["accuracy"] <= 1
        assert 0 <= arm["dead_relu_frac"] <= 1 and arm["grad_norm"] > 0


def test_check_probe_attaches_verdicts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "check", "--probe", str(EXAMPLES / "torch_cnn.py"))
    assert code == 1
    line = next(x for x in out.splitlines() if " BIA201 " in x)
    assert "[probe: equivalent (bias straight into batch norm)" in line
    code, out = run(capsys, "check", "--probe", "--format", "json", str(EXAMPLES / "torch_cnn.py"))
    assert json.loads(out)["findings"][0]["probe"].startswith("equivalent")


def test_opt_in_model_imports_user_code_only_when_asked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "usernet.py").write_text(
        "import pathlib\n"
        f"pathlib.Path({str(marker)!r}).write_text('yes')\n"
        "import torch.nn as nn\n\n"
        "def build():\n"
        f"    with open({str(tmp_path / 'calls')!r}, 'a') as fh:\n"
        "        fh.write('x')\n"
        "    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),\n"
        "                         nn.Linear(4 * 8 * 8, 32), nn.ReLU(), nn.Linear(32, 10))\n"
    )
    monkeypatch.chdir(tmp_path)
    code, _ = run(capsys, "probe", VGG, "--seeds", "5", "--steps", "5", "--format", "json")
    assert code == 0 and not marker.exists(), "without --model the user's code is never imported"
    code, out = run(
        capsys,
        "probe",
        VGG,
        "--model",
        "usernet:build",
        "--input-shape",
        "1,8,8",
        "--seeds",
        "5",
        "--steps",
        "5",
        "--format",
        "json",
    )
    assert code == 0 and marker.exists()
    # the factory builds a fresh model per seed: the seeds differ in their initial weights
    assert (tmp_path / "calls").read_text() == "x" * 5
    probe = json.loads(out)["probes"][0]
    assert "usernet:build" in probe["setup"]["name"] and [a["name"] for a in probe["arms"]] == [
        "as built",
        "advised",
    ]
    code = main(["probe", VGG, "--model", "usernet:build"])
    assert code == 2 and "--input-shape" in capsys.readouterr().err
