"""Command line: parse arguments, call the engine, format. Nothing else."""

from __future__ import annotations

import argparse
import sys
from typing import Optional

from biaslint import __version__, engine, report

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or directories ('-' reads stdin)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB", help="skip paths matching GLOB (repeatable)"
    )
    p.add_argument(
        "--jobs", "-j", type=int, default=None, metavar="N", help="worker processes (default: number of CPUs)"
    )
    p.add_argument("--stdin-filename", default=None, help="name to report for '-'")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="biaslint",
        description="Find, classify and check bias initialisations in TensorFlow and PyTorch code.",
    )
    parser.add_argument("--version", action="version", version=f"biaslint {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    inv = sub.add_parser("inventory", help="list every bias site with its layer, init and activation")
    _common(inv)
    return parser


class _Parser(argparse.ArgumentParser):
    pass


def main(argv: Optional[list[str]] = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if args.command == "inventory":
        return _inventory(args)
    return EXIT_ERROR


def _read_stdin(paths: list[str]) -> Optional[bytes]:
    return sys.stdin.buffer.read() if "-" in paths else None


def _inventory(args: argparse.Namespace) -> int:
    if args.jobs is not None and args.jobs < 1:
        print("biaslint: error: --jobs must be at least 1", file=sys.stderr)
        return EXIT_ERROR
    result = engine.run(args.paths, args.exclude, args.jobs, _read_stdin(args.paths), args.stdin_filename)
    out = report.inventory_json(result) if args.format == "json" else report.inventory_text(result)
    print(out)
    if args.format == "json":
        for e in result.errors:
            print(f"biaslint: {e.path}: {e.message}", file=sys.stderr)
    return EXIT_ERROR if result.errors else EXIT_OK
