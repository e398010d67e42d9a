r"""Text and JSON formatting of inventories and findings.

JSON output is strict JSON (RFC 8259): never ``NaN``, ``Infinity`` or ``-Infinity``. A number
that is not finite (a bias ``init_value`` of ``float("nan")``, ``1e999``...) is written as
``null`` and a string field named after it with ``_text`` appended sits next to it:
``"init_value": null, "init_value_text": "nan"`` (the texts are ``"nan"``, ``"inf"`` and
``"-inf"``). This holds for every float field at any depth (``weight_init.scale`` gets
``scale_text``); for a list holding such a number, the ``_text`` field is a list of the same
length with the text at those positions and ``null`` elsewhere. A ``null`` without a ``_text``
field still means "not known statically". :func:`to_strict_json` does this for any document.

Text output escapes control characters in everything taken from the file system or the
analysed source (paths, layer names, messages): a file named ``"a\nb.py"`` prints as
``a\nb.py`` on one line, ``"a\x1b[31mb.py"`` as ``a\x1b[31mb.py``, never as a colour code.
Other Unicode is printed as is. :func:`printable` is the escaping, for other printers.
"""

from __future__ import annotations

import json
import math
import os
import sys
import unicodedata
from collections import Counter
from typing import Any, TextIO

from biaslint.engine import RunResult
from biaslint.model import BiasSite, FileError, Finding

_COLOURS = {"error": "\033[31m", "warning": "\033[33m", "info": "\033[36m"}
_BOLD, _RESET = "\033[1m", "\033[0m"

#: categories escaped by :func:`printable`: control characters (C0, DEL, C1), lone
#: surrogates (undecodable bytes of a file name, which cannot even be printed) and the
#: line/paragraph separators
_UNPRINTABLE = frozenset({"Cc", "Cs", "Zl", "Zp"})
#: bidirectional formatting characters, which reorder what a terminal shows ("Trojan Source")
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _escape(ch: str) -> str:
    if unicodedata.category(ch) in _UNPRINTABLE or ch in _BIDI:
        return repr(ch)[1:-1]  # "\n", "\x1b", "\x85", "\u2028", "\udcff"
    return ch


def printable(text: str) -> str:
    """``text`` with control characters escaped as ``repr`` escapes them, one line, safe for
    a terminal; printable characters (any script, backslashes, quotes) are left alone."""
    if text.isprintable():
        return text
    return "".join(map(_escape, text))


def _finite(value: Any) -> tuple[Any, Any]:
    """(``value`` with non-finite floats as ``None``, their texts or ``None`` if there are none)."""
    if isinstance(value, float):
        return (value, None) if math.isfinite(value) else (None, repr(value))
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            clean, text = _finite(item)
            out[key] = clean
            if text is not None:
                out[f"{key}_text"] = text
        return out, None
    if isinstance(value, (list, tuple)):
        pairs = [_finite(item) for item in value]
        texts = [text for _, text in pairs]
        return [clean for clean, _ in pairs], (texts if any(t is not None for t in texts) else None)
    return value, None


def to_strict_json(doc: Any, indent: int | None = 2) -> str:
    """``doc`` as strict JSON: a non-finite float becomes ``null`` plus a ``<key>_text`` field
    (see the module docstring); a non-finite number in a list outside any object becomes
    ``null``."""
    clean, _ = _finite(doc)
    return json.dumps(clean, indent=indent, allow_nan=False)


def use_colour(choice: str, stream: TextIO = sys.stdout) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return stream.isatty()


def _fmt_init(site: BiasSite) -> str:
    if site.init_value is None:
        return site.init_kind
    return f"{site.init_kind}({site.init_value:g})"  # nan, inf, -inf as such


def inventory_json(result: RunResult) -> str:
    doc: dict[str, Any] = {
        "version": 3,  # 3: "cell"; a notebook's line is within its cell (see findings_json)
        "sites": [s.to_json() for s in result.sites],
        "errors": [e.to_json() for e in result.errors],
    }
    return to_strict_json(doc)


def inventory_text(result: RunResult) -> str:
    rows = [("LOCATION", "FRAMEWORK", "KIND", "LAYER", "INIT", "FEEDS", "OUT")]
    for s in result.sites:
        out = {True: "yes", False: "no", None: "?"}[s.output_layer]
        init = _fmt_init(s)
        if s.gate:
            init += f" [{s.gate} gate]"
        rows.append(
            (
                f"{printable(s.path)}:{_cell(s.cell)}{s.line}:{s.col + 1}",
                s.framework,
                s.layer_kind,
                printable(s.layer_name or "-"),
                printable(init),
                printable(s.activation),
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
    lines.extend(f"error: {printable(e.path)}: {printable(e.message)}" for e in result.errors)
    return "\n".join(lines)


def _cell(cell: int | None) -> str:
    """``cell 3:`` before a notebook's line (ruff's layout), nothing in a .py file."""
    return "" if cell is None else f"cell {cell}:"


def _position(f: Finding) -> tuple[str, int, int, int, str]:
    return (f.path, f.cell or 0, f.line, f.col, f.code)


def finding_line(f: Finding, colour: bool = False) -> str:
    """flake8's layout: ``path:line:col: CODE [severity] message`` (col 1-based); in a notebook
    ``path:cell 3:line:col: ...``, the line within the cell."""
    path, message = printable(f.path), printable(f.message)
    probe = f" [probe: {printable(f.probe)}]" if f.probe else ""
    if colour:
        sev = f"{_COLOURS[f.severity]}{f.severity}{_RESET}"
        where = f"{_BOLD}{path}{_RESET}:{_cell(f.cell)}{f.line}:{f.col + 1}:"
        return f"{where} {_BOLD}{f.code}{_RESET} [{sev}] {message}{probe}"
    return f"{path}:{_cell(f.cell)}{f.line}:{f.col + 1}: {f.code} [{f.severity}] {message}{probe}"


def error_line(e: FileError) -> str:
    return f"{printable(e.path)}:0:1: E902 {printable(e.message)}"


def summary(result: RunResult) -> str:
    """``12 findings (2 warning, 10 info) in 5 files``, plus the files that could not be analysed."""
    findings = result.findings
    counts = Counter(f.severity for f in findings)
    parts = ", ".join(f"{counts[s]} {s}" for s in ("error", "warning", "info") if counts[s])
    files = len({f.path for f in findings})
    text = f"{len(findings)} finding{'s' * (len(findings) != 1)}"
    if findings:
        text += f" ({parts}) in {files} file{'s' * (files != 1)}"
    if result.errors:
        n = len(result.errors)
        text += f"; {n} file{'s' * (n != 1)} could not be analysed"
    return text


def findings_text(result: RunResult, colour: bool, statistics: bool, titles: dict[str, str]) -> str:
    findings = sorted(result.findings, key=_position)
    lines = [finding_line(f, colour) for f in findings]
    lines.extend(error_line(e) for e in result.errors)
    if statistics and findings:
        counts = Counter(f.code for f in findings)
        lines.append("")
        lines.extend(f"{n:<5} {code} {titles.get(code, '')}" for code, n in sorted(counts.items()))
    return "\n".join(lines)


def findings_json(result: RunResult) -> str:
    # version 3 added "cell": a notebook's finding gives the line within that cell, so a
    # consumer of version 2 that reads every "line" as a line of "path" would misplace it and
    # could not tell apart findings at the same line of two cells; .py findings are unchanged
    doc = {
        "version": 3,
        "findings": [f.to_json() for f in sorted(result.findings, key=_position)],
        "errors": [e.to_json() for e in result.errors],
    }
    return to_strict_json(doc)
