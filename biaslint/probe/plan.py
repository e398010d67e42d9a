"""Findings -> probe plans: which surrogate, which arms. Reads sites, never the syntax tree."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

from biaslint.model import BiasSite, FileModel, Finding, Init
from biaslint.probe.spec import WEIGHT_KINDS, Arm, BiasInit, Layer, Surrogate, Task

#: rules whose advice a trained surrogate can test, and how
VALUE_RULES = frozenset({"BIA101", "BIA102", "BIA103", "BIA104", "BIA105", "BIA301", "BIA302"})
OUTPUT_RULES = frozenset({"BIA303", "BIA501", "BIA502"})
PROBED = VALUE_RULES | OUTPUT_RULES | {"BIA201", "BIA401"}
NOT_PROBED_WHY = {
    "BIA202": "a shape error breaks the model; there is nothing to compare",
    "BIA203": "a dtype error breaks the model; there is nothing to compare",
    "BIA206": "the in-place call raises at build time; there is nothing to compare",
    "BIA205": "an unused or doubled bias is a code smell, not a training effect",
    "BIA204": "freezing is a choice about training, not about the initial value",
    "BIA402": "a slice error is shown by the gate order, not by training",
    "BIA403": "Keras documents what it does with the initializer",
    "BIA404": "no highway surrogate yet",
    "BIA601": "no norm-shift surrogate yet",
}
#: hidden layers a surrogate keeps: up to 12 in all (deeper models are thinned evenly, keeping
#: the flagged layers), of which at most 3 dense. Depth is part of what an init does: a fixed
#: weight stddev that trains 3 layers can leave 12 stuck at chance
MAX_DEPTH, MAX_DENSE = 12, 3
PRIOR = 0.1  # positive rate of the binary surrogate task ("is it a 0?")


@dataclass
class Plan:
    code: str
    findings: list[Finding]
    kind: str  # "train" | "bn_demo" | "skip"
    setups: list[tuple[str, Surrogate]] = field(default_factory=list)
    arms: list[Arm] = field(default_factory=list)
    why_not: str = ""
    bn_kind: str = "conv"

    @property
    def first(self) -> Finding:
        return self.findings[0]


def _init_tuple(init: Init) -> BiasInit:
    kind = init.kind
    if kind in ("zeros", "ones", "constant"):
        return ("constant", init.value if init.value is not None else 0.0)
    if kind in ("normal", "truncated_normal", "uniform") and init.value is not None:
        return (kind, init.value)
    if kind in ("glorot_uniform", "he_uniform", "lecun_uniform", "uniform"):
        return ("uniform", 0.1)  # a fan-based random bias: about this wide for a few hundred units
    if kind in ("glorot_normal", "he_normal", "normal", "truncated_normal"):
        return ("normal", 0.1)
    return ("default", None)


def _constructed_at(site: BiasSite) -> set[int]:
    """The lines of the layers a site sets: its own, or for a re-init the constructions it
    names (one, or every layer of a class for an ``isinstance`` loop or ``apply``)."""
    if not site.reinit:
        return {site.line}
    lines = {int(x) for x in site.notes.get("ref_lines") or () if isinstance(x, int)}
    if isinstance(site.notes.get("ref_line"), int):
        lines.add(int(site.notes["ref_line"]))
    return lines or {site.line}


def _effective(site: BiasSite, sites: list[BiasSite]) -> BiasInit:
    """The init a layer starts with: its construction, unless a later re-init names it."""
    for s in sites:
        if s.reinit and s.gate is None and site.line in _constructed_at(s):
            return _init_tuple(s.init)
    if site.framework != "torch" and site.init_kind == "default":
        return ("constant", 0.0)  # Keras, tf.layers and slim default to zeros
    return _init_tuple(site.init)


def _fan_in(site: BiasSite) -> Optional[int]:
    """A layer's fan-in at full size, from its kernel's static shape ([3, 3, 64, 128] -> 576)."""
    shape = site.kernel_shape
    if not shape or len(shape) < 2 or any(d is None or d <= 0 for d in shape[:-1]):
        return None
    return math.prod(int(d) for d in shape[:-1] if d is not None)


def _scaled(site: BiasSite) -> int:
    width = None
    if site.shape and site.shape[0]:
        width = site.shape[0]
    elif site.kernel_shape and site.kernel_shape[-1]:
        width = site.kernel_shape[-1]
    if site.layer_kind == "conv":
        return 16 if width is None else max(8, min(16, width // 16))
    # dense layers are cheap, and a narrow one is a bottleneck on the 64-pixel digits whose
    # seed noise hides a real difference: a quarter of the width, 32 to 128 units
    return 64 if width is None else max(32, min(128, width // 4))


def _activation(site: BiasSite) -> str:
    if site.activation in ("relu", "sigmoid", "tanh", "none", "batchnorm"):
        return site.activation
    return "relu"


def _layers(model: FileModel, finding: Finding) -> tuple[list[BiasSite], Optional[BiasSite]]:
    """The hidden conv/dense layers of the finding's scope in order, and its output layer."""
    scope = finding.site.scope if finding.site else None
    if finding.site is not None and finding.site.reinit:  # ``apply(init_fn)``: the model's scope
        lines = _constructed_at(finding.site)
        scope = next((s.scope for s in model.sites if s.line in lines and not s.reinit), scope)
    layers = [
        s for s in model.sites if s.scope == scope and not s.reinit and s.layer_kind in ("conv", "dense")
    ]
    hidden = [s for s in layers if s.output_layer is not True and s.gate is None]
    outputs = [s for s in layers if s.output_layer is True]
    return hidden, (outputs[-1] if outputs else None)


def _pick(sites: list[BiasSite], cap: int, keep: set[int]) -> list[BiasSite]:
    if len(sites) <= cap:
        return sites
    must = [s for s in sites if s.line in keep][:cap]
    rest = [s for s in sites if s.line not in keep]
    room = cap - len(must)
    step = len(rest) / room if room else 0
    chosen = must + [rest[int(i * step)] for i in range(room)]
    return sorted(chosen, key=lambda s: s.line)


#: rules whose answer depends on the weights' scale: a positive bias is AlexNet's remedy for
#: small fixed-stddev weights, so under those the advice is also tried with He weights. A
#: negative bias or a bias before sigmoid is not about the weight scale: one setup
WEIGHT_DEPENDENT = frozenset({"BIA101", "BIA301", "BIA302"})


def _weight_setups(code: str, sites: list[BiasSite]) -> list[tuple[str, tuple[str, Optional[float]]]]:
    wi = next((s.weight_init for s in sites if s.weight_init is not None), None)
    framework = sites[0].framework if sites else "torch"
    if wi is None:
        own: tuple[str, Optional[float]] = (
            ("default", None) if framework == "torch" else ("glorot_uniform", None)
        )
        return [("your weight init (framework default)", own)]
    own = (wi.kind, wi.value)
    if wi.kind not in WEIGHT_KINDS:  # "loaded" from a checkpoint, or not known statically
        default = ("default", None) if framework == "torch" else ("glorot_uniform", None)
        return [(f"your weight init is {wi.kind}: the framework default stands in", default)]
    setups = [(f"your weight init ({Init(wi.kind, wi.value).describe()})", own)]
    if (
        code in WEIGHT_DEPENDENT
        and wi.kind in ("normal", "truncated_normal", "uniform")
        and wi.value is not None
    ):
        setups.append(("He (fan-in scaled) weight init", ("he_normal", None)))
    return setups


def plan_for(model: FileModel, findings: list[Finding]) -> list[Plan]:
    """One plan per (rule, scope); findings that share it are listed together."""
    grouped: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        scope = f.site.scope if f.site else ""
        grouped.setdefault((f.code, scope), []).append(f)
    plans: list[Plan] = []
    for (code, _), group in grouped.items():
        plan = _plan(model, code, group)
        same = next(
            (
                p
                for p in plans
                if p.kind == plan.kind == "train" and p.setups == plan.setups and p.arms == plan.arms
            ),
            None,
        )
        if same is not None:  # BIA101 and BIA301 on the same layers ask the same question
            same.findings.extend(plan.findings)
        else:
            plans.append(plan)
    return plans


def _plan(model: FileModel, code: str, findings: list[Finding]) -> Plan:
    first = findings[0]
    if code not in PROBED or first.site is None:
        return Plan(code, findings, "skip", why_not=NOT_PROBED_WHY.get(code, "no probe for this rule"))
    site = first.site
    if code == "BIA201":
        return Plan(code, findings, "bn_demo", bn_kind="conv" if site.layer_kind == "conv" else "dense")
    if code == "BIA401":
        none_added = 0.0  # PyTorch adds nothing; Keras unit_forget_bias=False / TF1 forget_bias=0.0
        # each backend's own LSTM default (PyTorch: U(+-1/sqrt(H)); Keras: Glorot and orthogonal
        # recurrent weights, which keep memory well enough at T = 50 that on the TensorFlow
        # backend the forget gate often stops mattering: see benchmarks/probe_known_answers.py)
        surrogate = Surrogate("adding_lstm", (), ("default", None), min_steps=600, min_seeds=16)
        arms = [Arm("yours", (), forget_bias=none_added), Arm("advised", (), forget_bias=1.0)]
        return Plan(code, findings, "train", [("adding problem", surrogate)], arms)
    hidden, output = _layers(model, first)
    # the layers whose value the findings are about, by construction line: a finding on a
    # re-init (``nn.init.constant_(self.fc.bias, -1)``, ``.data.fill_``) is about the layer it
    # re-initialises, so that is the one the advised arm changes
    flagged = {line for f in findings if f.site is not None for line in _constructed_at(f.site)}
    denses = _pick([s for s in hidden if s.layer_kind == "dense"], MAX_DENSE, flagged)
    convs = _pick([s for s in hidden if s.layer_kind == "conv"], MAX_DEPTH - len(denses), flagged)
    chosen = convs + denses
    if not chosen:
        chosen = [site] if site.layer_kind in ("conv", "dense") and site not in (output,) else []
    task: Task = "digits_cnn" if any(s.layer_kind == "conv" for s in chosen) else "digits_mlp"
    sigmoid = (
        (output is not None and output.activation == "sigmoid")
        or code in ("BIA501", "BIA502")
        or (code == "BIA303" and site.activation == "sigmoid")
    )
    layers = tuple(Layer(s.layer_kind, _scaled(s), _activation(s)) for s in chosen)  # type: ignore[arg-type]
    yours = [(i, _effective(s, model.sites)) for i, s in enumerate(chosen)]
    out_init = _effective(output, model.sites) if output is not None else ("constant", 0.0)
    if code in OUTPUT_RULES and site.output_layer:
        out_init = _effective(site, model.sites)
    yours.append((-1, out_init))
    advised = _advice(code, chosen, flagged, yours)
    # only the two arms compared: an arm trained for show costs its share of every probe and
    # would take part in choosing the rate of a comparison it is not in
    arms = [Arm("yours", tuple(yours)), Arm("advised", tuple(advised))]
    setups = []
    for name, weight in _weight_setups(code, [site, *chosen]):
        setups.append(
            (
                name,
                Surrogate(
                    task,
                    layers,
                    weight,
                    n_out=1 if sigmoid else 10,
                    output_activation="sigmoid" if sigmoid else "softmax",
                    fan_ins=tuple(_fan_in(s) for s in chosen),
                ),
            )
        )
    return Plan(code, findings, "train", setups, arms)


def _advice(
    code: str, chosen: list[BiasSite], flagged: set[int], yours: list[tuple[int, BiasInit]]
) -> list[tuple[int, BiasInit]]:
    zero: BiasInit = ("constant", 0.0)
    lines = [s.line for s in chosen]
    if code in ("BIA301", "BIA302"):  # one value for every hidden layer
        return [(i, zero if i >= 0 else init) for i, init in yours]
    if code in VALUE_RULES:  # the flagged layers at zero
        return [(i, zero if i >= 0 and lines[i] in flagged else init) for i, init in yours]
    if code == "BIA501":
        prior = -math.log((1 - PRIOR) / PRIOR)
        return [(i, ("constant", prior) if i == -1 else init) for i, init in yours]
    return [(i, zero if i == -1 else init) for i, init in yours]  # BIA303, BIA502: output at 0
