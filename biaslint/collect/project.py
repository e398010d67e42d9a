"""Project-aware analysis: the modules of the same project that a file imports from.

Given ``from .nn import conv_nd`` or ``from guided_diffusion.nn import linear`` in a file
that belongs to a package, the imported module is found on disk next to it (never imported
or run), parsed once per process, and its helpers, layer factories and layer classes are
followed when the file calls them. Only modules that mention a framework are read. A file
analysed alone (flake8, stdin) does not do this and says less where it cannot see.
"""

from __future__ import annotations

import ast
import os
import re
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

import libcst as cst

from biaslint.collect.locate import Locator

#: A file that never names a framework (or a library built on one) cannot hold a bias
MENTIONS_FRAMEWORK = re.compile(
    rb"tensorflow|torch|keras|slim|\btf\b|\bnn\b|tensorpack|tflearn|sonnet|\bsnt\b|mmcv|mmengine|detectron2|timm"
)
#: modules kept parsed per process (a parse costs memory: keep the recent ones)
CACHE_SIZE = 48
#: a project module larger than this is not followed
MAX_MODULE_BYTES = 1024 * 1024


@dataclass
class ModuleSource:
    """A project module parsed for following: its path, trees and line locator."""

    path: str
    name: str
    module: cst.Module
    tree: ast.Module
    loc: Locator


_parsed: OrderedDict[str, Optional[ModuleSource]] = OrderedDict()


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


def load(path: str) -> Optional[ModuleSource]:
    """Parse a project module once per process (None when it cannot or need not be read)."""
    if path in _parsed:
        _parsed.move_to_end(path)
        return _parsed[path]
    src = _parse(path)
    _parsed[path] = src
    if len(_parsed) > CACHE_SIZE:
        _parsed.popitem(last=False)
    return src


def _parse(path: str) -> Optional[ModuleSource]:
    try:
        if os.path.getsize(path) > MAX_MODULE_BYTES or not os.path.isfile(path):
            return None
        with open(path, "rb") as fh:
            data = fh.read()
        if not MENTIONS_FRAMEWORK.search(data):
            return None  # a module that names no framework creates no bias
        text = data.decode("utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
        module = cst.parse_module(text)
    except Exception:  # an unreadable or broken module is simply not followed
        return None
    name = os.path.splitext(os.path.basename(path))[0]
    return ModuleSource(path, name, module, tree, Locator(text, tree))
