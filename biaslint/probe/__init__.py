"""The empirical probe: train small surrogates to confirm or refute a finding's advice.

Never imports the user's code, unless the user asks for it with ``--model`` (see model.py).
torch / tensorflow are optional: a missing backend is a one-line error naming the extra.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from biaslint.probe.plan import Plan, plan_for
from biaslint.probe.spec import Arm, ArmRun, Backend, Budget, Surrogate

if TYPE_CHECKING:  # numpy is only needed once a probe runs: the linter itself must not need it
    from biaslint.probe.stats import Comparison

__all__ = ["Budget", "ProbeError", "ProbeResult", "load_backend", "plan_for", "run_plans"]

_EXTRAS = {"torch": ("torch", "biaslint[probe]"), "tensorflow": ("tensorflow", "biaslint[tensorflow]")}


class ProbeError(Exception):
    """A probe cannot run (missing backend, bad option); the message says what to do."""


def load_backend(name: str) -> Backend:
    if name not in _EXTRAS:
        raise ProbeError(f"unknown backend {name!r}: use torch or tensorflow")
    module, extra = _EXTRAS[name]
    try:
        if name == "torch":
            from biaslint.probe.torch_backend import TorchBackend

            return TorchBackend()
        from biaslint.probe.tf_backend import TFBackend

        return TFBackend()
    except ImportError as exc:
        raise ProbeError(
            f"the {name} backend needs {module}, which is not installed ({exc.name or exc}): "
            f"pip install '{extra}' (and scikit-learn, matplotlib: pip install 'biaslint[probe]')"
        ) from None


@dataclass
class ArmResult:
    arm: Arm
    runs: list[ArmRun]

    def mean(self, attr: str) -> Optional[float]:
        values = [getattr(r, attr) for r in self.runs if getattr(r, attr) is not None]
        return sum(values) / len(values) if values else None


@dataclass
class ProbeResult:
    plan: Plan
    setup: str
    surrogate: Optional[Surrogate]
    budget: Budget
    backend: str
    arms: list[ArmResult] = field(default_factory=list)
    comparison: Optional[Comparison] = None
    demo: dict[str, float] = field(default_factory=dict)
    verdict: str = "no_effect"
    meaning: str = ""


Progress = Callable[[str, int, int], None]


def stderr_progress(label: str, done: int, total: int) -> None:
    """A one-line progress bar on a terminal; silent otherwise (logs, CI, pipes)."""
    if not sys.stderr.isatty():
        return
    width = 30
    filled = int(width * done / max(total, 1))
    end = "\n" if done >= total else ""
    sys.stderr.write(f"\r{label:<28} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}{end}")
    sys.stderr.flush()


_WORKER_BACKEND: dict[str, Backend] = {}


def _worker_run(task: tuple[str, Surrogate, Arm, int, Budget]) -> ArmRun:
    name, surrogate, arm, seed, budget = task
    if name not in _WORKER_BACKEND:
        _WORKER_BACKEND[name] = load_backend(name)
    return _WORKER_BACKEND[name].run(surrogate, arm, seed, budget)


Task = tuple[int, int, int, int]  # (plan, setup, arm, seed)


def _train_all(
    plans: list[Plan], backend: Backend, budget: Budget, jobs: int, progress: Progress
) -> dict[Task, ArmRun]:
    """Every (plan, setup, arm, seed) run. Over ``jobs`` processes of one thread each when the
    backend can be rebuilt by name: runs are independent, and small models do not scale with threads."""
    tasks: list[Task] = [
        (p, s, a, seed)
        for p, plan in enumerate(plans)
        if plan.kind == "train"
        for s in range(len(plan.setups))
        for a in range(len(plan.arms))
        for seed in range(budget.seeds)
    ]
    out: dict[Task, ArmRun] = {}
    label = "probing " + ", ".join(sorted({plans[t[0]].code for t in tasks}))
    if jobs > 1 and len(tasks) > 1 and backend.name in _EXTRAS:
        payload = [
            (
                backend.name,
                plans[p].setups[s][1],
                plans[p].arms[a],
                seed,
                plans[p].setups[s][1].budget(budget),
            )
            for p, s, a, seed in tasks
        ]
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for i, run in enumerate(pool.map(_worker_run, payload)):
                out[tasks[i]] = run
                progress(label, i + 1, len(tasks))
        return out
    for i, (p, s, a, seed) in enumerate(tasks):
        surrogate = plans[p].setups[s][1]
        out[(p, s, a, seed)] = backend.run(surrogate, plans[p].arms[a], seed, surrogate.budget(budget))
        progress(label, i + 1, len(tasks))
    return out


def run_plans(
    plans: list[Plan],
    backend: Backend,
    budget: Budget,
    progress: Progress = stderr_progress,
    jobs: Optional[int] = None,
) -> list[ProbeResult]:
    from biaslint.probe.stats import compare

    jobs = jobs if jobs is not None else min(2, os.cpu_count() or 1)
    runs = _train_all(plans, backend, budget, jobs, progress)
    results: list[ProbeResult] = []
    for p, plan in enumerate(plans):
        if plan.kind == "skip":
            continue
        if plan.kind == "bn_demo":
            demo = backend.bn_demo(plan.bn_kind, 0)
            cancelled = demo["max_output_change"] <= 1e-4 and demo["bias_grad_norm"] <= 1e-4
            res = ProbeResult(
                plan,
                "bias straight into batch norm",
                None,
                budget,
                backend.name,
                demo=demo,
                verdict="confirmed" if cancelled else "refuted",
            )
            res.meaning = _meaning(res)
            results.append(res)
            continue
        for s, (setup_name, surrogate) in enumerate(plan.setups):
            arm_results = [
                ArmResult(arm, [runs[(p, s, a, seed)] for seed in range(budget.seeds)])
                for a, arm in enumerate(plan.arms)
            ]
            yours, advised = arm_results[0], arm_results[1]
            worst = _worst(arm_results)
            comp = compare(
                [_finite(r.loss_final, worst) for r in yours.runs],
                [_finite(r.loss_final, worst) for r in advised.runs],
            )
            res = ProbeResult(
                plan,
                setup_name,
                surrogate,
                surrogate.budget(budget),
                backend.name,
                arm_results,
                comp,
                verdict=comp.verdict,
            )
            res.meaning = _meaning(res)
            results.append(res)
    return results


def _worst(arms: list[ArmResult]) -> float:
    """A diverged run (nan/inf loss) scores as the worst finite loss seen, so it counts against its arm."""
    finite = [v for a in arms for r in a.runs for v in (r.loss_init, r.loss_final) if math.isfinite(v)]
    return max(finite, default=1e3)


def _finite(value: float, worst: float) -> float:
    return value if math.isfinite(value) else worst


def _diverged(arm: ArmResult) -> int:
    return sum(not math.isfinite(r.loss_final) for r in arm.runs)


def _pct(x: Optional[float]) -> str:
    return "n/a" if x is None else f"{x:.0%}"


def _meaning(res: ProbeResult) -> str:
    """What the numbers say, in one or two sentences."""
    code = res.plan.code
    if res.plan.kind == "bn_demo":
        if res.verdict == "confirmed":
            return (
                f"changing the bias from 0 to 1 moves the batch-normalised output by "
                f"{res.demo['max_output_change']:.1e} and the bias gets a gradient of "
                f"{res.demo['bias_grad_norm']:.1e}: the norm cancels it, so bias=False loses nothing"
            )
        return "the bias was not fully cancelled by the norm in this demonstration"
    yours, advised = res.arms[0], res.arms[1]
    comp = res.comparison
    assert comp is not None
    lf_y, lf_a = yours.mean("loss_final"), advised.mean("loss_final")
    dead_y, dead_a = yours.mean("dead_relu_frac"), advised.mean("dead_relu_frac")
    dead = (
        f"; ReLU units dead at init: yours {_pct(dead_y)}, advised {_pct(dead_a)}"
        if dead_y is not None
        else ""
    )
    losses = f"final loss {lf_y:.3f} (yours) vs {lf_a:.3f} (advised)"
    div_y, div_a = _diverged(yours), _diverged(advised)
    if div_y or div_a:
        n = len(yours.runs)
        losses += f"; runs that diverged (non-finite loss): yours {div_y}/{n}, advised {div_a}/{n}"
    if res.verdict == "confirmed":
        text = f"the advised init trains better on this surrogate: {losses}{dead}"
        if dead_y is not None and dead_a is not None and dead_y < dead_a:
            text += "; your bias does keep more ReLUs active at init, but that does not pay off here"
    elif res.verdict == "refuted":
        text = f"your init trains better on this surrogate: {losses}{dead}"
        if (
            code in ("BIA101", "BIA301")
            and res.surrogate
            and res.surrogate.weight_init[0] in ("normal", "truncated_normal", "uniform")
        ):
            text += (
                "; with small fixed-std weights a positive bias keeps ReLUs active, which is "
                "AlexNet's reason for it (§5)"
            )
    else:
        text = (
            f"no detectable difference ({losses}{dead}): bias init matters little here, as CS231n says "
            "it usually does next to weight init"
        )
    return text


def to_json(results: list[ProbeResult]) -> dict[str, Any]:
    probes = []
    for r in results:
        f = r.plan.first
        setup: dict[str, Any] = {
            "name": r.setup,
            "backend": r.backend,
            "seeds": r.budget.seeds,
            "steps": r.budget.steps,
            "findings": [[x.line, x.code] for x in r.plan.findings],
        }
        if r.surrogate is not None:
            setup["surrogate"] = r.surrogate.to_json()
        if r.demo:
            setup["demo"] = r.demo
        arms = [
            {
                "name": a.arm.name,
                "bias_init": a.arm.describe(),
                "loss_init": a.mean("loss_init"),
                "loss_final": a.mean("loss_final"),
                "accuracy": a.mean("accuracy"),
                "dead_relu_frac": a.mean("dead_relu_frac"),
                "grad_norm": a.mean("grad_norm"),
                "per_seed_loss_final": [run.loss_final for run in a.runs],
            }
            for a in r.arms
        ]
        comp = r.comparison
        probes.append(
            {
                "path": f.path,
                "line": f.line,
                "code": f.code,
                "setup": setup,
                "arms": arms,
                "verdict": r.verdict,
                "p_value": comp.p_value if comp else None,
                "effect": None
                if comp is None
                else {
                    "metric": "loss_final (yours - advised); > 0: the advice helps",
                    "mean": comp.effect,
                    "relative": comp.relative,
                    "ci95": [comp.ci_low, comp.ci_high],
                    "test": "paired bootstrap over seeds",
                },
                "meaning": r.meaning,
                "not_measured": NOT_MEASURED,
            }
        )
    return {"version": 1, "probes": probes}


NOT_MEASURED = "small surrogate on bundled digits (or a synthetic task); your full model and data may differ"
