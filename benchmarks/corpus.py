"""The development corpus: real public code biaslint was not written against.

    python benchmarks/corpus.py extract [--mirror DIR] [--out DIR]
    python benchmarks/corpus.py findings [--out DIR] > findings.tsv
    python benchmarks/corpus.py recheck [--out DIR]
    python benchmarks/corpus.py recall [--out DIR] [--no-project]

``manifest.txt`` pins each repository by commit. ``extract`` writes the ``.py`` files of
each pinned commit to ``--out`` (default ``/tmp/biaslint-corpus``), reading a bare or
normal git directory under ``--mirror`` (``owner+name/repo``) or cloning from GitHub when
it is absent. Nothing of the corpus is committed: only the manifest, the verdicts and this
script.

``verdicts.tsv`` holds one judged finding a line:
``repo@commit<TAB>path:line<TAB>code<TAB>severity<TAB>verdict<TAB>reason``, verdict one
of ``right`` / ``wrong`` / ``debatable``, judged by reading the code. ``recheck`` runs
biaslint over the corpus and prints which judged findings are gone, which changed
severity, and which findings are new (not judged yet), then the precision per severity
and per rule over the judged findings that are still reported. It exits 1 when there are
findings nobody has judged yet. Judged findings that are gone stay in the file: they are
the record of what earlier versions said.
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent / "corpus"
PROJECT = "--no-project" not in sys.argv  # as `biaslint check` does by default (project-aware)
sys.path.insert(0, str(HERE.parent.parent))


def manifest() -> list[tuple[str, str]]:
    out = []
    for line in (HERE / "manifest.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            repo, commit = line.split()[:2]
            out.append((repo, commit))
    return out


def _git_dir(mirror: Path, repo: str) -> Path | None:
    base = mirror / repo.replace("/", "+") / "repo"
    for cand in (base / ".git", base):
        if (cand / "HEAD").exists():
            return cand
    return None


def extract(mirror: Path, out: Path) -> None:
    for repo, commit in manifest():
        dest = out / repo.replace("/", "+")
        if dest.exists():
            continue
        git = _git_dir(mirror, repo)
        if git is None:
            tmp = out / ".clones" / repo.replace("/", "+")
            if not tmp.exists():
                subprocess.run(["git", "clone", "--bare", f"https://github.com/{repo}", str(tmp)], check=True)
            git = tmp
        blob = subprocess.run(
            ["git", "--git-dir", str(git), "archive", "--format=tar", commit, "--", "*.py"],
            check=True,
            capture_output=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
            members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(".py")]
            tar.extractall(dest, members=members, filter="data")
        print(f"{repo}@{commit[:10]}: {len(members)} files", file=sys.stderr)


def run_biaslint(out: Path) -> list[dict]:
    from biaslint import engine
    from biaslint.config import Settings

    commits = dict(manifest())
    findings = []
    for repo in sorted(commits):
        root = out / repo.replace("/", "+")
        result = engine.run([str(root)], settings=Settings(), project=PROJECT)
        for e in result.errors:  # a bug of biaslint must not hide a file's findings
            if "internal error" in e.message:
                print(f"biaslint: {e.path}: {e.message}", file=sys.stderr)
        for f in result.findings:
            rel = os.path.relpath(f.path, root)
            findings.append(
                {
                    "repo": f"{repo}@{commits[repo]}",
                    "where": f"{rel}:{f.line}",
                    "code": f.code,
                    "severity": f.severity,
                    "message": f.message,
                }
            )
    return findings


def load_verdicts() -> dict[tuple[str, str, str], tuple[str, str, str]]:
    out = {}
    path = HERE / "verdicts.tsv"
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        repo, where, code, severity, verdict, reason = (line.split("\t") + [""] * 6)[:6]
        out[(repo, where, code)] = (severity, verdict, reason)
    return out


def recheck(out: Path) -> int:
    verdicts = load_verdicts()
    now = {(f["repo"], f["where"], f["code"]): f for f in run_biaslint(out)}
    gone = [k for k in verdicts if k not in now]
    changed = [k for k in verdicts if k in now and now[k]["severity"] != verdicts[k][0]]
    new = [k for k in now if k not in verdicts]
    for label, keys in (("gone", gone), ("severity changed", changed), ("new, not judged", new)):
        print(f"## {label}: {len(keys)}")
        for k in sorted(keys):
            v = verdicts.get(k, ("", "", ""))
            sev = now[k]["severity"] if k in now else v[0]
            print(f"  {k[0].split('@')[0]} {k[1]} {k[2]} {sev} {v[1]} {v[2]}".rstrip())
    per_sev: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    per_rule: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for k, f in now.items():
        if k in verdicts:
            verdict = verdicts[k][1]
            per_sev[f["severity"]][verdict] += 1
            per_rule[f"{f['code']} {f['severity']}"][verdict] += 1
    print("## precision over judged findings still reported (right / judged; debatable counts as not right)")
    for label, table in (("severity", per_sev), ("rule", per_rule)):
        for key in sorted(table):
            c = table[key]
            n = sum(c.values())
            print(f"  {label} {key}: {c['right']}/{n} = {c['right'] / n:.2f}  (debatable {c['debatable']})")
    total = collections.Counter(f["severity"] for f in now.values())
    print(f"## reported now: {sum(total.values())} findings {dict(sorted(total.items()))}")
    return 1 if new else 0  # judged findings that went away are history, not a failure


def recall(out: Path) -> int:
    """Sites found, sites real, kind and starting value against ``recall.tsv``: files whose
    every bias site was listed by hand (a ``FILE`` line), each site ``path:line kind init value``."""
    from biaslint import engine

    labels: dict[tuple[str, str], list[tuple[int, str, str, str]]] = collections.defaultdict(list)
    files: set[tuple[str, str]] = set()
    for line in (HERE / "recall.tsv").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        f = (line.split("\t") + [""] * 6)[:6]
        if f[2] == "FILE":
            files.add((f[0], f[1]))
        else:
            path, _, lineno = f[1].rpartition(":")
            labels[(f[0], path)].append((int(lineno), f[2], f[3], f[4]))
    found = real = total = reported = kind_ok = init_ok = 0
    misses: list[str] = []
    extras: list[str] = []
    wrong: list[str] = []
    for repo, path in sorted(files):
        root = out / repo.split("@")[0].replace("/", "+")
        result = engine.run([str(root / path)], jobs=1, project=PROJECT)
        got = collections.Counter(s.line for s in result.sites)
        by_line = {s.line: s for s in result.sites}
        want = labels[(repo, path)]
        want_lines = collections.Counter(n for n, *_ in want)
        total += len(want)
        reported += sum(got.values())
        for n, kind, init, _value in want:
            if got[n] > 0:
                got[n] -= 1
                found += 1
                s = by_line[n]
                kind_ok += s.layer_kind == kind
                same_init = s.init_kind == init or (init == "constant" and s.init_kind in ("zeros", "ones"))
                init_ok += same_init
                if s.layer_kind != kind or not same_init:
                    where = f"{repo.split('@')[0]} {path}:{n}"
                    wrong.append(f"{where} {kind}/{init} got {s.layer_kind}/{s.init_kind}")
            else:
                misses.append(f"{repo.split('@')[0]} {path}:{n} {kind} {init}")
        for n, c in got.items():
            extra = max(0, c)
            if extra and want_lines[n] == 0:
                extras.append(f"{repo.split('@')[0]} {path}:{n} x{extra}")
        reported_lines = collections.Counter(s.line for s in result.sites)
        real += sum(min(c, want_lines[n]) for n, c in reported_lines.items())
    print(f"files {len(files)}, labelled sites {total}, reported sites {reported}")
    print(f"sites found: {found}/{total} = {found / total:.3f}")
    print(f"reported sites real: {real}/{reported} = {real / max(reported, 1):.3f}")
    print(f"layer kind right (of found): {kind_ok}/{found} = {kind_ok / max(found, 1):.3f}")
    print(f"starting value right (of found): {init_ok}/{found} = {init_ok / max(found, 1):.3f}")
    for label, rows in (("missed", misses), ("not labelled", extras), ("kind or value differs", wrong)):
        print(f"## {label}: {len(rows)}")
        for r in rows:
            print(f"  {r}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["extract", "findings", "recheck", "recall"])
    ap.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    ap.add_argument(
        "--no-project", action="store_true", help="analyse each file alone (`biaslint --no-project`, flake8)"
    )
    ap.add_argument("--out", type=Path, default=Path("/tmp/biaslint-corpus"))
    args = ap.parse_args()
    if args.command == "extract":
        extract(args.mirror, args.out)
        return 0
    if args.command == "findings":
        for f in run_biaslint(args.out):
            print(json.dumps(f))
        return 0
    if args.command == "recall":
        return recall(args.out)
    return recheck(args.out)


if __name__ == "__main__":
    sys.exit(main())
