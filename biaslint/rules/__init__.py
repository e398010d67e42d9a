"""Sites -> findings. Every rule is a small function over one file's model (see registry.py)."""

from __future__ import annotations

from biaslint.config import Settings
from biaslint.model import FileModel, Finding
from biaslint.rules import consistency, layer, norm, output, recurrent, value  # noqa: F401  (registration)
from biaslint.rules.registry import RULES, Context, Rule

__all__ = ["RULES", "Rule", "run_rules"]

# registration order is import order; users read them by code
_ordered = sorted(RULES.items())
RULES.clear()
RULES.update(_ordered)


def run_rules(model: FileModel, settings: Settings) -> list[Finding]:
    """All enabled rules over one file, in one pass over its sites; sorted by position."""
    ctx = Context(model, settings)
    findings: list[Finding] = []
    for code, rule in RULES.items():
        if settings.enabled(code, model.path):
            findings.extend(rule.check(ctx))
    findings.sort(key=lambda f: (f.line, f.col, f.code))
    return findings
