"""Every notebook runs end to end at smoke scale (the recorded outputs are checked by nbval)."""
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9]*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_at_smoke_scale(path, tmp_path):
    papermill = pytest.importorskip("papermill")
    out = tmp_path / path.name
    papermill.execute_notebook(str(path), str(out), cwd=str(path.parent), progress_bar=False,
                               parameters=dict(scale="smoke", results=str(tmp_path / "results"),
                                               train=True, seed=0))
    assert out.exists()


def test_every_experiment_notebook_has_parameters_and_deviations():
    import json
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        assert any("parameters" in c["metadata"].get("tags", []) for c in cells), path.name
        if path.stem[:2] not in ("00", "07"):
            assert any("Deviations and choices" in "".join(c["source"]) for c in cells), path.name
