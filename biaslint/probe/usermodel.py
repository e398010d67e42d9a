"""``--model module:factory``: probe the user's own model. This imports and runs user code —
only ever on the user's explicit request (the CLI help and the README say so)."""

from __future__ import annotations

import importlib
import math
import os
import sys
from typing import Any

from biaslint.model import Finding
from biaslint.probe import ArmResult, ProbeError, ProbeResult, load_backend
from biaslint.probe.plan import PRIOR, Plan
from biaslint.probe.spec import Arm, BiasInit, Budget

_ZERO: BiasInit = ("constant", 0.0)


def load_factory(spec: str, near: str) -> Any:
    """``package.module:function`` -> that function (called once per seed by :func:`probe_model`).
    Looks in the current directory and next to the checked file."""
    if ":" not in spec:
        raise ProbeError(f"--model takes module:factory, not {spec!r}")
    module_name, func_name = spec.split(":", 1)
    for extra in (os.getcwd(), os.path.dirname(os.path.abspath(near))):
        if extra not in sys.path:
            sys.path.insert(0, extra)
    try:
        module = importlib.import_module(module_name)
        factory = getattr(module, func_name)
    except (ImportError, AttributeError) as exc:
        raise ProbeError(f"cannot load {spec}: {exc}") from None
    if not callable(factory):
        raise ProbeError(f"{spec} is not a function that builds a model")
    return factory


def build_seeded(factory: Any, seed: int) -> Any:
    """``factory()`` with every random generator it may draw its initial weights from seeded,
    so that each seed of the probe starts from its own, reproducible weights."""
    import random

    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:
        pass
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)
    if "keras" in sys.modules or "tensorflow" in sys.modules:
        from tensorflow import keras

        keras.utils.set_random_seed(seed)
    return factory()


#: the rate of both arms on your model, unless --lr says otherwise: no pilot, since every
#: training of your model runs your code again
MODEL_LR = 0.05


def variant_for(code: str, kind: str) -> dict[str, BiasInit]:
    if code == "BIA501":
        return {"output": ("constant", -math.log((1 - PRIOR) / PRIOR))}
    if code in ("BIA303", "BIA502"):
        return {"output": _ZERO}
    if code in ("BIA301", "BIA302"):
        return {"conv": _ZERO, "dense": _ZERO}
    return {kind if kind in ("conv", "dense") else "all": _ZERO}


def probe_model(
    factory: Any, spec: str, input_shape: tuple[int, ...], plans: list[Plan], budget: Budget
) -> list[ProbeResult]:
    """Each seed builds the model anew (``factory()`` with that seed), so the seeds differ in
    their initial weights as the surrogate path's do; both arms of a seed share them."""
    models = [build_seeded(factory, seed) for seed in range(budget.seeds)]
    model = models[0]
    name = "tensorflow" if type(model).__module__.startswith(("keras", "tensorflow")) else "torch"
    from biaslint.probe.stats import compare, decide

    backend = load_backend(name)
    results = []
    for plan in plans:
        if plan.kind != "train" or plan.code == "BIA401":
            continue
        first: Finding = plan.first
        kind = first.site.layer_kind if first.site else "all"
        advised = variant_for(plan.code, kind)
        arms = [
            ArmResult(Arm("as built", ()), []),
            ArmResult(Arm("advised", tuple(enumerate(advised.values()))), []),
        ]
        for seed in range(budget.seeds):
            arms[0].runs.append(backend.run_model(models[seed], input_shape, {}, seed, budget))
            arms[1].runs.append(backend.run_model(models[seed], input_shape, advised, seed, budget))
        comp = compare(
            [r.loss_final for r in arms[0].runs], [r.loss_final for r in arms[1].runs], margin=0.05
        )
        setup = (
            f"your model {spec} on synthetic inputs {list(input_shape)} ({', '.join(advised)} biases changed)"
        )
        lr = budget.lr if budget.lr is not None else MODEL_LR
        res = ProbeResult(plan, setup, None, budget, name, arms, comp, lrs=[lr, lr], lr_choice="--model")
        res.meaning = (
            "memorising synthetic data with your architecture: "
            f"final loss {arms[0].mean('loss_final'):.3f} (as built) vs {arms[1].mean('loss_final'):.3f} "
            "(advised)"
        )
        results.append(res)
    decide([r.comparison for r in results if r.comparison is not None])
    for r in results:
        r.verdict = r.comparison.outcome if r.comparison else r.verdict
    return results
