"""Settings: defaults, ``[tool.biaslint]`` in pyproject.toml or ``[biaslint]`` in setup.cfg
(the nearest above each checked file, or the one ``--config`` names), then the command line
on top. The globs of ``exclude`` and ``per-file-ignores`` are relative to the folder of the
config file that declares them (:func:`glob_matches`), wherever biaslint is started.

Every problem with a config file or option is a ``ConfigError`` whose one-line message names
the file (or "command line"); nothing is silently dropped or coerced: a setting given twice, an
unknown key, a string where TOML needs a list, ``true`` for a number, nan/inf/non-positive
thresholds and a ``select`` naming no rule are all errors."""

from __future__ import annotations

import configparser
import dataclasses
import difflib
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
    """A config file or option that cannot be used; the message says which and why.

    The message is always one line (the command line prints it as ``biaslint: error: ...``)."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).splitlines()))


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
    #: the lowest severity that makes ``check`` exit 1 (findings below it are still printed)
    fail_on: str = "info"
    source: Optional[str] = None  # the config file these came from
    #: the folder ``exclude`` and ``per_file_ignores`` globs are relative to (None: the current one)
    root: Optional[str] = None

    def enabled(self, code: str, path: Optional[str] = None) -> bool:
        """Longest matching prefix wins, as in flake8 and ruff (``--select BIA1 --ignore BIA10``)."""
        sel = max((len(p) for p in self.select if code.startswith(p)), default=-1)
        ign = max((len(p) for p in self.ignore if code.startswith(p)), default=-1)
        if path is not None and path != "-":
            for pattern, codes in self.per_file_ignores.items():
                if glob_matches(path, pattern, self.base):
                    ign = max(ign, max((len(p) for p in codes if code.startswith(p)), default=-1))
        return sel >= 0 and sel > ign

    @property
    def base(self) -> str:
        return self.root or os.getcwd()

    def excludes(self, path: str, folder: bool = False) -> bool:
        return any(glob_matches(path, pattern, self.base, folder) for pattern in self.exclude)


NUMERIC_KEYS = ("large_constant", "random_spread", "absurd_constant")
LIST_KEYS = ("select", "ignore", "exclude")
CHOICE_KEYS: dict[str, tuple[str, ...]] = {"fail_on": ("error", "warning", "info")}
KNOWN_KEYS = frozenset({*NUMERIC_KEYS, *LIST_KEYS, *CHOICE_KEYS, "per_file_ignores"})


def glob_matches(path: str, pattern: str, base: str, folder: bool = False) -> bool:
    """Whether ``path`` (a file, or a ``folder``) matches a glob of ``exclude`` or
    ``per-file-ignores`` declared in ``base``, as in flake8 and ruff: a glob with a ``/``
    (``tests/*``, ``src/gen``) is a path relative to ``base`` that matches the path or a folder
    above it; a bare glob (``*_pb2.py``, ``third_party``) matches any file or folder name below
    ``base``. ``*`` also matches ``/``."""
    glob = pattern.replace(os.sep, "/").rstrip("/")
    while glob.startswith("./"):
        glob = glob[2:]
    if not glob:
        return False
    full = os.path.abspath(path).replace(os.sep, "/")
    rel = full if os.path.isabs(glob) else os.path.relpath(full, base).replace(os.sep, "/")
    parts = rel.split("/")
    if "/" not in glob:
        return any(fnmatch.fnmatch(name, glob) for name in parts if name not in ("..", "."))
    # the path itself and each folder above it; a folder also as "dir/", so "dir/*" prunes it
    heads = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    if folder:
        heads.append(f"{rel}/")
    return any(fnmatch.fnmatch(head, glob) for head in heads)


def _show(value: Any) -> str:
    """``repr`` of a config value, cut short so that an error message stays readable."""
    if isinstance(value, bool):  # as TOML spells it
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _as_list(value: Any, key: str, where: str, text: bool) -> list[str]:
    """Codes or globs: a TOML array of strings (or a Python list from the command line), or, in
    setup.cfg (``text``), one string separated by commas or whitespace. Blank items are dropped."""
    if text and isinstance(value, str):
        return [v for v in re.split(r"[,\s]+", value) if v]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise ConfigError(f"{where}: '{key}' must be a list of strings, not {_show(value)}")


def _as_number(value: Any, key: str, where: str, text: bool) -> float:
    """A finite positive number. ``true`` is not 1 and ``"2.5"`` in TOML is not a number; a
    string is parsed only where every value is one (setup.cfg)."""
    if isinstance(value, bool) or not (isinstance(value, (int, float)) or (text and isinstance(value, str))):
        raise ConfigError(f"{where}: '{key}' must be a number, not {_show(value)}")
    try:
        number = float(value)
    except (ValueError, OverflowError):  # "big"; an integer beyond the float range
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        raise ConfigError(f"{where}: '{key}' must be a finite positive number, not {_show(value)}")
    return number


def check_codes(codes: Iterable[str], where: str, known: Optional[set[str]] = None) -> None:
    for code in codes:
        if not _CODE.match(code) or (known is not None and not any(k.startswith(code) for k in known)):
            raise ConfigError(f"{where}: unknown rule code or prefix '{code}' (see `biaslint rules`)")


def _unknown_key(raw_key: str, where: str) -> ConfigError:
    spelled = sorted(k.replace("_", "-") for k in KNOWN_KEYS)
    close = difflib.get_close_matches(raw_key.lstrip("-").replace("_", "-").lower(), spelled, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return ConfigError(f"{where}: unknown setting '{raw_key}' ({hint}known: {', '.join(spelled)})")


def apply(
    settings: Settings,
    values: dict[str, Any],
    where: str,
    known: Optional[set[str]] = None,
    *,
    text: bool = False,
) -> None:
    """Validate and apply one mapping of settings (config file table or CLI options).

    Keys may be spelled with ``-`` or ``_`` (and, from the command line, a leading ``--``), but
    each setting at most once. ``text`` says every value is a string to parse (setup.cfg);
    otherwise the types must be right: lists are lists, numbers are numbers, not booleans.
    An empty ``select`` is an error (it would silently turn every rule off); an empty ``ignore``
    or ``exclude`` is fine."""
    seen: dict[str, str] = {}
    for raw_key, value in values.items():
        key = raw_key.lstrip("-").replace("-", "_")
        if key not in KNOWN_KEYS:
            raise _unknown_key(raw_key, where)
        if key in seen:
            raise ConfigError(f"{where}: '{raw_key}' is given twice (also as '{seen[key]}')")
        seen[key] = raw_key
        if key in NUMERIC_KEYS:
            setattr(settings, key, _as_number(value, raw_key, where, text))
        elif key in CHOICE_KEYS:
            choices = CHOICE_KEYS[key]
            if not isinstance(value, str) or value.strip() not in choices:
                raise ConfigError(f"{where}: '{raw_key}' must be one of {', '.join(choices)}, not {value!r}")
            setattr(settings, key, value.strip())
        elif key in LIST_KEYS:
            items = _as_list(value, raw_key, where, text)
            if key == "select" and not items:
                raise ConfigError(
                    f"{where}: '{raw_key}' names no rule, so nothing would be checked "
                    "(leave it out for every rule)"
                )
            if key != "exclude":
                check_codes(items, where, known)
            setattr(settings, key, items)
        else:
            settings.per_file_ignores = _per_file_ignores(value, raw_key, where, known, text)


def _per_file_ignores(
    value: Any, key: str, where: str, known: Optional[set[str]], text: bool
) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(value, dict):
        pairs = [(str(k), v) for k, v in value.items()]
    elif text and isinstance(value, str):  # setup.cfg style: "path/*.py: BIA101,BIA102" per line
        pairs = []
        for line in value.strip().splitlines():
            if not line.strip():
                continue
            if ":" not in line:
                raise ConfigError(f"{where}: '{key}' lines look like 'GLOB: CODE,CODE', not {line.strip()!r}")
            glob, codes = line.rsplit(":", 1)
            pairs.append((glob.strip(), codes.strip()))
    else:
        raise ConfigError(f"{where}: '{key}' must be a table mapping globs to lists of codes")
    for glob, codes in pairs:
        items = _as_list(codes, f"{key}.{glob}" if not text else key, where, text)
        check_codes(items, where, known)
        out[glob] = items
    return out


#: one of the two file kinds: the file's name, the section that holds our settings
PYPROJECT, SETUP_CFG = "pyproject.toml", "setup.cfg"
_SECTION = {PYPROJECT: "[tool.biaslint]", SETUP_CFG: "[biaslint]"}
#: configparser's DEFAULT section would leak its keys into ours; no real section has this name
_NO_DEFAULT_SECTION = "\0biaslint: no default section"


def _mentions_us(raw: bytes) -> bool:
    """Whether undecodable or unparsable bytes might hold our section. NULs are dropped first,
    so that UTF-16 and UTF-32 text that names it is caught too."""
    return b"biaslint" in raw.replace(b"\0", b"").lower()


def _read_section(path: str, kind: str, must: bool) -> Optional[dict[str, Any]]:
    """Our section of one config file, or None when the file has none.

    A file that cannot be read at all (permissions) is an error. A file that is not UTF-8, or
    not valid TOML / INI, is an error when it might hold our section -- ``must`` (``--config``
    named it) or its bytes mention ``biaslint`` -- and is skipped otherwise: a broken file that
    never names biaslint cannot configure it, and is not ours to judge (pip, setuptools and the
    tools it does configure will report it). The same rule holds for both file kinds."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if not (must or _mentions_us(raw)):
            return None
        raise ConfigError(f"{path}: cannot read: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if kind == PYPROJECT:
        return _toml_section(path, text, raw, must)
    return _cfg_section(path, text, raw, must)


def _toml_section(path: str, text: str, raw: bytes, must: bool) -> Optional[dict[str, Any]]:
    try:
        doc = tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or an integer past Python's digit limit
        if not (must or _mentions_us(raw)):
            return None
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    tool = doc.get("tool")
    if tool is None:
        return None
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: 'tool' must be a table, not {_show(tool)}")
    table = tool.get("biaslint")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: 'tool.biaslint' must be a table, not {_show(table)}")
    return dict(table)


def _cfg_section(path: str, text: str, raw: bytes, must: bool) -> Optional[dict[str, Any]]:
    # no interpolation: "%" is an ordinary character; no DEFAULT section leaking into ours
    parser = configparser.ConfigParser(interpolation=None, default_section=_NO_DEFAULT_SECTION)
    try:
        parser.read_string(text, source=path)
    except configparser.Error as exc:
        if not (must or _mentions_us(raw)):
            return None
        raise ConfigError(f"{path}: invalid INI: {_cfg_problem(exc)}") from None
    if not parser.has_section("biaslint"):
        return None
    return dict(parser.items("biaslint"))


def _cfg_problem(exc: configparser.Error) -> str:
    """configparser's message, without the file name it repeats and on one line."""
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return f"line {exc.lineno}: {exc.line.strip()!r} comes before any [section] header"
    if isinstance(exc, configparser.ParsingError):
        lineno, line = exc.errors[0]  # the line as repr() gives it, newline included
        line = re.sub(r"(\\r)?\\n(?=['\"]$)", "", line)
        more = f" (and {len(exc.errors) - 1} more)" if len(exc.errors) > 1 else ""
        return f"line {lineno}: cannot parse {line}{more}"
    if isinstance(exc, configparser.DuplicateOptionError):
        return f"line {exc.lineno}: '{exc.option}' is set twice in [{exc.section}]"
    if isinstance(exc, configparser.DuplicateSectionError):
        return f"line {exc.lineno}: section [{exc.section}] appears twice"
    return " ".join(str(exc).split())


def _section_in(folder: str) -> Optional[tuple[str, dict[str, Any]]]:
    for kind in (PYPROJECT, SETUP_CFG):
        candidate = os.path.join(folder, kind)
        if os.path.isfile(candidate):
            table = _read_section(candidate, kind, must=False)
            if table is not None:
                return candidate, table
    return None


def find_config(start: str) -> Optional[tuple[str, dict[str, Any]]]:
    """The nearest pyproject.toml with [tool.biaslint] or setup.cfg with [biaslint], walking up
    from ``start``; in one directory pyproject.toml comes first. See ``_read_section`` for
    which unreadable files on the way are errors."""
    here = os.path.abspath(start)
    if not os.path.isdir(here):
        here = os.path.dirname(here)
    while True:
        found = _section_in(here)
        if found is not None:
            return found
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
    """Defaults, then the config file, then the command line (``cli``: option -> value, None for
    not given). ``config_file`` (``--config``) is a file to read, or a directory to search from;
    either way it must lead to our section."""
    settings = Settings()
    if config_file is not None:
        found: Optional[tuple[str, dict[str, Any]]] = _read_explicit(config_file)
    else:
        start = next((p for p in paths if p != "-"), ".")
        found = find_config(start)
    _settle(settings, found, known)
    apply(settings, _given(cli), "command line", known)
    return settings


def _given(cli: dict[str, Any]) -> dict[str, Any]:
    return {f"--{k.replace('_', '-')}": v for k, v in cli.items() if v is not None}


def _settle(
    settings: Settings, found: Optional[tuple[str, dict[str, Any]]], known: Optional[set[str]]
) -> None:
    """Apply a config file's section; its globs become relative to its folder."""
    if found is not None:
        where, values = found
        apply(settings, values, where, known, text=_kind_of(where) == SETUP_CFG)
        settings.source = where
        settings.root = os.path.dirname(os.path.abspath(where))


class Scope:
    """The settings of each checked file: its own config (the nearest above it, or the one
    ``--config`` names for every file), then ``cli`` on top. Lookups are cached per folder, so
    a run over many files (or a flake8 process) reads each folder and config file once. A
    broken config raises :class:`ConfigError` for every file it governs."""

    def __init__(
        self,
        cli: dict[str, Any],
        known: Optional[set[str]] = None,
        config_file: Optional[str] = None,
    ) -> None:
        self.given = _given(cli)
        self.known = known
        apply(Settings(), self.given, "command line", known)  # a bad option fails before any file
        self.fixed = None if config_file is None else self._make(_read_explicit(config_file))
        self._by_folder: dict[str, Settings | ConfigError] = {}

    def settings_for(self, path: str) -> Settings:
        """The settings of the file ``path`` ("-": stdin without a name, from the current folder)."""
        return self.settings_in(os.path.dirname(os.path.abspath(path)))

    def settings_in(self, folder: str) -> Settings:
        if self.fixed is not None:
            return self.fixed
        found = self._nearest(os.path.abspath(folder))
        if isinstance(found, ConfigError):
            raise found
        return found

    def excluded(self, path: str, folder: bool = False) -> bool:
        """Whether the file (or ``folder``) is excluded by the config that governs it."""
        return path != "-" and self.settings_for(path).excludes(path, folder)

    def _nearest(self, folder: str) -> Settings | ConfigError:
        """The settings of the nearest config at or above ``folder``: each folder is looked at
        once, and answers for every folder below it."""
        if folder not in self._by_folder:
            parent = os.path.dirname(folder)
            try:
                found = _section_in(folder)
            except ConfigError as exc:
                self._by_folder[folder] = exc
            else:
                if found is not None:
                    self._by_folder[folder] = self._make(found)
                elif parent == folder:
                    self._by_folder[folder] = self._make(None)
                else:
                    self._by_folder[folder] = self._nearest(parent)
        return self._by_folder[folder]

    def _make(self, found: Optional[tuple[str, dict[str, Any]]]) -> Settings:
        settings = Settings()
        _settle(settings, found, self.known)
        apply(settings, self.given, "command line", self.known)
        return settings


def _kind_of(path: str) -> str:
    """Config files are read by their name: ``*.toml`` as pyproject.toml, anything else
    (setup.cfg, or tox.ini given to ``--config``) as INI with a ``[biaslint]`` section."""
    return PYPROJECT if path.lower().endswith(".toml") else SETUP_CFG


def _read_explicit(path: str) -> tuple[str, dict[str, Any]]:
    if os.path.isdir(path):
        found = find_config(path)
        if found is None:
            raise ConfigError(
                f"{path}: no pyproject.toml with [tool.biaslint] or setup.cfg with [biaslint] "
                "in this directory or above"
            )
        return found
    if not os.path.exists(path):
        raise ConfigError(f"{path}: no such config file")
    if not os.path.isfile(path):
        raise ConfigError(f"{path}: not a regular file")
    kind = _kind_of(path)
    table = _read_section(path, kind, must=True)
    if table is None:
        raise ConfigError(f"{path}: has no {_SECTION[kind]} section")
    return path, table


def as_dict(settings: Settings) -> dict[str, Any]:
    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}
