"""BIA6xx — normalisation layers."""

from __future__ import annotations

from collections.abc import Iterator

from biaslint.model import Finding
from biaslint.rules.registry import Context, constant, fmt, rule


@rule(
    "BIA601",
    "non-zero norm shift",
    "info",
    what="Flags a BatchNorm/LayerNorm shift (beta, `m.bias` in a norm branch) set to a non-zero constant.",
    why="The norm's shift starts at 0 in every framework so that the normalised activations start "
    "centred; a non-zero start is unusual and usually a copy of the scale's init (1).",
    example="elif isinstance(m, nn.BatchNorm2d):\n"
    "    nn.init.constant_(m.weight, 1)\n    nn.init.constant_(m.bias, 1)",
    instead="    nn.init.constant_(m.bias, 0)",
    sources=[
        "Ioffe & Szegedy 2015 §3 (β starts at 0)",
        "PyTorch docs: nn.BatchNorm2d (bias initialised to 0)",
    ],
    invalid=[
        "import torch.nn as nn\n\ndef init_weights(m):\n    if isinstance(m, nn.BatchNorm2d):\n"
        "        nn.init.constant_(m.weight, 1)\n        nn.init.constant_(m.bias, 1)\n"
    ],
    valid=[
        "import torch.nn as nn\n\ndef init_weights(m):\n    if isinstance(m, nn.BatchNorm2d):\n"
        "        nn.init.constant_(m.weight, 1)\n        nn.init.constant_(m.bias, 0)\n"
    ],
)
def norm_shift(ctx: Context) -> Iterator[Finding]:
    for s in ctx.sites:
        value = constant(s)
        if s.layer_kind == "norm" and value is not None and value != 0:
            yield ctx.finding(
                s,
                "BIA601",
                f"norm shift (beta) starts at {fmt(value)}, not 0",
                "normalised activations start off-centre; use 0 (Ioffe & Szegedy 2015)",
            )
