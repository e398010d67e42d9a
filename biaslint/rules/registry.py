"""The rule registry: a rule is a small pure function over one file's sites.

Each rule carries its documentation (what it does, why, example, use instead, sources) and
code examples that must (``invalid``) and must not (``valid``) trigger it; the test suite runs
every one of them, so documentation and behaviour cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Callable, Optional

from biaslint.config import Settings
from biaslint.model import BiasSite, FileModel, Finding, Severity

RELU_FAMILY = frozenset({"relu"})
HIDDEN_KINDS = frozenset({"conv", "dense"})
LOADED_NOTE = "weights are loaded later, so this initial value is only a placeholder"


@dataclass
class Context:
    """What a rule sees: one file's model and the settings. Never the syntax tree."""

    model: FileModel
    settings: Settings

    @property
    def sites(self) -> list[BiasSite]:
        return self.model.sites

    @property
    def biases(self) -> list[BiasSite]:
        """Sites known to be biases by their slot or their use: the value and consistency
        rules judge a bias's value only when it is certainly a bias (a name is a guess)."""
        return [s for s in self.model.sites if s.evidence != "name"]

    def finding(
        self, site: BiasSite, code: str, message: str, severity: Optional[Severity] = None
    ) -> Finding:
        rule = RULES[code]
        sev: Severity = severity or rule.severity
        if site.loaded and rule.value_rule:
            sev = "info"
            message = f"{message} ({LOADED_NOTE})"
        if site.evidence == "name" and sev != "info" and rule.needs_bias_evidence:
            sev = "info"  # a bias by its name only: the claim rests on a guess
            message = f"{message} (a bias by its name only)"
        elif site.notes.get("receiver") == "guessed" and sev != "info":
            sev = "info"  # ``layers.Conv2D`` on a handle we could not resolve: a guess
            message = f"{message} (layer API inferred from a handle named like a framework module)"
        return Finding(site.path, site.line, site.col, code, sev, message, site)

    def scopes(self) -> dict[str, list[BiasSite]]:
        """Biases per model, for the consistency rules. A slice of a bias (``b[H:2H]``, one
        half of a highway projection) is part of its layer, not a layer of its own."""
        out: dict[str, list[BiasSite]] = {}
        for s in self.biases:
            if not s.notes.get("view"):
                out.setdefault(s.scope, []).append(s)
        return out


Check = Callable[[Context], Iterator[Finding]]


@dataclass
class Rule:
    code: str
    title: str
    severity: Severity
    check: Check
    what: str
    why: str
    example: str
    instead: str
    sources: list[str]
    invalid: list[str] = field(default_factory=list)
    valid: list[str] = field(default_factory=list)
    #: value rules drop to info when weights are loaded over the initial values
    value_rule: bool = False
    #: the claim holds only if the site really is a bias (false for BIA206: an in-place op on
    #: any parameter that requires grad fails, whatever the parameter is)
    needs_bias_evidence: bool = True

    def doc(self) -> str:
        src = "\n".join(f"- {s}" for s in self.sources)
        return (
            f"{self.code}: {self.title} ({self.severity})\n\n"
            f"What it does\n  {self.what}\n\n"
            f"Why\n  {self.why}\n\n"
            f"Example\n{_indent(self.example)}\n\n"
            f"Use instead\n{_indent(self.instead)}\n\n"
            f"Sources\n{src}\n"
        )


RULES: dict[str, Rule] = {}


def rule(
    code: str,
    title: str,
    severity: Severity,
    *,
    what: str,
    why: str,
    example: str,
    instead: str,
    sources: list[str],
    invalid: list[str],
    valid: list[str],
    value_rule: bool = False,
    needs_bias_evidence: bool = True,
) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        if code in RULES:
            raise ValueError(f"duplicate rule code {code}")
        RULES[code] = Rule(
            code,
            title,
            severity,
            fn,
            what.strip(),
            why.strip(),
            example.strip("\n"),
            instead.strip("\n"),
            sources,
            invalid,
            valid,
            value_rule,
            needs_bias_evidence,
        )
        return fn

    return register


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" if line else "" for line in text.splitlines())


# -- small shared predicates -------------------------------------------------------------
def constant(site: BiasSite) -> Optional[float]:
    """The explicit constant a bias starts at (zeros/ones/constant), else None."""
    if site.init_kind in ("zeros", "ones", "constant") and site.init_value is not None:
        return site.init_value
    return None


def is_hidden(site: BiasSite) -> bool:
    return site.output_layer is False and site.gate is None


def weight_text(site: BiasSite) -> str:
    wi = site.weight_init
    if wi is None:
        return ""
    scale = (
        f"(stddev {wi.value:g})"
        if wi.value is not None and "normal" in wi.kind
        else (f"({wi.value:g})" if wi.value is not None else "")
    )
    return f"; weights: {wi.kind}{scale}"


def fmt(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return f"{value:g}"
