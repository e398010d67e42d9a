"""``biaslint check --probe``: run each finding's probe and attach the verdict to it."""

from __future__ import annotations

from typing import Optional

from biaslint.engine import RunResult
from biaslint.probe import Budget, ProbeResult, load_backend, plan_for, run_plans


def summary(results: list[ProbeResult]) -> str:
    parts = []
    for r in results:
        effect = f", effect {r.comparison.effect:+.3f}" if r.comparison else ""
        parts.append(f"{r.verdict} ({r.setup}{effect})")
    return "; ".join(parts)


def attach(result: RunResult, backend_name: str = "torch", budget: Optional[Budget] = None) -> None:
    """Probe every file's findings (one plan per rule and scope) and record the verdict on each."""
    backend = load_backend(backend_name)
    for model in result.files:
        if not model.findings:
            continue
        for plan in plan_for(model, model.findings):
            if plan.kind == "skip":
                for f in plan.findings:
                    f.probe = f"not probed: {plan.why_not}"
                continue
            text = summary(run_plans([plan], backend, budget or Budget()))
            for f in plan.findings:
                f.probe = text
