"""Probe results as text, and the loss curves as a PNG."""

from __future__ import annotations

from typing import Optional

from biaslint.probe import NOT_MEASURED, ProbeResult
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
                f" (final loss yours - advised: {comp.effect:+.3f}, 95% CI [{comp.ci_low:+.3f}, "
                f"{comp.ci_high:+.3f}], paired bootstrap p = {comp.p_value:.3f}, n = {comp.n})"
            )
        out.append(f"  verdict: {r.verdict.replace('_', ' ')}{stats}")
        out.append(f"  meaning: {r.meaning}")
        out.append("")
    if results:
        out.append(f"not measured: {NOT_MEASURED}.")
    out.extend(skipped)
    return "\n".join(out).rstrip()


def plot(results: list[ProbeResult], path: str) -> None:
    """Mean training loss per arm with the spread across seeds (min..max), one panel per probe."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    trained = [r for r in results if r.arms]
    if not trained:
        raise ValueError("nothing was trained, so there is nothing to plot")
    fig, axes = plt.subplots(1, len(trained), figsize=(5.2 * len(trained), 3.8), squeeze=False)
    for ax, r in zip(axes[0], trained):
        for a in r.arms:
            curves = np.array([run.curve for run in a.runs], dtype=float)
            steps = np.arange(curves.shape[1]) * r.budget.log_every
            mean = curves.mean(axis=0)
            ax.plot(steps, mean, label=f"{a.arm.name}: {a.arm.describe()}")
            ax.fill_between(steps, curves.min(axis=0), curves.max(axis=0), alpha=0.2)
        ax.set_title(f"{r.plan.code} line {r.plan.first.line}: {r.setup}", fontsize=9)
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
        ax.legend(fontsize=7)
        ax.text(0.02, 0.02, f"verdict: {r.verdict.replace('_', ' ')}", transform=ax.transAxes, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
