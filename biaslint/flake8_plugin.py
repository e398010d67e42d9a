"""flake8 plugin: the ``BIA`` codes of ``biaslint check``, reported by flake8.

Registered as ``flake8.extension: BIA = biaslint.flake8_plugin:BiasLintChecker``. It runs the
same engine as ``biaslint check`` (:func:`biaslint.engine.check_source`) on the lines flake8
has already read, so stdin works and the file is not read twice, and like ``check`` it follows
the file's project (helpers and layers imported from its other modules) and reads the biaslint
config nearest above the file (select, ignore, exclude, per-file-ignores, thresholds), so that
both report the same. flake8's own ``--select``, ``--ignore``, ``--per-file-ignores``,
``--exclude`` and ``# noqa`` then apply on top; the thresholds are options of their own, which
override the biaslint config when given::

    [flake8]
    biaslint-large-constant = 0.5
    biaslint-random-spread = 0.1
    biaslint-absurd-constant = 100
"""

from __future__ import annotations

import argparse
import ast
import math
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from biaslint import __version__, engine
from biaslint.config import ConfigError, Scope, Settings
from biaslint.rules import RULES

#: the code of "biaslint could not analyse this file" (too large, a parser crasher, a bug)
CANNOT_ANALYSE = "BIA900"
#: flake8's name for a file read from stdin without --stdin-display-name: no path to go by
_NO_PATH = ("stdin", "-")
#: flake8 option -> Settings field; the defaults come from Settings itself
_OPTIONS = {
    "--biaslint-large-constant": ("large_constant", "BIA101: flag a hidden bias this large before a ReLU"),
    "--biaslint-random-spread": ("random_spread", "BIA103: flag a random bias with this stddev/half-width"),
    "--biaslint-absurd-constant": ("absurd_constant", "BIA105: a bias constant this large is absurd"),
}


class BiasLintChecker:
    """flake8-bugbear-style AST plugin; the AST itself is not used (biaslint parses with libcst)."""

    name = "biaslint"
    version = __version__
    #: each file's settings: its biaslint config, then the thresholds given to flake8; cached
    #: per folder for the life of the process (flake8's workers each keep their own)
    scope: ClassVar[Scope] = Scope({}, set(RULES))

    def __init__(self, tree: ast.AST, filename: str, lines: Sequence[str]) -> None:
        self.tree = tree
        self.filename = filename
        self.lines = lines

    @classmethod
    def add_options(cls, option_manager: Any) -> None:
        defaults = Settings()
        for flag, (field, help_text) in _OPTIONS.items():
            default = getattr(defaults, field)
            option_manager.add_option(
                flag,
                type=float,
                default=None,  # not given: the biaslint config's value, else the default
                metavar="X",
                parse_from_config=True,
                help=f"{help_text} (default: {default:g})",
            )

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        given = {}
        for flag, (field, _) in _OPTIONS.items():
            value = getattr(options, _dest(flag))
            if value is not None:
                given[field] = _threshold(flag, value)
        cls.scope = Scope(given, set(RULES))

    def run(self) -> Iterator[tuple[int, int, str, type[BiasLintChecker]]]:
        """The findings; never an exception, which would stop flake8 for every file. What keeps
        biaslint from reading the file is one ``BIA900`` at line 1, as flake8 reports E902."""
        try:
            # flake8 has decoded the file (and stripped a BOM); biaslint reads UTF-8 bytes.
            data = "".join(self.lines).encode("utf-8", "surrogatepass")
            if len(data) > engine.MAX_BYTES:
                why = f"file too large (over the {engine.MAX_BYTES / 2**20:.0f} MiB limit)"
                yield 1, 0, f"{CANNOT_ANALYSE} biaslint could not analyse this file: {why}", type(self)
                return
            on_disk = self.filename not in _NO_PATH
            settings = self.scope.settings_for(self.filename if on_disk else "-")
            if on_disk and self.scope.excluded(self.filename):
                return
            model = engine.check_source(self.filename, data, settings, noqa=False, project=on_disk)
        except ConfigError as exc:  # the file's biaslint config is broken: said on each file it governs
            model = None
            why = str(exc)
        except RecursionError:
            model = None
            why = "too deeply nested to analyse"
        except MemoryError:
            model = None
            why = "ran out of memory analysing it"
        except Exception as exc:  # a bug in biaslint: say so on this file, keep flake8 going
            model = None
            why = f"internal error ({type(exc).__name__}: {exc}); please report it"
        if model is None:
            yield 1, 0, f"{CANNOT_ANALYSE} biaslint could not analyse this file: {why}", type(self)
            return
        if model.error is not None:
            if not model.error.message.startswith(("syntax error", "cannot parse")):  # flake8: E999
                message = f"{CANNOT_ANALYSE} biaslint could not analyse this file: {model.error.message}"
                yield 1, 0, message, type(self)
            return
        for finding in model.findings:
            yield finding.line, finding.col, f"{finding.code} {finding.message}", type(self)


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def _threshold(flag: str, value: Any) -> float:
    """A positive number; values from a config file arrive as strings (flake8 leaves them so)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not (number > 0 and math.isfinite(number)):  # also NaN
        from flake8.exceptions import ExecutionError  # only ever reached when flake8 runs us

        raise ExecutionError(f"{flag.lstrip('-')} must be a positive number, not {value!r}")
    return number
