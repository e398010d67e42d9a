"""Probe results as text, and the loss curves as a PNG."""

from __future__ import annotations

import math
from typing import Optional

from biaslint.probe import NOT_MEASURED, ProbeResult
from biaslint.probe.stats import Comparison
from biaslint.report import printable


def _num(x: Optional[float], fmt: str = ".3f") -> str:
    return "-" if x is None else format(x, fmt)


def _covered(r: ProbeResult) -> str:
    """``BIA101 (lines 154, 164), BIA301 (line 154)``: the findings one probe answers."""
    by_code: dict[str, list[int]] = {}
    for x in r.plan.findings:
        by_code.setdefault(x.code, []).append(x.line)
    parts = []
    for code, lines in by_code.items():
        label = "line" if len(lines) == 1 else "lines"
        parts.append(f"{code} ({label} {', '.join(map(str, lines))})")
    return ", ".join(parts)


def _equivalence(comp: Comparison) -> str:
    """``accuracy yours - advised -1.2 points; equivalence margin ±0.05``"""
    margin = f"equivalence margin ±{comp.margin:g}"
    if comp.accuracy_effect is None or math.isnan(comp.accuracy_effect):
        return margin
    return f"accuracy yours - advised {comp.accuracy_effect * 100:+.1f} points; {margin}"


def _rates(r: ProbeResult) -> str:
    """Which rate the arms trained at, and why."""
    grid = ", ".join(f"{x:g}" for x in r.lr_grid)
    rate = f"learning rate {r.lrs[0]:g} for every arm" if r.lrs else "learning rate -"
    if r.lr_choice == "--lr":
        return f"{rate} (--lr)"
    if r.lr_choice == "--per-rate":
        every = ", ".join(f"{x:g}" for x in (r.surrogate.lr_grid() if r.surrogate else ()))
        return f"{rate} (one rate of the grid {every}: --per-rate)"
    if len(set(r.lr_pilot_best)) > 1:
        best = ", ".join(f"{a.arm.name} {lr:g}" for a, lr in zip(r.arms, r.lr_pilot_best))
        return (
            f"{rate} (the arms' best of {grid} on a pilot seed not compared differ: {best}; "
            "so they are compared at each)"
        )
    margin = f"±{r.surrogate.margin:g}" if r.surrogate else "the margin"
    return f"{rate} (within {margin} of each arm's best of {grid} on a pilot seed not compared)"


def text(results: list[ProbeResult], skipped: list[str]) -> str:
    out: list[str] = []
    for r in results:
        f = r.plan.first
        out.append(f"{printable(f.path)}:{f.line}: {_covered(r)} — {r.setup}")
        if r.surrogate is not None:
            out.append(
                f"  surrogate: {r.surrogate.describe()}; {r.budget.seeds} seeds x {r.budget.steps} "
                f"steps, {r.backend}"
            )
            out.append(f"  optimiser: {r.surrogate.optimiser}, {_rates(r)}")
        elif r.lrs:  # --model
            how = "--lr" if r.budget.lr is not None else "fixed for --model; --lr sets it"
            out.append(f"  optimiser: SGD (momentum 0.9), learning rate {r.lrs[0]:g} for both arms ({how})")
        if r.arms:  # the surrogate's arms, or your model's (--model)
            out.append(
                f"  {'arm':<18} {'bias init':<30} {'loss@init':>9} {'loss@end':>9} {'accuracy':>9} "
                f"{'dead ReLU':>9} {'grad norm':>9}"
            )
            for a in r.arms:
                out.append(
                    f"  {a.arm.name:<18} {a.arm.describe()[:30]:<30} {_num(a.mean('loss_init')):>9} "
                    f"{_num(a.mean('loss_final')):>9} {_num(a.mean('accuracy')):>9} "
                    f"{_num(a.mean('dead_relu_frac'), '.0%'):>9} {_num(a.mean('grad_norm'), '.2f'):>9}"
                )
        comp = r.comparison
        stats = ""
        if comp is not None:
            stats = (
                f" (held-out loss yours - advised: {comp.effect:+.3f}, 95% t-interval "
                f"[{comp.ci_low:+.3f}, {comp.ci_high:+.3f}]; {comp.test} p = {comp.p_value:.3f}, "
                f"Holm-adjusted {comp.p_adjusted:.3f}; {_equivalence(comp)}; n = {comp.n})"
            )
            if comp.reason:
                stats = f": {comp.reason}{stats}"
        out.append(f"  verdict: {r.verdict}{stats}")
        out.append(f"  meaning: {r.meaning}")
        out.append("")
    if results:
        out.append(f"not measured: {NOT_MEASURED}.")
    out.extend(skipped)
    return "\n".join(out).rstrip()


def plot(results: list[ProbeResult], path: str) -> None:
    """Training loss of every seed (thin lines, one colour per arm) and each arm's held-out final
    loss (dots at the end), with the rate each arm used; one panel per probe."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    trained = [r for r in results if r.arms]
    if not trained:
        raise ValueError("nothing was trained, so there is nothing to plot")
    fig, axes = plt.subplots(1, len(trained), figsize=(5.2 * len(trained), 3.8), squeeze=False)
    for ax, r in zip(axes[0], trained):
        for k, a in enumerate(r.arms):
            colour = f"C{k}"
            lr = f", lr {r.lrs[k]:g}" if k < len(r.lrs) else ""
            for i, run in enumerate(a.runs):
                curve = np.array(run.curve, dtype=float)
                steps = np.arange(len(curve)) * r.budget.log_every
                label = f"{a.arm.name}: {a.arm.describe()}{lr}" if i == 0 else None
                ax.plot(steps, curve, color=colour, alpha=0.5, linewidth=0.8, label=label)
                ax.plot([steps[-1] if len(steps) else 0], [run.loss_final], "o", color=colour, markersize=3)
                finite = np.flatnonzero(np.isfinite(curve))
                if len(finite) < len(curve) and len(finite):  # diverged: an x at its last finite loss
                    last = finite[-1]
                    ax.plot([steps[last]], [curve[last]], "x", color=colour, markersize=5)
        ax.set_title(f"{r.plan.code} line {r.plan.first.line}: {r.setup}", fontsize=9)
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
        ax.legend(fontsize=7)
        runs = [run for a in r.arms for run in a.runs]
        diverged = sum(not np.isfinite(run.loss_final) for run in runs)
        note = f"; x: diverged, {diverged}/{len(runs)} runs" if diverged else ""
        ax.text(
            0.02,
            0.02,
            f"verdict: {r.verdict} (dots: held-out loss{note})",
            transform=ax.transAxes,
            fontsize=8,
        )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
