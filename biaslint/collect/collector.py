"""One file's source text in, its ``FileModel`` out."""

from __future__ import annotations

import ast
import io
import re
import tokenize
import warnings

import libcst as cst

from biaslint.collect.interp import Interpreter
from biaslint.collect.project import MENTIONS_FRAMEWORK
from biaslint.model import FileError, FileModel

#: words that show a class-imbalanced sigmoid/BCE setup (BIA501)
_IMBALANCE = re.compile(r"pos_weight|class_weight|\bprior\b|focal|imbalanc|positive_rate|base_rate")
_PY2_HINTS = ("Missing parentheses in call to 'print'", "Missing parentheses in call to 'exec'")
_PY2_SYNTAX = re.compile(r"^\s*(print\s+[\"'\w]|exec\s+[\"'\w]|except\s+\w+(\.\w+)*\s*,\s*\w+\s*:)", re.M)


def analyse_source(path: str, data: bytes, project: bool = False) -> FileModel:
    """Analyse one file's bytes. Never raises for bad input: errors go in ``FileModel.error``.

    With ``project``, helpers and layers imported from other modules of the same project
    (found on disk next to ``path``) are followed; a file on its own (``--no-project``) is not."""
    if not MENTIONS_FRAMEWORK.search(data):
        return FileModel(path)
    try:
        # PEP 263: a ``# -*- coding: latin-1 -*-`` cookie (or a BOM) says how to read the file,
        # as Python reads it; without one, UTF-8
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if "unknown encoding" in str(exc):  # the cookie names no codec Python knows
            return FileModel(path, error=FileError(path, f"cannot read: {exc}"))
        encoding = "utf-8"  # undecodable first lines: decoding says where
    try:
        source = data.decode("utf-8" if encoding == "utf-8-sig" else encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return FileModel(
            path,
            error=FileError(
                path,
                f"not valid {_codec_name(encoding)}: byte 0x{data[exc.start]:02x} at line {line}, "
                f"column {col} (without a coding cookie, Python source is UTF-8)",
            ),
        )
    if source.startswith("\ufeff"):
        source = source[1:]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        line, col = exc.lineno or 0, max((exc.offset or 1) - 1, 0)
        return FileModel(path, error=FileError(path, _syntax_message(exc, source), line, col, "E999"))
    except (ValueError, RecursionError, MemoryError) as exc:
        return FileModel(path, error=FileError(path, f"cannot parse: {exc}"))
    crasher = parser_crasher(tree)
    if crasher is not None:
        return FileModel(path, error=FileError(path, f"not analysed: {crasher}"))
    try:
        module = cst.parse_module(source)
    except (cst.ParserSyntaxError, RecursionError) as exc:
        return FileModel(path, error=FileError(path, f"libcst cannot parse this file: {exc}".splitlines()[0]))
    except Exception as exc:  # libcst's own bugs (a TypeError on ``1 if 0 else(lambda: 2)``)
        message = f"libcst failed on this file ({type(exc).__name__}: {exc})".splitlines()[0]
        return FileModel(path, error=FileError(path, message))
    sites, loaded, hints = Interpreter(path, source, module, tree, project=project).run()
    if _IMBALANCE.search(source):
        hints["imbalance"] = True
    return FileModel(path, sites=sites, weights_loaded=loaded, hints=hints)


#: libcst's native parser recurses once per operand of a flat ``a and b and ...`` chain and
#: per part of a dotted import name, and overflows its stack (a segfault, not an exception)
#: somewhere above 6,000 operands / 1,000 parts. Python's own parser accepts both shapes.
MAX_BOOL_OPERANDS = 3000
MAX_DOTTED_PARTS = 500
#: left-nested chains (``a + b + ...``, ``f()()...``, ``x.a.b...``, ``x[0][0]...``) make its
#: parse time grow steeply (2,000 terms: seconds; 4,000: half a minute) before Python's own
#: parser refuses them near 3,000, and the interpreter recurses once per link; no hand-written
#: model has chains anywhere near this long
MAX_CHAIN = 500


def parser_crasher(tree: ast.Module) -> str | None:
    """Why this (valid) tree would crash the native parser, if it would: the known shapes,
    found in ``ast`` before libcst ever sees them."""
    nodes = list(ast.walk(tree))
    chain: dict[int, int] = {}
    for node in reversed(nodes):  # breadth-first, reversed: a node's children come before it
        inner = _chained(node)
        if inner is not None:
            length = chain[id(node)] = chain.get(id(inner), 1) + 1
            if length > MAX_CHAIN:
                return (
                    f"line {getattr(node, 'lineno', 0)}: a chained expression of more than {MAX_CHAIN} "
                    "terms would take the parser minutes"
                )
    for node in nodes:
        if isinstance(node, ast.BoolOp) and len(node.values) > MAX_BOOL_OPERANDS:
            return (
                f"line {node.lineno}: a chain of {len(node.values)} and/or operands would crash "
                f"the parser (limit {MAX_BOOL_OPERANDS})"
            )
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            parts = max(n.count(".") + 1 for n in names)
            if parts > MAX_DOTTED_PARTS:
                return (
                    f"line {node.lineno}: a dotted name of {parts} parts would crash the parser "
                    f"(limit {MAX_DOTTED_PARTS})"
                )
    return None


def _codec_name(encoding: str) -> str:
    return "UTF-8" if encoding.startswith("utf-8") else encoding


def _chained(node: ast.AST) -> ast.AST | None:
    """The inner link of a left-nested chain: ``a + b`` -> a, ``f()`` -> f, ``x.a`` -> x."""
    if isinstance(node, ast.BinOp):
        return node.left
    if isinstance(node, ast.Call):
        return node.func
    if isinstance(node, (ast.Attribute, ast.Subscript)):
        return node.value
    return None


def _syntax_message(exc: SyntaxError, source: str) -> str:
    """``syntax error: <Python's message>``; the line and column go in the error's location."""
    msg = exc.msg
    if any(h in msg for h in _PY2_HINTS) or _PY2_SYNTAX.search(source):
        return f"syntax error: {msg} (this looks like Python 2 code, which is not supported)"
    return f"syntax error: {msg}"
