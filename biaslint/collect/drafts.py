"""Sites under construction, and how their observations become ``BiasSite`` records.

A draft collects what the interpreter observes about one bias: the same source line may be
interpreted several times (a helper called from many places, a class both analysed on its
own and instantiated by another), so observations are merged here, deterministically.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Optional

from biaslint.collect import table as T
from biaslint.model import BiasSite, Framework, Init, LayerKind

_SITE_FIELDS = frozenset(f.name for f in dataclasses.fields(BiasSite)) - {"notes"}

if TYPE_CHECKING:
    from biaslint.collect.values import AnyModule, Tensor, Var

_HIDDEN_ACTS = frozenset({"relu", "elu", "selu", "gelu", "silu", "softplus"})


@dataclass(eq=False)
class Draft:
    framework: Framework
    api: str
    layer_kind: LayerKind
    init: Init
    scope: str
    line: int = 0
    col: int = 0
    layer_name: Optional[str] = None
    weight_init: Optional[Init] = None
    own_act: Optional[str] = None
    outputs: list[tuple[Tensor, bool]] = field(default_factory=list)
    ref: Optional[Draft] = None  # a re-init of the bias this draft refers to
    ref_module: Optional[AnyModule] = None
    kernel: Optional[Var] = None
    var: Optional[Var] = None
    attrs: dict[str, Any] = field(default_factory=dict)  # BiasSite evidence fields
    inlined: bool = False
    resolved: Optional[tuple[str, Optional[bool]]] = None

    def set(self, **kw: Any) -> None:
        for k, v in kw.items():
            if v is not None:
                self.attrs[k] = v


def follow(t: Tensor) -> tuple[str, Optional[bool]]:
    """(activation, output_layer) for a layer's output tensor, walking its consumers."""
    act: Optional[str] = t.own_act if t.own_act not in (None, "none") else None
    cur: Optional[Tensor] = t
    # a reshape, or a value that also flows elsewhere (a residual stream, a second use), on the
    # way: a norm then does not cancel the bias everywhere it goes, so it is not "directly after"
    reshaped = False
    for _ in range(64):
        if cur is not None and cur.shared:
            reshaped = True
        if cur is None or cur.consumer is None:
            out: Optional[bool] = True  # nothing visible uses it any more: a model output
            break
        kind, name, nxt = cur.consumer
        if kind == "act":
            act = act or name
            cur = nxt
        elif kind in ("pass", "weak"):
            cur = nxt
        elif kind in ("reshape", "mix"):
            reshaped = reshaped or kind == "reshape"
            cur = nxt
        elif kind == "norm":
            # batch norm cancels a per-channel constant only on a direct path to it
            act = act or ("unknown" if reshaped and name == "batchnorm" else name)
            out = False
            break
        elif kind == "layer":
            out = False
            break
        elif kind in ("loss", "model", "return"):
            act = act or name
            out = True
            break
        else:  # unknown consumer; a softmax is an output whoever takes it
            return (act, True) if act == "softmax" else (act or "unknown", None)
    else:
        return act or "unknown", None
    if out and act in _HIDDEN_ACTS:
        out = False  # an activated output returned by a block is a hidden layer
    return act or "none", out


def resolve_outputs(d: Draft) -> tuple[str, Optional[bool]]:
    if d.resolved is not None:
        return d.resolved
    if d.ref is not None:
        d.resolved = resolve_outputs(d.ref)
        return d.resolved
    if d.ref_module is not None:
        d.resolved = ("unknown", None)
        return d.resolved
    obs = [t for t, inl in d.outputs if inl] or [t for t, _ in d.outputs]
    results = {follow(t) for t in obs}
    definite = {r for r in results if r[0] != "unknown" and r[1] is not None}
    results = definite or results  # one clear use beats uses we could not follow
    if not results:
        res: tuple[str, Optional[bool]] = ("unknown", None)
        if d.own_act:
            res = (d.own_act, None)
    elif len(results) == 1:
        res = results.pop()
    else:
        acts = {a for a, _ in results}
        outs = {o for _, o in results}
        res = (acts.pop() if len(acts) == 1 else "unknown", outs.pop() if len(outs) == 1 else None)
    d.resolved = res
    return res


_BIAS_TOKEN = re.compile(r"^(b|bias|biases|bias\d+|b\d+[a-z]*|b[a-z]{1,4}\d+[a-z]*|beta|offset)$")
#: a token that makes a name something else: a table, an index, an embedding, a statistic...
_OTHER_TOKENS = frozenset(
    {
        "table", "idx", "idxs", "index", "indices", "mask", "emb", "embed", "embedding",
        "embeddings", "pos", "position", "token", "tokens", "rgb", "bgr", "mean", "std", "var",
        "weight", "weights", "w", "kernel", "gamma", "scale", "prompt", "noise", "temperature",
    }
)  # fmt: skip


def looks_like_bias(names: list[str]) -> bool:
    """A name made of a bias *token* (``b``, ``bias``, ``fc1_b``, ``q_bias``, ``bias_ih_l0``,
    a norm's ``beta``); a substring is never evidence (``img_mean_rgb``, ``pos_emb``,
    ``relative_position_bias_table``), nor is a capital ``B`` (a matrix)."""
    return any(_is_bias_name(name) for name in names)


@lru_cache(maxsize=8192)
def _is_bias_name(name: str) -> bool:
    last_part = name.rsplit(".", 1)[-1].rsplit("[", 1)[0] if "[" not in name else name
    if last_part == "B":
        return False
    tokens = [t for t in re.split(r"[^a-zA-Z0-9]+", name.lower()) if t]
    if not tokens or any(t in _OTHER_TOKENS for t in tokens[-3:]):
        return False
    own = [t for t in re.split(r"[^a-zA-Z0-9]+", last_part.lower()) if t]
    return bool(
        _BIAS_TOKEN.match(tokens[-1])
        or (own and own[0] in ("bias", "biases"))
        or (
            len(tokens) >= 2
            and tokens[-2] in ("bias", "biases", "b")
            and re.fullmatch(r"[a-z]*\d*", tokens[-1])
        )
    )


#: weight-style initialisers used on a bias, folded into the bias init kinds of the contract
_BIAS_KIND = {
    "glorot_uniform": "uniform",
    "he_uniform": "uniform",
    "lecun_uniform": "uniform",
    "glorot_normal": "normal",
    "he_normal": "normal",
    "lecun_normal": "normal",
    "variance_scaling": "normal",
    "orthogonal": "other",
}


def _attention_projection(owner_class: Optional[str], name: Optional[str]) -> bool:
    if not owner_class or not name or not T.ATTENTION_CLASS.search(owner_class):
        return False
    attr = re.split(r"[./]", name)[-1].split("[", 1)[0]
    return attr.lower() in T.ATTENTION_PROJECTIONS


def to_site(d: Draft, path: str, comment: str) -> BiasSite:
    act, out = resolve_outputs(d)
    kind = d.layer_kind
    name = d.layer_name
    weight = d.weight_init
    if d.ref is not None:
        kind = d.ref.layer_kind if kind == "unknown" else kind
        name = name or d.ref.layer_name
        weight = weight or d.ref.weight_init
    if d.ref_module is not None:
        weight = weight or d.ref_module.weight
    if d.kernel is not None and weight is None:
        weight = d.kernel.init
    if d.kernel is not None:
        if d.kernel.shape is not None:
            d.attrs.setdefault("kernel_shape", d.kernel.shape)
        for key in ("trainable", "dtype"):
            if key in d.kernel.draft.attrs:
                d.attrs.setdefault(f"kernel_{key}", d.kernel.draft.attrs[key])
        d.attrs.setdefault("kernel_trainable", True)  # a variable trains unless told otherwise
    if d.var is not None:
        d.attrs.setdefault("used", d.var.used)
        # only a plain local name is known not to be used elsewhere (self.b may be, in a subclass)
        d.attrs.setdefault("local", bool(d.var.bindings) and all(n.isidentifier() for n in d.var.bindings))
    if d.ref is not None:
        d.attrs.setdefault("ref_line", d.ref.line)
        if "evidence" in d.ref.attrs:
            d.attrs.setdefault("evidence", d.ref.attrs["evidence"])
    if "ref_drafts" in d.attrs:
        d.attrs["ref_lines"] = sorted({r.line for r in d.attrs.pop("ref_drafts")})
    owner_class = d.attrs.get("owner_class") or (d.ref.attrs.get("owner_class") if d.ref else None)
    if kind in ("dense", "conv") and _attention_projection(owner_class, name):
        kind = "attention"
    fields = {k: v for k, v in d.attrs.items() if k in _SITE_FIELDS}
    notes = {k: v for k, v in d.attrs.items() if k not in _SITE_FIELDS}
    if out is True and (d.attrs.get("gate") or kind == "recurrent"):
        out = False  # an RNN feeds a readout layer; it is not the model's output layer
    return BiasSite(
        path=path,
        line=d.line,
        col=d.col,
        framework=d.framework,
        api=d.api,
        layer_kind=kind,
        layer_name=name,
        init_kind=_BIAS_KIND.get(d.init.kind, d.init.kind),  # type: ignore[arg-type]
        # a fan-based init's number is a scale, not the stddev a bias kind's value means
        init_value=None if d.init.kind in _BIAS_KIND else d.init.value,
        output_layer=out,
        activation=act,
        weight_init=weight,
        scope=d.scope,
        comment=comment,
        notes=notes,
        **fields,
    )
