"""Trial records -> the paper's statistics, beside the paper's own row (Tables 1-9)."""
import numpy as np

from . import paper

COLUMNS = ("trials", "success_pct", "mean", "median", "min", "max", "ratio", "st1", "wrong",
           "test_size", "fraction_misclassified", "av_difference", "mse")


def _stage(exp, row_id):
    """Which stage of a record a paper row is measured at."""
    if exp.criterion == "nseq":
        return f"nseq{paper.RESULTS[row_id]['n_seq']}"
    return "st2" if exp.criterion == "st12" else "solved"


def ours(exp, records, row_id):
    """Our numbers for one paper row: success %, sequences until success, test measures."""
    stage = _stage(exp, row_id)
    reached = [r for r in records if stage in r["stages"]]
    seqs = np.array([r["stages"][stage] for r in reached], float)
    tests = [r["test"].get(stage, {}) for r in reached]
    mean_of = lambda key: float(np.mean([t[key] for t in tests])) if tests and key in tests[0] else None
    out = dict(row=row_id, trials=len(records),
               success_pct=100.0 * len(reached) / len(records) if records else None,
               mean=float(seqs.mean()) if len(seqs) else None,
               median=float(np.median(seqs)) if len(seqs) else None,
               min=int(seqs.min()) if len(seqs) else None,
               max=int(seqs.max()) if len(seqs) else None)
    theirs = paper.RESULTS[row_id].get("mean_sequences")
    out["ratio"] = out["mean"] / theirs if out["mean"] is not None and theirs else None
    st1 = [r["stages"]["st1"] for r in reached if "st1" in r["stages"]]
    out["st1"] = float(np.mean(st1)) if st1 else None
    if exp.criterion == "reber":
        out["wrong"] = mean_of("test_wrong")
    else:
        out["wrong"] = mean_of("wrong")
    out["test_size"] = tests[0].get("test_size") if tests else None
    out["fraction_misclassified"] = mean_of("fraction_misclassified")
    out["av_difference"] = mean_of("av_difference")
    out["mse"] = mean_of("mse")
    out["diverged"] = sum(r["stopped"] == "diverged" for r in records)
    return out


def theirs(row_id):
    r = paper.RESULTS[row_id]
    return dict(row=row_id, trials=r.get("trials"), success_pct=r.get("success_pct"),
                mean=r.get("mean_sequences"), median=None, min=r.get("min_sequences"),
                max=r.get("max_sequences"), ratio=None, st1=r.get("st1"), wrong=r.get("wrong"),
                test_size=r.get("test_size"), fraction_misclassified=r.get("fraction_misclassified"),
                av_difference=r.get("av_difference"), mse=r.get("mse"))


def summarise(exp, records):
    """{"ours": [...], "paper": [...]}: one entry per paper row of the experiment."""
    return {"experiment": exp.id, "ours": [ours(exp, records, r) for r in exp.rows],
            "paper": [theirs(r) for r in exp.rows]}
