"""The forget-gate arms per seed at each Adam rate: the figures behind the LSTM's rate grid.

    python benchmarks/forget_gate_rates.py [--backend torch|tensorflow] [--rates 0.00316,0.01,0.0316]
                                           [--seeds 6]

Trains the adding-problem LSTM (T = 50, 600 steps) with the forget-gate bias at 0 and at 1,
from the same seeds, at each rate, and prints each seed's held-out loss and the number of seeds
where 1 ends lower by more than the equivalence margin. The README quotes these figures for why
the grid stops at 0.01.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from biaslint.probe import load_backend, one_thread  # noqa: E402
from biaslint.probe.spec import Arm, Budget, Surrogate  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=("torch", "tensorflow"), default="torch")
    ap.add_argument("--rates", default="0.00316,0.01,0.0316")
    ap.add_argument("--seeds", type=int, default=6)
    args = ap.parse_args()
    one_thread(args.backend)
    backend = load_backend(args.backend)
    surrogate = Surrogate("adding_lstm", (), ("default", None), min_steps=600)
    for lr in (float(x) for x in args.rates.split(",")):
        budget = Budget(steps=600, lr=lr, seeds=args.seeds)
        t0 = time.perf_counter()
        final = {
            fb: np.array(
                [
                    r.loss_final
                    for r in backend.run_many(
                        surrogate, [(Arm(f"{fb}", (), forget_bias=fb), s, budget) for s in range(args.seeds)]
                    )
                ]
            )
            for fb in (0.0, 1.0)
        }
        wins = int((final[0.0] - final[1.0] > surrogate.margin).sum())
        took = time.perf_counter() - t0
        solved = {fb: int((v < surrogate.chance_loss / 10).sum()) for fb, v in final.items()}
        print(
            f"{args.backend} lr {lr:g}: forget 0 {np.round(final[0.0], 3).tolist()}, forget 1 "
            f"{np.round(final[1.0], 3).tolist()}; solved (loss < chance/10) {solved[0.0]} vs {solved[1.0]} "
            f"of {args.seeds}; 1 lower by > {surrogate.margin:g} in {wins}/{args.seeds} [{took:.0f} s]",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
