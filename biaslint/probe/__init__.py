"""The empirical probe: train small surrogates to confirm or refute a finding's advice.

Never imports the user's code, unless the user asks for it with ``--model`` (see model.py).
torch / tensorflow are optional: a missing backend is a one-line error naming the extra.
"""

from __future__ import annotations

import math
import os
import sys
import threading
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
    #: the rates the pilot seed tried (empty with ``--lr`` and ``--per-rate``)
    lr_grid: tuple[float, ...] = ()
    #: how the rates were set: "pilot" (chosen on a pilot seed), "--lr", or "--per-rate"
    lr_choice: str = "pilot"
    #: each arm's best rate on the pilot seed; when they differ the arms are compared at each
    lr_pilot_best: list[float] = field(default_factory=list)


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


def _worker_backend(name: str) -> Backend:
    if name not in _WORKER_BACKEND:
        _WORKER_BACKEND[name] = load_backend(name)
    return _WORKER_BACKEND[name]


#: the module each backend's workers import: a forkserver loads it once, before any thread runs
_BACKEND_MODULE = {"torch": "biaslint.probe.torch_backend", "tensorflow": "biaslint.probe.tf_backend"}


def worker_pool(backend: str, jobs: int) -> ProcessPoolExecutor:
    """Worker processes for ``backend``, one thread each, never forked from this process: a
    process that has run TensorFlow (or OpenMP) has threads whose locks a fork copies held, and
    the child hangs on its first operation (seen: the second probe of a run hung for good).
    torch workers fork from a forkserver that imported torch and nothing else, so each starts in
    milliseconds; TensorFlow starts threads at import, so its workers are spawned fresh."""
    import multiprocessing

    ctx: Any
    if backend == "torch":
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([_BACKEND_MODULE[backend]])
    else:
        ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=one_thread, initargs=(backend,))


def one_thread(backend: str) -> None:
    """Pool initializer: one intra-op thread per worker process, set before the framework starts
    its thread pools (small models do not scale with threads, and two workers on two cores must
    not oversubscribe them: that makes a run 5-8x slower)."""
    os.environ["OMP_NUM_THREADS"] = "1"
    if backend == "torch":
        import torch

        torch.set_num_threads(1)
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)


def _worker_run_many(task: tuple[str, Surrogate, list[tuple[Arm, int, Budget]]]) -> list[ArmRun]:
    name, surrogate, runs = task
    return _worker_backend(name).run_many(surrogate, runs)


#: the pilot seed that picks each arm's learning rate; it is never one of the compared seeds
PILOT_SEED = 9_999
#: runs of one surrogate trained side by side by one ``run_many`` call (torch stacks them into
#: one network). A fixed size, not one derived from --jobs, so that results never depend on how
#: many processes there are; 8 keeps two workers busy on a two-arm probe of 8 seeds
CHUNK = 8


Job = tuple[Surrogate, Arm, int, Budget]
Runner = Callable[[list[Job], str], list[ArmRun]]


def _chunks(jobs_list: list[Job]) -> list[tuple[Surrogate, list[tuple[Arm, int, Budget]]]]:
    """Consecutive runs of one arm of one surrogate with one budget (the learning rate aside),
    at most ``CHUNK`` to a chunk, in order: one chunk per arm, so that a pilot's three rates of
    two arms also keep two workers busy."""
    out: list[tuple[Surrogate, list[tuple[Arm, int, Budget]]]] = []
    last: Optional[tuple[Surrogate, Arm, Budget]] = None
    for surrogate, arm, seed, budget in jobs_list:
        key = (surrogate, arm, replace(budget, lr=None))
        if key != last or len(out[-1][1]) >= CHUNK:
            out.append((surrogate, []))
            last = key
        out[-1][1].append((arm, seed, budget))
    return out


#: backends whose runs in this process keep to one thread (``TorchBackend`` sets it per call),
#: so this process can train chunks beside its workers without oversubscribing the cores; the
#: TensorFlow runtime of this process may already have started its thread pools
_IN_PROCESS_OK = frozenset({"torch"})


@contextmanager
def _runner(backend: Backend, jobs: int, progress: Progress) -> Iterator[Runner]:
    """Runs in order, in chunks of runs trained side by side, over ``jobs`` processes of one
    thread each when the backend can be rebuilt by name (chunks are independent, and small
    models do not scale with threads). One pool serves the whole probe: each worker imports the
    framework and warms up once.

    For PyTorch this process is one of the ``jobs``: it trains chunks from the start while its
    ``jobs - 1`` workers boot (a forkserver importing torch takes 2-3 s, a third of a probe of
    one setup), and takes the next chunk whenever it is free. Which process trains a chunk does
    not change its result: both train with one thread, from the chunk alone."""
    in_process = backend.name in _IN_PROCESS_OK
    workers = jobs - 1 if in_process else jobs
    pool = None
    if jobs > 1 and backend.name in _EXTRAS and workers > 0:
        pool = worker_pool(backend.name, workers)

    def run(jobs_list: list[Job], label: str) -> list[ArmRun]:
        chunks = _chunks(jobs_list)
        done = 0

        def finished(n: int) -> None:
            nonlocal done
            done += n
            progress(label, done, len(jobs_list))

        if pool is not None and in_process and len(chunks) > 1:
            results = _shared(chunks, backend, pool, workers, finished)
        else:
            if pool is not None and len(chunks) > 1:
                trained = pool.map(_worker_run_many, [(backend.name, s, runs) for s, runs in chunks])
            else:
                trained = (backend.run_many(s, runs) for s, runs in chunks)
            results = []
            for chunk in trained:
                results.append(chunk)
                finished(len(chunk))
        return [r for chunk in results for r in chunk]

    try:
        yield run
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _shared(
    chunks: list[tuple[Surrogate, list[tuple[Arm, int, Budget]]]],
    backend: Backend,
    pool: ProcessPoolExecutor,
    workers: int,
    finished: Callable[[int], None],
) -> list[list[ArmRun]]:
    """Every chunk's runs, trained by this process and the pool's ``workers`` together: each
    takes the next untrained chunk when it is free and up (a thread per worker waits on it)."""
    from concurrent.futures import ThreadPoolExecutor

    results: list[Optional[list[ArmRun]]] = [None] * len(chunks)
    queue = iter(range(len(chunks)))
    lock = threading.Lock()
    stopped = False

    def take() -> Optional[int]:
        with lock:
            return None if stopped else next(queue, None)

    def store(k: int, runs: list[ArmRun]) -> None:
        with lock:
            results[k] = runs
            finished(len(runs))

    def feed_worker() -> None:
        # a worker takes no chunk before it is up: one taken while it boots (2-3 s) would wait
        # for it, while this process, free, could have trained it
        pool.submit(_worker_backend, backend.name).result()
        while (k := take()) is not None:
            surrogate, runs = chunks[k]
            store(k, pool.submit(_worker_run_many, (backend.name, surrogate, runs)).result())

    with ThreadPoolExecutor(workers) as feeders:
        fed = [feeders.submit(feed_worker) for _ in range(workers)]
        try:
            while (k := take()) is not None:
                surrogate, runs = chunks[k]
                store(k, backend.run_many(surrogate, runs))
        finally:  # an error or ^C here: the workers take no further chunk
            with lock:
                stopped = True
        for f in fed:
            f.result()  # a worker's error surfaces here
    return [r for r in results if r is not None]


SetupKey = tuple[int, int]  # (plan, setup)


def _setups(plans: list[Plan]) -> list[SetupKey]:
    return [(p, s) for p, plan in enumerate(plans) if plan.kind == "train" for s in range(len(plan.setups))]


Rates = dict[SetupKey, list[list[float]]]  # per setup: the rate assignments, one rate per arm
Best = dict[SetupKey, list[float]]  # per setup: each arm's best rate on the pilot seed


def _choose_rates(plans: list[Plan], budget: Budget, run: Runner, per_rate: bool) -> tuple[Rates, Best]:
    """For each setup, the rates to compare the arms at (every arm at the same rate, so that
    the comparison is the bias's doing), and each arm's best rate on the pilot seed.

    ``--lr``: that rate. ``per_rate``: every rate of the grid in turn. Otherwise a pilot seed
    trains every arm at every rate of the grid, and ``rates.pick`` gives each arm its best
    rate (one shared rate when one is near-best for all): one comparison when the arms agree,
    one per rate when they do not, since an init that trains best at another rate than the
    advice does is compared fairly only at each of them. The pilot is left out of the test,
    so choosing the rate on it does not bias the comparison."""
    from biaslint.probe import rates

    keys = _setups(plans)
    if budget.lr is not None or per_rate:
        fixed = (budget.lr,) if budget.lr is not None else None
        grids = {
            (p, s): [[lr] * len(plans[p].arms) for lr in fixed or plans[p].setups[s][1].lr_grid()]
            for p, s in keys
        }
        return grids, {}
    grid_jobs = []
    for p, s in keys:
        surrogate = plans[p].setups[s][1]
        for arm in plans[p].arms:
            for lr in surrogate.lr_grid():
                pilot = replace(surrogate.budget(budget), lr=lr, steps=surrogate.pilot_steps(budget))
                grid_jobs.append((surrogate, arm, PILOT_SEED, pilot))
    runs = iter(run(grid_jobs, "choosing learning rates"))
    chosen: Rates = {}
    best: Best = {}
    for p, s in keys:
        surrogate = plans[p].setups[s][1]
        grid = surrogate.lr_grid()
        losses = [[next(runs).loss_final for _ in grid] for _ in plans[p].arms]
        best[(p, s)] = rates.pick(grid, losses, surrogate.margin, surrogate.usual_lr)
        chosen[(p, s)] = [[lr] * len(plans[p].arms) for lr in sorted(set(best[(p, s)]))]
    return chosen, best


Key = tuple[int, int, int, int, int]  # (plan, setup, rate assignment, arm, seed)


def _train_all(
    plans: list[Plan], backend: Backend, budget: Budget, jobs: int, progress: Progress, per_rate: bool
) -> tuple[dict[Key, ArmRun], Rates, Best]:
    """Every (plan, setup, rate assignment, arm, seed) run."""
    with _runner(backend, jobs, progress) as run:
        assignments, best = _choose_rates(plans, budget, run, per_rate)
        keys: list[Key] = [
            (p, s, k, a, seed)
            for (p, s), rates in assignments.items()
            for k, arm_rates in enumerate(rates)
            for a in range(len(arm_rates))
            for seed in range(plans[p].setups[s][1].budget(budget).seeds)
        ]
        label = "probing " + ", ".join(sorted({plans[key[0]].code for key in keys}))
        jobs_list = []
        for p, s, k, a, seed in keys:
            surrogate = plans[p].setups[s][1]
            run_budget = replace(surrogate.budget(budget), lr=assignments[(p, s)][k][a])
            jobs_list.append((surrogate, plans[p].arms[a], seed, run_budget))
        runs = run(jobs_list, label)
    return dict(zip(keys, runs)), assignments, best


def run_plans(
    plans: list[Plan],
    backend: Backend,
    budget: Budget,
    progress: Progress = stderr_progress,
    jobs: Optional[int] = None,
    per_rate: bool = False,
) -> list[ProbeResult]:
    """Train every plan's arms and decide each comparison. ``per_rate``: instead of one rate
    chosen on a pilot seed, compare the arms at every rate of the grid, one verdict per rate."""
    from biaslint.probe import bn_demo
    from biaslint.probe.stats import MIN_SEEDS, decide

    if budget.seeds < MIN_SEEDS:
        raise ProbeError(f"a probe needs at least {MIN_SEEDS} seeds to give a verdict (got {budget.seeds})")
    jobs = jobs if jobs is not None else min(2, os.cpu_count() or 1)
    runs, assignments, best = _train_all(plans, backend, budget, jobs, progress, per_rate)
    results: list[ProbeResult] = []
    for p, plan in enumerate(plans):
        if plan.kind == "skip":
            continue
        if plan.kind == "bn_demo":
            demo = bn_demo.demo(plan.bn_kind, 0)
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
            for k, arm_rates in enumerate(assignments[(p, s)]):
                arm_results = [
                    ArmResult(
                        arm, [runs[(p, s, k, a, seed)] for seed in range(surrogate.budget(budget).seeds)]
                    )
                    for a, arm in enumerate(plan.arms)
                ]
                comp = compare_arms(arm_results[0], arm_results[1], surrogate)
                several = len(assignments[(p, s)]) > 1
                name = f"{setup_name}, learning rate {arm_rates[0]:g}" if several else setup_name
                pilot = budget.lr is None and not per_rate
                res = ProbeResult(
                    plan,
                    name,
                    surrogate,
                    surrogate.budget(budget),
                    backend.name,
                    arm_results,
                    comp,
                    lrs=arm_rates,
                    lr_grid=surrogate.lr_grid() if pilot else (),
                    lr_choice="pilot" if pilot else ("--per-rate" if per_rate else "--lr"),
                    lr_pilot_best=best[(p, s)] if pilot else [],
                )
                results.append(res)
    # one family: Holm's correction over every trained comparison of this run
    decide([r.comparison for r in results if r.comparison is not None])
    for res in results:
        if res.comparison is not None:
            res.verdict = res.comparison.outcome
        res.meaning = _meaning(res)
    _note_rate_dependence(results)
    return results


def _note_rate_dependence(results: list[ProbeResult]) -> None:
    """A setup compared at several rates whose verdicts differ: say so on each, since then the
    answer is "it depends on the learning rate", which no single verdict says."""
    by_setup: dict[tuple[int, Surrogate], list[ProbeResult]] = {}
    for r in results:
        if r.comparison is not None and r.surrogate is not None:
            by_setup.setdefault((id(r.plan), r.surrogate), []).append(r)
    for group in by_setup.values():
        if len(group) > 1 and len({r.verdict for r in group}) > 1:
            each = ", ".join(f"{r.lrs[0]:g}: {r.verdict}" for r in group)
            for r in group:
                r.meaning += (
                    f". The verdict changes with the learning rate ({each}): on this surrogate the "
                    "bias init matters less than the rate it is trained at"
                )


def compare_arms(yours: ArmResult, advised: ArmResult, surrogate: Surrogate) -> Comparison:
    """The paired comparison of two arms of one surrogate: held-out loss (a diverged run scores
    as the worst loss seen), and the accuracy difference for the classifiers (reported)."""
    from biaslint.probe.stats import compare

    worst = _worst([yours, advised])
    accuracy = None
    if surrogate.task != "adding_lstm":

        def acc(arm: ArmResult) -> list[float]:
            return [r.accuracy if r.accuracy is not None else math.nan for r in arm.runs]

        accuracy = (acc(yours), acc(advised))
    return compare(
        [_finite(r.loss_final, worst) for r in yours.runs],
        [_finite(r.loss_final, worst) for r in advised.runs],
        surrogate.margin,
        surrogate.chance_loss,
        accuracy,
    )


def _worst(arms: list[ArmResult]) -> float:
    """A diverged run (nan/inf loss) scores as the worst finite loss seen, so it counts against its arm."""
    finite = [v for a in arms for r in a.runs for v in (r.loss_init, r.loss_final) if math.isfinite(v)]
    return max(finite, default=1e3)


def _finite(value: float, worst: float) -> float:
    return value if math.isfinite(value) else worst


def _diverged(arm: ArmResult) -> int:
    return sum(not math.isfinite(r.loss_final) for r in arm.runs)


def _margins(comp: Comparison) -> str:
    """What "the same" means here, and whether a difference inside it was significant."""
    text = f"loss within ±{comp.margin:g}"
    if comp.outcome == "equivalent" and comp.significant:
        text += f"; the difference of {comp.effect:+.3f} is significant, but smaller than that"
    return text


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
            f"the two inits train to the same {_margins(comp)} ({losses}{dead}): bias init "
            "matters little here, as CS231n says it usually does next to weight init"
        )
    else:
        text = (
            f"inconclusive: no difference is shown, and none is ruled out ({_margins(comp)}) "
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
            setup["lr_choice"] = r.lr_choice
            setup["lr_pilot_best"] = r.lr_pilot_best
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
                    "accuracy_effect": comp.accuracy_effect,
                    "n": comp.n,
                },
                "meaning": r.meaning,
                "not_measured": NOT_MEASURED,
            }
        )
    # version 3: effect.accuracy_effect, setup.lr_choice / lr_pilot_best, one
    # probe per rate (--per-rate, or arms whose best rates differ); version 2: verdicts
    # better/worse/equivalent/inconclusive, t-interval, Holm
    return {"version": 3, "probes": probes}


NOT_MEASURED = "small surrogate on bundled digits (or a synthetic task); your full model and data may differ"
