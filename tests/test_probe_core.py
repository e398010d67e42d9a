"""The probe's backend-independent part: plans from findings, the paired statistics, the JSON
contract, the report and the plot — driven by a fake backend so they run in milliseconds."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import EXAMPLES, FIXTURES

from biaslint import engine
from biaslint.cli import main
from biaslint.config import Settings
from biaslint.model import FileModel
from biaslint.probe import PILOT_SEED, Budget, run_plans, to_json
from biaslint.probe import report as probe_report
from biaslint.probe.plan import plan_for
from biaslint.probe.spec import Arm, ArmRun, Layer, Surrogate
from biaslint.probe.spec import Budget as SpecBudget
from biaslint.probe.stats import Comparison, compare, decide, holm, sign_flip_p


def checked(path: Path) -> FileModel:
    return engine.check_source(str(path), path.read_bytes(), Settings())


class FakeBackend:
    """Final loss = 1 + 0.5 * (mean hidden bias) + a little seed noise: 'advised' zeros win."""

    name = "fake"

    def run(self, surrogate: Surrogate, arm: Arm, seed: int, budget: SpecBudget) -> ArmRun:
        values = [v or 0.0 for i, (_, v) in arm.biases if i >= 0] or [arm.forget_bias or 0.0]
        level = 1 + 0.5 * sum(values) / len(values)
        noise = 0.001 * ((seed * 7919) % 5)
        curve = [2.3 - (2.3 - level) * k / 10 for k in range(budget.steps // budget.log_every + 1)]
        return ArmRun(2.3, level + noise, 0.9, 0.1 * seed, 1.0, curve)

    def run_many(self, surrogate: Surrogate, runs: list[tuple[Arm, int, SpecBudget]]) -> list[ArmRun]:
        return [self.run(surrogate, arm, seed, budget) for arm, seed, budget in runs]


def _decided(yours: list[float], advised: list[float], margin: float = 0.05) -> Comparison:
    comp = compare(yours, advised, margin)
    decide([comp])
    return comp


def test_compare_outcomes() -> None:
    better = _decided([1.2, 1.3, 1.25, 1.22, 1.28, 1.24], [1.0, 1.05, 1.01, 0.99, 1.02, 1.0])
    assert better.outcome == "better" and better.test == "exact sign-flip" and better.ci_low > 0
    assert _decided([1.0, 1.05, 1.01, 0.99, 1.02, 1.0], [1.2, 1.3, 1.25, 1.22, 1.28, 1.24]).outcome == "worse"
    tie = _decided([1.0, 1.1, 0.9, 1.05, 0.95], [1.05, 0.95, 1.0, 0.9, 1.1], margin=0.01)
    assert tie.outcome == "inconclusive" and tie.ci_low < 0 < tie.ci_high and tie.test == "paired t"
    # a significant difference well inside the margin is "equivalent", not "better"
    same = _decided([1.001, 1.002, 1.0015, 1.001, 1.002, 1.0012], [1.0] * 6)
    assert same.outcome == "equivalent"
    assert same.significant  # and the text says so
    acc = compare([1.2, 1.3, 1.25, 1.22, 1.28, 1.24], [1.0] * 6, 0.05, accuracy=([0.9] * 6, [0.95] * 6))
    assert acc.accuracy_effect == pytest.approx(-0.05)
    # both arms at the loss of a model that learned nothing
    stuck = compare([2.30, 2.31, 2.30, 2.29, 2.30], [2.20, 2.21, 2.2, 2.19, 2.2], 0.05, chance=2.3026)
    decide([stuck])
    assert stuck.outcome == "inconclusive" and stuck.reason == "nothing trained"
    with pytest.raises(ValueError):
        compare([1.0] * 4, [0.9] * 4, 0.05)


def test_statistics_against_known_answers() -> None:
    """Textbook values: the t-interval, the exact sign-flip p-value, TOST and Holm."""
    d = [0.037, 2.229, -0.063, 2.149, 0.124]  # the seed case's per-seed differences (bug report)
    comp = compare(d, [0.0] * 5, 0.05)
    # mean 0.8952, sd 1.18326, se 0.52917, t(0.975, 4) = 2.7764; scipy.stats.ttest_1samp: p = 0.1660
    assert comp.effect == pytest.approx(0.8952, abs=1e-4)
    assert comp.ci_low == pytest.approx(0.8952 - 2.7764 * 0.52917, abs=1e-3)
    assert comp.p_value == pytest.approx(0.1660, abs=1e-3) and comp.test == "paired t"
    decide([comp])
    assert comp.outcome == "inconclusive"  # the bootstrap used to call this "confirmed"
    # all six differences positive: exact sign-flip p = 2 / 2**6
    assert sign_flip_p(np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])) == pytest.approx(2 / 64)
    # one of six negative and small: patterns with |mean| >= observed
    assert sign_flip_p(np.array([-0.1, 0.2, 0.3, 0.4, 0.5, 0.6])) == pytest.approx(4 / 64)
    # Holm: sorted p (0.01, 0.02, 0.04) -> (0.03, 0.04, 0.04), monotone, in the given order
    assert holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    # TOST: mean 0.01, se 0.005, margin 0.05, df 5 -> max(P(T > 12), P(T < -8)) = P(T < -8)
    eq = compare([0.01 + x for x in (-0.01, 0.01, -0.005, 0.005, 0.0, 0.0)], [0.0] * 6, 0.05)
    assert eq.p_equivalent < 0.001


def test_holm_across_probes_of_one_run() -> None:
    """Two probes each at p = 1/64 (six pairs, all one way): Holm makes the larger 2/64 x 2 > 0.05."""
    a = compare([1.2, 1.3, 1.25, 1.22, 1.28, 1.24], [1.0, 1.05, 1.01, 0.99, 1.02, 1.0], 0.05)
    b = compare([1.2, 1.3, 1.25, 1.22, 1.28, 1.24], [1.0, 1.05, 1.01, 0.99, 1.02, 1.0], 0.05)
    decide([a, b])
    assert a.p_adjusted == pytest.approx(2 * 2 / 64)
    assert a.outcome == b.outcome == "inconclusive"


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
    lstm_budget = plan.setups[0][1].budget(Budget(seeds=8, steps=200))
    assert (lstm_budget.seeds, lstm_budget.steps) == (16, 600)  # all-or-nothing seeds need more pairs
    assert plan.setups[0][1].budget(Budget(seeds=20)).seeds == 20  # more when asked
    cnn = checked(EXAMPLES / "torch_cnn.py")
    assert [(p.code, p.kind, p.bn_kind) for p in plan_for(cnn, cnn.findings)] == [
        ("BIA201", "bn_demo", "conv")
    ]
    gates = checked(FIXTURES / "torch" / "lstm_gates.py")
    skipped = {p.code: p.why_not for p in plan_for(gates, gates.findings) if p.kind == "skip"}
    assert "BIA206" in skipped and "raises" in skipped["BIA206"]


def test_run_json_text_and_plot(tmp_path: Path) -> None:
    model = checked(EXAMPLES / "vgg16_tf1.py")
    budget = Budget(seeds=8, steps=50)
    results = run_plans(plan_for(model, model.findings), FakeBackend(), budget, lambda *a: None)
    assert [r.verdict for r in results] == ["better", "better"]
    doc = to_json(results)
    assert doc["version"] == 3 and len(doc["probes"]) == 2
    probe = doc["probes"][0]
    assert {"path", "line", "code", "setup", "arms", "verdict", "p_value", "effect"} <= set(probe)
    assert {"name", "bias_init", "loss_init", "loss_final", "accuracy", "dead_relu_frac", "grad_norm"} <= set(
        probe["arms"][0]
    )
    assert probe["effect"]["mean"] > 0 and probe["effect"]["ci95"][0] > 0
    text = probe_report.text(results, [])
    assert "verdict: better" in text and "not measured" in text and "truncated_normal(0.1)" in text
    assert "learning rate" in text and probe["setup"]["lr_grid"] and probe["arms"][0]["lr"] > 0
    assert probe["effect"]["test"] == "exact sign-flip" and "Holm" in probe["effect"]["correction"]
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
            "5",
            "--steps",
            "20",
            "--plot",
            str(tmp_path / "p.png"),
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["probes"][0]["setup"]["seeds"] == 5 and (tmp_path / "p.png").exists()
    code = main(["probe", str(EXAMPLES / "torch_cnn.py"), "--rule", "BIA201"])
    out = capsys.readouterr().out
    assert code == 0 and "BIA201" in out and "verdict: equivalent" in out and "cancels it" in out
    code = main(["probe", str(EXAMPLES / "vgg16_tf1.py"), "--seeds", "4"])
    assert code == 2 and "at least 5" in capsys.readouterr().err
    code = main(["probe", str(EXAMPLES / "vgg16_tf1.py"), "--lr", "0.1", "--per-rate"])
    assert code == 2 and "contradict" in capsys.readouterr().err


class RateBackend(FakeBackend):
    """Records the rate of every run; the advised arm wins only at the usual rate 0.05."""

    def __init__(self) -> None:
        self.rates: list[tuple[str, int, float]] = []

    def run(self, surrogate: Surrogate, arm: Arm, seed: int, budget: SpecBudget) -> ArmRun:
        assert budget.lr is not None
        self.rates.append((arm.name, seed, budget.lr))
        run = super().run(surrogate, arm, seed, budget)
        if budget.lr != 0.05:
            run.loss_final = 1.0 + 0.001 * ((seed * 7919) % 5)
        return run


def test_per_rate_gives_one_verdict_per_rate_of_the_grid() -> None:
    model = checked(EXAMPLES / "vgg16_tf1.py")
    plans = plan_for(model, model.findings)
    backend = RateBackend()
    results = run_plans(plans, backend, Budget(seeds=8, steps=20), lambda *a: None, per_rate=True)
    per_setup = sum(len(p.setups) for p in plans if p.kind == "train")
    assert len(results) == 3 * per_setup
    assert all(r.lr_choice == "--per-rate" and len(set(r.lrs)) == 1 for r in results)
    assert {r.lrs[0] for r in results} == {0.005, 0.05, 0.5}
    assert all(seed != PILOT_SEED for _, seed, _ in backend.rates)  # no pilot: every rate is compared
    verdicts = {r.lrs[0]: r.verdict for r in results}
    assert verdicts[0.05] == "better" and verdicts[0.005] == verdicts[0.5] == "equivalent"
    assert "learning rate 0.5" in results[-1].setup
    assert "--per-rate" in probe_report.text(results, [])


def test_pilot_seed_chooses_one_rate_that_is_not_compared() -> None:
    model = checked(EXAMPLES / "vgg16_tf1.py")
    backend = RateBackend()
    results = run_plans(plan_for(model, model.findings), backend, Budget(seeds=8, steps=20), lambda *a: None)
    pilots = [lr for _, seed, lr in backend.rates if seed == PILOT_SEED]
    assert sorted(set(pilots)) == [0.005, 0.05, 0.5]
    assert all(r.lr_choice == "pilot" and len(r.lrs) == len(r.arms) for r in results)
    compared = {lr for _, seed, lr in backend.rates if seed != PILOT_SEED}
    assert compared == {r.lrs[0] for r in results}


def test_lr_option_sets_every_run_and_skips_the_pilot() -> None:
    model = checked(EXAMPLES / "vgg16_tf1.py")
    backend = RateBackend()
    results = run_plans(
        plan_for(model, model.findings), backend, Budget(seeds=8, steps=20, lr=0.01), lambda *a: None
    )
    assert {lr for _, _, lr in backend.rates} == {0.01}
    assert all(seed != PILOT_SEED for _, seed, _ in backend.rates)
    assert all(r.lr_choice == "--lr" and r.lrs == [0.01] * len(r.arms) for r in results)
    assert "--lr" in probe_report.text(results, [])


class SplitBackend(RateBackend):
    """Your init trains best at 0.005, the advised one at 0.5: they disagree on the rate."""

    def run(self, surrogate: Surrogate, arm: Arm, seed: int, budget: SpecBudget) -> ArmRun:
        run = super().run(surrogate, arm, seed, budget)
        best = 0.005 if arm.name == "yours" else 0.5
        run.loss_final = (0.5 if budget.lr == best else 1.0) + 0.001 * ((seed * 7919) % 5)
        return run


def test_arms_that_disagree_on_the_rate_are_compared_at_each() -> None:
    model = checked(EXAMPLES / "vgg16_tf1.py")
    plans = [p for p in plan_for(model, model.findings) if p.kind == "train"]
    backend = SplitBackend()
    results = run_plans(plans, backend, Budget(seeds=8, steps=20), lambda *a: None)
    assert len(results) == 2 * sum(len(p.setups) for p in plans)
    assert all(len(set(r.lrs)) == 1 and r.lr_pilot_best == [0.005, 0.5] for r in results)
    by_rate = {r.lrs[0]: r.verdict for r in results}
    assert by_rate == {0.005: "worse", 0.5: "better"}  # each verdict is true at its own rate
    assert all("changes with the learning rate (0.005: worse, 0.5: better)" in r.meaning for r in results)
    text = probe_report.text(results, [])
    assert "differ: yours 0.005, advised 0.5" in text and "learning rate 0.5" in results[-1].setup


class DivergingBackend(FakeBackend):
    def run(self, surrogate: Surrogate, arm: Arm, seed: int, budget: SpecBudget) -> ArmRun:
        run = super().run(surrogate, arm, seed, budget)
        if arm.name == "yours":
            run.loss_final = float("nan")
        return run


def test_diverged_runs_count_against_their_arm() -> None:
    model = checked(EXAMPLES / "vgg16_tf1.py")
    results = run_plans(
        plan_for(model, model.findings), DivergingBackend(), Budget(seeds=8, steps=20), lambda *a: None
    )
    assert results[0].verdict == "better"
    assert "diverged (non-finite loss): yours 8/8, advised 0/8" in results[0].meaning


STYLES = FIXTURES / "probe_styles"


@pytest.mark.parametrize("name", sorted(p.stem for p in STYLES.glob("*.py")))
def test_every_init_style_is_probed_on_the_layer_it_sets(name: str) -> None:
    """The bias of the hidden layer before ReLU starts at -1, set in a different way in each
    file (constructor argument, Keras initializer, slim arg_scope, a tf.constant helper,
    nn.init.constant_, .data.fill_, an isinstance loop, apply). The advised arm must change
    that layer to 0, and the file's own arm must keep -1: a plan whose arms are equal tests
    nothing."""
    model = checked(STYLES / f"{name}.py")
    assert [f.code for f in model.findings] == ["BIA102"], model.findings
    [plan] = [p for p in plan_for(model, model.findings) if p.kind == "train"]
    yours, advised = plan.arms[0], plan.arms[1]
    hidden = [i for i, _ in yours.biases if i >= 0]
    assert any(yours.bias_for(i) == ("constant", -1.0) for i in hidden)
    for i in hidden:
        if yours.bias_for(i) == ("constant", -1.0):
            assert advised.bias_for(i) == ("constant", 0.0)


def test_fixed_std_weights_keep_their_full_size_gain() -> None:
    """A 4096-input layer with N(0, 0.1) weights, shrunk to 64 inputs, gets std 0.1 * sqrt(64)
    = 0.8, so that std^2 * fan_in (the layer's gain) is what it is at full size. Fan-in-scaled
    inits (He) and layers of unknown fan-in are left as they are."""
    s = Surrogate(
        "digits_mlp",
        (Layer("dense", 64, "relu"), Layer("dense", 64, "relu")),
        ("normal", 0.1),
        fan_ins=(4096, None),
    )
    assert s.weight_for(0, 64) == ("normal", pytest.approx(0.8))
    assert s.weight_for(1, 64) == ("normal", 0.1)
    he = Surrogate("digits_mlp", (Layer("dense", 64, "relu"),), ("he_normal", None), fan_ins=(4096,))
    assert he.weight_for(0, 64) == ("he_normal", None)
    torch = pytest.importorskip("torch")
    from biaslint.probe.torch_backend import build

    net = build(s, Arm("a", ()), 0)
    assert float(net.hidden_layers[0].weight.detach().std()) == pytest.approx(0.8, rel=0.05)
    assert isinstance(net.hidden_layers[0].weight, torch.Tensor)
