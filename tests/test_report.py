"""The report's verdicts: one function classifies every paper row, every count of rows a reader
sees comes from it, and the README is a front door that states them and runs."""
import re
from pathlib import Path

import pytest

from lstm97 import report, summary, verdicts

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


@pytest.mark.parametrize("success, paper, ratio, solved, expected", [
    (100, 100, 1.0, 10, "reproduced"),
    (90, 100, 2.0, 9, "reproduced"),          # both limits included
    (100, 78, 1.5, 18, "reproduced"),         # above the paper's success meets the target
    (100, 100, 0.49, 10, "faster"),
    (100, None, 2.1, 10, "slower"),           # no success rate in the paper: 100%
    (89, 100, 1.0, 9, "lower"),
    (20, 100, 1.0, 4, "lower"),
    (19.9, 100, 1.0, 4, "fails"),
    (0, 100, None, 0, "fails"),
    (100, 100, 1.0, 2, "lower"),              # a mean over 2 successes is not judged
    (10, 10, 1.0, 2, "fails"),
    (None, 100, None, 0, None),               # no trials
])
def test_classify_and_its_edge_cases(success, paper, ratio, solved, expected):
    assert verdicts.classify(success, paper, ratio, solved) == expected


def _records(success, n, seqs=1000):
    return [dict(stages={"solved": seqs, "st2": seqs} if k < success else {}, test={}, sequences_trained=seqs,
                 stopped="solved" if k < success else "budget", success=k < success, curve=[],
                 wall_time=1.0, steps=1) for k in range(n)]


def test_row_verdicts_from_records_and_counts():
    from lstm97.experiments import EXPERIMENTS
    recs = {"6a": _records(20, 20, 31_390), "4-1": _records(0, 10), "3a-T100-N3": _records(10, 10, 10_000)}
    vs = verdicts.row_verdicts(records=recs, study={})
    by = {v.row: v for v in vs}
    assert len(vs) == sum(len(e.rows) for e in EXPERIMENTS.values() if not e.variant) == 31
    assert by["6a"].category == "reproduced" and by["6a"].why == ""
    assert by["4-1"].category == "fails" and by["4-1"].why.startswith("0 of 10 trials solved")
    assert by["3a-T100-N3"].category == "faster"
    n = verdicts.counts(vs)
    assert (n["reproduced"], n["faster"], n["fails"], n["not_run"], n["total"]) == (1, 1, 1, 28, 31)
    assert sum(n[c] for c in verdicts.CATEGORIES) + n["not_run"] == n["total"]
    table = report.by_experiment_table(vs)
    total = table.rows[-1]
    assert total["rows"] == 31 and all(total[c] == n[c] for c in verdicts.CATEGORIES)


def _committed():
    return verdicts.row_verdicts(ROOT / "data" / "results", "paper")


COUNTS = [r"(?P<n>\d+) of (?:the paper's |its |the )?(?P<total>\d+) (?:main |result |paper )?rows",
          r"[Oo]f the paper's (?P<total>\d+) result rows[^,]*, (?P<n>\d+) (?:is|are) reproduced"]


def test_every_count_of_rows_in_the_readme_and_notebooks_is_the_functions():
    """Every "N of 31 rows" style count a reader can meet equals one of the counts of
    verdicts.counts, and the README's numbers of rows per verdict are exactly them."""
    import nbformat
    n = verdicts.counts(_committed())
    texts = {"README.md": README.read_text()}
    for p in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
        nb = nbformat.read(p, as_version=4)
        parts = [c.source for c in nb.cells]
        for c in nb.cells:
            for o in c.get("outputs", []):
                parts.append(o.get("text", "") + "".join(v for k, v in o.get("data", {}).items()
                                                         if k.startswith("text/") and isinstance(v, str)))
        texts[p.name] = "\n".join(parts)
    found = 0
    for name, text in texts.items():
        for pattern in COUNTS:
            for m in re.finditer(pattern, text):
                found += 1
                assert int(m.group("total")) == n["total"], f"{name}: {m.group(0)}"
                assert int(m.group("n")) in n.values(), f"{name}: {m.group(0)} is no count of verdicts.counts"
    assert found, "no count of rows found: the pattern no longer matches the report"
    block = README.read_text().split(report.README_BEGIN)[1].split(report.README_END)[0]
    total = [line for line in block.splitlines() if line.startswith("| all rows |")]
    assert total == [f"| all rows | {n['total']} | " + " | ".join(str(n[c]) for c in verdicts.CATEGORIES)
                     + f" | {n['under_reading']} |"]


def test_readme_is_a_front_door():
    text = README.read_text()
    assert len(text.encode()) <= 20_000
    head = "\n".join(text.splitlines()[:60])
    assert report.README_BEGIN in head and report.FIGURE.as_posix() in head
    assert "make reproduce SCALE=smoke" in head and re.search(r"^make reproduce\s", head, re.M)
    assert (ROOT / report.FIGURE).stat().st_size > 10_000
    n = verdicts.counts(_committed())
    title = text.splitlines()[0]
    assert ("most of its results do not reproduce" in title) == (2 * n["reproduced"] < n["total"])
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b|\bissue \d+|\bcommit [0-9a-f]{7}", text)


def test_the_readme_python_example_runs():
    code = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(code) == 1
    exec(compile(code[0], "README.md", "exec"), {})


def test_tables_format_numbers_for_people():
    from lstm97 import tables
    t = tables.auto([dict(row="1-1", success_pct=3.333, mean=39740.0, ratio=2.4812, ok=True, x=None)])
    assert t.cells() == [["1-1", "3%", "39,740", "2.5×", "yes", "–"]]
    html = t._repr_html_()
    assert html.count("<td") == 6 and "<th>success</th>" in html and "True" not in html
    assert [tables.ratio(v) for v in (145.2, 0.3666, 1.0, 9.96)] == ["150×", "0.37×", "1.0×", "10×"]
    assert repr(t).splitlines()[2].split() == ["1-1", "3%", "39,740", "2.5×", "yes", "–"]


def test_docs_experiments_md_is_current():
    """docs/experiments.md is what `python -m lstm97 readme` writes from the experiments today."""
    committed = (ROOT / report.EXPERIMENTS_DOC).read_text()
    assert committed == report.experiments_doc(), "run python -m lstm97 readme"


def test_experiments_doc_shows_every_condition_and_follows_the_experiments(monkeypatch):
    from dataclasses import replace

    from lstm97 import ablations, experiments, readings
    doc = report.experiments_doc()
    for i in [*experiments.EXPERIMENTS, *experiments.BASELINES]:
        assert f"\n| {i} | " in doc, i
    for pair, _ in readings.PLAN + ablations.PLAN:
        base, _, variant = pair.partition("+")
        suffix = re.escape(f" +{variant}" if variant else "")
        assert re.search(rf"\| [^|]*\b{re.escape(base)}\b[^|]*{suffix} \|", doc), pair
    six_b = experiments.EXPERIMENTS["6b"]
    monkeypatch.setitem(experiments.EXPERIMENTS, "6b", replace(six_b, budget=1_234_567, lr=0.75))
    row = next(line for line in report.experiments_doc().splitlines() if line.startswith("| 6b | "))
    assert "| 1,234,567 |" in row and "| 0.75 |" in row
