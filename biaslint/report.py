"""Text and JSON formatting of inventories and findings."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from typing import Any, TextIO

from biaslint.engine import RunResult
from biaslint.model import BiasSite, FileError, Finding

_COLOURS = {"error": "\033[31m", "warning": "\033[33m", "info": "\033[36m"}
_BOLD, _RESET = "\033[1m", "\033[0m"


def use_colour(choice: str, stream: TextIO = sys.stdout) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return stream.isatty()


def _fmt_init(site: BiasSite) -> str:
    if site.init_value is None:
        return site.init_kind
    return f"{site.init_kind}({site.init_value:g})"


def inventory_json(result: RunResult) -> str:
    doc: dict[str, Any] = {
        "version": 2,
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
    lines.extend(f"error: {e.path}: {e.message}" for e in result.errors)
    return "\n".join(lines)


def finding_line(f: Finding, colour: bool = False) -> str:
    """flake8's layout: ``path:line:col: CODE [severity] message`` (col 1-based)."""
    probe = f" [probe: {f.probe}]" if f.probe else ""
    if colour:
        sev = f"{_COLOURS[f.severity]}{f.severity}{_RESET}"
        where = f"{_BOLD}{f.path}{_RESET}:{f.line}:{f.col + 1}:"
        return f"{where} {_BOLD}{f.code}{_RESET} [{sev}] {f.message}{probe}"
    return f"{f.path}:{f.line}:{f.col + 1}: {f.code} [{f.severity}] {f.message}{probe}"


def error_line(e: FileError) -> str:
    return f"{e.path}:0:1: E902 {e.message}"


def findings_text(result: RunResult, colour: bool, statistics: bool, titles: dict[str, str]) -> str:
    findings = sorted(result.findings, key=lambda f: (f.path, f.line, f.col, f.code))
    lines = [finding_line(f, colour) for f in findings]
    lines.extend(error_line(e) for e in result.errors)
    if statistics and findings:
        counts = Counter(f.code for f in findings)
        lines.append("")
        lines.extend(f"{n:<5} {code} {titles.get(code, '')}" for code, n in sorted(counts.items()))
    return "\n".join(lines)


def findings_json(result: RunResult) -> str:
    doc = {
        "version": 2,
        "findings": [
            f.to_json() for f in sorted(result.findings, key=lambda f: (f.path, f.line, f.col, f.code))
        ],
        "errors": [e.to_json() for e in result.errors],
    }
    return json.dumps(doc, indent=2)
