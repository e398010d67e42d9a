"""The command line: exit codes, JSON contract, bad input, discovery, parallel runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES, FIXTURES

from biaslint.cli import main
from biaslint.model import SITE_JSON_FIELDS

BAD = FIXTURES / "bad"


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["inventory", "--format", "json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_json_contract_on_seed_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(capsys, str(EXAMPLES / "vgg16_tf1.py"))
    assert code == 0
    assert doc["version"] == 3 and doc["errors"] == []
    assert len(doc["sites"]) == 16
    for site in doc["sites"]:
        assert tuple(site) == SITE_JSON_FIELDS
    fc1 = next(s for s in doc["sites"] if s["layer_name"] == "fc1/biases")
    assert fc1["framework"] == "tf1" and fc1["api"] == "tensorflow.Variable"
    assert fc1["layer_kind"] == "dense" and fc1["init_kind"] == "constant" and fc1["init_value"] == 1.0
    assert fc1["weight_init"] == {"kind": "truncated_normal", "scale": 0.1}
    assert fc1["activation"] == "relu" and fc1["output_layer"] is False
    assert fc1["scope"] == "vgg16"


def test_paths_stay_as_given(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES.parent)
    _, doc = run_json(capsys, "examples/torch_lstm_lm.py")
    assert {s["path"] for s in doc["sites"]} == {"examples/torch_lstm_lm.py"}


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("syntax_error.py", "syntax error: "),
        ("python2.py", "Python 2"),
        ("latin1.py", "not valid UTF-8"),
        ("empty.py", "empty file"),
    ],
)
def test_bad_file_gives_one_error_and_the_run_goes_on(
    capsys: pytest.CaptureFixture[str], name: str, needle: str
) -> None:
    code, doc = run_json(capsys, str(BAD / name), str(EXAMPLES / "torch_lstm_lm.py"))
    assert code == 2
    assert len(doc["errors"]) == 1
    err = doc["errors"][0]
    assert err["path"].endswith(name) and needle in err["message"]
    assert "\n" not in err["message"]
    assert {s["path"] for s in doc["sites"]} == {str(EXAMPLES / "torch_lstm_lm.py")}


def test_missing_path_and_unreadable_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "vgg16_tf1.py", tmp_path / "good.py")
    bad = tmp_path / "locked.py"
    if os.geteuid() == 0:  # root reads anything: a dangling link is unreadable for everyone
        bad.symlink_to(tmp_path / "gone.py")
    else:
        shutil.copy(EXAMPLES / "vgg16_tf1.py", bad)
        bad.chmod(0)
    code, doc = run_json(capsys, str(tmp_path), str(tmp_path / "missing.py"))
    assert code == 2
    messages = {Path(e["path"]).name: e["message"] for e in doc["errors"]}
    assert messages["missing.py"] == "no such file or directory"
    assert messages["locked.py"].startswith("cannot read")
    assert len(doc["sites"]) == 16


def test_check_treats_a_named_empty_file_as_clean(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "__init__.py").write_bytes(b"")
    assert main(["check", str(tmp_path / "__init__.py")]) == 0
    assert capsys.readouterr().out == ""


def test_empty_files_found_by_walking_are_fine(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_bytes(b"")
    code, doc = run_json(capsys, str(tmp_path))
    assert code == 0 and doc["errors"] == [] and doc["sites"] == []


def test_huge_file_is_skipped_with_an_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from biaslint import engine

    monkeypatch.setattr(engine, "MAX_BYTES", 1000)
    big = tmp_path / "big.py"
    big.write_text("import torch\n" + "x = 1\n" * 400)
    code, doc = run_json(capsys, str(big))
    assert code == 2 and "too large" in doc["errors"][0]["message"]


def test_discovery_skips_hidden_venv_build_and_excluded(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    src = (EXAMPLES / "torch_lstm_lm.py").read_bytes()
    for rel in (
        ".hidden/a.py",
        "venv/lib/b.py",
        "myenv/c.py",
        "build/d.py",
        "__pycache__/e.py",
        "gen/f.py",
        "keep/g.py",
    ):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(src)
    (tmp_path / "myenv" / "pyvenv.cfg").write_text("home = /usr\n")
    _, doc = run_json(capsys, str(tmp_path), "--exclude", "gen")
    assert {Path(s["path"]).name for s in doc["sites"]} == {"g.py"}


def test_text_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", str(EXAMPLES / "vgg16_tf1.py")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["LOCATION", "FRAMEWORK", "KIND", "LAYER", "INIT", "FEEDS", "OUT"]
    assert "fc1/biases" in out and "constant(1)" in out and "16 bias site(s)" in out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory"]) == 2
    assert main(["inventory", "--format", "xml", "x.py"]) == 2
    assert main(["inventory", "--jobs", "0", str(EXAMPLES)]) == 2
    capsys.readouterr()


def test_process_pool_gives_the_same_sites(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(FIXTURES), str(EXAMPLES)]
    _, one = run_json(capsys, *paths, "--jobs", "1")
    _, two = run_json(capsys, *paths, "--jobs", "2")
    assert one == two and len(one["sites"]) > 200


def test_stdin_with_filename(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    data = (EXAMPLES / "torch_lstm_lm.py").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    _, doc = run_json(capsys, "-", "--stdin-filename", "lm.py")
    assert {s["path"] for s in doc["sites"]} == {"lm.py"} and len(doc["sites"]) == 3


def test_analysed_code_is_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    env = dict(os.environ, BIASLINT_MARKER=str(marker))
    proc = subprocess.run(
        [sys.executable, "-m", "biaslint", "inventory", "--format", "json", str(BAD / "marker_if_run.py")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["sites"], "the fixture's site must be found"
    assert not marker.exists()
    # the fixture really would write the marker if it ran:
    runpy = subprocess.run(
        [
            sys.executable,
            "-c",
            f"exec(open({str(BAD / 'marker_if_run.py')!r}).read().split('import torch')[0])",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert runpy.returncode == 0 and marker.exists()
