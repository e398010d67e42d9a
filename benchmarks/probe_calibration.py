"""A/A calibration of the probe's verdicts: how often it calls a difference where there is none.

    python benchmarks/probe_calibration.py [--probes N] [--seeds S] [--steps K] [--jobs J]
                                           [--backend torch|tensorflow] [--gate rate|interval]

An A/A test compares a thing with itself. Here both "arms" of a probe are the same arm (zero
biases everywhere), trained at the surrogate's usual learning rate; only the seeds differ. Probe k
trains the arm from seeds ``2kS .. 2kS+S-1`` as "yours" and from ``2kS+S .. 2kS+2S-1`` as
"advised" (S = ``--seeds``, 8 like the probe), pairs them by position and decides the probe on its
own, as a run with one probe would (``stats.compare`` then ``stats.decide``, so Holm changes
nothing). The seeds of different probes are disjoint, so the N probes are independent.

There is no true difference, so ``equivalent`` and ``inconclusive`` are correct verdicts and
``better`` or ``worse`` is a false verdict. The differences of an A/A pair are symmetric about 0,
so the exact sign-flip test rejects at most 5% of the time (with 8 pairs at most 6/128 = 4.7%);
a false-verdict rate clearly above that means the statistics are miscalibrated. Printed for each
surrogate (a dense MLP and a small CNN on the digits):

    verdicts      how many probes ended better / worse / equivalent / inconclusive
                  ("nothing trained": both arms stayed near the loss of a model that learned nothing)
    false verdicts  (better + worse) / probes, with a 95% Clopper-Pearson interval; with N = 40 the
                  interval is wide (0/40 still allows up to 8.8%), so read the interval, not the
                  point; more probes narrow it
    p < 0.05      how often the difference test alone rejected "no difference", before the
                  equivalence rule (which decides first, so a small significant difference within
                  the margin is "equivalent"): the calibration of the test itself, ~4.7% expected
    seed noise    the standard deviation over seeds of one arm's held-out final loss, and the
                  mean half-width of the 95% interval of the difference, next to the equivalence
                  margin: when the half-width is well inside the margin, most A/A probes end
                  "equivalent"

Exit status 1 when a surrogate's false-verdict rate exceeds ``--max-rate`` (5%): with ``--gate
rate`` (the default) the observed rate; with ``--gate interval`` only when the whole 95% interval
lies above it (a gate that a test of exactly 5% passes 97.5% of the time; with the point rate
and N = 40, such a test would fail about a third of the time). Runs are spread over ``--jobs``
processes of one thread each; times are wall-clock on a shared machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import shlex
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from biaslint.probe import (
    ArmResult,
    _chunks,
    _finite,
    _worker_run_many,
    _worst,
    compare_arms,
    load_backend,
    one_thread,
    stderr_progress,
    worker_pool,
)
from biaslint.probe.spec import Arm, ArmRun, Budget, Layer, Surrogate

SURROGATES = (
    Surrogate(
        "digits_mlp", (Layer("dense", 128, "relu"), Layer("dense", 128, "relu")), ("truncated_normal", 0.1)
    ),
    Surrogate(
        "digits_cnn",
        (Layer("conv", 8, "relu"), Layer("conv", 16, "relu"), Layer("dense", 64, "relu")),
        ("he_normal", None),
    ),
)
#: the one arm, on both sides of every A/A probe
ARM = Arm("yours", ((0, ("zeros", 0.0)), (-1, ("zeros", 0.0))))
OUTCOMES = ("better", "worse", "equivalent", "inconclusive")

Job = tuple[str, Surrogate, Arm, int, Budget]


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact two-sided binomial interval for k successes out of n."""
    from scipy.stats import beta

    a = (1 - level) / 2
    low = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return low, high


def _run_all(jobs_list: list[Job], pool: Optional[ProcessPoolExecutor]) -> list[ArmRun]:
    """In the probe's own chunks (``run_many``: torch trains a chunk side by side)."""
    backend = jobs_list[0][0]
    label = f"A/A {jobs_list[0][1].task}"
    tasks = [(backend, s, runs) for s, runs in _chunks([job[1:] for job in jobs_list])]
    out: list[ArmRun] = []
    chunks = pool.map(_worker_run_many, tasks) if pool is not None else map(_worker_run_many, tasks)
    for chunk in chunks:
        out.extend(chunk)
        stderr_progress(label, len(out), len(jobs_list))
    return out


def calibrate(
    surrogate: Surrogate, args: argparse.Namespace, pool: Optional[ProcessPoolExecutor]
) -> tuple[dict[str, float], bool]:
    from biaslint.probe.stats import ALPHA, decide

    s = args.seeds
    budget = surrogate.budget(Budget(seeds=s, steps=args.steps, lr=surrogate.usual_lr))
    jobs_list: list[Job] = [
        (args.backend, surrogate, ARM, k * 2 * s + i, budget)
        for k in range(args.probes)
        for i in range(2 * s)
    ]
    t0 = time.perf_counter()
    runs = _run_all(jobs_list, pool)
    elapsed = time.perf_counter() - t0

    counts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    rejected = 0
    half_widths: list[float] = []
    seed_sds: list[float] = []
    for k in range(args.probes):
        chunk = runs[k * 2 * s : (k + 1) * 2 * s]
        yours, advised = ArmResult(ARM, chunk[:s]), ArmResult(ARM, chunk[s:])
        worst = _worst([yours, advised])
        y = [_finite(r.loss_final, worst) for r in yours.runs]
        a = [_finite(r.loss_final, worst) for r in advised.runs]
        comp = compare_arms(yours, advised, surrogate)  # the probe's own comparison
        decide([comp])  # alone: a run with one probe
        counts[comp.outcome] += 1
        if comp.reason:
            reasons[comp.reason] += 1
        rejected += comp.p_adjusted < ALPHA
        half_widths.append((comp.ci_high - comp.ci_low) / 2)
        for side in (y, a):
            mean = sum(side) / s
            seed_sds.append((sum((v - mean) ** 2 for v in side) / (s - 1)) ** 0.5)

    n = args.probes
    false = counts["better"] + counts["worse"]
    low, high = clopper_pearson(false, n)
    rate = false / n
    mean_loss = sum(r.loss_final for r in runs) / len(runs)
    mean_acc = [r.accuracy for r in runs if r.accuracy is not None]
    acc = f", accuracy {sum(mean_acc) / len(mean_acc):.1%}" if mean_acc else ""
    print(f"{surrogate.task}: {surrogate.describe()}")
    print(
        f"  arm {ARM.describe()} on both sides; {surrogate.optimiser}, lr {surrogate.lr(budget):g}, "
        f"{budget.steps} steps, {s} + {s} seeds per probe"
    )
    print(f"  held-out final loss {mean_loss:.4f} on average{acc} (chance {surrogate.chance_loss:.3f})")
    nothing = f" ({reasons['nothing trained']} nothing trained)" if reasons["nothing trained"] else ""
    print(
        f"  probes {n}: better {counts['better']}, worse {counts['worse']}, "
        f"equivalent {counts['equivalent']}, inconclusive {counts['inconclusive']}{nothing}"
    )
    print(
        f"  false verdicts (better + worse): {false}/{n} = {rate:.1%}  "
        f"(95% Clopper-Pearson {low:.1%} to {high:.1%})"
    )
    r_low, r_high = clopper_pearson(rejected, n)
    print(
        f"  difference test p < {ALPHA:g} (before the equivalence rule): {rejected}/{n} = "
        f"{rejected / n:.1%}  (95% {r_low:.1%} to {r_high:.1%})"
    )
    sd = sorted(seed_sds)[len(seed_sds) // 2]
    print(
        f"  seed noise: median sd of final loss over {s} seeds {sd:.4f}; mean 95% half-width of "
        f"the difference {sum(half_widths) / n:.4f}; equivalence margin {surrogate.margin:g}"
    )
    workers = f"{args.jobs} processes" if args.jobs > 1 else "1 process"
    print(f"  time: {elapsed:.1f} s for {len(runs)} training runs ({workers})")
    failed = (low if args.gate == "interval" else rate) > args.max_rate
    if failed:
        print(f"  FAIL: false-verdict rate above {args.max_rate:.0%} ({args.gate} gate)")
    return {"rate": rate, "low": low, "high": high}, failed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--probes", type=int, default=40, help="A/A probes per surrogate (default 40)")
    ap.add_argument("--seeds", type=int, default=Budget.seeds, help="seeds per arm of a probe (default 8)")
    ap.add_argument("--steps", type=int, default=Budget.steps, help="training steps per run (default 200)")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes, one thread each (default 2)")
    ap.add_argument("--backend", choices=("torch", "tensorflow"), default="torch")
    ap.add_argument("--max-rate", type=float, default=0.05, help="highest acceptable false-verdict rate")
    ap.add_argument(
        "--gate",
        choices=("rate", "interval"),
        default="rate",
        help="fail on the observed rate (default), or only when its whole 95%% interval is above --max-rate",
    )
    args = ap.parse_args()
    from biaslint.probe.stats import MIN_SEEDS

    if args.seeds < MIN_SEEDS:
        ap.error(f"--seeds must be at least {MIN_SEEDS} (the probe's minimum)")
    if args.probes < 1 or args.steps < 1 or args.jobs < 1:
        ap.error("--probes, --steps and --jobs must be positive")

    if importlib.util.find_spec(args.backend) is None:
        load_backend(args.backend)  # raises ProbeError, naming the extra to install
    print("command: " + shlex.join(["python", *sys.argv]))
    t0 = time.perf_counter()
    failed = False
    pool: Optional[ProcessPoolExecutor] = None
    if args.jobs > 1:
        pool = worker_pool(args.backend, args.jobs)
    else:
        one_thread(args.backend)
    try:
        for surrogate in SURROGATES:
            _, bad = calibrate(surrogate, args, pool)
            failed = failed or bad
    finally:
        if pool is not None:
            pool.shutdown()
    print(f"total time: {time.perf_counter() - t0:.1f} s; {'FAIL' if failed else 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
