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
#: the only ways a finding is shown below its rule's severity (``biaslint rules``): the
#: severity a rule declares is the most its findings get, never more; each lowering says why
#: in the headline, in these words (the README's "How far to trust a finding" lists them)
LOWERED = {
    "loaded": "info: weights loaded later",
    "name": "info: a bias by its name only",
    "guessed": "info: layer API guessed from a name",
}
_RANK: dict[Severity, int] = {"info": 0, "warning": 1, "error": 2}


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
        self,
        site: BiasSite,
        code: str,
        headline: str,
        reason: str,
        lowered: Optional[tuple[Severity, str]] = None,
    ) -> Finding:
        """A finding at ``site``: ``headline`` says what and where with the values (the message
        every output shows, at most 100 characters with any lowering note), ``reason`` why,
        with sources (``--show-reasons``, JSON, SARIF). ``lowered``: (severity, why) for a case
        the rule knows to be milder than its declared severity; the headline then says why."""
        rule = RULES[code]
        sev: Severity = rule.severity
        notes: list[str] = []
        if lowered is not None:
            if _RANK[lowered[0]] >= _RANK[sev]:
                raise ValueError(f"{code}: a finding can only be lowered below {sev}")
            sev = lowered[0]
            notes.append(f"{sev}: {lowered[1]}")
        if site.loaded and rule.value_rule:
            reason = f"{reason}; {LOADED_NOTE}"
        if site.loaded and rule.value_rule and sev != "info":
            sev = "info"
            notes.append(LOWERED["loaded"])
        elif site.evidence == "name" and sev != "info" and rule.needs_bias_evidence:
            sev = "info"  # a bias by its name only: the claim rests on a guess
            notes.append(LOWERED["name"])
        elif site.notes.get("receiver") == "guessed" and sev != "info":
            sev = "info"  # ``layers.Conv2D`` on a handle we could not resolve: a guess
            notes.append(LOWERED["guessed"])
        if notes:
            headline = f"{headline} ({'; '.join(notes)})"
        return Finding(site.path, site.line, site.col, code, sev, headline, site, reason=reason)

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
    """`` (weights truncated_normal(0.1))``: the layer's weight init, when known, for a headline."""
    wi = site.weight_init
    if wi is None:
        return ""
    return f" (weights {wi.kind}{f'({wi.value:g})' if wi.value is not None else ''})"


def short(name: str, limit: int = 28) -> str:
    """A scope or listing cut to ``limit`` characters, so that a headline stays short."""
    return name if len(name) <= limit else name[: limit - 3] + "..."


def fmt(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return f"{value:g}"
