"""The two dependency lists (pyproject.toml for pip, environment.yml for conda) agree."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def normalise(req):
    name, spec = re.match(r"\s*([A-Za-z0-9_.\-\[\]]+)\s*(.*)", req).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_deps = dict(normalise(r) for r in project["dependencies"])
    conda_deps = {}
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        m = re.match(r"^  - ([A-Za-z].*)$", line)
        if m and not m.group(1).startswith(("python", "pip")):
            name, spec = normalise(m.group(1))
            conda_deps[name] = spec
    assert conda_deps == pip_deps
    assert re.search(r"python>=3\.1[1-9]", (ROOT / "environment.yml").read_text())
    assert project["requires-python"] == ">=3.11"


def test_ci_runs_make_test():
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("make test")
