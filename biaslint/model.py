"""The data model shared by the collector, the rules, the reporters and the probe.

Imports nothing from biaslint: every other module may import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Optional

Framework = Literal["tf1", "tf_layers", "slim", "keras", "torch"]
LayerKind = Literal["conv", "dense", "recurrent", "norm", "attention", "embedding", "other", "unknown"]
InitKind = Literal[
    "zeros",
    "ones",
    "constant",
    "uniform",
    "normal",
    "truncated_normal",
    "default",
    "none",
    "loaded",
    "other",
]
Severity = Literal["error", "warning", "info"]

#: Fields written to JSON, in contract order (DESIGN.md "JSON output").
SITE_JSON_FIELDS = (
    "path",
    "cell",  # a notebook's cell (1-based, every cell counted); None in a .py file
    "line",
    "col",
    "framework",
    "api",
    "layer_kind",
    "layer_name",
    "init_kind",
    "init_value",
    "output_layer",
    "activation",
    "weight_init",
    "scope",
    "evidence",
    "gate",
    "forget_bias",
    "forget_bias_from",
)


@dataclass(frozen=True)
class Init:
    """A statically evaluated initialisation: kind plus its one number (constant or stddev).

    For a bias the kind is an ``InitKind``; a weight init may also be ``he_normal``,
    ``glorot_uniform``... (the bias contract folds those into uniform/normal)."""

    kind: str
    value: Optional[float] = None

    def describe(self) -> str:
        if self.value is None:
            return self.kind
        return f"{self.kind}({self.value:g})"


@dataclass
class BiasSite:
    """One place where a bias is created, initialised or explicitly disabled."""

    path: str
    line: int
    col: int
    framework: Framework
    api: str
    layer_kind: LayerKind
    layer_name: Optional[str]
    init_kind: InitKind
    init_value: Optional[float]
    output_layer: Optional[bool]
    activation: str
    weight_init: Optional[Init]
    scope: str
    # Evidence beyond the JSON contract, for the rules and the probe.
    gate: Optional[str] = None  # "forget" for an LSTM forget slice / forget_bias
    forget_bias: Optional[float] = None  # what a recurrent layer adds to its forget gate
    forget_bias_from: Optional[str] = None  # "default" or "argument": how that value was set
    shape: Optional[tuple[Optional[int], ...]] = None  # bias shape when static
    kernel_shape: Optional[tuple[Optional[int], ...]] = None  # paired kernel shape when static
    dtype: Optional[str] = None  # explicit/inferred bias dtype ("int32", "float64", ...)
    trainable: Optional[bool] = None
    reinit: bool = False  # a re-initialisation of a bias created elsewhere
    loaded: bool = False  # the file loads weights over the initial values later
    consumers: int = 1  # how many bias_add / + consume a created bias (0 = never applied)
    extra_bias: bool = False  # a layer with its own bias gets a second one added
    in_no_grad: Optional[bool] = None  # PyTorch in-place init: under torch.no_grad()/.data
    comment: str = ""  # trailing comment of the site's line (gate hints)
    #: in a notebook, the cell (``line`` is then the line within it); None in a .py file
    cell: Optional[int] = None
    #: how the site is known to be a bias: "slot" (the bias slot of a known API: ``bias=``,
    #: ``nn.Linear``'s ``.bias``), "use" (added to a kernel op's output, ``bias_add``, a norm's
    #: offset) or "name" (a bias token in its name, no visible use). Findings on "name" sites
    #: are info at most: they rest on a guess.
    evidence: str = "slot"
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def init(self) -> Init:
        return Init(self.init_kind, self.init_value)

    def to_json(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in SITE_JSON_FIELDS}
        wi = self.weight_init
        out["weight_init"] = None if wi is None else {"kind": wi.kind, "scale": wi.value}
        return out


@dataclass
class FileError:
    """A file biaslint could not analyse. ``code`` is flake8's: E999 for a syntax error, at its
    line and column (``col`` 0-based, as a finding's); E902 for the rest, at line 0."""

    path: str
    message: str
    line: int = 0
    col: int = 0
    code: str = "E902"
    cell: Optional[int] = None  # in a notebook, the cell of ``line``

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "cell": self.cell,
            "line": self.line,
            "col": self.col,
            "code": self.code,
            "message": self.message,
        }


@dataclass
class Finding:
    """One rule violation; the CLI, JSON and the flake8 plugin all print this one type."""

    path: str
    line: int
    col: int
    code: str
    severity: Severity
    message: str
    site: Optional[BiasSite] = None
    fix: Optional[str] = None
    probe: Optional[str] = None  # the probe's verdict, with ``check --probe``
    #: why it matters, with sources (``message`` is the short headline)
    reason: str = ""
    cell: Optional[int] = None  # in a notebook, the cell (``line`` is then the line within it)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "cell": self.cell,
            "line": self.line,
            "col": self.col,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "reason": self.reason,
            # how the flagged site is known to be a bias (see BiasSite.evidence)
            "evidence": self.site.evidence if self.site is not None else None,
        }
        if self.probe is not None:
            out["probe"] = self.probe
        return out


@dataclass
class FileModel:
    """Everything the collector learnt about one file."""

    path: str
    sites: list[BiasSite] = field(default_factory=list)
    error: Optional[FileError] = None
    weights_loaded: bool = False
    hints: dict[str, Any] = field(default_factory=dict)  # e.g. loss kinds, class priors
    findings: list[Finding] = field(default_factory=list)  # filled by the rules (check)
