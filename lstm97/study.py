"""The studies' records: every pair of the readings study (``readings.PLAN``) or of the cell
ablation study (``ablations.PLAN``) with its main run."""
from . import ablations
from .experiments import get
from .readings import PLAN
from .records import load_records


def group(records):
    """{main id: [(experiment, records), ...]} from {id: records} of the plan's pairs, the main
    run first, then its readings in plan order (what summary.reading_rows takes)."""
    bases = list(dict.fromkeys(get(i).base for i in records))
    return {b: [(get(i), records[i]) for i in [b] + [i for i in records if get(i).base == b and i != b]
                if i in records] for b in bases}


def load(results, scale="paper"):
    """The recorded trials of every planned pair and of its main run: {id: records}."""
    ids = dict.fromkeys([get(i).base for i, _ in PLAN] + [i for i, _ in PLAN])
    return {i: load_records(results, i, scale) for i in ids}


def load_ablations(results, scale="paper"):
    """The recorded trials of every pair of the cell ablation study and of its main rows."""
    ids = list(ablations.MAIN) + [i for i, _ in ablations.PLAN]
    return {i: load_records(results, i, scale) for i in ids}
