"""The package's layers (docs/architecture.md): the import-linter contract in pyproject.toml
holds, no module imports one above it (in-function imports included), and importing the package
touches no file."""
import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def layers():
    """The main contract's layers, highest first, each a set of module names."""
    main = next(c for c in CONTRACTS if c["containers"] == ["lstm97"])
    return [{f"lstm97.{m.strip()}" for m in layer.split("|")} for layer in main["layers"]]


def test_the_import_contract_holds():
    run = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command;"
                          "sys.exit(lint_imports_command())"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 kept, 0 broken" in run.stdout


def test_every_import_goes_down_a_layer_and_every_module_has_one():
    graph = grimp.build_graph("lstm97")
    level = {m: i for i, layer in enumerate(layers()) for m in layer}
    modules = {m for m in graph.modules if m != "lstm97" and not m.startswith("lstm97.tasks.")}
    assert modules == set(level), "every module of the package is in exactly one layer"
    for m in modules:
        for d in graph.find_modules_directly_imported_by(m):
            d = "lstm97.tasks" if d.startswith("lstm97.tasks.") else d
            if d != "lstm97" and d != m:
                assert level[d] > level[m], f"{m} imports {d}, which is not below it"
    # the reference knows nothing of the engine, and the summaries need no runner
    assert not graph.find_modules_directly_imported_by("lstm97.network")
    for m in ("lstm97.summary", "lstm97.plots", "lstm97.verdicts", "lstm97.report", "lstm97.tables"):
        assert not graph.chain_exists(m, "lstm97.runner") and not graph.chain_exists(m, "lstm97.trial")


def test_only_optional_packages_are_imported_inside_functions():
    """Imports inside functions: the optional third-party packages, and what only some
    commands need (notebook and plotting tools), never a module of the package: those are all
    at the top, where the layers show them. The one exception is ``lstm97.train``."""
    late = []
    for path in sorted((ROOT / "lstm97").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for fn in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").startswith("lstm97")):
                    late.append(f"{path.relative_to(ROOT)}: {fn.name}")
    assert late == ["lstm97/__init__.py: __getattr__"]


def test_importing_the_package_touches_no_file(tmp_path):
    pkg = tmp_path / "lstm97"
    shutil.copytree(ROOT / "lstm97", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-B", "-c", "import lstm97, lstm97.paper, lstm97.tables"],
                   cwd=tmp_path, check=True)
    assert not (pkg / "__pycache__").exists()
