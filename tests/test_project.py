"""Project-aware analysis: a file that imports its layer factories from its own package.

tests/fixtures/torch/lib_project/ is a guided-diffusion-style package: unet.py builds its layers
with `conv_nd`, `linear` and `zero_module` from `.nn`. The engine (as `biaslint inventory` and
`biaslint check` run it on real files) follows those imports, so each factory call in unet.py
is a site, as annotated there; a file analysed alone (flake8, stdin) cannot see the factories
and finds fewer. The folder is not globbed by the fixture tests, so it is checked here.
"""

from __future__ import annotations

from pathlib import Path

from conftest import FIXTURES, expectations, site_problems

from biaslint import engine
from biaslint.collect import analyse_source
from biaslint.model import BiasSite

PROJECT = FIXTURES / "torch" / "lib_project"
UNET = PROJECT / "unet.py"
NN = PROJECT / "nn.py"


def _sites_of(path: Path, result: engine.RunResult) -> list[BiasSite]:
    assert not result.errors, result.errors
    return [s for f in result.files if Path(f.path).resolve() == path.resolve() for s in f.sites]


def test_project_factories_are_followed() -> None:
    result = engine.run([str(UNET)], jobs=1, project=True)
    sites = _sites_of(UNET, result)
    problems = site_problems(expectations(UNET), sites)
    assert not problems, "\n".join(problems)


def test_zero_module_line_has_the_reinit_first() -> None:
    """`zero_module(conv_nd(...))`: the zero re-init starts at `zero_module(`, the conv at
    `conv_nd(`; both are on the line, in that column order."""
    sites = _sites_of(UNET, engine.run([str(UNET)], jobs=1, project=True))
    lines = UNET.read_text(encoding="utf-8").splitlines()
    for lineno, text in enumerate(lines, 1):
        if "= zero_module(conv_nd(" not in text:
            continue
        on_line = sorted((s for s in sites if s.line == lineno), key=lambda s: s.col)
        assert [s.col for s in on_line] == [text.index("zero_module("), text.index("conv_nd(")], lineno
        assert [s.init_kind for s in on_line] == ["zeros", "default"], lineno


def test_single_file_sees_less() -> None:
    """Alone, unet.py cannot see what `conv_nd` / `linear` / `zero_module` build."""
    project_sites = _sites_of(UNET, engine.run([str(UNET)], jobs=1, project=True))
    alone = analyse_source(str(UNET), UNET.read_bytes())
    assert alone.error is None, alone.error
    assert len(alone.sites) < len(project_sites)
    factory_lines = {e.line for e in expectations(UNET)} - {s.line for s in alone.sites}
    assert factory_lines, "the factory calls should not be sites when the file is analysed alone"


def test_factories_module_alone() -> None:
    """nn.py on its own: the constructions inside the factories, their bias flag unknown."""
    model = analyse_source(str(NN), NN.read_bytes())
    assert model.error is None, model.error
    problems = site_problems(expectations(NN), model.sites)
    assert not problems, "\n".join(problems)


def test_command_line_is_project_aware_unless_told_not_to(capsys) -> None:  # type: ignore[no-untyped-def]
    """`biaslint inventory` follows the project by default; `--no-project` reads the file
    alone, as flake8 does."""
    import json

    from biaslint.cli import main

    def site_lines(*flags: str) -> set[int]:
        main(["inventory", "--format", "json", *flags, str(UNET)])
        data = json.loads(capsys.readouterr().out)
        return {s["line"] for s in data["sites"]}

    factory_lines = {e.line for e in expectations(UNET)}
    by_default = site_lines()
    alone = site_lines("--no-project")
    assert factory_lines <= by_default
    assert alone < by_default
    assert site_lines("--project") == by_default
