"""Speed of ``biaslint inventory`` against bare libcst parsing, measured in one run.

    python benchmarks/bench.py PATH [PATH...] [--repeat N] [--jobs N] [--probe FILE ...]

Prints, for the same files: bare ``libcst.parse_module`` time, the time of the inventory
(pre-filter + ast + libcst parse + interpretation, one process), their ratio, files/s and
lines/s, the cost of the pre-filter on files that mention no framework, the speed-up of the
process pool, and the peak resident memory. Ratios are what to quote: this machine is shared.

``--probe FILE ...`` also times the default probe (PyTorch, this process and a worker) of each
FILE's first trainable finding: wall seconds per probed setup (one weight setup of one scope; a
setup whose arms disagree on the learning rate is compared at each rate, and counts once), and
the same probe with runs trained one by one instead of side by side (``CHUNK = 1``), as a ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import sys
import time
from pathlib import Path

import libcst

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from biaslint import engine
from biaslint.collect import analyse_source
from biaslint.collect.project import MENTIONS_FRAMEWORK
from biaslint.config import Settings


def _files(paths: list[str]) -> list[tuple[str, bytes]]:
    targets, _ = engine.discover(paths)
    out = []
    for t in targets:
        with contextlib.suppress(OSError):
            out.append((t.path, Path(t.path).read_bytes()))
    return out


def _best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--repeat", type=int, default=1, help="take the best of N runs of each measurement")
    ap.add_argument("--jobs", type=int, default=2, help="workers for the pool measurement")
    ap.add_argument(
        "--probe",
        nargs="+",
        default=None,
        metavar="FILE",
        help="also time a default probe of each FILE's first finding (needs biaslint[probe])",
    )
    args = ap.parse_args()

    files = _files(args.paths)
    parsable = []
    for path, data in files:
        try:
            text = data.decode("utf-8")
            libcst.parse_module(text)
            parsable.append((path, data, text))
        except Exception:
            pass
    relevant = [(p, d, t) for p, d, t in parsable if MENTIONS_FRAMEWORK.search(d)]
    irrelevant = [(p, d, t) for p, d, t in parsable if not MENTIONS_FRAMEWORK.search(d)]
    lines = sum(t.count("\n") for _, _, t in relevant)

    def parse_relevant() -> None:
        for _, _, text in relevant:
            libcst.parse_module(text)

    sites = 0

    def inventory() -> None:
        nonlocal sites
        sites = 0
        for path, data, _ in parsable:
            sites += len(analyse_source(path, data).sites)

    settings = Settings()

    def check() -> None:
        for path, data, _ in parsable:
            engine.check_source(path, data, settings)

    def parse_irrelevant() -> None:
        for _, _, text in irrelevant:
            libcst.parse_module(text)

    def skip_irrelevant() -> None:
        for path, data, _ in irrelevant:
            analyse_source(path, data)

    # the command line runs with engine.few_collections(); bare parsing keeps Python's defaults
    t_parse = _best(parse_relevant, args.repeat)
    with engine.few_collections():
        t_inv = _best(inventory, args.repeat)
        t_chk = _best(check, args.repeat)
        t_prj = _best(lambda: [analyse_source(p, d, project=True) for p, d, _ in parsable], args.repeat)
    print(
        f"files: {len(files)} found, {len(parsable)} parsable, {len(relevant)} mention a framework "
        f"({lines} lines); {sites} bias sites"
    )
    print(f"bare libcst.parse_module (framework files): {t_parse:8.3f} s   {lines / t_parse:8.0f} lines/s")
    print(
        f"biaslint inventory (all parsable files):    {t_inv:8.3f} s   {len(parsable) / t_inv:8.1f} files/s"
    )
    print(f"ratio inventory / bare parse:               {t_inv / t_parse:8.2f} x")
    print(f"ratio check (inventory + rules) / parse:    {t_chk / t_parse:8.2f} x")
    print(f"ratio inventory --project / parse:          {t_prj / t_parse:8.2f} x")
    if irrelevant:
        t_pi = _best(parse_irrelevant, args.repeat)
        t_si = _best(skip_irrelevant, args.repeat)
        print(
            f"pre-filter on {len(irrelevant)} files with no framework: {t_si / t_pi:.3f} x their parse time"
        )
    paths = [p for p, _, _ in parsable]
    t1 = _best(lambda: engine.run(paths, jobs=1), args.repeat)
    tn = _best(lambda: engine.run(paths, jobs=args.jobs), args.repeat)
    print(f"engine.run jobs=1: {t1:.3f} s, jobs={args.jobs}: {tn:.3f} s  (speed-up {t1 / tn:.2f} x)")
    if args.probe:
        _time_probe(args.probe)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {peak:.0f} MiB")


def _time_probe(paths: list[str]) -> None:
    """The default probe of each file's first trainable finding, side by side and one by one."""
    import biaslint.probe as probe
    from biaslint.probe import Budget, load_backend, plan_for, run_plans

    backend = load_backend("torch")
    for path in paths:
        model = engine.check_source(path, Path(path).read_bytes(), Settings())
        plans = [p for p in plan_for(model, model.findings) if p.kind == "train"][:1]
        if not plans:
            print(f"probe: no trainable finding in {path}")
            continue
        setups = len(plans[0].setups)
        timings = {}
        for chunk in (probe.CHUNK, 1):
            saved, probe.CHUNK = probe.CHUNK, chunk
            try:
                t0 = time.perf_counter()
                results = run_plans(plans, backend, Budget(), lambda *a: None)
                timings[chunk] = time.perf_counter() - t0
            finally:
                probe.CHUNK = saved
            if chunk != 1:
                verdicts = ", ".join(f"{r.setup}: {r.verdict}" for r in results)
                compared = len(results)
        stacked, alone = timings[probe.CHUNK], timings[1]
        print(
            f"probe of {plans[0].code} in {path}: {stacked / setups:.1f} s per setup "
            f"({setups} setups, {compared} comparisons, {stacked:.1f} s); one run at a time: "
            f"{alone:.1f} s, {alone / stacked:.1f}x slower ({verdicts})"
        )


if __name__ == "__main__":
    main()
