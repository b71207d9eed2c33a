"""``backprop-tui train EXPERIMENT --headless`` and ``scenarios`` listing the experiments, as a
user meets them: files written, the result in words, exit codes, flags that do not apply, Ctrl-C
and --resume."""

from __future__ import annotations

import csv
import json
import signal
import time
from pathlib import Path

from test_cli_train import _Process, assert_ok, assert_refused, cli

from backprop_tui.experiments import EXPERIMENTS, ExperimentResult
from backprop_tui.experiments.result import COMBINED_FILE, RESULT_FILE


def test_scenarios_lists_the_experiments_with_their_kind() -> None:
    result = cli("scenarios", "--json")
    assert_ok(result)
    items = json.loads(result.stdout)
    kinds = [item["kind"] for item in items]
    assert kinds == sorted(kinds, key=["graph", "network", "experiment"].index)  # grouped
    experiments = [item for item in items if item["kind"] == "experiment"]
    assert [item["name"] for item in experiments] == list(EXPERIMENTS)
    by_name = {item["name"]: item for item in experiments}
    assert by_name["batchnorm"]["runs"] == 32 and by_name["hyperparameter-search"]["runs"] == 100
    table = cli("scenarios").stdout
    assert "experiments (backprop-tui train NAME [--headless])" in table
    for name, spec in EXPERIMENTS.items():
        assert name in table
        for word in spec.description.split():
            assert word in " ".join(table.split())


def test_optimizer_paths_writes_its_files_and_says_the_result(tmp_path: Path) -> None:
    out = tmp_path / "paths"
    result = cli("train", "optimizer-paths", "--headless", "--out", out)
    assert_ok(result)
    assert "result: distance from (0, 0) after 30 steps: SGD 0.361" in result.stdout
    assert "AdaGrad ends nearest the minimum" in result.stdout
    saved = ExperimentResult.load(out)
    assert saved.done and [r.name for r in saved.runs] == ["SGD", "Momentum", "AdaGrad", "Adam"]
    rows = list(csv.reader((out / COMBINED_FILE).open()))
    assert rows[0] == ["run", "x", "metric", "value"] and len(rows) == 1 + 4 * 31
    assert (out / "01-SGD" / "metrics.csv").read_text().startswith("step,f\n0,6.45\n")


def test_trials_and_quick(tmp_path: Path) -> None:
    out = tmp_path / "search"
    result = cli("train", "hyperparameter-search", "--headless", "--quick", "--trials", 2,
                 "--seed", 4, "--out", out)
    assert_ok(result)
    assert "2 runs (--quick: 10 trials of 20 epochs)" in result.stdout  # --trials wins
    assert result.stdout.count("\nrun ") == 2 and "result: best 2 of 2 trials" in result.stdout
    doc = json.loads((out / RESULT_FILE).read_text())
    assert doc["settings"] == {"quick": True, "seed": 4, "trials": 2}
    assert [len(r["curves"]["val_acc"]["x"]) for r in doc["runs"]] == [21, 21]  # epochs 0–20


def test_options_that_do_not_apply_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "x"
    assert_refused(cli("train", "overfit", "--headless", "--batch-size", 10, "--out", out),
                   "--batch-size", "does not apply to an experiment", "(got 10)", "--quick")
    assert_refused(cli("train", "overfit", "--headless", "--optimizer", "adam"),
                   "--optimizer", "(got 'adam')")
    assert_refused(cli("train", "overfit", "--headless", "--all-data"), "--all-data")
    assert_refused(cli("train", "overfit", "--headless", "--trials", 3),
                   "--trials", "only applies to hyperparameter-search")
    assert_refused(cli("train", "hyperparameter-search", "--headless", "--trials", 0),
                   "--trials", "positive integer")
    assert_refused(cli("train", "xor", "--headless", "--quick"),
                   "--quick", "only applies to an experiment", "init-histograms")
    assert_refused(cli("train", "xor", "--headless", "--trials", 5), "--trials")
    assert not out.exists()  # nothing created by a refused command


def test_a_misspelt_experiment_is_named(tmp_path: Path) -> None:
    assert_refused(cli("train", "overfitt", "--headless"), "unknown scenario 'overfitt'",
                   "Did you mean 'overfit'?")


def test_without_headless_and_without_a_terminal_the_compare_view_says_so(tmp_path) -> None:
    # the compare view (tests/test_tui_compare.py) needs a terminal: one clear line
    assert_refused(cli("train", "optimizer-paths", "--out", tmp_path / "x"), "compare view",
                   "needs a terminal", "--headless")
    assert not (tmp_path / "x").exists()


def test_a_folder_holding_an_experiment_is_not_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "exp"
    assert_ok(cli("train", "init-histograms", "--headless", "--out", out))
    before = (out / RESULT_FILE).read_bytes()
    assert_refused(cli("train", "init-histograms", "--headless", "--out", out),
                   "holds an experiment already", f"--resume {out}")
    assert (out / RESULT_FILE).read_bytes() == before
    assert_refused(cli("train", "optimizer-paths", "--headless", "--resume", out),
                   "holds the experiment 'init-histograms'")
    assert_refused(cli("train", "init-histograms", "--headless", "--resume", tmp_path / "none"),
                   "no experiment saved here")
    assert not (tmp_path / "none").exists()
    (out / RESULT_FILE).write_text("{")
    assert_refused(cli("train", "init-histograms", "--headless", "--resume", out),
                   "not valid JSON")


def test_ctrl_c_stops_saves_and_resume_finishes(tmp_path: Path) -> None:
    out = tmp_path / "search"
    p = _Process(["train", "hyperparameter-search", "--headless", "--trials", "12", "--out",
                  str(out)], cwd=tmp_path)
    p.wait_for(r"^run +1/12 ")  # the first trial is done and saved
    time.sleep(0.1)
    p.proc.send_signal(signal.SIGINT)
    rc, output, err = p.finish()
    assert rc == 130, (output, err)
    assert "Traceback" not in err and f"--resume {out}" in output
    stopped = ExperimentResult.load(out)
    statuses = [r.status for r in stopped.runs]
    assert statuses[0] == "done" and "stopped" in statuses and not stopped.done
    at = statuses.index("stopped")
    assert (out / stopped.run_folder(at) / "checkpoint.npz").is_file()
    assert f"interrupted in run {at + 1}/12" in output

    result = cli("train", "hyperparameter-search", "--headless", "--resume", out)
    assert_ok(result)
    assert "result: best 5 of 12 trials" in result.stdout
    # issue 12: the resumed run's line is its real end, not its stale "stopped" of before
    resumed = [line for line in result.stdout.splitlines()
               if line.startswith(f"run {at + 1:>2}/12 ")]
    assert len(resumed) == 1 and " done in " in resumed[0], result.stdout
    assert ExperimentResult.load(out).done
    assert_refused(cli("train", "hyperparameter-search", "--headless", "--resume", out,
                       "--trials", 5), "cannot change --trials when resuming")


def test_progress_of_a_run() -> None:
    from backprop_tui.experiments import Curve, RunResult
    from backprop_tui.progress import run_progress

    growing = RunResult("SGD", {"iterations": 300},
                        curves={"loss": Curve("loss", [1, 2, 3], [2.3, 2.2, 2.1]),
                                "test_acc": Curve("test_acc", [], [])}, status="running")
    assert run_progress(growing) == (3, 300)
    assert run_progress(RunResult("plain", {"epochs": 20}, status="pending")) == (0, 20)
    assert run_progress(RunResult("ReLU, He", {}, status="done")) == (1, 1)


def test_resumed_stopped_run_prints_its_real_end_once() -> None:
    """Issue 12: after --resume, the run stopped before printed "stopped in 1.59 s" at the
    first update and never its "done" line."""
    import io

    from backprop_tui.experiments import RunResult
    from backprop_tui.progress import ExperimentLines

    runs = [RunResult("plain", {}, status="done", seconds=1.0),
            RunResult("dropout 0.2", {}, status="stopped", seconds=1.59)]
    result = ExperimentResult("overfit", "Overfitting", "curves", "epoch", [], runs)
    out = io.StringIO()
    lines = ExperimentLines(out)
    lines(result)  # the resume's first update: the stopped run is about to continue
    runs[1].status = "running"
    lines(result)
    runs[1].status, runs[1].seconds = "done", 3.25
    lines(result)
    lines(result)
    assert out.getvalue().splitlines() == ["run 1/2  plain  done in 1.00 s",
                                           "run 2/2  dropout 0.2  done in 3.25 s"]
    runs[1].status = "stopped"  # stopped again later: said again
    lines(result)
    assert out.getvalue().splitlines()[-1] == "run 2/2  dropout 0.2  stopped in 3.25 s"
