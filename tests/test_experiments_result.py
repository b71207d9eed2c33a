"""ExperimentResult: saved and loaded back equal; a bad experiment.json refused by name."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from backprop_tui.errors import RunFolderError
from backprop_tui.experiments.result import (
    COMBINED_FILE,
    RESULT_FILE,
    Curve,
    ExperimentResult,
    Histogram,
    RunResult,
)


def _result() -> ExperimentResult:
    a = RunResult("std=0.01", {"std": 0.01, "activation": "relu", "layers": 5},
                  curves={"loss": Curve("loss", [0.0, 1.0, 2.0], [2.3, 2.2, math.nan]),
                          "test_acc": Curve("test_acc", [2.0], [0.5])},
                  histograms=[Histogram("layer 1", [0.0, 0.5, 1.0], [3, 7])],
                  status="done", seconds=1.5)
    b = RunResult("lr=3.2e-4, λ=1.1e-6", {"lr": 3.2e-4}, path=[(-7.0, 2.0), (-6.5, 1.0)],
                  status="stopped")
    return ExperimentResult("init-compare", "Weight init", "curves", "iteration",
                            ["loss", "test_acc"], [a, b, RunResult("He", {})],
                            summary=["He learns fastest"],
                            contour={"f": "x**2/20 + y**2", "xlim": [-10, 10], "ylim": [-5, 5]},
                            settings={"quick": True, "seed": 3})


def test_save_load_round_trip(tmp_path: Path) -> None:
    r = _result()
    r.save(tmp_path)
    back = ExperimentResult.load(tmp_path)
    assert back.runs[0].curves["loss"].x == [0.0, 1.0, 2.0]
    assert back.runs[0].curves["loss"].y[:2] == [2.3, 2.2]
    assert math.isnan(back.runs[0].curves["loss"].y[2])      # NaN kept as NaN (null in JSON)
    assert back.runs[0].histograms == r.runs[0].histograms
    assert back.runs[1].path == [(-7.0, 2.0), (-6.5, 1.0)]
    assert back.runs[1].name == "lr=3.2e-4, λ=1.1e-6"
    assert back.runs[2] == r.runs[2]
    back.runs[0].curves["loss"].y[2] = r.runs[0].curves["loss"].y[2] = 0.0
    assert back == r
    json.loads((tmp_path / RESULT_FILE).read_text())          # strict JSON: no NaN token


def test_csv_files(tmp_path: Path) -> None:
    r = _result()
    r.save(tmp_path)
    rows = list(csv.reader((tmp_path / COMBINED_FILE).open()))
    assert rows[0] == ["run", "x", "metric", "value"]
    assert ["std=0.01", "1", "loss", "2.2"] in rows
    assert ["std=0.01", "2", "test_acc", "0.5"] in rows
    assert len(rows) == 1 + 4
    per_run = list(csv.reader((tmp_path / "01-std-0.01" / "metrics.csv").open()))
    assert per_run == [["iteration", "loss", "test_acc"], ["0", "2.3", ""],
                       ["1", "2.2", ""], ["2", "", "0.5"]]
    assert not (tmp_path / "03-He").exists()    # a run without curves has no metrics file
    assert r.run_folder(1) == "02-lr-3.2e-4-lambda-1.1e-6"


def test_missing_file_refused(tmp_path: Path) -> None:
    with pytest.raises(RunFolderError, match="no experiment saved here"):
        ExperimentResult.load(tmp_path)


@pytest.mark.parametrize(("text", "match"), [
    ("{not json", "not valid JSON"),
    ('[1, 2]', "expected an object"),
    ('{"format": "other"}', "format"),
])
def test_bad_file_refused(tmp_path: Path, text: str, match: str) -> None:
    (tmp_path / RESULT_FILE).write_text(text)
    with pytest.raises(RunFolderError, match=match) as e:
        ExperimentResult.load(tmp_path)
    assert str(tmp_path / RESULT_FILE) in str(e.value)


@pytest.mark.parametrize(("edit", "key"), [
    (lambda d: d["runs"][0]["curves"]["loss"].update(y=[1.0]), "runs[0].curves.loss.y"),
    (lambda d: d["runs"][0].update(status="exploded"), "runs[0].status"),
    (lambda d: d["runs"][0]["histograms"][0].update(counts=[1.5, 2]),
     "runs[0].histograms[0].counts"),
    (lambda d: d.update(kind="pie"), "kind"),
    (lambda d: d.pop("runs"), "runs"),
    (lambda d: d["runs"][1].update(path=[[1, 2, 3]]), "runs[1].path"),
])
def test_malformed_key_named(tmp_path: Path, edit, key: str) -> None:
    _result().save(tmp_path)
    doc = json.loads((tmp_path / RESULT_FILE).read_text())
    edit(doc)
    (tmp_path / RESULT_FILE).write_text(json.dumps(doc))
    with pytest.raises(RunFolderError) as e:
        ExperimentResult.load(tmp_path)
    assert f": {key}: not an experiment result" in str(e.value)


def test_save_of_some_runs_leaves_the_other_metrics_files_alone(tmp_path: Path) -> None:
    """run_experiment saves after each run: only that run's metrics.csv is written again (a
    100-trial search rewrote all 100 files after every run), the combined files always."""
    r = _result()
    r.runs[2].curves = {"loss": Curve("loss", [0.0], [1.0])}
    r.save(tmp_path)
    first, third = (tmp_path / r.run_folder(0) / "metrics.csv",
                    tmp_path / r.run_folder(2) / "metrics.csv")
    first.write_text("kept\n")
    r.runs[2].curves["loss"].y[0] = 9.0
    r.save(tmp_path, runs=[2])
    assert first.read_text() == "kept\n"
    assert "9.0" in third.read_text()
    assert "9.0" in (tmp_path / COMBINED_FILE).read_text()
    assert ExperimentResult.load(tmp_path).runs[2].curves["loss"].y == [9.0]


def _batchnorm_result(diverged: bool) -> ExperimentResult:
    """A batchnorm experiment whose plain run at w=1 ended on NaN/Inf (or did not)."""
    def run(name: str, bn: int, acc: float, *, bad: bool = False) -> RunResult:
        settings: dict = {"init": 1.0, "batchnorm": bn}
        if bad:
            settings["diverged"] = "Inf appeared in affine1.W at iteration 12"
        return RunResult(name, settings, curves={"train_acc": Curve("train_acc", [1.0],
                                                                    [acc])},
                         status="done", seconds=0.5)
    return ExperimentResult("batchnorm", "Batch norm", "grid", "epoch", ["train_acc"],
                            [run("batch norm, w=1", 1, 0.9), run("plain, w=1", 0, 0.1,
                                                                 bad=diverged)])


def test_a_diverged_batchnorm_run_says_so_everywhere() -> None:
    """Issue 12: a diverged batchnorm run showed as plain "done" in the headless line, the
    compare view's runs pane and the result."""
    from backprop_tui.experiments.mnist import summarize_batchnorm
    from backprop_tui.progress import run_line
    from backprop_tui.tui.render.compare import runs_status

    result = _batchnorm_result(diverged=True)
    assert "plain, w=1  done (diverged) in 0.50 s" in run_line(result, 1)
    assert "(diverged)" not in run_line(result, 0)
    lines = runs_status(result, 80, 10).plain.splitlines()
    assert "done (diverged)" in lines[2] and "diverged" not in lines[1]
    assert "w=1 90/10% (plain diverged)" in summarize_batchnorm(result)[1]
    healthy = _batchnorm_result(diverged=False)
    assert "diverged" not in run_line(healthy, 1) + runs_status(healthy, 80, 10).plain \
        + " ".join(summarize_batchnorm(healthy))
