"""Files in, per-file models (and later findings) out: the one entry point for every face.

Files are independent, so many of them fan out over a process pool (threads do not help:
libcst holds the GIL). Reading happens in the worker so the parent stays light.
"""

from __future__ import annotations

import contextlib
import fnmatch
import gc
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Optional

from biaslint.collect import analyse_source
from biaslint.config import Settings
from biaslint.model import BiasSite, FileError, FileModel, Finding
from biaslint.noqa import filter_noqa
from biaslint.rules import run_rules

MAX_BYTES = 5 * 1024 * 1024
SKIP_DIRS = frozenset(
    {
        "__pycache__",
        "build",
        "dist",
        "node_modules",
        "site-packages",
        "venv",
        "env",
        ".venv",
        ".env",
        ".tox",
        ".nox",
        ".git",
        ".hg",
        ".eggs",
    }
)
#: below this many files a pool costs more than it saves
POOL_THRESHOLD = 8
#: libcst builds hundreds of thousands of small, acyclic node objects per file; at Python's
#: default thresholds the cyclic collector re-traverses every live tree (and the project
#: module cache) thousands of times. Refcounting frees the trees; the rare cycles of the
#: interpreter's frames wait for a collection every 100k allocations instead of every 700.
GC_THRESHOLD = (100_000, 50, 100)


@dataclass
class Target:
    path: str  # as the user will see it
    explicit: bool  # named on the command line (not found by walking a directory)


@dataclass
class RunResult:
    files: list[FileModel] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)

    @property
    def sites(self) -> list[BiasSite]:
        return [s for f in self.files for s in f.sites]

    @property
    def findings(self) -> list[Finding]:
        return [x for f in self.files for x in f.findings]

    @property
    def notes(self) -> list[str]:
        """What ``--verbose`` adds: files whose analysis stopped at the work budget."""
        out = []
        for f in self.files:
            if f.hints.get("budget_exhausted"):
                out.append(
                    f"{f.path}: analysis stopped at its work budget ({f.hints['budget_exhausted']} "
                    "steps); the sites found up to there are reported, later ones may be missing"
                )
            elif f.hints.get("entries_cut"):
                out.append(
                    f"{f.path}: {f.hints['entries_cut']} function(s) or class(es) took more than their "
                    "share of the work budget and were cut short; their later sites may be missing"
                )
        return out


def _is_venv(path: str) -> bool:
    return os.path.exists(os.path.join(path, "pyvenv.cfg"))


def _excluded(path: str, patterns: Iterable[str]) -> bool:
    norm = path.replace(os.sep, "/")
    base = os.path.basename(norm)
    return any(
        fnmatch.fnmatch(norm, p)
        or fnmatch.fnmatch(base, p)
        or fnmatch.fnmatch(norm, f"*/{p}")
        or fnmatch.fnmatch(norm, f"{p}/*")
        or fnmatch.fnmatch(norm, f"*/{p}/*")
        for p in patterns
    )


def discover(paths: Iterable[str], exclude: Iterable[str] = ()) -> tuple[list[Target], list[FileError]]:
    """Expand paths to .py files; hidden folders, virtual environments and build output are skipped."""
    exclude = list(exclude)
    targets: list[Target] = []
    errors: list[FileError] = []

    def walk_error(e: OSError) -> None:
        errors.append(FileError(e.filename or "?", f"cannot read directory: {e.strerror}"))

    for root in paths:
        if root == "-":
            targets.append(Target(root, True))
        elif os.path.isdir(root):
            for dirpath, dirnames, filenames in os.walk(root, onerror=walk_error):
                dirnames[:] = sorted(
                    d
                    for d in dirnames
                    if not d.startswith(".")
                    and d not in SKIP_DIRS
                    and not _is_venv(os.path.join(dirpath, d))
                    and not _excluded(os.path.join(dirpath, d), exclude)
                )
                for name in sorted(filenames):
                    full = os.path.join(dirpath, name)
                    if name.endswith(".py") and not _excluded(full, exclude):
                        targets.append(Target(full, False))
        elif os.path.exists(root) or os.path.islink(root):
            if not _excluded(root, exclude):
                targets.append(Target(root, True))
        else:
            errors.append(FileError(root, "no such file or directory"))
    return targets, errors


def read_bytes(target: Target, stdin: Optional[bytes] = None) -> tuple[Optional[bytes], Optional[str]]:
    if target.path == "-":
        return stdin or b"", None
    try:
        size = os.path.getsize(target.path)
        if size > MAX_BYTES:
            return (
                None,
                f"file too large ({size / 2**20:.1f} MiB > {MAX_BYTES / 2**20:.0f} MiB limit); skipped",
            )
        with open(target.path, "rb") as fh:
            return fh.read(), None
    except IsADirectoryError:
        return None, "is a directory"
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or exc}"


def check_source(
    path: str, data: bytes, settings: Settings, noqa: bool = True, project: bool = False
) -> FileModel:
    """One file through collector and rules: the single entry point of ``check`` and flake8.

    ``project``: follow helpers and layers imported from the file's own project (the command
    line and the pre-commit hook do; flake8 and stdin see one file alone)."""
    model = analyse_source(path, data, project)
    if model.error is None:
        model.findings = run_rules(model, settings)
        if noqa and model.findings:
            model.findings = filter_noqa(model.findings, data.decode("utf-8", "replace"))
    return model


def analyse_target(
    target: Target,
    stdin: Optional[bytes] = None,
    display: Optional[str] = None,
    settings: Optional[Settings] = None,
    project: bool = False,
) -> FileModel:
    path = display or target.path
    data, err = read_bytes(target, stdin)
    if data is None:
        return FileModel(path, error=FileError(path, err or "cannot read"))
    if not data.strip() and target.explicit and settings is None:
        # inventory of a named empty file answers nothing: say so. A linter (check, the
        # pre-commit hook, which names every file) treats it as clean, like flake8 does.
        return FileModel(path, error=FileError(path, "empty file: nothing to analyse"))
    on_disk = project and target.path != "-"  # a real file: its project's modules can be followed
    try:
        if settings is not None:
            return check_source(path, data, settings, project=on_disk)
        return analyse_source(path, data, on_disk)
    except RecursionError:
        return FileModel(path, error=FileError(path, "too deeply nested to analyse"))
    except Exception as exc:  # a bug in biaslint must not stop the run
        message = f"internal error while analysing ({type(exc).__name__}: {exc}); please report it"
        return FileModel(path, error=FileError(path, message))


@contextlib.contextmanager
def few_collections() -> Iterator[None]:
    """Run with :data:`GC_THRESHOLD` (the command line and its workers; never inside flake8,
    whose process is not ours to tune)."""
    old = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _analyse_chunk(job: tuple[list[Target], Optional[Settings], bool]) -> list[FileModel]:
    targets, settings, project = job
    with few_collections():
        return [analyse_target(t, settings=settings, project=project) for t in targets]


def _chunks(items: list[Target], n: int) -> Iterator[list[Target]]:
    size = max(1, min(32, len(items) // (n * 4) or 1))
    for i in range(0, len(items), size):
        yield items[i : i + size]


def run(
    paths: Iterable[str],
    exclude: Iterable[str] = (),
    jobs: Optional[int] = None,
    stdin: Optional[bytes] = None,
    stdin_filename: Optional[str] = None,
    settings: Optional[Settings] = None,
    project: bool = False,
) -> RunResult:
    """Inventory (``settings`` None) or check (rules with these settings) every file under paths.

    ``project``: follow helpers and layers imported from each file's own project."""
    targets, errors = discover(paths, exclude)
    result = RunResult(errors=errors)
    jobs = jobs or os.cpu_count() or 1
    if stdin is not None or jobs <= 1 or len(targets) < POOL_THRESHOLD:
        with few_collections():
            for t in targets:
                display = stdin_filename if t.path == "-" and stdin_filename else None
                result.files.append(analyse_target(t, stdin, display, settings, project))
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            jobs_list = [(chunk, settings, project) for chunk in _chunks(targets, jobs)]
            for models in pool.map(_analyse_chunk, jobs_list):
                result.files.extend(models)
    for f in result.files:
        if f.error is not None:
            result.errors.append(f.error)
    return result
