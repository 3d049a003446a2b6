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


def test_fisher_exact_and_the_decision_rule():
    from lstm97.ablations import compare, fisher_p, judge
    assert abs(fisher_p(10, 10, 7, 10) - 0.2105263157894737) < 1e-12      # scipy.stats.fisher_exact
    assert fisher_p(10, 10, 0, 10) < 1e-4 and fisher_p(5, 10, 5, 10) == 1.0
    assert compare((10, 10, 1000), (0, 10, None)) == "worse"
    assert compare((10, 10, 1000), (10, 10, 2500)) == "worse"            # same success, 2.5x slower
    assert compare((10, 10, 1000), (9, 10, 600)) == "same"
    assert compare((2, 20, 1000), (20, 20, 30_000)) == "better"
    assert judge("output-gate", {"a": "worse", "b": "same"}) == "supported"
    assert judge("output-gate", {"a": "same", "b": "same"}) == "contradicted"
    assert judge("output-gate", {"a": "worse", "b": "better"}) == "not decidable"
    assert judge("output-gate", {"a": "worse", "b": None}) == "not decidable"
    bias = {"4-1+in-bias-none": "worse", "4-1+in-bias-half": "same", "6a+in-bias-double": "same"}
    assert judge("input-bias", bias) == "supported"
    assert judge("input-bias", dict(bias, **{"6a+in-bias-double": "worse"})) == "contradicted"
