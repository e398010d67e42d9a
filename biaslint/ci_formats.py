"""CI-native output of ``biaslint check``: SARIF 2.1.0 and GitHub Actions workflow commands.

SARIF is what GitHub code scanning, GitLab and Azure DevOps read: one run, the tool's rules
with their documentation and help link, one result per finding with its level, location and
a fingerprint that survives unrelated edits (it hashes the rule, the file and the flagged
line's text, not the line number). Files that could not be analysed are tool notifications.
``--format github`` prints ``::warning file=...,line=...::message`` lines that a GitHub
Actions job turns into annotations on the pull request.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Optional

from biaslint import __version__, notebook
from biaslint.engine import RunResult
from biaslint.model import Finding
from biaslint.rules import RULES

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
HOME = "https://github.com/biaslint/biaslint"
#: severity -> SARIF level / GitHub workflow command
SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
GITHUB_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}


def _uri(path: str) -> str:
    """A path relative to the working directory (``%SRCROOT%``), with forward slashes."""
    rel = os.path.relpath(path) if os.path.isabs(path) else os.path.normpath(path)
    return rel.replace(os.sep, "/")


def _line_text(path: str, line: int, cache: dict[str, list[str]], cell: Optional[int] = None) -> str:
    key = path if cell is None else f"{path}\0{cell}"
    if key not in cache:
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
            cache[key] = text.splitlines() if cell is None else _cell_lines(text, cell)
        except OSError:
            cache[key] = []
    lines = cache[key]
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def _cell_lines(text: str, cell: int) -> list[str]:
    """A notebook cell's lines: its fingerprint hashes the cell's text, not the JSON's."""
    try:
        return notebook.split_lines(notebook.code_cells(text.encode("utf-8")).get(cell, ""))
    except notebook.NotebookError:
        return []


def _rule(code: str) -> dict[str, Any]:
    rule = RULES[code]
    return {
        "id": code,
        "name": rule.title.title().replace(" ", "").replace("-", ""),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.what},
        "help": {"text": rule.doc()},
        "helpUri": f"{HOME}/blob/main/README.md#{code.lower()}",
        "defaultConfiguration": {"level": SARIF_LEVEL[rule.severity]},
        "properties": {"tags": ["bias-initialisation"]},
    }


def sarif(result: RunResult) -> str:
    codes = sorted(RULES)
    index = {code: i for i, code in enumerate(codes)}
    lines: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    results = []
    for f in result.findings:
        text = _line_text(f.path, f.line, lines, f.cell)
        key = f"{f.code}:{_uri(f.path)}:{text}"
        seen[key] = seen.get(key, 0) + 1  # the same line text twice in a file: tell them apart
        fingerprint = hashlib.sha256(f"{key}:{seen[key]}".encode()).hexdigest()
        results.append(
            {
                "ruleId": f.code,
                "ruleIndex": index[f.code],
                "level": SARIF_LEVEL[f.severity],
                "message": {"text": f.message},
                "locations": [_location(f.path, f.line, f.col)],
                "partialFingerprints": {"biaslintFingerprint/v1": fingerprint},
            }
        )
        if f.cell is not None:  # SARIF has no cells: the region is the line within this cell
            results[-1]["properties"] = {"cell": f.cell}
    notifications = [
        {
            "level": "error",
            "message": {"text": f"{e.code} {e.message}"},
            "locations": [_location(e.path, e.line, e.col)],
        }
        for e in result.errors
    ]
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "biaslint",
                        "version": __version__,
                        "informationUri": HOME,
                        "rules": [_rule(code) for code in codes],
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not result.errors,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2, allow_nan=False)


def _location(path: str, line: int, col: int) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(path), "uriBaseId": "%SRCROOT%"}}
    if line > 0:
        physical["region"] = {"startLine": line, "startColumn": col + 1}
    return {"physicalLocation": physical}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github(result: RunResult) -> str:
    """One workflow command per finding and per file that could not be analysed."""
    out = [_github_finding(f) for f in result.findings]
    for e in result.errors:
        where = f",line={e.line},col={e.col + 1}" if e.line > 0 else ""
        title = f"biaslint {e.code}"
        out.append(f"::error file={_escape_property(e.path)}{where},title={title}::{_escape_data(e.message)}")
    return "\n".join(out)


def _github_finding(f: Finding) -> str:
    if f.cell is not None:
        # a line of a notebook is not a line of its JSON: annotate the file, say where in text
        title = _escape_property(f"{f.code} ({f.severity})")
        where = f"cell {f.cell}:{f.line}:{f.col + 1}: "
        return (
            f"::{GITHUB_COMMAND[f.severity]} file={_escape_property(f.path)},title={title}::"
            + _escape_data(f"{where}{f.code} {f.message}")
        )
    props = (
        f"file={_escape_property(f.path)},line={f.line},col={f.col + 1},"
        f"title={_escape_property(f'{f.code} ({f.severity})')}"
    )
    return f"::{GITHUB_COMMAND[f.severity]} {props}::{_escape_data(f'{f.code} {f.message}')}"
