"""Known answers: the probe's verdict, at default settings, on cases whose answer is known.

    python benchmarks/probe_known_answers.py [--backend torch|tensorflow|both] [--only SUBSTRING]

Each case is a small file (TF1, Keras or PyTorch, with the bias set in the ways users set it) and
the verdicts that are right for it:

    negative bias before ReLU (-1, set by a constructor argument, a Keras initializer, a slim
        arg_scope, a tf.constant helper, nn.init.constant_, .data.fill_, an isinstance loop,
        apply): the advised 0 trains better                        -> better
    bias straight into batch norm: the norm cancels it              -> equivalent
    LSTM forget-gate bias 0 instead of 1, on the adding problem
        (a long-range dependency, Gers et al. 2000)                 -> better
    bias 1 before ReLU under He init: not worse than 0
        (the advice may help or be neutral, CS231n)                 -> equivalent or better

Every file is probed on each backend (the surrogate does not depend on the file's framework).
Exit status 1 when any verdict is not one of the right ones. Times are wall-clock on a shared
machine, two processes (with PyTorch, this one and a worker).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from biaslint import engine  # noqa: E402
from biaslint.config import Settings  # noqa: E402
from biaslint.probe import Budget, load_backend, plan_for, run_plans  # noqa: E402

STYLES = sorted((ROOT / "tests" / "fixtures" / "probe_styles").glob("*.py"))
KNOWN = ROOT / "tests" / "fixtures" / "probe_known"
EXAMPLES = ROOT / "examples"

#: (file, the verdicts that are right for every probe of it)
CASES: list[tuple[Path, frozenset[str]]] = [
    *[(path, frozenset({"better"})) for path in STYLES],
    (KNOWN / "tf1_bias_bn.py", frozenset({"equivalent"})),
    (EXAMPLES / "keras_cnn_bn.py", frozenset({"equivalent"})),
    (EXAMPLES / "torch_cnn.py", frozenset({"equivalent"})),
    (KNOWN / "tf1_forget_gate.py", frozenset({"better"})),
    (KNOWN / "keras_forget_gate.py", frozenset({"better"})),
    (EXAMPLES / "torch_lstm_lm.py", frozenset({"better"})),
    (KNOWN / "tf1_he_ones.py", frozenset({"equivalent", "better"})),
    (KNOWN / "keras_he_ones.py", frozenset({"equivalent", "better"})),
    (KNOWN / "torch_he_ones_init.py", frozenset({"equivalent", "better"})),
]


def probe(path: Path, backend_name: str) -> list[tuple[str, str, str]]:
    """(rule, setup, verdict) of every probe of ``path`` at default settings."""
    model = engine.check_source(str(path), path.read_bytes(), Settings())
    plans = [p for p in plan_for(model, model.findings) if p.kind != "skip"]
    results = run_plans(plans, load_backend(backend_name), Budget(), lambda *a: None)
    return [(r.plan.code, r.setup, r.verdict) for r in results]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=("torch", "tensorflow", "both"), default="both")
    ap.add_argument("--only", default="", help="only the files whose path contains this")
    args = ap.parse_args()
    backends = ("torch", "tensorflow") if args.backend == "both" else (args.backend,)
    wrong = total = 0
    t_all = time.perf_counter()
    for backend in backends:
        for path, right in CASES:
            if args.only not in str(path):
                continue
            t0 = time.perf_counter()
            results = probe(path, backend)
            elapsed = time.perf_counter() - t0
            if not results:
                results = [("-", "no probe", "none")]
            for code, setup, verdict in results:
                total += 1
                ok = verdict in right
                wrong += not ok
                print(
                    f"{'ok  ' if ok else 'WRONG'} {backend:<10} {path.relative_to(ROOT)}: {code} {setup}: "
                    f"{verdict} (right: {' or '.join(sorted(right))}) [{elapsed:.1f} s]",
                    flush=True,
                )
    print(f"{total - wrong}/{total} verdicts right in {time.perf_counter() - t_all:.0f} s")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
