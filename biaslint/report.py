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
import tokenize
import unicodedata
from collections import Counter
from typing import Any, Optional, TextIO

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
    """flake8's layout too: E999 at a syntax error's line and column (in a notebook, in its
    cell), E902 at line 0."""
    return f"{printable(e.path)}:{_cell(e.cell)}{e.line}:{e.col + 1}: {e.code} {printable(e.message)}"


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


def findings_text(
    result: RunResult,
    colour: bool,
    statistics: bool,
    titles: dict[str, str],
    reasons: bool = False,
    source: bool = False,
) -> str:
    """One line per finding; ``reasons`` adds why it matters under it, ``source`` the line of
    code with a caret under the column (as ruff's ``--show-source`` / flake8's ``--show-source``)."""
    findings = sorted(result.findings, key=_position)
    lines: list[str] = []
    sources = _SourceLines()
    for f in findings:
        lines.append(finding_line(f, colour))
        if source:
            code = sources.line(f.path, f.line, f.cell)
            if code is not None:
                shown = printable(code.expandtabs(1))
                lines.extend([f"    {shown}", f"    {' ' * min(f.col, len(shown))}^"])
        if reasons and f.reason:
            lines.append(f"    why: {printable(f.reason)}")
    lines.extend(error_line(e) for e in result.errors)
    if statistics and findings:
        counts = Counter(f.code for f in findings)
        lines.append("")
        lines.extend(f"{n:<5} {code} {titles.get(code, '')}" for code, n in sorted(counts.items()))
    return "\n".join(lines)


class _SourceLines:
    """The lines of the files that findings point at, each file read once (as Python reads it:
    a PEP 263 cookie is honoured; a notebook's cells as written); None when it cannot be read."""

    def __init__(self) -> None:
        self._files: dict[str, Optional[dict[tuple[Optional[int], int], str]]] = {}

    def line(self, path: str, number: int, cell: Optional[int] = None) -> Optional[str]:
        if path not in self._files:
            self._files[path] = _read_lines(path)
        lines = self._files[path]
        return None if lines is None else lines.get((cell, number))


def _read_lines(path: str) -> Optional[dict[tuple[Optional[int], int], str]]:
    """(cell, line) -> text: cell None for a .py file, the cell number in a notebook."""
    from biaslint import notebook

    try:
        if notebook.is_notebook(path):
            with open(path, "rb") as fh:
                cells = notebook.code_cells(fh.read())
            return {
                (c, n): text
                for c, src in cells.items()
                for n, text in enumerate(notebook.split_lines(src), 1)
            }
        with tokenize.open(path) as fh:
            return {(None, n): text for n, text in enumerate(fh.read().splitlines(), 1)}
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):  # NotebookError is a ValueError
        return None


def findings_json(result: RunResult) -> str:
    # version 3: "message" is a short headline and "reason" says why; "cell": a notebook's
    # finding gives the line within that cell (a version-2 consumer that reads every "line" as
    # a line of "path" would misplace it); errors carry line, col, code (E999 for syntax errors)
    doc = {
        "version": 3,
        "findings": [f.to_json() for f in sorted(result.findings, key=_position)],
        "errors": [e.to_json() for e in result.errors],
    }
    return to_strict_json(doc)
