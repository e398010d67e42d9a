"""Command line: parse arguments, call the engine, format. Nothing else."""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
from typing import Any, Optional

from biaslint import __version__, config, engine, report
from biaslint.probe import ProbeError
from biaslint.rules import RULES

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
#: the shell's convention: 128 + the signal's number
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143


def _paths(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "paths",
        nargs="*",
        default=["."],
        metavar="PATH",
        help="files or directories ('-' reads stdin; default .)",
    )
    p.add_argument(
        "--format",
        choices=("text", "json", "sarif", "github"),
        default="text",
        help="text (flake8-style), json, sarif (SARIF 2.1.0) or github (Actions annotations); "
        "sarif and github for check only",
    )
    p.add_argument(
        "--exclude",
        action="append",
        default=None,
        metavar="GLOB",
        help="skip paths matching GLOB (repeatable)",
    )
    p.add_argument(
        "--jobs", "-j", type=int, default=None, metavar="N", help="worker processes (default: number of CPUs)"
    )
    p.add_argument(
        "--stdin-filename",
        default=None,
        metavar="NAME",
        help="path of '-': reported, and (check) whose config, exclude and per-file-ignores apply",
    )
    p.add_argument(
        "--project",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="follow helpers, layer factories and layer classes imported from each file's own "
        "project (read from disk, never imported; default, as in the flake8 plugin). --no-project "
        "reads each file alone",
    )
    p.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="also note, on stderr, files whose analysis stopped early (work budget) and why",
    )


def _codes(text: str) -> list[str]:
    return [c.strip().upper() for c in text.split(",") if c.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="biaslint",
        description="Find, classify and check bias initialisations in TensorFlow and PyTorch code. "
        "biaslint never imports or runs the code it analyses.",
    )
    parser.add_argument("--version", action="version", version=f"biaslint {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    chk = sub.add_parser("check", help="report findings (flake8-style); exit 0 clean, 1 findings, 2 error")
    _paths(chk)
    chk.add_argument(
        "--fail-on",
        choices=("error", "warning", "info"),
        default=None,
        help="the lowest severity that makes the run exit 1 (default info: any finding); "
        "findings below it are still printed",
    )
    chk.add_argument(
        "--select",
        type=_codes,
        default=None,
        metavar="CODES",
        help="comma-separated codes or prefixes to report (default: BIA)",
    )
    chk.add_argument(
        "--ignore",
        type=_codes,
        default=None,
        metavar="CODES",
        help="comma-separated codes or prefixes not to report",
    )
    chk.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    chk.add_argument("--statistics", action="store_true", help="count findings per code at the end")
    chk.add_argument(
        "--show-reasons",
        action="store_true",
        help="print why each finding matters, with its sources, under it (always in JSON and SARIF)",
    )
    chk.add_argument(
        "--show-source", action="store_true", help="print each finding's source line, with a caret"
    )
    chk.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    chk.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="pyproject.toml or setup.cfg to read for every file (default: the nearest one above each file)",
    )
    chk.add_argument(
        "--large-constant", type=float, default=None, metavar="X", help="BIA101 threshold (default 0.5)"
    )
    chk.add_argument(
        "--random-spread", type=float, default=None, metavar="X", help="BIA103 threshold (default 0.1)"
    )
    chk.add_argument(
        "--absurd-constant", type=float, default=None, metavar="X", help="BIA105 threshold (default 100)"
    )

    chk.add_argument(
        "--probe",
        action="store_true",
        help="train a small surrogate per finding, attach its verdict (biaslint[probe])",
    )

    inv = sub.add_parser("inventory", help="list every bias site with its layer, init and activation")
    _paths(inv)

    prb = sub.add_parser(
        "probe",
        help="train small surrogates to confirm or refute a file's findings",
        description="Rebuild a small surrogate of the model the static analysis saw and train the "
        "file's bias init against the advised one over several seeds (CPU, seconds). The analysed "
        "code is not imported or run -- unless you pass --model, which DOES import and run your code.",
    )
    prb.add_argument("path", metavar="PATH")
    prb.add_argument("--rule", type=_codes, default=None, metavar="CODES", help="only these rule codes")
    prb.add_argument(
        "--seeds", type=int, default=8, metavar="N", help="paired seeds per arm (default 8, at least 5)"
    )
    prb.add_argument(
        "--lr",
        type=float,
        default=None,
        metavar="X",
        help="learning rate of every arm (default: chosen from a 3-rate grid on a pilot seed)",
    )
    prb.add_argument(
        "--per-rate",
        action="store_true",
        help="compare the arms at every rate of the grid, one verdict per rate (3x the training)",
    )
    prb.add_argument("--steps", type=int, default=200, metavar="N", help="steps per run (default 200)")
    prb.add_argument("--backend", choices=("torch", "tensorflow"), default="torch")
    prb.add_argument("--plot", default=None, metavar="FILE.png", help="draw the arms' loss curves")
    prb.add_argument("--format", choices=("text", "json"), default="text")
    prb.add_argument(
        "--model",
        default=None,
        metavar="MODULE:FACTORY",
        help="probe your own model: IMPORTS AND RUNS your code (factory returns an nn.Module "
        "or a Keras model)",
    )
    prb.add_argument(
        "--input-shape",
        default=None,
        metavar="D,D,...",
        help="input shape for --model, without the batch dimension (e.g. 3,32,32)",
    )

    rules = sub.add_parser("rules", help="list all rules (code, severity, title)")
    rules.add_argument("--format", choices=("text", "markdown"), default="text")
    exp = sub.add_parser("explain", aliases=["rule"], help="print a rule's documentation")
    exp.add_argument("code", metavar="CODE")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if getattr(args, "jobs", None) is not None and args.jobs < 1:
        print("biaslint: error: --jobs must be at least 1", file=sys.stderr)
        return EXIT_ERROR
    previous = _on_sigterm()
    try:
        if args.command == "check":
            return _check(args)
        if args.command == "inventory":
            return _inventory(args)
        if args.command == "probe":
            return _probe(args)
        if args.command == "rules":
            _out(rules_table(args.format))
            return EXIT_OK
        return _explain(args.code)
    except (config.ConfigError, ProbeError) as exc:
        print(f"biaslint: error: {report.printable(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:  # the pool's workers are stopped on the way out (engine._pool)
        print("biaslint: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print("biaslint: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class Terminated(BaseException):
    """SIGTERM, raised where the parent is, so that the pool's workers are stopped too."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def _on_sigterm() -> Any:
    """Answer SIGTERM like Ctrl-C (only in the main thread, where Python runs handlers)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_terminated)


def _out(text: str) -> None:
    """Print to stdout; a reader that went away (`biaslint check . | head -1`) is not an error,
    and the exit status is still the one the findings call for."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        # stdout is gone: point it at /dev/null so that Python's exit flush stays quiet
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _read_stdin(paths: list[str]) -> Optional[bytes]:
    # never more than the size limit + 1 bytes: the engine reports a larger input as too large
    return sys.stdin.buffer.read(engine.MAX_BYTES + 1) if "-" in paths else None


def _inventory(args: argparse.Namespace) -> int:
    if args.format not in ("text", "json"):
        raise config.ConfigError(
            f"inventory prints text or json, not {args.format} (sarif and github are for check)"
        )
    result = engine.run(
        args.paths,
        args.exclude or (),
        args.jobs,
        _read_stdin(args.paths),
        args.stdin_filename,
        project=args.project,
    )
    _out(report.inventory_json(result) if args.format == "json" else report.inventory_text(result))
    _notes(result, args.verbose)
    if args.format == "json":
        for e in result.errors:
            print(f"biaslint: {report.printable(e.path)}: {report.printable(e.message)}", file=sys.stderr)
    return EXIT_ERROR if result.errors else EXIT_OK


def _check(args: argparse.Namespace) -> int:
    cli: dict[str, Any] = {
        "select": args.select,
        "ignore": args.ignore,
        "large_constant": args.large_constant,
        "random_spread": args.random_spread,
        "absurd_constant": args.absurd_constant,
        "fail_on": args.fail_on,
    }
    scope = config.Scope(cli, set(RULES), args.config)
    result = engine.run(
        args.paths,
        args.exclude or (),
        args.jobs,
        _read_stdin(args.paths),
        args.stdin_filename,
        project=args.project,
        scope=scope,
    )
    if args.probe:
        from biaslint.probe.attach import attach

        attach(result)
    if args.format == "json":
        _out(report.findings_json(result))
    elif args.format in ("sarif", "github"):
        from biaslint import ci_formats

        _out(ci_formats.sarif(result) if args.format == "sarif" else ci_formats.github(result))
    else:
        text = report.findings_text(
            result,
            report.use_colour(args.color),
            args.statistics,
            {c: r.title for c, r in RULES.items()},
            reasons=args.show_reasons,
            source=args.show_source,
        )
        if text:
            _out(text)
        if result.findings or result.errors:
            # the last line a person reads; on stderr when the output goes to a program
            print(report.summary(result), file=sys.stdout if sys.stdout.isatty() else sys.stderr)
    _notes(result, args.verbose)
    if result.errors:
        return EXIT_ERROR
    # each file's own config says which of its findings fail the run
    failing = [
        f
        for m in result.files
        for f in m.findings
        if SEVERITY_RANK[f.severity] >= SEVERITY_RANK[scope.settings_for(m.path).fail_on]
    ]
    return EXIT_FINDINGS if failing and not args.exit_zero else EXIT_OK


#: ``--fail-on``: a finding at or above this severity makes ``check`` exit 1
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}


def _notes(result: engine.RunResult, verbose: bool) -> None:
    for skipped in result.skipped:
        print(f"biaslint: note: {report.printable(skipped)}", file=sys.stderr)
    if verbose:
        for note in result.notes:
            print(f"biaslint: note: {report.printable(note)}", file=sys.stderr)


def _input_shape(text: str) -> tuple[int, ...]:
    """``3,32,32``: positive integers, comma-separated."""
    try:
        shape = tuple(int(d) for d in text.split(","))
    except ValueError:
        shape = ()
    if not shape or any(not 0 < d <= 100_000 for d in shape):
        raise ProbeError(f"--input-shape takes positive integers separated by commas (3,32,32), not {text!r}")
    return shape


def rules_table(fmt: str = "text") -> str:
    if fmt == "markdown":
        rows = ["| Code | Severity | Rule |", "| --- | --- | --- |"]
        rows += [f"| {r.code} | {r.severity} | {r.title} |" for r in RULES.values()]
        return "\n".join(rows)
    return "\n".join(f"{r.code}  {r.severity:<7}  {r.title}" for r in RULES.values())


def _explain(code: str) -> int:
    rule = RULES.get(code.upper())
    if rule is None:
        print(f"biaslint: error: unknown rule {code!r} (see `biaslint rules`)", file=sys.stderr)
        return EXIT_ERROR
    print(rule.doc())
    return EXIT_OK


def _probe(args: argparse.Namespace) -> int:
    from biaslint.probe import Budget, load_backend, plan_for, run_plans, to_json
    from biaslint.probe import report as probe_report
    from biaslint.probe.stats import MIN_SEEDS

    if args.seeds < MIN_SEEDS or args.steps < 1:
        raise ProbeError(
            f"--seeds must be at least {MIN_SEEDS} (fewer pairs give no usable test) and --steps at least 1"
        )
    if args.lr is not None and not (math.isfinite(args.lr) and args.lr > 0):
        raise ProbeError("--lr must be a positive number")
    if args.lr is not None and args.per_rate:
        raise ProbeError("--lr and --per-rate contradict each other: one rate, or every rate of the grid")
    if args.model and args.per_rate:
        raise ProbeError("--per-rate is for the surrogates; with --model pass --lr")
    # every option is checked before any training starts
    shape = _input_shape(args.input_shape) if args.input_shape else None
    if args.model and shape is None:
        raise ProbeError("--model needs --input-shape (e.g. 3,32,32)")
    if args.plot:
        folder = os.path.dirname(os.path.abspath(args.plot))
        if not os.path.isdir(folder):
            raise ProbeError(f"--plot: folder {folder!r} does not exist")
        if not os.access(folder, os.W_OK):
            raise ProbeError(f"--plot: folder {folder!r} is not writable")
    settings = config.load([args.path], {}, set(RULES))
    result = engine.run([args.path], settings=settings, jobs=1)
    if result.errors:
        for e in result.errors:
            print(f"biaslint: {report.printable(e.path)}: {report.printable(e.message)}", file=sys.stderr)
        return EXIT_ERROR
    findings = [f for f in result.findings if not args.rule or any(f.code.startswith(c) for c in args.rule)]
    model = result.files[0]
    plans = plan_for(model, findings)
    budget = Budget(seeds=args.seeds, steps=args.steps, lr=args.lr)
    if args.model:
        from biaslint.probe.usermodel import load_factory, probe_model

        assert shape is not None
        results = probe_model(load_factory(args.model, args.path), args.model, shape, plans, budget)
    else:
        backend = load_backend(args.backend)
        results = run_plans(plans, backend, budget, per_rate=args.per_rate)
    skipped = [f"not probed: {p.code} at line {p.first.line}: {p.why_not}" for p in plans if p.kind == "skip"]
    if not plans:
        skipped.append("no findings to probe in this file")
    if args.plot:
        probe_report.plot(results, args.plot)
    if args.format == "json":
        _out(report.to_strict_json(to_json(results)))
    else:
        print(probe_report.text(results, skipped))
    return EXIT_OK
