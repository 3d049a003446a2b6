"""The notebooks: their conventions, `make reproduce` and `make render` in a clean clone (`make html`:
tests/test_html.py). (nbval checks the recorded outputs of the cells tagged nbval-check-output.)

The conventions, which a new notebook (e.g. 08_readings) must follow; lstm97/notebooks.py explains
them and test_notebook_conventions checks them:
  * exactly one cell tagged `parameters`, defaulting to scale="paper", results="../data/results",
    train=False (what `make render` runs with), plus `scheduler` and `seed`; no `injected-parameters`
    cell in the committed file;
  * nbval markers as cell tags (`nbval-check-output`), never as `# NBVAL_...` comments;
  * the first output is the scale statement (`lstm97.summary.scale_statement`, "Scale: ...");
  * records through one call, `runner.records`, which owns the trial count (`runner.trial_count`):
    no function of its own (`records_of`), no `run_trials`, no trial count chosen by scale
    (test_notebooks_get_their_records_through_one_call);
  * stored normalised (`python -m lstm97.notebooks check`; `make render` writes them so).
"""
import ast
import io
import json
import re
import tokenize
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lstm97 import notebooks as nbtools

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
BIN = Path(sys.executable).parent            # the venv running the tests (not resolved: a symlink)


def _nb(path):
    import nbformat
    return nbformat.read(path, as_version=4)


def _outputs_text(nb):
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            yield out.get("text") or "".join(v for k, v in out.get("data", {}).items()
                                             if k.startswith("text/")) or out.get("evalue", "")


# --------------------------------------------------------------------------- conventions
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_conventions(path):
    nb = _nb(path)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert sum("parameters" in t for t in tags) == 1, "exactly one parameters cell"
    assert not any("injected-parameters" in t for t in tags), "a duplicated (injected) parameters cell"
    defaults = nbtools.parameter_defaults(nb)
    assert {k: defaults.get(k) for k in nbtools.RENDER_DEFAULTS} == nbtools.RENDER_DEFAULTS
    assert {"scheduler", "seed"} <= set(defaults)
    assert any("nbval-check-output" in t for t in tags), "no output checked by nbval"
    for cell in nb.cells:
        assert "NBVAL_" not in cell.source, "nbval markers belong in cell tags, not in the source"
        assert "SPEC §" not in cell.source and "this machine" not in cell.source
    first = next(text for text in _outputs_text(nb) if text)
    assert first.startswith("Scale: "), f"the first output must state the scale, not {first[:60]!r}"
    for text in _outputs_text(nb):
        assert "SPEC §" not in text and "IProgress" not in text and "Traceback" not in text
    assert not any(o.output_type == "error" for c in nb.cells for o in c.get("outputs", []))
    assert nbtools.is_normalised(path), "not stored normalised: run make render"
    if path.stem[:2] not in ("00", "07"):
        assert any("Deviations and choices" in c.source for c in nb.cells)


# a comment that states a smoke-scale trial count ("2 at smoke scale", "1 trial per pair")
SMOKE_COUNT = re.compile(r"\d+\s+(trials?\s+)?(per pair\s+)?at smoke|smoke\W+\d+ trials?|\d+ trials? per pair")


def own_trial_rules(source):
    """What in a code cell's source gets records or trial counts past runner.records: a function
    or class of its own (notebooks hold no library code; the old ``records_of``), a call of
    ``run_trials``, an integer chosen by ``scale`` (``n if scale == "paper" else 1``), a comment
    stating a smoke-scale trial count."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    found = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.append(f"defines {node.name}")
        elif isinstance(node, ast.Call) and "run_trials" in ast.unparse(node.func):
            found.append("calls run_trials")
        elif (isinstance(node, ast.IfExp) and "scale" in {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)}
              and any(isinstance(v, ast.Constant) and type(v.value) is int for v in (node.body, node.orelse))):
            found.append(f"a count chosen by scale: {ast.unparse(node)}")
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.COMMENT and SMOKE_COUNT.search(tok.string):
            found.append(f"a smoke count in a comment: {tok.string}")
    return found


def test_the_check_of_one_call_finds_a_notebook_s_own_rules():
    old = ('trials = None              # None: the paper\'s trial count (2 at smoke scale)\n'
           'def records_of(exp_id):\n    n = PLAN.get(exp_id) if scale == "paper" else 1\n'
           '    return runner.run_trials(exp_id, n, scale=scale)\n')
    assert own_trial_rules(old) == ["defines records_of", 'a count chosen by scale: '
                                    'PLAN.get(exp_id) if scale == \'paper\' else 1', "calls run_trials",
                                    "a smoke count in a comment: # None: the paper's trial count (2 at smoke scale)"]
    assert own_trial_rules("%matplotlib inline\nCHECKS = [256, 2000] if scale == 'paper' else [256]\n"
                           "records = {i: runner.records(i, scale, **params) for i in IDS}  # smoke: fewer") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebooks_get_their_records_through_one_call(path):
    """runner.records owns the trial count, the paper's and the smoke one; a notebook only calls it."""
    found = [f"cell {i}: {f}" for i, c in enumerate(_nb(path).cells) if c.cell_type == "code"
             for f in own_trial_rules(c.source)]
    assert not found, found


def _tiny_notebook(path, body):
    import nbformat
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": nbtools.KERNELSPEC})
    params = nbformat.v4.new_code_cell('scale = "paper"\nresults = "../data/results"\ntrain = False',
                                       metadata={"tags": ["parameters"]})
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    path.write_text(nbformat.writes(nb))
    return path


def test_execution_is_byte_identical_when_nothing_changed(tmp_path):
    src = _tiny_notebook(tmp_path / "src.ipynb", "import matplotlib.pyplot as plt\nprint(scale)\n"
                         "plt.plot([1, 2, 3]); plt.show()")
    a, b = tmp_path / "a" / "n.ipynb", tmp_path / "b" / "n.ipynb"
    nbtools.execute(src, a, {"scale": "smoke"}, log=False)
    nbtools.execute(src, b, {"scale": "smoke"}, log=False)
    assert a.read_bytes() == b.read_bytes()
    nb = json.loads(a.read_text())
    assert "papermill" not in nb["metadata"] and "version" not in nb["metadata"]["language_info"]
    assert all("execution" not in c["metadata"] and "papermill" not in c["metadata"] for c in nb["cells"])
    assert [c["id"] for c in nb["cells"]][1] == "injected-parameters"
    assert nbtools.is_normalised(a)


def test_a_failed_execution_leaves_the_previous_notebook_and_no_partial_file(tmp_path):
    src = _tiny_notebook(tmp_path / "src.ipynb", "raise RuntimeError('stop')")
    target = tmp_path / "out" / "n.ipynb"
    target.parent.mkdir()
    target.write_text("previous")
    with pytest.raises(Exception, match="stop"):
        nbtools.execute(src, target, log=False)
    assert target.read_text() == "previous"
    assert [p.name for p in target.parent.iterdir()] == ["n.ipynb"]


# --------------------------------------------------------------------------- make reproduce / render
def _git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _make(clone, *args):
    # BIN: the venv running the tests; STAMP= empties the venv prerequisite so make builds no venv.
    env = dict(os.environ, PYTHONPATH=str(clone))             # the clone's lstm97, also in the kernels
    run = subprocess.run(["make", "-C", str(clone), *args, f"BIN={BIN}", "STAMP="], env=env,
                         capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, f"make {' '.join(args)} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run


def test_reproduce_and_render_change_no_tracked_file(tmp_path):
    """make reproduce SCALE=smoke in a clean clone of the committed state: every notebook executed
    into results/reproduce/smoke/notebooks, with its scale stated, and `git status` still empty.
    Then make render of three fast notebooks (no training; the others work alike) is a no-op."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    _make(clone, "reproduce", "SCALE=smoke")
    assert _git(clone, "status", "--porcelain", "--untracked-files=all") == ""
    out = clone / "results" / "reproduce" / "smoke" / "notebooks"
    assert sorted(p.name for p in out.iterdir()) == [p.name for p in NOTEBOOKS]   # no partial files
    for path in sorted(out.iterdir()):
        nb = _nb(path)
        texts = [t for t in _outputs_text(nb) if t]
        assert texts[0].startswith("Scale: smoke") or "does not apply" in texts[0], path.name
        assert not any("IProgress" in t or "Warning" in t or "\r" in t for t in texts), path.name
        assert nbtools.parameter_defaults(nb)["train"] is False           # the source's default ...
        injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert len(injected) == 1 and "train = True" in injected[0].source   # ... overridden
    assert (clone / "results" / "reproduce" / "smoke" / "2a").is_dir()       # the trial records
    fast = [f"notebooks/{p.name}" for p in NOTEBOOKS if p.stem[:2] in ("00", "05", "07")]
    _make(clone, "render", f"NOTEBOOKS={' '.join(fast)}")
    assert _git(clone, "status", "--porcelain", "--untracked-files=all") == ""
