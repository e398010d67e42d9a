"""The probe's backend-independent part: plans from findings, the paired statistics, the JSON
contract, the report and the plot — driven by a fake backend so they run in milliseconds."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES, FIXTURES

from biaslint import engine
from biaslint.cli import main
from biaslint.config import Settings
from biaslint.model import FileModel
from biaslint.probe import Budget, run_plans, to_json
from biaslint.probe import report as probe_report
from biaslint.probe.plan import plan_for
from biaslint.probe.spec import Arm, ArmRun, Surrogate
from biaslint.probe.spec import Budget as SpecBudget
from biaslint.probe.stats import compare


def checked(path: Path) -> FileModel:
    return engine.check_source(str(path), path.read_bytes(), Settings())


class FakeBackend:
    """Final loss = 1 + 0.1 * (mean hidden bias) + a little seed noise: 'advised' zeros win."""

    name = "fake"

    def run(self, surrogate: Surrogate, arm: Arm, seed: int, budget: SpecBudget) -> ArmRun:
        values = [v or 0.0 for i, (_, v) in arm.biases if i >= 0] or [arm.forget_bias or 0.0]
        level = 1 + 0.1 * sum(values) / len(values)
        noise = 0.001 * ((seed * 7919) % 5)
        curve = [2.3 - (2.3 - level) * k / 10 for k in range(budget.steps // budget.log_every + 1)]
        return ArmRun(2.3, level + noise, 0.9, 0.1 * seed, 1.0, curve)

    def bn_demo(self, kind: str, seed: int) -> dict[str, float]:
        return {"max_output_change": 1e-7, "bias_grad_norm": 0.0}


def test_compare_verdicts() -> None:
    assert compare([1.2, 1.3, 1.25, 1.22, 1.28], [1.0, 1.05, 1.01, 0.99, 1.02]).verdict == "confirmed"
    assert compare([1.0, 1.05, 1.01, 0.99, 1.02], [1.2, 1.3, 1.25, 1.22, 1.28]).verdict == "refuted"
    tie = compare([1.0, 1.1, 0.9, 1.05, 0.95], [1.05, 0.95, 1.0, 0.9, 1.1])
    assert tie.verdict == "no_effect" and tie.ci_low < 0 < tie.ci_high
    again = compare([1.2, 1.3, 1.25, 1.22, 1.28], [1.0, 1.05, 1.01, 0.99, 1.02])
    assert again == compare([1.2, 1.3, 1.25, 1.22, 1.28], [1.0, 1.05, 1.01, 0.99, 1.02])
    # significant but negligible is no effect
    assert compare([1.001] * 5, [1.0] * 5).verdict == "no_effect"


def test_vgg_plan_is_the_seed_case() -> None:
    model = checked(EXAMPLES / "vgg16_tf1.py")
    plans = plan_for(model, model.findings)
    assert len(plans) == 1, "BIA101 and BIA301 ask the same question on the same layers"
    plan = plans[0]
    assert {(f.line, f.code) for f in plan.findings} == {(154, "BIA101"), (164, "BIA101"), (154, "BIA301")}
    names = [name for name, _ in plan.setups]
    assert names[0].startswith("your weight init (truncated_normal(0.1))") and names[1].startswith("He")
    own, he = (s for _, s in plan.setups)
    assert own.weight_init == ("truncated_normal", 0.1) and he.weight_init == ("he_normal", None)
    assert [layer.kind for layer in own.hidden].count("dense") == 2 and own.task == "digits_cnn"
    yours, advised = plan.arms[:2]
    dense = [i for i, layer in enumerate(own.hidden) if layer.kind == "dense"]
    assert all(yours.bias_for(i) == ("constant", 1.0) for i in dense)
    assert all(advised.bias_for(i) == ("constant", 0.0) for i in dense)
    assert yours.bias_for(-1) == advised.bias_for(-1), "the logits are not what the advice is about"


def test_plans_for_lstm_batchnorm_and_unprobed_rules() -> None:
    lm = checked(EXAMPLES / "torch_lstm_lm.py")
    (plan,) = plan_for(lm, lm.findings)
    assert plan.code == "BIA401" and plan.setups[0][1].task == "adding_lstm"
    assert [a.forget_bias for a in plan.arms] == [0.0, 1.0]
    cnn = checked(EXAMPLES / "torch_cnn.py")
    assert [(p.code, p.kind, p.bn_kind) for p in plan_for(cnn, cnn.findings)] == [
        ("BIA201", "bn_demo", "conv")
    ]
    gates = checked(FIXTURES / "torch" / "lstm_gates.py")
    skipped = {p.code: p.why_not for p in plan_for(gates, gates.findings) if p.kind == "skip"}
    assert "BIA206" in skipped and "raises" in skipped["BIA206"]


def test_run_json_text_and_plot(tmp_path: Path) -> None:
    model = checked(EXAMPLES / "vgg16_tf1.py")
    budget = Budget(seeds=5, steps=50)
    results = run_plans(plan_for(model, model.findings), FakeBackend(), budget, lambda *a: None)
    assert [r.verdict for r in results] == ["confirmed", "confirmed"]
    doc = to_json(results)
    assert doc["version"] == 1 and len(doc["probes"]) == 2
    probe = doc["probes"][0]
    assert {"path", "line", "code", "setup", "arms", "verdict", "p_value", "effect"} <= set(probe)
    assert {"name", "bias_init", "loss_init", "loss_final", "accuracy", "dead_relu_frac", "grad_norm"} <= set(
        probe["arms"][0]
    )
    assert probe["effect"]["mean"] > 0 and probe["effect"]["ci95"][0] > 0
    text = probe_report.text(results, [])
    assert "verdict: confirmed" in text and "not measured" in text and "truncated_normal(0.1)" in text
    png = tmp_path / "curves.png"
    probe_report.plot(results, str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_backend_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.delitem(sys.modules, "biaslint.probe.torch_backend", raising=False)
    code = main(["probe", str(EXAMPLES / "vgg16_tf1.py")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "pip install 'biaslint[probe]'" in err


def test_probe_cli_with_fake_backend(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import biaslint.probe as probe

    monkeypatch.setattr(probe, "load_backend", lambda name: FakeBackend())
    code = main(
        [
            "probe",
            str(EXAMPLES / "vgg16_tf1.py"),
            "--format",
            "json",
            "--seeds",
            "3",
            "--steps",
            "20",
            "--plot",
            str(tmp_path / "p.png"),
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["probes"][0]["setup"]["seeds"] == 3 and (tmp_path / "p.png").exists()
    code = main(["probe", str(EXAMPLES / "torch_cnn.py"), "--rule", "BIA201"])
    out = capsys.readouterr().out
    assert code == 0 and "BIA201" in out and "verdict: confirmed" in out and "cancels it" in out


class DivergingBackend(FakeBackend):
    def run(self, surrogate: Surrogate, arm: Arm, seed: int, budget: SpecBudget) -> ArmRun:
        run = super().run(surrogate, arm, seed, budget)
        if arm.name == "yours":
            run.loss_final = float("nan")
        return run


def test_diverged_runs_count_against_their_arm() -> None:
    model = checked(EXAMPLES / "vgg16_tf1.py")
    results = run_plans(
        plan_for(model, model.findings), DivergingBackend(), Budget(seeds=5, steps=20), lambda *a: None
    )
    assert results[0].verdict == "confirmed"
    assert "diverged (non-finite loss): yours 5/5, advised 0/5" in results[0].meaning
