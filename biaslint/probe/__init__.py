"""The empirical probe: train small surrogates to confirm or refute a finding's advice.

Never imports the user's code, unless the user asks for it with ``--model`` (see model.py).
torch / tensorflow are optional: a missing backend is a one-line error naming the extra.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
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
    verdict: str = "inconclusive"  # better | worse | equivalent | inconclusive
    meaning: str = ""
    #: the learning rate each arm trained at (chosen on the pilot seed, or ``--lr``)
    lrs: list[float] = field(default_factory=list)
    #: the rates the pilot seed tried (empty with ``--lr``)
    lr_grid: tuple[float, ...] = ()


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
ArmKey = tuple[int, int, int]  # (plan, setup, arm)
#: the pilot seed that picks each arm's learning rate; it is never one of the compared seeds
PILOT_SEED = 9_999


Runner = Callable[[list[tuple[Surrogate, Arm, int, Budget]], str], list[ArmRun]]


@contextmanager
def _runner(backend: Backend, jobs: int, progress: Progress) -> Iterator[Runner]:
    """Runs in order, over ``jobs`` processes of one thread each when the backend can be rebuilt
    by name (runs are independent, and small models do not scale with threads). One pool
    serves the whole probe: each worker imports the framework and warms up once."""
    pool = ProcessPoolExecutor(max_workers=jobs) if jobs > 1 and backend.name in _EXTRAS else None

    def run(jobs_list: list[tuple[Surrogate, Arm, int, Budget]], label: str) -> list[ArmRun]:
        out: list[ArmRun] = []
        if pool is not None and len(jobs_list) > 1:
            payload = [(backend.name, *job) for job in jobs_list]
            for i, result in enumerate(pool.map(_worker_run, payload)):
                out.append(result)
                progress(label, i + 1, len(jobs_list))
            return out
        for i, (surrogate, arm, seed, b) in enumerate(jobs_list):
            out.append(backend.run(surrogate, arm, seed, b))
            progress(label, i + 1, len(jobs_list))
        return out

    try:
        yield run
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _choose_rates(plans: list[Plan], budget: Budget, run: Runner) -> dict[ArmKey, float]:
    """Each arm's learning rate: the best held-out loss on the pilot seed over the surrogate's
    grid (or ``--lr`` for every arm). The pilot is left out of the test, so choosing a rate
    per arm does not bias the comparison, and a rate that suits one init only is found."""
    keys = [
        (p, s, a)
        for p, plan in enumerate(plans)
        if plan.kind == "train"
        for s in range(len(plan.setups))
        for a in range(len(plan.arms))
    ]
    if budget.lr is not None:
        return {k: budget.lr for k in keys}
    grid_jobs = []
    for p, s, a in keys:
        surrogate = plans[p].setups[s][1]
        for lr in surrogate.lr_grid():
            full = surrogate.budget(budget)
            # half the steps: the grid is a decade apart, so the pilot only has to rank three
            # clearly different rates; it costs 1.5 runs per arm instead of 3
            pilot = replace(full, lr=lr, steps=max(full.steps // 2, min(full.steps, 50)))
            grid_jobs.append((surrogate, plans[p].arms[a], PILOT_SEED, pilot))
    runs = run(grid_jobs, "choosing learning rates")
    chosen: dict[ArmKey, float] = {}
    i = 0
    for p, s, a in keys:
        grid = plans[p].setups[s][1].lr_grid()
        losses = [runs[i + j].loss_final for j in range(len(grid))]
        i += len(grid)
        finite = [(loss, lr) for loss, lr in zip(losses, grid) if math.isfinite(loss)]
        chosen[(p, s, a)] = min(finite)[1] if finite else plans[p].setups[s][1].usual_lr
    return chosen


def _train_all(
    plans: list[Plan], backend: Backend, budget: Budget, jobs: int, progress: Progress
) -> tuple[dict[Task, ArmRun], dict[ArmKey, float]]:
    """Every (plan, setup, arm, seed) run, each arm at its own learning rate."""
    with _runner(backend, jobs, progress) as run:
        rates = _choose_rates(plans, budget, run)
        tasks: list[Task] = [(p, s, a, seed) for (p, s, a) in rates for seed in range(budget.seeds)]
        label = "probing " + ", ".join(sorted({plans[t[0]].code for t in tasks}))
        jobs_list = []
        for p, s, a, seed in tasks:
            surrogate = plans[p].setups[s][1]
            run_budget = replace(surrogate.budget(budget), lr=rates[(p, s, a)])
            jobs_list.append((surrogate, plans[p].arms[a], seed, run_budget))
        runs = run(jobs_list, label)
    return dict(zip(tasks, runs)), rates


def run_plans(
    plans: list[Plan],
    backend: Backend,
    budget: Budget,
    progress: Progress = stderr_progress,
    jobs: Optional[int] = None,
) -> list[ProbeResult]:
    from biaslint.probe.stats import MIN_SEEDS, compare, decide

    if budget.seeds < MIN_SEEDS:
        raise ProbeError(f"a probe needs at least {MIN_SEEDS} seeds to give a verdict (got {budget.seeds})")
    jobs = jobs if jobs is not None else min(2, os.cpu_count() or 1)
    runs, rates = _train_all(plans, backend, budget, jobs, progress)
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
                # removing the bias changes nothing the network computes: equivalent in function
                verdict="equivalent" if cancelled else "inconclusive",
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
                surrogate.margin,
                surrogate.chance_loss,
            )
            res = ProbeResult(
                plan,
                setup_name,
                surrogate,
                surrogate.budget(budget),
                backend.name,
                arm_results,
                comp,
                lrs=[rates[(p, s, a)] for a in range(len(plan.arms))],
                lr_grid=() if budget.lr is not None else surrogate.lr_grid(),
            )
            results.append(res)
    # one family: Holm's correction over every trained comparison of this run
    decide([r.comparison for r in results if r.comparison is not None])
    for res in results:
        if res.comparison is not None:
            res.verdict = res.comparison.outcome
        res.meaning = _meaning(res)
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
        if res.verdict == "equivalent":
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
    losses = f"held-out final loss {lf_y:.3f} (yours) vs {lf_a:.3f} (advised)"
    div_y, div_a = _diverged(yours), _diverged(advised)
    if div_y or div_a:
        n = len(yours.runs)
        losses += f"; runs that diverged (non-finite loss): yours {div_y}/{n}, advised {div_a}/{n}"
    if comp.reason == "nothing trained":
        return (
            f"inconclusive: nothing trained — both arms stayed near the loss of a model that learned "
            f"nothing ({res.surrogate.chance_loss if res.surrogate else float('nan'):.3f}): {losses}. "
            "Under this weight init the network does not train whatever the bias: the weight init "
            "is the thing to fix (bias init matters far less than weight init, CS231n)"
        )
    if res.verdict == "better":
        text = f"the advised init trains better on this surrogate: {losses}{dead}"
        if dead_y is not None and dead_a is not None and dead_y < dead_a:
            text += "; your bias does keep more ReLUs active at init, but that does not pay off here"
    elif res.verdict == "worse":
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
    elif res.verdict == "equivalent":
        text = (
            f"the two inits train to the same loss within ±{comp.margin:g} ({losses}{dead}): bias init "
            "matters little here, as CS231n says it usually does next to weight init"
        )
    else:
        text = (
            f"inconclusive: the difference is neither shown nor ruled out to within ±{comp.margin:g} "
            f"({losses}{dead}); more seeds (--seeds) or steps (--steps) may decide it"
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
        if r.surrogate is not None:
            setup["optimiser"] = r.surrogate.optimiser
            setup["lr_grid"] = list(r.lr_grid)
        for arm, lr in zip(arms, r.lrs):
            arm["lr"] = lr
        probes.append(
            {
                "path": f.path,
                "line": f.line,
                "code": f.code,
                "setup": setup,
                "arms": arms,
                "verdict": r.verdict,
                "reason": comp.reason if comp else "",
                "p_value": comp.p_value if comp else None,
                "p_adjusted": comp.p_adjusted if comp else None,
                "effect": None
                if comp is None
                else {
                    "metric": "held-out loss_final (yours - advised); > 0: the advice helps",
                    "mean": comp.effect,
                    "relative": comp.relative,
                    "ci95": [comp.ci_low, comp.ci_high],
                    "interval": f"t, {comp.n - 1} degrees of freedom",
                    "test": comp.test,
                    "correction": "Holm, over every probe of this run",
                    "equivalence_margin": comp.margin,
                    "p_equivalent": comp.p_equivalent,
                    "n": comp.n,
                },
                "meaning": r.meaning,
                "not_measured": NOT_MEASURED,
            }
        )
    # version 2: verdicts better/worse/equivalent/inconclusive, t-interval, Holm, rates per arm
    return {"version": 2, "probes": probes}


NOT_MEASURED = "small surrogate on bundled digits (or a synthetic task); your full model and data may differ"
