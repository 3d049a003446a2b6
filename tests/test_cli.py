"""python -m lstm97 run: where records go, what it says, and every bad input.

Nothing here may change the committed records in data/results: every test is checked
against ``git status`` of data/ before and after.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lstm97 import experiments, paper
from lstm97.__main__ import ALIASES, COMMITTED, format_run_table, main
from lstm97.runner import record_path
from lstm97.summary import summarise

ROOT = Path(__file__).resolve().parents[1]


def _data_status():
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "data"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    except OSError:
        return None
    return out.stdout if out.returncode == 0 else None


@pytest.fixture(autouse=True)
def committed_records_untouched():
    before = _data_status()
    stamps = {p: p.stat().st_mtime_ns for p in COMMITTED.glob("6a/*")}
    yield
    assert _data_status() == before
    assert {p: p.stat().st_mtime_ns for p in COMMITTED.glob("6a/*")} == stamps


def run(capsys, *args):
    code = main(["run", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_trains_then_resumes_then_only_reads_and_says_which(tmp_path, capsys):
    res = ["--scale", "smoke", "--workers", "1", "--results", str(tmp_path)]
    code, out, err = run(capsys, "6a", "--trials", "1", *res)
    assert code == 0 and f"training 1 trial of 6a at smoke scale into {tmp_path / '6a'}" in err
    assert "1 trained now, 0 read from records" in out
    stamp = record_path(tmp_path, "6a", 0).stat().st_mtime_ns
    code, out, err = run(capsys, "6a", "--trials", "2", *res)
    assert code == 0 and f"resuming: 1 of 2 trials already recorded in {tmp_path / '6a'}" in err
    assert "1 trained now, 1 read from records" in out
    code, out, err = run(capsys, "6a", "--trials", "2", *res)
    assert code == 0 and f"nothing to train: all 2 trials already recorded in {tmp_path / '6a'}" in err
    assert "0 trained now, 2 read from records" in out
    assert record_path(tmp_path, "6a", 0).stat().st_mtime_ns == stamp
    code, out, err = run(capsys, "6a", "--trials", "1", *res)
    assert "nothing to train: 1 trial already recorded" in err and "1 further records there not shown" in out


def test_default_folder_is_results_scale_under_the_current_directory(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "4-1", "--trials", "1", "--workers", "1")
    assert code == 0 and str(tmp_path / "results" / "smoke" / "4-1") in err
    assert record_path(tmp_path / "results" / "smoke", "4-1", 0).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]


def test_committed_records_are_read_only_when_named_and_guarded(capsys):
    code, out, err = run(capsys, "6a", "--scale", "paper", "--trials", "4", "--results", str(COMMITTED))
    assert code == 0 and "nothing to train: all 4 trials already recorded" in err
    assert "writing into the committed records" in err and "16 further records there not shown" in out
    for args, option in ((["--scale", "smoke"], "--scale"),
                         (["--scale", "paper", "--trials", "21"], "--trials")):
        code, out, err = run(capsys, "6a", *args, "--results", str(COMMITTED))
        assert code == 2 and f"argument {option}" in err and "committed records" in err
    code, out, err = run(capsys, "6a", "--scale", "paper", "--results", str(COMMITTED / "6a"))
    assert code == 2 and "inside the committed records" in err


def test_paper_rows_are_accepted_as_experiment_aliases(tmp_path, capsys):
    assert ALIASES == {"5-140": "5", "5-13": "5"}
    for row in paper.RESULTS:                        # every row id of the README can be run
        assert row in experiments.EXPERIMENTS or row in ALIASES, row
    code, out, err = run(capsys, "5-13", "--trials", "1", "--workers", "1", "--results", str(tmp_path))
    assert code == 0 and "5-13 is a paper row of experiment 5" in err
    assert record_path(tmp_path, "5", 0).exists()
    assert "ours 5-13" in out and "paper 5-140" in out


def test_json_names_the_scale_and_the_results_folder(tmp_path, capsys):
    code, out, err = run(capsys, "6a", "--trials", "1", "--workers", "1", "--results", str(tmp_path), "--json")
    table = json.loads(out)
    assert code == 0 and table["scale"] == "smoke" and table["results"] == str(tmp_path)
    assert table["trials"] == 1 and table["trained"] == 1 and table["read_from_records"] == 0


def test_table_shows_only_the_columns_that_apply_with_readable_headers():
    lines = format_run_table(summarise(experiments.get("2c-1"), [])).splitlines()
    header = lines[0].split("  ")
    assert [h.strip() for h in header if h.strip()] == ["trials", "success %", "mean seq", "median seq",
                                                        "min seq", "max seq", "ratio"]
    assert max(len(line) for line in lines) < 100
    three_c = format_run_table(summarise(experiments.get("3c-T100-N1"), []))
    assert "av. difference" in three_c and "misclassified" in three_c and "MSE" not in three_c
    five = format_run_table(summarise(experiments.get("5"), [])).splitlines()
    assert "MSE" in five[0] and "av. difference" not in five[0] and len(five) == 6


@pytest.mark.parametrize("args,message", [
    (["6a", "--seed", "-1"], "argument --seed: expected an integer >= 0, got -1"),
    (["6a", "--trials", "0"], "argument --trials: expected a positive integer, got 0"),
    (["6a", "--trials", "two"], "argument --trials: expected a positive integer, got 'two'"),
    (["6a", "--workers", "0"], "argument --workers: expected a positive integer, got 0"),
    (["6a", "--scale", "huge"], "argument --scale: invalid choice: 'huge'"),
    (["7z"], "argument experiment: unknown experiment '7z'"),
    (["6a", "--results", str(ROOT / "README.md")], "argument --results"),
])
def test_bad_input_names_the_option_exits_2_and_writes_nothing(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *args)
    assert code == 2 and message in err and "Traceback" not in err
    assert err.count("\n") <= 2 and out == ""
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_prints_one_line_and_exits_130(tmp_path, capsys, monkeypatch):
    import lstm97.__main__ as cli

    def interrupted(exp, trials, *, results, **kw):
        path = record_path(results, exp.id, 0)
        path.parent.mkdir(parents=True)
        path.write_text("{}")
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "run_trials", interrupted)
    code, out, err = run(capsys, "6a", "--trials", "3", "--results", str(tmp_path))
    assert code == 130
    assert err.splitlines()[-1] == (f"interrupted: 1 of 3 trials recorded in {tmp_path / '6a'}; "
                                    "run the same command again to resume")


def test_ctrl_c_on_a_process_pool_stops_at_once_without_traceback(tmp_path):
    """A real SIGINT to the whole process group, as a terminal sends it, with 2 worker processes."""
    args = [sys.executable, "-m", "lstm97", "run", "4-3", "--trials", "40", "--workers", "2",
            "--results", str(tmp_path), "--json"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while time.time() < deadline and not list((tmp_path / "4-3").glob("trial_*.json")):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    done = len(list((tmp_path / "4-3").glob("trial_*.json")))
    assert proc.returncode == 130 and out == "", err
    assert "Traceback" not in err and 1 <= done < 40
    assert err.splitlines()[-1] == (f"interrupted: {done} of 40 trials recorded in {tmp_path / '4-3'}; "
                                    "run the same command again to resume")


def test_unreachable_scheduler_from_the_environment_is_named(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LSTM97_SCHEDULER", "tcp://127.0.0.1:9")
    code, out, err = run(capsys, "6a", "--results", str(tmp_path / "res"))
    assert code == 2 and "LSTM97_SCHEDULER: cannot reach" in err
    assert not (tmp_path / "res").exists()


def test_a_main_run_under_readings_runs_like_any_experiment(tmp_path, capsys, monkeypatch):
    """'2c-5+cells-from-inputs' (experiments.get accepts it) trains into results/<scale> under
    the current directory, and the committed records take it only as any run (paper scale)."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "2c-5+cells-from-inputs", "--trials", "1", "--workers", "1")
    assert code == 0, err
    assert record_path(tmp_path / "results" / "smoke", "2c-5+cells-from-inputs", 0).exists()
    assert "2c-5+cells-from-inputs: 1 trial at smoke scale" in out
    code, out, err = run(capsys, "2c-5+cells-from-inputs", "--results", str(COMMITTED))
    assert code == 2 and "argument --scale" in err
    code, out, err = run(capsys, "2c-5+nonsense")
    assert code == 2 and "unknown reading 'nonsense'" in err


def _read_only(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders: permissions do not bind")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


@pytest.mark.parametrize("where", ["not a folder", "read-only"])
@pytest.mark.parametrize("command", [["run", "6a", "--trials", "1"], ["study", "--train"], ["reproduce"]])
def test_an_unwritable_results_folder_is_refused_before_any_training(tmp_path, capsys, monkeypatch, where,
                                                                    command):
    import lstm97.__main__
    import lstm97.notebooks
    import lstm97.runner
    trained = []
    monkeypatch.setattr(lstm97.runner, "run_lanes", lambda *a, **k: trained.append(a))
    monkeypatch.setattr(lstm97.__main__, "run_study", lambda *a, **k: trained.append(a))
    folder = Path("/dev/null/x") if where == "not a folder" else _read_only(tmp_path) / "res"
    if command == ["reproduce"]:
        code = lstm97.notebooks.main(["reproduce", "--scale", "smoke", "--results", str(folder),
                                      str(ROOT / "notebooks" / "05_multiplication.ipynb")])
    else:
        code = main([*command, "--results", str(folder)])
    out, err = capsys.readouterr()
    reason = "Not a directory" if where == "not a folder" else "Permission denied"
    assert code == 2 and err == f"error: cannot write records to {folder}: {reason}\n" and out == ""
    assert trained == [] and not folder.exists()


def test_the_writability_check_leaves_no_trace(tmp_path):
    from lstm97.runner import check_writable
    check_writable(tmp_path / "a" / "b")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "kept").mkdir()
    check_writable(tmp_path / "kept")
    assert [p.name for p in tmp_path.iterdir()] == ["kept"] and list((tmp_path / "kept").iterdir()) == []


@pytest.mark.parametrize("command", ["list", "study"])
def test_a_closed_pipe_ends_the_output_quietly(command):
    """As `python -m lstm97 list | head -0`: the reader is gone before the first line is written."""
    read, write = os.pipe()
    proc = subprocess.Popen([sys.executable, "-m", "lstm97", command], cwd=ROOT, stdout=write,
                            stderr=subprocess.PIPE, text=True)
    os.close(write)
    os.close(read)
    err = proc.communicate(timeout=300)[1]
    assert proc.returncode in (0, 141) and err == ""


def test_lane_widths_follow_one_rule_from_the_option_and_the_variable(tmp_path, capsys):
    """--lanes and LSTM97_LANES take the same values (lanevec.width) and fail alike: exit 2, one line."""
    from lstm97.lanevec import WIDTHS
    code, out, err = run(capsys, "6a", "--lanes", "7", "--results", str(tmp_path / "res"))
    assert (code, out, err) == (2, "", "error: --lanes must be one of 8, 16, 32, got '7'\n")
    env = subprocess.run([sys.executable, "-m", "lstm97", "run", "6a", "--results", str(tmp_path / "res")],
                         capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env=dict(os.environ, LSTM97_LANES="7"))
    assert (env.returncode, env.stdout, env.stderr) == (2, "", "error: LSTM97_LANES must be one of 8, 16, 32, got '7'\n")
    assert not (tmp_path / "res").exists()
    code, out, err = run(capsys, "6a", "--trials", "1", "--workers", "1", "--lanes", str(WIDTHS[0]),
                         "--results", str(tmp_path / "res"))
    assert code == 0 and record_path(tmp_path / "res", "6a", 0).exists()


def test_list_ends_with_the_choices_on_the_open_points(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    after = out[out.index("competitors"):]
    for name, choice in experiments.CHOICES.items():
        assert f"{name}: {choice}" in after
