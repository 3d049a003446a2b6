"""The dependency lists agree: pyproject.toml (pip), requirements.lock (the exact versions of
the venv make builds) and environment.yml (conda); the Makefile installs from the lock."""
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def normalise(req):
    name, spec = re.match(r"\s*([A-Za-z0-9_.\-\[\]]+)\s*(.*)", req).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def lock():
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.+!\-]+)", line.strip())
            assert m, f"requirements.lock: not an exact pin: {line!r}"
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def test_environment_yml_matches_pyproject():
    pip_deps = dict(normalise(r) for r in PROJECT["dependencies"])
    conda_deps = {}
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        m = re.match(r"^  - ([A-Za-z].*)$", line)
        if m and not m.group(1).startswith(("python", "pip")):
            name, spec = normalise(m.group(1))
            conda_deps[name] = spec
    assert conda_deps == pip_deps
    assert re.search(r"python>=3\.1[1-9]", (ROOT / "environment.yml").read_text())
    assert PROJECT["requires-python"] == ">=3.11"


def test_lock_pins_every_dependency_within_pyproject_ranges():
    pins = lock()
    assert "lstm97" not in pins and len(pins) > len(PROJECT["dependencies"])
    for dep in PROJECT["dependencies"]:
        req = Requirement(dep)
        name = req.name.lower().replace("_", "-")
        assert name in pins, f"requirements.lock lacks {name}; run make lock"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside pyproject's {req.specifier}; run make lock")


def _dry_run(*args):
    """The commands make would run (make -n), one per line."""
    import subprocess
    run = subprocess.run(["make", "-n", "-C", str(ROOT), "--no-print-directory", *args],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout.splitlines()


def test_makefile_builds_the_venv_from_the_lock_and_can_use_another_python(tmp_path):
    venv = tmp_path / "v"
    build = _dry_run("-B", f"{venv}/.installed", f"VENV={venv}")
    lock_line = next(i for i, line in enumerate(build) if "install" in line and "-r requirements.lock" in line)
    own_line = next(i for i, line in enumerate(build) if "install" in line and "--no-deps -e ." in line)
    assert build[0].endswith(f"-m venv {venv}") and lock_line < own_line
    for target in ("test", "reproduce", "render", "bench"):
        with_venv = _dry_run("-B", target, f"VENV={venv}")            # builds the venv first
        assert any("-r requirements.lock" in line for line in with_venv), target
        other = _dry_run(target, "PY=python3", "SCALE=smoke")           # another Python: no venv
        assert other and not any(" venv " in line or "requirements.lock" in line for line in other), target
        assert any(line.startswith("python3 -m ") for line in other), target


def test_ci_runs_make_test():
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("make test")


def test_mit_license_file_and_metadata():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) 2026 the lstm97 authors" in text
    assert PROJECT["license"] == "MIT" and PROJECT["license-files"] == ["LICENSE"]


def test_numba_cache_is_cleared_when_any_package_source_changes(tmp_path):
    """lstm97/sources.py: a cached kernel keeps the old code of what it calls from other files,
    so every cached kernel goes when any source of the package changes (checked as the first
    kernel module is imported), and stays otherwise."""
    import shutil
    import subprocess
    import sys
    pkg = tmp_path / "lstm97"
    shutil.copytree(ROOT / "lstm97", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    cached = pkg / "__pycache__" / "rtrl._kernel-40.py311.nbi"

    def import_it():
        subprocess.run([sys.executable, "-c", "import lstm97.engine"], cwd=tmp_path, check=True)

    import_it()
    cached.write_text("a kernel compiled from these sources")
    import_it()
    assert cached.exists()                               # unchanged sources: the cache stays
    (pkg / "rnn.py").write_text((pkg / "rnn.py").read_text() + "\n# edited\n")
    import_it()
    assert not cached.exists()                           # rnn.py changed: rtrl's kernel goes
