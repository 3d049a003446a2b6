"""The benchmark runs (lstm97.bench, make bench). Speeds are only printed, never asserted."""
from lstm97 import bench


def test_quick_bench_prints_the_three_nets(capsys):
    rows, mem = bench.main(["--quick"])
    out = capsys.readouterr().out
    assert [r["net"] for r in rows] == ["adding", "6b", "2c p=q=1000"]
    assert [r["weights"] for r in rows] == [93, 308, 6064]
    for r in rows:
        assert r["numpy"] > 0 and r["engine"] > 0
        assert r["net"] in out
    assert "CPU:" in out and "numba" in out and "time steps per second" in out
    assert [m["T"] for m in mem] == [100, 10_000]
    assert "the full gradient" in out and "Reber 3x2" in out
    assert "the competitors" in out and "2a RTRL p=100" in out and "3a-T100-N3-guess-A2" in out
    assert "2a RTRL p=100 exp_poly" in out and "2a BPTT p=100 exp_poly" in out


def test_torch_column_without_torch(capsys, monkeypatch):
    monkeypatch.setattr(bench, "have_torch", lambda: False)
    rows, _ = bench.main(["--quick"])
    assert all(r["torch"] is None for r in rows)
    assert "torch not installed (pip install -e .[bench])" in capsys.readouterr().out


def test_quick_bench_prints_lanes_beside_the_single_engine(capsys):
    bench.main(["--quick"])
    out = capsys.readouterr().out
    assert "trial-parallel training" in out and "speed target" in out
    rows = bench.lane_rows(0.0, 8, L=2)
    assert [r["net"] for r in rows] == [n for n, *_ in bench.NETS]
    assert all(r["single"] > 0 and r["parallel"] > 0 and 0 <= r["waiting"] < 1 for r in rows)


def test_quick_bench_prints_both_update_timings_of_the_2a_net(capsys):
    bench.main(["--quick"])
    assert "the net of 2a/2b (+step)" in capsys.readouterr().out
    rows = bench.update_rows(0.0, 2, L=2)
    assert [r["update"] for r in rows] == ["sequence", "step"]
    assert all(r["weights"] == 10_504 and r["single"] > 0 and r["parallel"] > 0 for r in rows)


def test_quick_bench_prints_rtrl_and_bptt_in_lanes_beside_their_single_trial_learners(capsys):
    bench.main(["--quick"])
    assert "the competitors in lanes" in capsys.readouterr().out
    rows = bench.competitor_lane_rows(0.0, 2, L=2, p=4)
    assert [(r["learner"], r["update"], r["exp"]) for r in rows] == [
        ("RTRL", "step", "poly"), ("RTRL", "step", "libm"), ("BPTT", "sequence", "poly"), ("BPTT", "sequence", "libm")]
    assert all(r["weights"] == 36 and r["single"] > 0 and r["parallel"] > 0 for r in rows)


def test_the_full_gradient_in_lanes_beside_the_single_trial_full_gradient(capsys):
    rows = bench.full_lane_rows(0.0, 8, L=2, rows=("1-5+full+step", "6a+full"))
    assert [(r["row"], r["update"]) for r in rows] == [("1-5+full+step", "step"), ("6a+full", "sequence")]
    assert all(r["single"] > 0 and r["parallel"] > 0 and r["runs"] >= 1 for r in rows)
    bench.report_full_lanes(rows)
    out = capsys.readouterr().out
    assert "the full gradient in lanes" in out and "6a+full" in out
    assert bench.FULL_ROWS == ("1-5+full", "1-5+full+step", "2c-2+full", "3a-T100-N3+full", "4-1+full", "6a+full")
