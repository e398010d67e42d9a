"""Files in, per-file models (and later findings) out: the one entry point for every face.

Files are independent, so many of them fan out over a process pool (threads do not help:
libcst holds the GIL). Reading happens in the worker so the parent stays light.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import stat
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Optional, Union

from biaslint import notebook
from biaslint.collect import analyse_source
from biaslint.config import Scope, Settings, glob_matches
from biaslint.model import BiasSite, FileError, FileModel, Finding
from biaslint.noqa import filter_noqa
from biaslint.rules import run_rules

#: libcst needs about 1 GB of memory per MiB of source: larger files are skipped (an error
#: line), which keeps a worker under about 1 GB. Real hand-written model files are far below.
MAX_BYTES = 1024 * 1024
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
#: what a directory walk picks up: Python files and Jupyter notebooks
SOURCE_SUFFIXES = (".py", notebook.SUFFIX)
#: below this many files a pool costs more than it saves
POOL_THRESHOLD = 8
#: whether a path (a file, or a folder: True) is excluded
Excluder = Callable[[str, bool], bool]
#: libcst builds hundreds of thousands of small, acyclic node objects per file; at Python's
#: default thresholds the cyclic collector re-traverses every live tree (and the project
#: module cache) thousands of times. Refcounting frees the trees; the rare cycles of the
#: interpreter's frames wait for a collection every 100k allocations instead of every 700.
GC_THRESHOLD = (100_000, 50, 100)


@dataclass
class Target:
    path: str  # as the user will see it
    explicit: bool  # named on the command line (not found by walking a directory)
    settings: Optional[Settings] = None  # its own config's (check with a Scope), else the run's


@dataclass
class RunResult:
    files: list[FileModel] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    #: found while walking and passed over (FIFOs, devices, sockets): said, not an error
    skipped: list[str] = field(default_factory=list)

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


def _excluded(path: str, patterns: Iterable[str], folder: bool = False) -> bool:
    """``--exclude`` globs: relative to the current folder, as a config's are to its own."""
    cwd = os.getcwd()
    return any(glob_matches(path, p, cwd, folder) for p in patterns)


def _special(path: str) -> Optional[str]:
    """What ``path`` is when it is not a regular file or folder (reading a FIFO blocks forever,
    a device such as /dev/zero never ends), else None. Symlinks are followed."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None  # missing or unreadable: reading it says why
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    for test, what in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device")):
        if test(mode):
            return what
    return "not a regular file"


def discover(
    paths: Iterable[str],
    exclude: Union[Iterable[str], Excluder] = (),
    skipped: Optional[list[str]] = None,
) -> tuple[list[Target], list[FileError]]:
    """Expand paths to .py and .ipynb files; hidden folders, virtual environments and build
    output are skipped, and so are FIFOs, devices and sockets met while walking (named in
    ``skipped``). ``exclude``: globs (see :func:`_excluded`), or a function of (path, is a folder)."""
    excluded = exclude if callable(exclude) else _globs(list(exclude))
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
                    and not excluded(os.path.join(dirpath, d), True)
                )
                for name in sorted(filenames):
                    full = os.path.join(dirpath, name)
                    if name.endswith(SOURCE_SUFFIXES) and not excluded(full, False):
                        what = _special(full)
                        if what is None:
                            targets.append(Target(full, False))
                        elif skipped is not None:
                            skipped.append(f"{full}: {what}, not a source file; skipped")
        elif os.path.exists(root) or os.path.islink(root):
            if not excluded(root, False):
                targets.append(Target(root, True))
        else:
            errors.append(FileError(root, "no such file or directory"))
    return targets, errors


def _globs(patterns: list[str]) -> Excluder:
    return lambda path, folder: _excluded(path, patterns, folder)


def read_bytes(target: Target, stdin: Optional[bytes] = None) -> tuple[Optional[bytes], Optional[str]]:
    if target.path == "-":
        if stdin is not None and len(stdin) > MAX_BYTES:
            return None, f"input too large (over the {MAX_BYTES / 2**20:.0f} MiB limit); skipped"
        return stdin or b"", None
    try:
        what = _special(target.path)
        if what is not None:
            return None, f"{what}, not a source file; not read"
        # never more than the limit + 1 bytes, whatever the file claims to be
        with open(target.path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            return None, f"file too large (over the {MAX_BYTES / 2**20:.0f} MiB limit); skipped"
        return data, None
    except IsADirectoryError:
        return None, "is a directory"
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or exc}"


def check_source(
    path: str, data: bytes, settings: Settings, noqa: bool = True, project: bool = False
) -> FileModel:
    """One file through collector and rules: the single entry point of ``check`` and flake8.

    ``project``: follow helpers and layers imported from the file's own project (the command
    line, the pre-commit hook and the flake8 plugin do; ``--no-project`` reads it alone)."""
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
    if target.settings is not None:
        settings = target.settings
    data, err = read_bytes(target, stdin)
    if data is None:
        return FileModel(path, error=FileError(path, err or "cannot read"))
    if not data.strip() and target.explicit and settings is None:
        # inventory of a named empty file answers nothing: say so. A linter (check, the
        # pre-commit hook, which names every file) treats it as clean, like flake8 does.
        return FileModel(path, error=FileError(path, "empty file: nothing to analyse"))
    # a real file, or stdin named by --stdin-filename: its project's modules can be followed
    on_disk = project and (target.path != "-" or display is not None)
    try:
        cells = notebook.parse(data) if notebook.is_notebook(path) and data.strip() else None
        if cells is not None:
            data = notebook.module_bytes(cells)
        if settings is not None:
            model = check_source(path, data, settings, project=on_disk)
        else:
            model = analyse_source(path, data, on_disk)
        return model if cells is None else _in_cells(model, cells)
    except notebook.NotebookError as exc:
        return FileModel(path, error=FileError(path, str(exc)))
    except RecursionError:
        return FileModel(path, error=FileError(path, "too deeply nested to analyse"))
    except MemoryError:
        return FileModel(path, error=FileError(path, "ran out of memory analysing this file"))
    except Exception as exc:  # a bug in biaslint must not stop the run
        message = f"internal error while analysing ({type(exc).__name__}: {exc}); please report it"
        return FileModel(path, error=FileError(path, message))


def _in_cells(model: FileModel, cells: notebook.Notebook) -> FileModel:
    """A notebook's model with module lines turned into (cell, line within the cell), after the
    rules and ``# noqa``, which work on the module (a site's notes keep module lines)."""
    items: list[Union[BiasSite, Finding]] = [*model.sites, *model.findings]
    for item in {id(x): x for x in items}.values():  # each once
        item.cell, item.line = cells.locate(item.line)
    if model.error is not None:
        if model.error.line > 0:  # a syntax error: its line within its cell
            model.error.cell, model.error.line = cells.locate(model.error.line)
        model.error.message = notebook.relocate_message(cells, model.error.message)
    return model


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


def _worker_init() -> None:
    # Ctrl-C reaches the whole process group: the parent alone answers it and stops the workers
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _analyse_chunk(job: tuple[list[Target], Optional[Settings], bool]) -> list[FileModel]:
    targets, settings, project = job
    with few_collections():
        return [analyse_target(t, settings=settings, project=project) for t in targets]


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now (an interrupt, a signal): kill its workers, drop what is queued."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            proc.terminate()  # Python 3.14 has pool.terminate_workers(); 3.9-3.13 do not
    pool.shutdown(wait=False, cancel_futures=True)


@contextlib.contextmanager
def _pool(jobs: int) -> Iterator[ProcessPoolExecutor]:
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init)
    try:
        yield pool
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown(wait=True)


def _isolated(job: tuple[Target, Optional[Settings], bool]) -> FileModel:
    """One file in a process of its own: a file that kills it is that file's error alone."""
    target, settings, project = job
    with _pool(1) as pool:
        try:
            return pool.submit(_analyse_chunk, ([target], settings, project)).result()[0]
        except BrokenProcessPool:
            message = "the parser crashed on this file (its worker process was killed); not analysed"
            return FileModel(target.path, error=FileError(target.path, message))


def _run_pool(
    targets: list[Target], settings: Optional[Settings], project: bool, jobs: int
) -> list[FileModel]:
    """Chunks of files over ``jobs`` workers. A file that kills its worker (a native crash, the
    kernel's OOM killer) breaks the pool: the chunks not finished then run again file by file,
    each in a fresh process, so that only that file is lost and every other result is kept."""
    chunks = list(_chunks(targets, jobs))
    done: dict[int, list[FileModel]] = {}
    with _pool(jobs) as pool:
        jobs_list = [(chunk, settings, project) for chunk in chunks]
        futures = {pool.submit(_analyse_chunk, job): i for i, job in enumerate(jobs_list)}
        for future in as_completed(futures):
            with contextlib.suppress(BrokenProcessPool):
                done[futures[future]] = future.result()
    retry = [t for i, chunk in enumerate(chunks) if i not in done for t in chunk]
    if retry:
        with ThreadPoolExecutor(max_workers=jobs) as threads:  # threads only wait on processes
            models = threads.map(_isolated, [(t, settings, project) for t in retry])
            redone = dict(zip(map(id, retry), models))
        for i, chunk in enumerate(chunks):
            if i not in done:
                done[i] = [redone[id(t)] for t in chunk]
    return [model for i in range(len(chunks)) for model in done[i]]


def _discover_scoped(
    paths: Iterable[str],
    exclude: Iterable[str],
    skipped: list[str],
    scope: Scope,
    stdin_filename: Optional[str],
) -> tuple[list[Target], list[FileError]]:
    paths = list(paths)
    for path in paths:  # a broken config that governs a named path fails before any reading
        scope.settings_in(path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path)))
    patterns = list(exclude)
    targets, errors = discover(
        paths, lambda path, folder: _excluded(path, patterns, folder) or scope.excluded(path, folder), skipped
    )
    kept = []
    for t in targets:
        name = (stdin_filename or t.path) if t.path == "-" else t.path
        if t.path == "-" and stdin_filename and (_excluded(name, patterns) or scope.excluded(name)):
            continue
        t.settings = scope.settings_for(name)
        kept.append(t)
    return kept, errors


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
    scope: Optional[Scope] = None,
) -> RunResult:
    """Inventory (``settings`` None) or check (rules with these settings) every file under paths.

    ``project``: follow helpers and layers imported from each file's own project. ``scope``
    (check): each file gets its own config's settings and exclusions instead; stdin's are those
    of ``stdin_filename``."""
    skipped: list[str] = []
    if scope is None:
        targets, errors = discover(paths, exclude, skipped)
    else:
        targets, errors = _discover_scoped(paths, exclude, skipped, scope, stdin_filename)
    result = RunResult(errors=errors, skipped=skipped)
    cpus = os.cpu_count() or 1
    jobs = max(1, min(jobs or cpus, cpus))  # more workers than cores only cost memory
    if stdin is not None or jobs <= 1 or len(targets) < POOL_THRESHOLD:
        with few_collections():
            for t in targets:
                display = stdin_filename if t.path == "-" and stdin_filename else None
                result.files.append(analyse_target(t, stdin, display, settings, project))
    else:
        result.files.extend(_run_pool(targets, settings, project, jobs))
    for f in result.files:
        if f.error is not None:
            result.errors.append(f.error)
    return result
