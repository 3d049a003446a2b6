"""The ablation study's plan (lstm97/ablations.py): fixed before any of its trials ran, every pair
on a main row, with the main row's trial count."""
import hashlib

from lstm97 import ablations, readings
from lstm97.experiments import EXPERIMENTS



def test_every_pair_is_a_main_row_under_a_known_variant_with_the_main_rows_trials():
    ids = [i for i, _ in ablations.PLAN]
    assert len(ids) == len(set(ids))
    for exp_id, trials in ablations.PLAN:
        base, names = readings.split(exp_id)
        assert base in EXPERIMENTS and not EXPERIMENTS[base].variant, exp_id
        assert all(n in ablations.ABLATIONS for n in names), exp_id
        main = EXPERIMENTS[base].trials
        assert trials == (ablations.EXP1_TRIALS if base.startswith("1-") else main), exp_id
    claims = {ablations.ABLATIONS[readings.split(i)[1][0]].claim for i in ids}
    assert claims == set(ablations.CLAIMS)


def test_the_plan_is_the_registered_one():
    """The plan as committed before its first trial: a change to it changes this digest, visibly."""
    text = "\n".join(f"{i} {n}" for i, n in ablations.PLAN)
    assert hashlib.sha256(text.encode()).hexdigest()[:16] == REGISTERED


REGISTERED = "1dd128234ead55d2"
