"""Settings: defaults, ``[tool.biaslint]`` in pyproject.toml or ``[biaslint]`` in setup.cfg
(found by walking up from the checked path), then the command line on top."""

from __future__ import annotations

import configparser
import dataclasses
import fnmatch
import math
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib


class ConfigError(Exception):
    """A config file or option that cannot be used; the message says which and why."""


_CODE = re.compile(r"^BIA\d{0,3}$")


@dataclass
class Settings:
    select: list[str] = field(default_factory=lambda: ["BIA"])
    ignore: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    #: BIA101: a hidden bias at least this large before a ReLU is flagged
    large_constant: float = 0.5
    #: BIA103: a random bias with at least this stddev (or half-width) is flagged
    random_spread: float = 0.1
    #: BIA105: a constant at least this large in magnitude is absurd
    absurd_constant: float = 100.0
    source: Optional[str] = None  # the config file these came from

    def enabled(self, code: str, path: Optional[str] = None) -> bool:
        """Longest matching prefix wins, as in flake8 and ruff (``--select BIA1 --ignore BIA10``)."""
        sel = max((len(p) for p in self.select if code.startswith(p)), default=-1)
        ign = max((len(p) for p in self.ignore if code.startswith(p)), default=-1)
        if path is not None:
            norm = path.replace(os.sep, "/")
            for pattern, codes in self.per_file_ignores.items():
                if _path_matches(norm, pattern):
                    ign = max(ign, max((len(p) for p in codes if code.startswith(p)), default=-1))
        return sel >= 0 and sel > ign


NUMERIC_KEYS = ("large_constant", "random_spread", "absurd_constant")
LIST_KEYS = ("select", "ignore", "exclude")
KNOWN_KEYS = frozenset({*NUMERIC_KEYS, *LIST_KEYS, "per_file_ignores"})


def _path_matches(path: str, pattern: str) -> bool:
    return (
        fnmatch.fnmatch(path, pattern)
        or fnmatch.fnmatch(path, f"*/{pattern}")
        or fnmatch.fnmatch(os.path.basename(path), pattern)
    )


def _as_list(value: Any, key: str, where: str) -> list[str]:
    if isinstance(value, str):
        items = [v.strip() for v in re.split(r"[,\s]+", value) if v.strip()]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value]
    else:
        raise ConfigError(f"{where}: '{key}' must be a list of strings")
    return items


def check_codes(codes: Iterable[str], where: str, known: Optional[set[str]] = None) -> None:
    for code in codes:
        if not _CODE.match(code) or (known is not None and not any(k.startswith(code) for k in known)):
            raise ConfigError(f"{where}: unknown rule code or prefix '{code}' (see `biaslint rules`)")


def apply(settings: Settings, values: dict[str, Any], where: str, known: Optional[set[str]] = None) -> None:
    """Validate and apply one mapping of settings (config file table or CLI options)."""
    for raw_key, value in values.items():
        key = raw_key.replace("-", "_")
        if key not in KNOWN_KEYS:
            raise ConfigError(
                f"{where}: unknown setting '{raw_key}' (known: {', '.join(sorted(KNOWN_KEYS))})"
            )
        if key in NUMERIC_KEYS:
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ConfigError(f"{where}: '{raw_key}' must be a number, not {value!r}") from None
            if not math.isfinite(number) or number <= 0:
                raise ConfigError(f"{where}: '{raw_key}' must be a positive number")
            setattr(settings, key, number)
        elif key in LIST_KEYS:
            items = _as_list(value, raw_key, where)
            if key != "exclude":
                check_codes(items, where, known)
            setattr(settings, key, items)
        else:
            settings.per_file_ignores = _per_file_ignores(value, raw_key, where, known)


def _per_file_ignores(value: Any, key: str, where: str, known: Optional[set[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(value, dict):
        pairs = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, str):  # setup.cfg style: "path/*.py: BIA101,BIA102" per line
        pairs = []
        for line in value.strip().splitlines():
            if not line.strip():
                continue
            if ":" not in line:
                raise ConfigError(f"{where}: '{key}' lines look like 'GLOB: CODE,CODE', not {line.strip()!r}")
            glob, codes = line.rsplit(":", 1)
            pairs.append((glob.strip(), codes))
    else:
        raise ConfigError(f"{where}: '{key}' must map globs to codes")
    for glob, codes in pairs:
        items = _as_list(codes, key, where)
        check_codes(items, where, known)
        out[glob] = items
    return out


def find_config(start: str) -> Optional[tuple[str, dict[str, Any]]]:
    """The nearest pyproject.toml with [tool.biaslint] or setup.cfg with [biaslint]."""
    here = os.path.abspath(start)
    if not os.path.isdir(here):
        here = os.path.dirname(here)
    while True:
        pyproject = os.path.join(here, "pyproject.toml")
        if os.path.isfile(pyproject):
            try:
                with open(pyproject, "rb") as fh:
                    doc = tomllib.load(fh)
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"{pyproject}: cannot read: {exc}") from None
            table = doc.get("tool", {}).get("biaslint")
            if table is not None:
                return pyproject, dict(table)
        setup_cfg = os.path.join(here, "setup.cfg")
        if os.path.isfile(setup_cfg):
            parser = configparser.ConfigParser()
            try:
                parser.read(setup_cfg, encoding="utf-8")
            except configparser.Error as exc:
                raise ConfigError(f"{setup_cfg}: cannot read: {exc}".splitlines()[0]) from None
            if parser.has_section("biaslint"):
                return setup_cfg, dict(parser.items("biaslint"))
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def load(
    paths: Sequence[str],
    cli: dict[str, Any],
    known: Optional[set[str]] = None,
    config_file: Optional[str] = None,
) -> Settings:
    settings = Settings()
    found = None
    if config_file is not None:
        found = find_config(config_file) if os.path.isdir(config_file) else _read_explicit(config_file)
    else:
        start = next((p for p in paths if p != "-"), ".")
        found = find_config(start)
    if found is not None:
        where, values = found
        apply(settings, values, where, known)
        settings.source = where
    apply(settings, {k: v for k, v in cli.items() if v is not None}, "command line", known)
    return settings


def _read_explicit(path: str) -> Optional[tuple[str, dict[str, Any]]]:
    if not os.path.isfile(path):
        raise ConfigError(f"{path}: no such config file")
    found = find_config(path)
    if found is None or os.path.abspath(found[0]) != os.path.abspath(path):
        raise ConfigError(f"{path}: has no [tool.biaslint] / [biaslint] section")
    return found


def as_dict(settings: Settings) -> dict[str, Any]:
    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}
