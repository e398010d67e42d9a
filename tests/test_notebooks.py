"""Jupyter notebooks: code cells as one module, IPython lines masked in place, findings by cell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Union

import pytest
from conftest import WARN
from conftest import run_cli as run

import biaslint.cli  # noqa: F401  (imported at collection, as the other CLI tests do: report.use_colour

# binds the sys.stdout of its import as a default, which must not be one test's closed capture)
from biaslint.notebook import mask_cell, parse

SCHEMA = Path(__file__).resolve().parent / "sarif-schema-2.1.0.json"
HEAD, BODY = WARN.split("\n\n\n")  # the imports; ``def net`` with the BIA101 bias
PY_LINE = WARN.splitlines().index("    b1 = tf.Variable(tf.constant(1.0, shape=[256]))") + 1
CELL_LINE = BODY.splitlines().index("    b1 = tf.Variable(tf.constant(1.0, shape=[256]))") + 1

Cell = Union[str, tuple[str, str]]  # code, or (cell_type, text)


def notebook(*cells: Cell, **doc: Any) -> str:
    out = []
    for cell in cells:
        kind, text = cell if isinstance(cell, tuple) else ("code", cell)
        out.append({"cell_type": kind, "metadata": {}, "source": text.splitlines(keepends=True)})
        if kind == "code":
            out[-1].update(outputs=[], execution_count=None)
    return json.dumps({"cells": out, "metadata": {}, "nbformat": 4, "nbformat_minor": 5, **doc})


#: cell 1 imports, cell 2 is markdown, cell 3 holds the network
MODEL = notebook(HEAD, ("markdown", "# The network"), BODY)


def write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def findings(capsys: pytest.CaptureFixture[str], *paths: str) -> tuple[int, list[dict[str, Any]]]:
    code, out, _ = run(capsys, "check", "--format", "json", *paths)
    return code, json.loads(out)["findings"]


def test_finding_names_cell_and_line_like_the_py_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    nb = write(tmp_path / "model.ipynb", MODEL)
    py = write(tmp_path / "model.py", WARN)
    code, out, _ = run(capsys, "check", nb)
    assert code == 1
    assert out.startswith(f"{nb}:cell 3:{CELL_LINE}:10: BIA101 [warning] "), out
    (in_nb,), (in_py,) = findings(capsys, nb)[1], findings(capsys, py)[1]
    assert (in_nb["cell"], in_nb["line"], in_py["cell"], in_py["line"]) == (3, CELL_LINE, None, PY_LINE)
    same = ("code", "severity", "message", "col", "evidence")
    assert {k: in_nb[k] for k in same} == {k: in_py[k] for k in same}


def test_cells_share_one_namespace(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # the bias is made in cell 1 and only found to feed a ReLU in cell 3
    first = "import tensorflow as tf\nw = tf.Variable(tf.truncated_normal([784, 256], stddev=0.1))\n"
    first += "b = tf.Variable(tf.constant(1.0, shape=[256]))\n"
    nb = write(
        tmp_path / "m.ipynb", notebook(first, ("markdown", "text"), "h = tf.nn.relu(tf.matmul(x, w) + b)\n")
    )
    code, found = findings(capsys, nb)
    assert code == 1
    assert [(f["code"], f["cell"], f["line"]) for f in found] == [("BIA101", 1, 3)]


def test_magics_are_masked_without_moving_lines(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    magics = "%matplotlib inline\n!pip install tensorflow\ntf.Variable?\nfiles = !ls\n"
    body = BODY.replace("def net(x):\n", "def net(x):\n    %time pass\n")
    nb = write(tmp_path / "m.ipynb", notebook("%load_ext autoreload\n" + HEAD, magics + body))
    code, found = findings(capsys, nb)
    assert code == 1, found
    assert [(f["code"], f["cell"], f["line"]) for f in found] == [("BIA101", 2, 4 + CELL_LINE + 1)]


def test_cell_magics() -> None:
    assert mask_cell(["%%bash", "pip install x", "if ("]) == ["", "", ""]
    assert mask_cell(["%%writefile net.py", "import torch"]) == ["", ""]
    assert mask_cell(["", "%%time", "x = 1"]) == ["", "pass", "x = 1"]


def test_escapes_only_where_a_statement_starts() -> None:
    lines = ["x = (1", "% 2)", 's = """', "%d items", '"""', "    !echo hi", "y = 1  # why?"]
    assert mask_cell(lines) == [*lines[:5], "    pass", "y = 1  # why?"]
    assert mask_cell(["!echo a \\", "  b", "x = 1"]) == ["pass", "pass", "x = 1"]


def test_every_module_line_maps_back_to_its_cell() -> None:
    nb = parse(notebook("a = 1\nb = 2\n", ("markdown", "m"), "", "%pwd\nc = 3").encode())
    assert nb.source == "a = 1\nb = 2\npass\nc = 3\n"
    assert [nb.locate(line) for line in range(1, 5)] == [(1, 1), (1, 2), (4, 1), (4, 2)]


def test_noqa_in_a_cell(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    quiet = BODY.replace("shape=[256]))", "shape=[256]))  # noqa: BIA101")
    assert quiet != BODY
    nb = write(tmp_path / "m.ipynb", notebook(HEAD, quiet))
    assert findings(capsys, nb) == (0, [])


def test_not_a_notebook_is_a_file_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = write(tmp_path / "a" / "broken.ipynb", '{"cells": [')
    other = write(tmp_path / "a" / "other.ipynb", '{"nbformat": 4}')
    py = write(tmp_path / "b" / "model.py", WARN)
    code, out, _ = run(capsys, "check", str(tmp_path))
    assert code == 2
    assert f"{bad}:0:1: E902 not a valid notebook: invalid JSON at line 1, column 12" in out
    assert f'{other}:0:1: E902 not a Jupyter notebook: no "cells" list' in out
    assert f"{py}:{PY_LINE}:10: BIA101" in out  # the run went on


def test_syntax_error_is_located_in_its_cell(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    nb = write(tmp_path / "m.ipynb", notebook(HEAD, ("markdown", "m"), "x = 1\ndef f(:\n"))
    code, out, _ = run(capsys, "check", nb)
    assert code == 2 and f"{nb}:cell 3:2:7: E999 syntax error: " in out, out


def test_nbformat_3(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cells = [{"cell_type": "heading", "source": "t"}, {"cell_type": "code", "input": HEAD}]
    cells.append({"cell_type": "code", "input": BODY.splitlines(keepends=True)})
    nb = write(tmp_path / "m.ipynb", json.dumps({"nbformat": 3, "worksheets": [{"cells": cells}]}))
    code, found = findings(capsys, nb)
    assert code == 1 and [(f["cell"], f["line"]) for f in found] == [(3, CELL_LINE)]


def test_other_kernel_language_is_passed_over(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    meta = {"kernelspec": {"language": "R", "name": "ir"}}
    nb = write(tmp_path / "m.ipynb", notebook(HEAD, BODY, metadata=meta))
    assert findings(capsys, nb) == (0, [])


def test_directory_walk_finds_notebooks(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write(tmp_path / "pkg" / "model.ipynb", MODEL)
    write(tmp_path / "pkg" / ".ipynb_checkpoints" / "model-checkpoint.ipynb", MODEL)
    code, found = findings(capsys, str(tmp_path))
    assert code == 1
    assert [(Path(f["path"]).name, f["cell"]) for f in found] == [("model.ipynb", 3)]


def test_inventory_shows_the_cell(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    nb = write(tmp_path / "m.ipynb", MODEL)
    code, out, _ = run(capsys, "inventory", nb)
    assert code == 0 and f"{nb}:cell 3:{CELL_LINE}:10 " in out, out
    code, out, _ = run(capsys, "inventory", "--format", "json", nb)
    assert [(s["cell"], s["line"]) for s in json.loads(out)["sites"]] == [(3, CELL_LINE), (3, CELL_LINE + 3)]


def test_sarif_gives_the_line_in_the_cell(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    nb = tmp_path / "m.ipynb"

    def result(text: str) -> dict[str, Any]:
        doc = json.loads(run(capsys, "check", "--format", "sarif", write(nb, text))[1])
        jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(doc)
        (res,) = doc["runs"][0]["results"]
        return res

    res = result(MODEL)
    moved = result(notebook(("markdown", "new"), HEAD, ("markdown", "# The network"), BODY))
    assert res["locations"][0]["physicalLocation"]["region"] == {"startLine": CELL_LINE, "startColumn": 10}
    assert res["properties"] == {"cell": 3} and moved["properties"] == {"cell": 4}
    # the fingerprint hashes the cell's line, so a cell added above does not change it
    key = "biaslintFingerprint/v1"
    assert res["partialFingerprints"][key] == moved["partialFingerprints"][key]
    other = result(notebook(HEAD, BODY.replace("stddev=0.1))\n    b1", "stddev=0.1))\n    b1 ")))
    assert other["partialFingerprints"][key] != res["partialFingerprints"][key]


def test_github_annotates_the_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    nb = write(tmp_path / "m.ipynb", MODEL)
    code, out, _ = run(capsys, "check", "--format", "github", nb)
    assert code == 1
    assert out.startswith(f"::warning file={nb},title=BIA101 (warning)::cell 3:{CELL_LINE}:10: BIA101 "), out
    assert "line=" not in out
