"""The pre-commit hook (``.pre-commit-hooks.yaml``), through the real ``pre-commit try-repo``.

Slow on first use (about a minute): pre-commit builds the hook's virtualenv by pip-installing
biaslint from this repository, which needs PyPI for its build and runtime dependencies. The
environment is built once per module (``PRE_COMMIT_HOME`` is shared by the tests here).

``try-repo`` is pointed at a snapshot of this working tree (tracked and untracked, not ignored,
files, committed in a temporary repository) rather than at the repository itself: on a
repository with uncommitted changes try-repo only carries over tracked and staged files, so a
new, not yet added module or ``.pre-commit-hooks.yaml`` itself would silently be missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pre_commit")
if shutil.which("git") is None:  # pragma: no cover
    pytest.skip("git is not installed", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 900  # seconds for one pre-commit run (the first builds the hook environment)

# A TF1 network in the style of the widely copied VGG16: conv bias 0, hidden fully-connected
# bias 1 before a ReLU. No weights are loaded afterwards, so BIA101 is a warning.
MODEL = '''\
"""A small TF1 network."""
import tensorflow as tf

images = tf.placeholder(tf.float32, [None, 32, 32, 3])
kernel = tf.Variable(tf.truncated_normal([3, 3, 3, 16], stddev=1e-1), name="weights")
conv = tf.nn.conv2d(images, kernel, [1, 1, 1, 1], padding="SAME")
conv_b = tf.Variable(tf.constant(0.0, shape=[16]), name="biases")
conv1 = tf.nn.relu(tf.nn.bias_add(conv, conv_b))
flat = tf.reshape(conv1, [-1, 32 * 32 * 16])
fc1_w = tf.Variable(tf.truncated_normal([32 * 32 * 16, 256], stddev=1e-1), name="weights")
fc1_b = tf.Variable(tf.constant(1.0, shape=[256]), name="biases")
fc1 = tf.nn.relu(tf.nn.bias_add(tf.matmul(flat, fc1_w), fc1_b))
fc2_w = tf.Variable(tf.truncated_normal([256, 10], stddev=1e-1), name="weights")
fc2_b = tf.Variable(tf.constant(0.0, shape=[10]), name="biases")
logits = tf.nn.bias_add(tf.matmul(fc1, fc2_w), fc2_b)
'''
BIA101_LINE = 11
CLEAN = MODEL.replace("tf.constant(1.0", "tf.constant(0.0")


def _git_env(**extra: str) -> dict[str, str]:
    # never inherit the state of an outer git operation (tests may run inside a git hook)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_AUTHOR_NAME="biaslint tests",
        GIT_AUTHOR_EMAIL="tests@biaslint.invalid",
        GIT_COMMITTER_NAME="biaslint tests",
        GIT_COMMITTER_EMAIL="tests@biaslint.invalid",
        GIT_CONFIG_NOSYSTEM="1",
        **extra,
    )
    return env


def _git(*args: str, cwd: Path) -> str:
    cmd = ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args]
    proc = subprocess.run(cmd, cwd=cwd, env=_git_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{' '.join(args)}: {proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This working tree, committed in a temporary repository."""
    snap = tmp_path_factory.mktemp("biaslint-snapshot")
    listed = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    files = [f for f in listed.split("\0") if f and (ROOT / f).is_file()]
    assert ".pre-commit-hooks.yaml" in files and "setup.cfg" in files
    for name in files:
        (snap / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, snap / name)
    _git("init", "-q", cwd=snap)
    _git("add", "-A", cwd=snap)
    _git("commit", "-q", "--no-verify", "-m", "snapshot of the working tree", cwd=snap)
    return snap


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def run_hook(hook_repo: Path, home: Path, project: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "biaslint", "--all-files"]
    cmd += ["--color", "never", "--verbose"]
    env = _git_env(PRE_COMMIT_HOME=str(home))
    return subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=TIMEOUT)


def make_project(path: Path, files: dict[str, str]) -> Path:
    path.mkdir()
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text, encoding="utf-8")
    _git("init", "-q", cwd=path)
    _git("add", "-A", cwd=path)  # --all-files runs on the files git knows
    return path


def test_hook_fails_on_a_finding(hook_repo: Path, pre_commit_home: Path, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", {"model.py": MODEL})
    proc = run_hook(hook_repo, pre_commit_home, project)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "An error has occurred" not in out, out  # a broken hook repo must not pass for a finding
    assert "BIA101" in out, out
    assert f"model.py:{BIA101_LINE}:" in out, out
    assert "Failed" in out, out


def test_hook_reads_notebooks(hook_repo: Path, pre_commit_home: Path, tmp_path: Path) -> None:
    # types_or: [python, jupyter]: pre-commit hands the hook .ipynb files too
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": MODEL}
    nb = json.dumps(
        {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# m"}, cell], "metadata": {}}
    )
    project = make_project(tmp_path / "project", {"model.ipynb": nb})
    proc = run_hook(hook_repo, pre_commit_home, project)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and f"model.ipynb:cell 2:{BIA101_LINE}:" in out, out


def test_hook_passes_on_clean_code(hook_repo: Path, pre_commit_home: Path, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", {"model.py": CLEAN})
    proc = run_hook(hook_repo, pre_commit_home, project)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Passed" in out, out
    assert not re.search(r"BIA\d{3}", out), out


def test_hook_passes_with_an_empty_init(hook_repo: Path, pre_commit_home: Path, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", {"model.py": CLEAN, "pkg/__init__.py": ""})
    proc = run_hook(hook_repo, pre_commit_home, project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
