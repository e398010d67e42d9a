"""Output integrity: strict JSON for non-finite numbers, escaped control characters in text
output, and ``# noqa`` read from the physical line Python numbers (not ``str.splitlines``)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

from biaslint import report
from biaslint.cli import main
from biaslint.config import Settings
from biaslint.engine import RunResult, check_source
from biaslint.model import BiasSite, FileError, FileModel, Finding, Init
from biaslint.noqa import filter_noqa, physical_lines

NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _strict_loads(text: str) -> Any:
    def reject(token: str) -> Any:
        raise AssertionError(f"invalid JSON constant {token!r} in output")

    return json.loads(text, parse_constant=reject)


def _site(path: str, value: float, line: int = 1, **kw: Any) -> BiasSite:
    fields: dict[str, Any] = dict(
        path=path,
        line=line,
        col=4,
        framework="tf1",
        api="tf.Variable",
        layer_kind="dense",
        layer_name="fc",
        init_kind="constant",
        init_value=value,
        output_layer=False,
        activation="relu",
        weight_init=Init("normal", value),
        scope="net",
    )
    fields.update(kw)
    return BiasSite(**fields)


def _result(path: str = "m.py") -> RunResult:
    sites = [_site(path, v, line=i + 1) for i, v in enumerate(NON_FINITE.values())]
    sites.append(_site(path, 0.5, line=9, forget_bias=math.inf, forget_bias_from="argument"))
    findings = [
        Finding(path, s.line, s.col, "BIA105", "error", f"absurd bias {s.init_value}", site=s) for s in sites
    ]
    model = FileModel(path, sites=sites, findings=findings)
    return RunResult(files=[model], errors=[FileError("bad.py", "syntax error at line 1")])


# --- 1. strict JSON --------------------------------------------------------------------------


def test_inventory_json_has_no_nan_tokens_and_keeps_the_value() -> None:
    out = report.inventory_json(_result())
    assert "NaN" not in out and "Infinity" not in out
    doc = _strict_loads(out)
    sites = doc["sites"]
    for site, text in zip(sites, NON_FINITE):
        assert site["init_value"] is None and site["init_value_text"] == text
        assert site["weight_init"] == {"kind": "normal", "scale": None, "scale_text": text}
    # the text field sits right after its number, in contract order
    keys = list(sites[0])
    assert keys[keys.index("init_value") + 1] == "init_value_text"
    last = sites[-1]
    assert last["init_value"] == 0.5 and "init_value_text" not in last
    assert last["forget_bias"] is None and last["forget_bias_text"] == "inf"
    assert last["weight_init"] == {"kind": "normal", "scale": 0.5}
    assert doc["errors"] == [
        {
            "path": "bad.py",
            "cell": None,
            "line": 0,
            "col": 0,
            "code": "E902",
            "message": "syntax error at line 1",
        }
    ]


def test_findings_json_has_no_nan_tokens() -> None:
    out = report.findings_json(_result())
    doc = _strict_loads(out)
    assert [f["line"] for f in doc["findings"]] == [1, 2, 3, 9]
    assert doc["findings"][0]["message"] == "absurd bias nan"


def test_finite_and_none_values_are_unchanged() -> None:
    site = _site("m.py", 1.0, init_value=None, weight_init=None)
    doc = _strict_loads(report.inventory_json(RunResult(files=[FileModel("m.py", sites=[site])])))
    assert doc["sites"][0] == json.loads(json.dumps(site.to_json()))
    assert not any(k.endswith("_text") for k in doc["sites"][0])


def test_to_strict_json_lists_and_nesting() -> None:
    doc = {"per_seed": [1.0, math.nan, -math.inf], "deep": {"x": [{"y": math.inf}]}, "ok": [1, 2]}
    parsed = _strict_loads(report.to_strict_json(doc, indent=None))
    assert parsed == {
        "per_seed": [1.0, None, None],
        "per_seed_text": [None, "nan", "-inf"],
        "deep": {"x": [{"y": None, "y_text": "inf"}]},
        "ok": [1, 2],
    }
    assert _strict_loads(report.to_strict_json([math.nan, 1.5])) == [None, 1.5]
    assert report.to_strict_json(math.inf) == "null"


def test_text_output_of_non_finite_values_is_readable() -> None:
    out = report.inventory_text(_result())
    assert "constant(nan)" in out and "constant(inf)" in out and "constant(-inf)" in out


# --- 2. control characters in text output ----------------------------------------------------

NASTY = ["a\x1b[31mb.py", "a\nb.py", "a\rb.py", "a\tb.py", "a\x7fb.py", "a\x85b.py", "a\u2028b.py"]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\x1b[31mb.py", "a\\x1b[31mb.py"),
        ("a\nb.py", "a\\nb.py"),
        ("a\r\nb.py", "a\\r\\nb.py"),
        ("a\tb.py", "a\\tb.py"),
        ("a\x00\x7f\x85b", "a\\x00\\x7f\\x85b"),
        ("a\u2028\u2029b", "a\\u2028\\u2029b"),
        ("a\u202eyp.exe", "a\\u202eyp.exe"),
        ("caf\udce9.py", "caf\\udce9.py"),  # an undecodable byte of a file name
        ("modèle/réseau_日本語 π.py", "modèle/réseau_日本語 π.py"),
        ("C:\\models\\net.py", "C:\\models\\net.py"),
        ("a\u00a0b\u200dc.py", "a\u00a0b\u200dc.py"),  # non-breaking space, zero-width joiner
        ("", ""),
    ],
)
def test_printable(raw: str, shown: str) -> None:
    assert report.printable(raw) == shown


def _assert_clean(text: str) -> None:
    for ch in text:
        assert ch == "\n" or report.printable(ch) == ch, f"raw control character {ch!r} in {text!r}"


@pytest.mark.parametrize("path", NASTY)
def test_text_reports_escape_paths(path: str) -> None:
    result = _result(path)
    result.errors.append(FileError(path, "cannot read: \x1b[2J"))
    findings = report.findings_text(result, colour=False, statistics=True, titles={})
    inventory = report.inventory_text(result)
    coloured = report.findings_text(result, colour=True, statistics=False, titles={})
    for text in (findings, inventory):
        _assert_clean(text)
        assert report.printable(path) in text
    assert len(findings.splitlines()) == 4 + 2 + 2  # findings, errors, blank + one statistic
    assert findings.splitlines()[0].startswith(f"{report.printable(path)}:1:5: BIA105 ")
    assert f"error: {report.printable(path)}: cannot read: \\x1b[2J" in inventory
    assert f"{report.printable(path)}:0:1: E902 cannot read: \\x1b[2J" in findings
    # colour mode: only biaslint's own escape codes
    assert coloured.count("\x1b") == 4 * 6
    assert report.printable(path) in coloured


def test_text_reports_escape_source_strings() -> None:
    site = _site("m.py", 1.0, layer_name="fc\x1b]0;pwned\x07", activation="re\nlu")
    finding = Finding("m.py", 1, 4, "BIA101", "warning", "bias of 'x\x1b[8m' is 1", site=site, probe="p\nq")
    result = RunResult(files=[FileModel("m.py", sites=[site], findings=[finding])])
    inventory = report.inventory_text(result)
    _assert_clean(inventory)
    assert "fc\\x1b]0;pwned\\x07" in inventory and "re\\nlu" in inventory
    line = report.finding_line(finding)
    _assert_clean(line)
    assert "\n" not in line and line.endswith("bias of 'x\\x1b[8m' is 1 [probe: p\\nq]")


@pytest.mark.skipif(sys.platform == "win32", reason="control characters in a file name")
def test_cli_check_escapes_a_real_file_name(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "a\x1b[31mb\nc.py"
    bad.write_text("import tensorflow as tf\nb = tf.Variable(tf.constant(5.0, shape=[10]))\n")
    assert main(["check", "--no-project", "--color", "never", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and out.count("\n") == 1
    assert out.startswith(report.printable(str(bad)) + ":2:5: BIA205 ")
    assert main(["inventory", "--no-project", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and report.printable(str(bad)) + ":2:5" in out


# --- 3. noqa comments on the physical line Python numbers -----------------------------------------------

HEAD = "import tensorflow as tf\n"
BIAS = "b = tf.Variable(tf.constant(5.0, shape=[10]))"


def _found(source: str, noqa: bool = True) -> list[tuple[int, str]]:
    model = check_source("m.py", source.encode("utf-8"), Settings(), noqa=noqa)
    assert model.error is None
    return [(f.line, f.code) for f in model.findings]


def test_baseline_finding_and_noqa() -> None:
    assert _found(HEAD + BIAS + "\n") == [(2, "BIA205")]
    assert _found(HEAD + BIAS + "  # noqa: BIA205\n") == []
    assert _found(HEAD + BIAS + "  # noqa: BIA101\n") == [(2, "BIA205")]


@pytest.mark.parametrize(
    "line2",
    [
        "x = 1\x0c",  # form feed at the end of a line
        "\x0cx = 1",  # form feed as indentation reset at its start
        "x = '\x0b'",  # vertical tab in a string
        "x = '\x1c\x1d\x1e'",  # file/group/record separators
        "x = '\x85'",  # NEL
        "x = '\u2028\u2029'",  # line/paragraph separators
    ],
)
def test_noqa_not_shifted_by_characters_splitlines_splits_on(line2: str) -> None:
    source = HEAD + line2 + "\n\n" + BIAS + "  # noqa: BIA205\n"
    assert len(source.splitlines()) > 4  # the trap: str.splitlines sees more lines
    assert _found(source, noqa=False) == [(4, "BIA205")]
    assert _found(source) == []


@pytest.mark.parametrize("line2", ["x = 1\x0c  # noqa", "x = '\u2028'  # noqa", "x = '\x0b'  # noqa"])
def test_noqa_of_an_earlier_line_does_not_leak(line2: str) -> None:
    # str.splitlines would make the tail of line 2 (with its noqa comment) line 3, the finding's
    source = HEAD + line2 + "\n" + BIAS + "\n"
    assert "# noqa" in source.splitlines()[2]
    assert _found(source) == [(3, "BIA205")]


@pytest.mark.parametrize("eol", ["\r", "\r\n", "\n"])
def test_noqa_with_every_line_end(eol: str) -> None:
    source = eol.join([HEAD.strip(), "x = 1\x0c", "", BIAS + "  # noqa: BIA205", ""])
    assert _found(source, noqa=False) == [(4, "BIA205")]
    assert _found(source) == []
    unsilenced = eol.join([HEAD.strip(), "x = 1\x0c", "", BIAS, ""])
    assert _found(unsilenced) == [(4, "BIA205")]


def test_noqa_with_mixed_line_ends() -> None:
    source = HEAD + "x = 1\r\n\x0c\r" + BIAS + "  # noqa: BIA205\n"
    assert _found(source, noqa=False) == [(4, "BIA205")]
    assert _found(source) == []


def test_physical_lines_and_filter_noqa_directly() -> None:
    assert physical_lines("a\x0cb\rc\r\nd\ne\u2028f\x85g") == ["a\x0cb", "c", "d", "e\u2028f\x85g"]
    assert physical_lines("a\n") == ["a", ""]
    f = Finding("m.py", 3, 0, "BIA101", "warning", "m")
    assert filter_noqa([f], "x\x0c\ny\rz  # noqa\n") == []
    assert filter_noqa([f], "x\x0cy  # noqa\nz\n") == [f]
    assert filter_noqa([Finding("m.py", 9, 0, "BIA101", "warning", "m")], "a # noqa\n") != []
