"""Line numbers without libcst's PositionProvider.

PositionProvider re-generates the whole module's code to learn where each node is; measured
here it costs ~2x the parse. The C ``ast`` parser gives every statement's line span for a
fraction of that (0.1-0.3x). We pair each libcst statement with its ``ast`` twin once,
which yields (a) the statement's source text for the cheap "can this hold a bias?" test and
(b) exact call positions, computed lazily only for statements that produced a site.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Optional, Union

import libcst as cst

AstStmt = ast.stmt
_NEWLINE = re.compile(r"\r\n|\r|\n")
CstStmt = Union[cst.SimpleStatementLine, cst.BaseCompoundStatement]


@dataclass(eq=False)
class Stmt:
    """A libcst statement with its ast twin(s) and line span (1-based, inclusive)."""

    node: CstStmt
    twins: list[AstStmt]
    first: int
    last: int


class Locator:
    def __init__(self, source: str, tree: ast.Module) -> None:
        self.source = source
        self.tree = tree
        # offsets[i] = index in source where line i+1 starts
        # lines end as Python's tokenizer ends them: \r\n, \n or a lone \r (not a form feed)
        self._offsets = [0] + [m.end() for m in _NEWLINE.finditer(source)]
        self._lines: Optional[list[str]] = None
        self._call_index: dict[int, dict[int, tuple[int, int]]] = {}

    def text(self, first: int, last: int) -> str:
        offs = self._offsets
        end = offs[last] if last < len(offs) else len(self.source)
        return self.source[offs[first - 1] : end]

    def line_text(self, line: int) -> str:
        if self._lines is None:
            self._lines = _NEWLINE.split(self.source)
        return self._lines[line - 1] if 0 < line <= len(self._lines) else ""

    def pair(self, body: Sequence[cst.BaseStatement], twins: Sequence[AstStmt]) -> Iterator[Stmt]:
        """Pair a libcst body with its ast body (``a; b`` is one libcst line, two ast nodes)."""
        i = 0
        for node in body:
            if isinstance(node, cst.SimpleStatementLine):
                n = len(node.body)
                group = list(twins[i : i + n])
                i += n
            else:
                group = list(twins[i : i + 1])
                i += 1
            if not group:
                return
            first = _first_line(group[0])
            last = max(getattr(t, "end_lineno", None) or t.lineno for t in group)
            yield Stmt(node, group, first, last)  # type: ignore[arg-type]

    def position(self, stmt: Stmt, call: cst.CSTNode) -> tuple[int, int]:
        """(line, col) of ``call``: the n-th call of the statement in both trees."""
        index = self._call_index.get(id(stmt.node))
        if index is None:
            index = self._call_index[id(stmt.node)] = self._index_calls(stmt)
        pos = index.get(id(call))
        if pos is None:
            return stmt.twins[0].lineno, stmt.twins[0].col_offset
        return pos

    def _index_calls(self, stmt: Stmt) -> dict[int, tuple[int, int]]:
        ast_calls: list[ast.Call] = []
        for twin in stmt.twins:
            ast_calls.extend(n for n in ast.walk(twin) if isinstance(n, ast.Call))
        ast_calls.sort(key=lambda c: (c.lineno, c.col_offset, -(c.end_lineno or 0), -(c.end_col_offset or 0)))
        cst_calls = list(_calls_preorder(stmt.node))
        if len(cst_calls) != len(ast_calls):
            return {}
        out = {}
        for c_node, a_node in zip(cst_calls, ast_calls):
            line, col = a_node.lineno, a_node.col_offset
            f = a_node.func
            if isinstance(f, ast.Attribute) and (f.end_lineno or line) > line:
                # a link of a chain over several lines (``LinearWrap(x)\n.Conv2D(...)``): where
                # its method is named, as each link is its own layer
                line, col = f.end_lineno or line, (f.end_col_offset or 0) - len(f.attr.encode("utf-8"))
            out[id(c_node)] = (line, self._char_col(line, col))
        return out

    def _char_col(self, line: int, byte_col: int) -> int:
        text = self.line_text(line)
        if text.isascii():
            return byte_col
        return len(text.encode("utf-8")[:byte_col].decode("utf-8", "replace"))


def _first_line(node: AstStmt) -> int:
    decorators = getattr(node, "decorator_list", None)
    if decorators:
        return min(d.lineno for d in decorators)
    return node.lineno


@cache
def _child_fields(cls: type) -> tuple[str, ...]:
    """Fields that can hold sub-nodes, in source order. (``CSTNode.children`` would do, but it
    runs a visitor and rebuilds nodes: ~60x slower on the statements we locate.)"""
    names = tuple(
        f.name
        for f in dataclasses.fields(cls)
        if not f.name.startswith(
            (
                "whitespace",
                "lpar",
                "rpar",
                "comma",
                "semicolon",
                "leading_lines",
                "lines_after",
                "header",
                "footer",
            )
        )
    )
    if cls is cst.IfExp:  # ``body if test else orelse``
        return ("body", "test", "orelse")
    return names


def _calls_preorder(node: cst.CSTNode) -> Iterator[cst.Call]:
    stack: list[cst.CSTNode] = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, cst.Call):
            yield cur
        kids: list[cst.CSTNode] = []
        for name in _child_fields(type(cur)):
            v = getattr(cur, name)
            if isinstance(v, cst.CSTNode):
                kids.append(v)
            elif isinstance(v, (list, tuple)):
                kids.extend(x for x in v if isinstance(x, cst.CSTNode))
        stack.extend(reversed(kids))


def body_of(node: cst.CSTNode) -> Sequence[cst.BaseStatement]:
    """The statements of an indented block (or of a one-line ``if x: y``)."""
    body = getattr(node, "body", None)
    if isinstance(body, cst.IndentedBlock):
        return body.body
    if isinstance(body, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=body.body)]
    return []
