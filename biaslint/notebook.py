"""Jupyter notebooks (``.ipynb``) as one Python module, and module lines back to cells.

The code cells are concatenated, one physical line per line, into a single module, as ruff
does: a notebook runs top to bottom in one namespace, so a layer built in cell 1 and
initialised in cell 3 is one site. IPython syntax that is not Python (``%matplotlib inline``,
``!pip install x``, ``x = !ls``, ``?obj``, ``obj??``) is masked line for line, never removed,
so that every module line still maps to (cell, line within the cell) and a column is the
column in the cell. A cell run by a non-Python cell magic (``%%bash``, ``%%writefile``) is
masked whole; the magics that time or capture Python (:data:`PYTHON_CELL_MAGICS`) only lose
their first line.

Cells are numbered from 1 counting every cell, markdown and raw ones too, as ruff numbers them
(``ruff_notebook``'s ``NotebookIndex`` keeps the raw cell index): that is the cell's position
in the notebook, which a reader can count on screen; code-cell-only numbers would shift with
every markdown cell added above.

Pure functions: bytes in, :class:`Notebook` out; nothing here reads files.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Optional

SUFFIX = ".ipynb"
#: cell magics whose body is ordinary Python run in the notebook's namespace
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})
#: what a masked line becomes: a statement, so that a block whose body was a magic still parses
MASK = "pass"
#: IPython escapes at the start of a statement: ``%magic``, ``!shell``, ``?help``
_ESCAPE = re.compile(r"\s*[%!?]")
#: ``x = !ls``, ``out = %sx ls``
_ASSIGNED = re.compile(r"\s*[\w.,\s\[\]()]+=\s*[%!]")
#: ``obj?``, ``obj.attr??``, ``np.*load*?``: help on a name (no Python line ends in ``?``)
_HELP = re.compile(r"\s*[\w.*]+\s*\?{1,2}\s*$")
_LINE_END = re.compile(r"\r\n|\r|\n")
#: "line 12" in a per-file error (a syntax error) names a module line
_LINE_REF = re.compile(r"\bline (\d+)")
_BRACKETS = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}


class NotebookError(ValueError):
    """The file is not a notebook biaslint can read (the message is the per-file error)."""


@dataclass(frozen=True)
class Notebook:
    """The module made of a notebook's code cells, and where each of its lines came from."""

    source: str
    #: module line ``i`` (1-based) comes from line ``lines[i - 1]`` of cell ``cells[i - 1]``
    cells: tuple[int, ...]
    lines: tuple[int, ...]

    def locate(self, line: int) -> tuple[Optional[int], int]:
        """(cell, line within the cell) of a module line; (None, line) outside the module."""
        if 0 < line <= len(self.cells):
            return self.cells[line - 1], self.lines[line - 1]
        return None, line


def relocate_message(notebook: Notebook, message: str) -> str:
    """A per-file error's "line N" (a module line) as "cell C, line L"."""

    def where(m: re.Match[str]) -> str:
        cell, line = notebook.locate(int(m.group(1)))
        return m.group(0) if cell is None else f"cell {cell}, line {line}"

    return _LINE_REF.sub(where, message)


def is_notebook(path: str) -> bool:
    return path.lower().endswith(SUFFIX)


def module_bytes(notebook: Notebook) -> bytes:
    """The module as the collector reads files: UTF-8 bytes, with a BOM so that a coding cookie
    left in a cell (meaningless in a notebook) cannot make it decode them as another codec."""
    return b"\xef\xbb\xbf" + notebook.source.encode("utf-8", "replace")


def parse(data: bytes) -> Notebook:
    """The module of a notebook's code cells. Raises :class:`NotebookError` for a file that is
    not JSON, not a notebook, or holds a cell whose source is not text."""
    source_lines: list[str] = []
    cells: list[int] = []
    lines: list[int] = []
    for number, text in code_cells(data).items():
        masked = mask_cell(split_lines(text))
        source_lines.extend(masked)
        cells.extend([number] * len(masked))
        lines.extend(range(1, len(masked) + 1))
    source = "".join(line + "\n" for line in source_lines)
    return Notebook(source, tuple(cells), tuple(lines))


def code_cells(data: bytes) -> dict[int, str]:
    """Cell number (1-based, every cell counted) -> source text, for the code cells. nbformat 4
    keeps the cells in ``cells`` and their text in ``source``; nbformat 3 in
    ``worksheets[].cells`` and ``input``. A notebook of another kernel language has none."""
    doc = _load(data)
    if isinstance(doc.get("cells"), list):
        raw, key = doc["cells"], "source"
    elif isinstance(doc.get("worksheets"), list):
        raw, key = (
            [c for ws in doc["worksheets"] if isinstance(ws, dict) for c in ws.get("cells") or ()],
            "input",
        )
    else:
        raise NotebookError('not a Jupyter notebook: no "cells" list')
    if not _python(doc.get("metadata")):
        return {}
    out: dict[int, str] = {}
    for number, cell in enumerate(raw, 1):
        if not isinstance(cell, dict):
            raise NotebookError(f"not a valid notebook: cell {number} is not an object")
        if cell.get("cell_type") == "code":
            out[number] = _text(cell.get(key, ""), number)
    return out


def _load(data: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(data)  # the notebook format is JSON in UTF-8; json detects UTF-16/32 too
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"not a valid notebook: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except UnicodeDecodeError as exc:
        raise NotebookError(
            f"not a valid notebook: not UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
        ) from None
    except (ValueError, RecursionError) as exc:  # absurd nesting
        raise NotebookError(f"not a valid notebook: cannot read it as JSON ({type(exc).__name__})") from None
    if not isinstance(doc, dict):
        raise NotebookError('not a Jupyter notebook: no "cells" list')
    return doc


def _python(metadata: Any) -> bool:
    """Whether the notebook's kernel runs Python (an R or Julia notebook has no Python cells);
    a notebook that does not say is taken for Python."""
    if not isinstance(metadata, dict):
        return True
    for section, key in (("language_info", "name"), ("kernelspec", "language")):
        value = metadata.get(section)
        if isinstance(value, dict) and isinstance(value.get(key), str):
            return value[key].lower().startswith("python")
    return True


def _text(source: Any, number: int) -> str:
    """A cell's source: one string, or a list of strings (each line with its own line end)."""
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(part, str) for part in source):
        return "".join(source)
    raise NotebookError(f"not a valid notebook: the source of cell {number} is not text")


def split_lines(text: str) -> list[str]:
    """Physical lines as Python numbers them (``\\r\\n``, ``\\r``, ``\\n``); a final line end
    starts no line."""
    lines = _LINE_END.split(text)
    return lines[:-1] if lines and lines[-1] == "" else lines


def mask_cell(lines: list[str]) -> list[str]:
    """A cell's lines with IPython syntax masked, as many lines as it had."""
    first = next((line.strip() for line in lines if line.strip()), "")
    if first.startswith("%%"):
        if (first[2:].split() or [""])[0] in PYTHON_CELL_MAGICS:
            head = next(i for i, line in enumerate(lines) if line.strip())
            return [""] * head + [MASK] + mask_lines(lines[head + 1 :])
        return [""] * len(lines)  # another language (%%bash) or not run here (%%writefile)
    return mask_lines(lines)


def mask_lines(lines: list[str]) -> list[str]:
    """Mask the IPython escapes that start a statement. Only there: a line starting with ``%``
    inside brackets is a modulo, inside a triple-quoted string it is text, so the bracket depth
    and open strings are followed; a masked line continued with a backslash takes the next
    line with it, as IPython joins them."""
    out: list[str] = []
    state = _Scan()
    masking, indent = False, ""
    for line in lines:
        if masking or (state.at_start() and _is_escape(line)):
            if not masking:  # continuation lines keep the escape's indent, not their own
                indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + MASK)
            masking = line.endswith("\\")
        else:
            out.append(line)
            state.feed(line)
    return out


def _is_escape(line: str) -> bool:
    return bool(_ESCAPE.match(line) or _ASSIGNED.match(line) or _HELP.match(line))


class _Scan:
    """Just enough of Python's tokenizer to know whether a line starts a statement: the open
    brackets, an open string, a backslash continuation. Comments are skipped."""

    def __init__(self) -> None:
        self.depth = 0
        self.quote: Optional[str] = None
        self.continued = False

    def at_start(self) -> bool:
        return self.depth == 0 and self.quote is None and not self.continued

    def feed(self, line: str) -> None:
        i, n, comment = 0, len(line), False
        while i < n:
            if self.quote is not None:
                if line[i] == "\\":
                    i += 2
                elif line.startswith(self.quote, i):
                    i, self.quote = i + len(self.quote), None
                else:
                    i += 1
                continue
            ch = line[i]
            if ch == "#":
                comment = True
                break
            if ch in "'\"":
                self.quote = line[i : i + 3] if line[i : i + 3] in ("'''", '"""') else ch
                i += len(self.quote)
                continue
            self.depth = max(0, self.depth + _BRACKETS.get(ch, 0))
            i += 1
        self.continued = line.endswith("\\") and not comment
        if self.quote in ("'", '"') and not self.continued:
            self.quote = None  # a one-line string ends with its line (else: a syntax error)
