"""Text and JSON formatting of inventories (and findings)."""

from __future__ import annotations

import json
from typing import Any

from biaslint.engine import RunResult
from biaslint.model import BiasSite


def _fmt_init(site: BiasSite) -> str:
    if site.init_value is None:
        return site.init_kind
    return f"{site.init_kind}({site.init_value:g})"


def inventory_json(result: RunResult) -> str:
    doc: dict[str, Any] = {
        "version": 1,
        "sites": [s.to_json() for s in result.sites],
        "errors": [e.to_json() for e in result.errors],
    }
    return json.dumps(doc, indent=2)


def inventory_text(result: RunResult) -> str:
    rows = [("LOCATION", "FRAMEWORK", "KIND", "LAYER", "INIT", "FEEDS", "OUT")]
    for s in result.sites:
        out = {True: "yes", False: "no", None: "?"}[s.output_layer]
        init = _fmt_init(s)
        if s.gate:
            init += f" [{s.gate} gate]"
        rows.append(
            (
                f"{s.path}:{s.line}:{s.col + 1}",
                s.framework,
                s.layer_kind,
                s.layer_name or "-",
                init,
                s.activation,
                out,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1] for r in rows]
    n_files = len({s.path for s in result.sites})
    lines.append(
        f"\n{len(result.sites)} bias site(s) in {n_files} file(s); "
        f"{len(result.files)} file(s) analysed, {len(result.errors)} error(s)"
    )
    for e in result.errors:
        lines.append(f"error: {e.path}: {e.message}")
    return "\n".join(lines)
