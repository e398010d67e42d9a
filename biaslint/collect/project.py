"""Project-aware analysis: the modules of the same project that a file imports from.

Given ``from .nn import conv_nd`` or ``from guided_diffusion.nn import linear`` in a file
that belongs to a package, the imported module is found on disk next to it (never imported
or run), parsed once per process, and its helpers, layer factories and layer classes are
followed when the file calls them. Only modules that mention a framework are read. A file
analysed alone (``--no-project``, stdin without a name) does not do this and says less where
it cannot see.
"""

from __future__ import annotations

import ast
import os
import re
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional

import libcst as cst

from biaslint.collect.locate import Locator

#: A file that never names a framework (or a library built on one) cannot hold a bias
MENTIONS_FRAMEWORK = re.compile(
    rb"tensorflow|torch|keras|slim|\btf\b|\bnn\b|tensorpack|tflearn|sonnet|\bsnt\b|mmcv|mmengine|detectron2|timm"
)
_NEWLINE_END = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
#: module indexes kept per process (text and positions: small)
CACHE_SIZE = 512
#: a project module larger than this is not followed
MAX_MODULE_BYTES = 1024 * 1024


@dataclass
class Segment:
    """One top-level function or class of a project module, parsed on its own when followed."""

    module: cst.Module
    tree: ast.Module
    loc: Locator


@dataclass
class ModuleIndex:
    """A project module read cheaply (``ast`` only): where its top-level functions and classes
    are, and its imports. A function's or class's text is parsed with libcst only when a file
    calls it, so following a project costs a fraction of parsing it."""

    path: str
    name: str
    lines: list[str]
    defs: dict[str, tuple[int, int]]  # name -> (first line, last line), decorators included
    imports: list[ast.Import | ast.ImportFrom]
    segments: dict[str, Optional[Segment]]
    #: functions followed without giving the calling file a site (they build and apply their
    #: own layers): after two such calls they are not followed again in this process
    barren: dict[str, int] = field(default_factory=dict)

    def segment(self, name: str) -> Optional[Segment]:
        if name not in self.segments:
            first, last = self.defs[name]
            text = "".join(self.lines[first - 1 : last])
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    tree = ast.parse(text)
                self.segments[name] = Segment(cst.parse_module(text), tree, Locator(text, tree))
            except Exception:  # a part that does not parse alone is not followed
                self.segments[name] = None
        return self.segments[name]


_parsed: OrderedDict[str, Optional[ModuleIndex]] = OrderedDict()


@lru_cache(maxsize=1024)
def package_root(directory: str) -> tuple[str, tuple[str, ...]]:
    """(the folder imports start from, the package parts of ``directory`` below it):
    walk up while a folder is a package (has ``__init__.py``)."""
    parts: list[str] = []
    d = os.path.abspath(directory)
    while os.path.isfile(os.path.join(d, "__init__.py")):
        parent = os.path.dirname(d)
        if parent == d:
            break
        parts.insert(0, os.path.basename(d))
        d = parent
    return d, tuple(parts)


def resolve(home: str, module: str) -> Optional[str]:
    """The file of ``module`` (``.nn``, ``..layers.conv``, ``pkg.nn``) as imported from the
    file ``home``, if it is part of the same project; else None."""
    home_dir = os.path.dirname(os.path.abspath(home))
    root, package = package_root(home_dir)
    if module.startswith("."):
        level = len(module) - len(module.lstrip("."))
        if level - 1 > len(package):
            return None
        stems = [os.path.join(root, *package[: len(package) - (level - 1)], *module.lstrip(".").split("."))]
    else:
        # the project's own packages, or a sibling module of a script (``from model import Net``)
        stems = [os.path.join(base, *module.split(".")) for base in dict.fromkeys((root, home_dir))]
    for stem in stems:
        for cand in (stem.rstrip(os.sep) + ".py", os.path.join(stem, "__init__.py")):
            if os.path.isfile(cand):
                return cand
    return None


def load(path: str) -> Optional[ModuleIndex]:
    """Index a project module once per process (None when it cannot or need not be read)."""
    if path in _parsed:
        _parsed.move_to_end(path)
        return _parsed[path]
    index = _index(path)
    _parsed[path] = index
    if len(_parsed) > CACHE_SIZE:
        _parsed.popitem(last=False)
    return index


def _index(path: str) -> Optional[ModuleIndex]:
    try:
        if not os.path.isfile(path) or os.path.getsize(path) > MAX_MODULE_BYTES:
            return None
        with open(path, "rb") as fh:
            data = fh.read()
        if not MENTIONS_FRAMEWORK.search(data):
            return None  # a module that names no framework creates no bias
        text = data.decode("utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except Exception:  # an unreadable or broken module is simply not followed
        return None
    lines = _NEWLINE_END.findall(text)  # lines as the tokenizer ends them (not at a form feed)
    defs: dict[str, tuple[int, int]] = {}
    imports: list[ast.Import | ast.ImportFrom] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            defs[node.name] = (first, node.end_lineno or node.lineno)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(node)
    name = os.path.splitext(os.path.basename(path))[0]
    return ModuleIndex(path, name, lines, defs, imports, {})
