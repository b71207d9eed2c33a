"""The Trainer (issue 3): resume is bit-identical to a run never interrupted, NaN/Inf names the
layer where it first appeared, metrics.csv and config.toml describe the run, and the small
scenarios reach their accuracy targets."""

from __future__ import annotations

import csv
import math
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from backprop_tui.checkpoint import load_checkpoint
from backprop_tui.engine.batches import Batches
from backprop_tui.errors import CheckpointError, UsageError
from backprop_tui.scenario import Scenario, load_scenario
from backprop_tui.training import (
    METRIC_FIELDS,
    BatchEnd,
    CheckpointSaved,
    EpochEnd,
    EpochStart,
    NonFiniteFound,
    Trainer,
    evaluate,
)

#: EpochMetrics fields that are wall-clock measurements (everything else must match exactly)
TIMING = {"seconds", "eval_seconds", "samples_per_second"}

# Iris through every layer whose state matters for resuming: BatchNorm (running statistics,
# batch statistics of a short last batch), Dropout (its own generator), L2 and an optimizer with
# state. 120 training samples in batches of 16: 8 batches per epoch, the last one of 8.
IRIS_BN_DROPOUT = """
name = "iris-bn-dropout"
[data]
source = "iris"
normalize = "standard"
split_seed = 1
[network]
loss = "softmax_cross_entropy"
l2 = 1e-3
layers = [
  { type = "affine", out = 12 },
  { type = "batchnorm" },
  { type = "relu" },
  { type = "dropout", p = 0.25 },
  { type = "affine", out = 8 },
  { type = "tanh" },
  { type = "dropout", p = 0.1 },
  { type = "affine", out = 3 },
]
[train]
optimizer = "sgd"
lr = 0.05
batch_size = 16
epochs = 4
"""


@pytest.fixture(scope="module")
def iris_bn_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "iris-bn-dropout.toml"
    path.write_text(IRIS_BN_DROPOUT, encoding="utf-8")
    return path


def _bits(a: np.ndarray) -> tuple[str, tuple[int, ...], bytes]:
    a = np.asarray(a)
    return str(a.dtype), a.shape, np.ascontiguousarray(a).tobytes()


def _same_arrays(a: dict[str, np.ndarray], b: dict[str, np.ndarray], what: str) -> None:
    assert a.keys() == b.keys(), what
    for k in a:
        assert _bits(a[k]) == _bits(b[k]), f"{what}: {k} differs"


def _numbers(history) -> list[dict]:
    return [{k: v for k, v in asdict(m).items() if k not in TIMING} for m in history]


def _batch_log(events: list) -> list[tuple]:
    return [(e.epoch, e.batch, e.iteration, e.loss, e.running_loss, e.samples)
            for e in events if isinstance(e, BatchEnd)]


def assert_same_run(a: Trainer, b: Trainer) -> None:
    """Everything that decides future numbers, and every number so far, is equal bit for bit."""
    _same_arrays(a.net.state_dict(), b.net.state_dict(), "parameters and buffers")
    _same_arrays(a.optimizer.state_dict(), b.optimizer.state_dict(), "optimizer state")
    assert a.optimizer.t == b.optimizer.t
    assert _numbers(a.history) == _numbers(b.history)
    assert (a.epochs_done, a.iteration, a.best_accuracy) == \
        (b.epochs_done, b.iteration, b.best_accuracy)
    assert a.batches.state() == b.batches.state()
    drop_a = [lay.rng.bit_generator.state for lay in a.net.layers if hasattr(lay, "rng")]
    drop_b = [lay.rng.bit_generator.state for lay in b.net.layers if hasattr(lay, "rng")]
    assert drop_a == drop_b


# ---------------------------------------------------------------------------------------------
# resume: bit-identical to an uninterrupted run
# ---------------------------------------------------------------------------------------------
def _interrupted(sc: Scenario, stops: list[int], tmp_path: Path) -> tuple[Trainer, list]:
    """Run ``sc`` stopping after each number of iterations in ``stops`` (counted from the
    start), saving, and continuing in a fresh Trainer built from the checkpoint."""
    events: list = []
    trainer = Trainer(sc)
    done = 0
    for i, stop in enumerate(stops):
        result = trainer.run(events.append, max_iterations=stop - done)
        assert result.status == "stopped" and trainer.iteration == stop
        done = stop
        path = trainer.save(tmp_path / f"stop{i}" / "checkpoint.npz")
        trainer = Trainer.resume(sc, path)
        assert trainer.iteration == stop
    result = trainer.run(events.append)
    assert result.status == "completed"
    return trainer, events


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_resume_is_bit_identical_with_batchnorm_and_dropout(
    iris_bn_path: Path, tmp_path: Path, optimizer: str, dtype: str
) -> None:
    lr = {"sgd": 0.05, "momentum": 0.02, "adam": 0.005}[optimizer]
    sc = load_scenario(iris_bn_path).with_train(optimizer=optimizer, dtype=dtype, lr=lr)
    per_epoch = 8
    reference = Trainer(sc)
    ref_events: list = []
    assert reference.run(ref_events.append).status == "completed"
    assert reference.net.dtype == np.dtype(dtype)
    assert reference.iteration == sc.train.epochs * per_epoch
    cases = {
        "epoch boundary": [2 * per_epoch],
        "mid-epoch": [per_epoch + 3],
        "twice, the second time one batch before an epoch ends": [5, 3 * per_epoch - 1],
        "before the first batch": [0],
    }
    for case, stops in cases.items():
        trainer, events = _interrupted(sc, stops, tmp_path / case.replace(" ", "-"))
        assert_same_run(trainer, reference)
        assert _batch_log(events) == _batch_log(ref_events), case  # every iteration's loss


def test_stopping_mid_epoch_really_stops_mid_epoch(iris_bn_path: Path, tmp_path: Path) -> None:
    sc = load_scenario(iris_bn_path)
    trainer = Trainer(sc)
    trainer.run(max_iterations=11)
    assert trainer.epochs_done == 1 and trainer.batches.position == 3
    path = trainer.save(tmp_path / "c.npz")
    resumed = Trainer.resume(sc, path)
    events: list = []
    resumed.run(events.append, max_iterations=1)
    starts = [e for e in events if isinstance(e, EpochStart)]
    assert starts == [EpochStart(epoch=2, epochs=4, batches=8, start_batch=3)]
    assert [e.batch for e in events if isinstance(e, BatchEnd)] == [4]


@pytest.mark.parametrize(
    ("name", "optimizer", "epochs", "stops"),
    [
        ("xor", "momentum", 40, [17]),  # one batch per epoch: stops are at boundaries
        ("xor-sigmoid", "sgd", 12, [6, 21]),  # batches of 1: four per epoch
        ("xor-sigmoid", "adam", 12, [9]),
    ],
)
def test_resume_is_bit_identical_on_builtin_scenarios(
    tmp_path: Path, name: str, optimizer: str, epochs: int, stops: list[int]
) -> None:
    sc = load_scenario(name).with_train(optimizer=optimizer, epochs=epochs)
    reference = Trainer(sc)
    reference.run()
    trainer, _ = _interrupted(sc, stops, tmp_path)
    assert_same_run(trainer, reference)


def test_run_can_be_called_again_to_continue(iris_bn_path: Path) -> None:
    sc = load_scenario(iris_bn_path).with_train(optimizer="adam", lr=0.01)
    reference = Trainer(sc)
    reference.run()
    trainer = Trainer(sc)
    flag = {"stop": False}

    def on_event(e) -> None:
        if isinstance(e, BatchEnd) and e.iteration in (3, 8, 19):
            flag["stop"] = True

    while True:
        flag["stop"] = False
        if trainer.run(on_event, should_stop=lambda: flag["stop"]).status == "completed":
            break
    assert_same_run(trainer, reference)


def test_resume_with_more_epochs_equals_a_longer_run(tmp_path: Path) -> None:
    """``--epochs`` may grow on resume (train longer): the result equals a run that was asked
    for the larger number from the start, because the number of epochs changes no arithmetic."""
    sc = load_scenario("xor-sigmoid").with_train(epochs=5)
    short = Trainer(sc, out_dir=tmp_path / "run")
    short.run()
    longer = Trainer.resume(sc, tmp_path / "run", epochs=9)
    assert longer.epochs == 9 and longer.epochs_done == 5
    longer.run()
    reference = Trainer(sc.with_train(epochs=9))
    reference.run()
    assert_same_run(longer, reference)


def test_resume_takes_training_settings_from_the_checkpoint(tmp_path: Path) -> None:
    sc = load_scenario("xor").with_train(optimizer="adam", lr=0.01, epochs=6, seed=3)
    trainer = Trainer(sc, out_dir=tmp_path / "run")
    trainer.run(max_iterations=2)
    trainer.save_interrupt()
    # the built-in file says sgd, lr 0.1, 2000 epochs, seed 0: the checkpoint wins
    resumed = Trainer.resume(load_scenario("xor"), tmp_path / "run")
    tr = resumed.scenario.train
    assert (tr.optimizer, tr.lr, tr.epochs, tr.seed) == ("adam", 0.01, 6, 3)
    assert resumed.iteration == 2


@pytest.mark.parametrize(
    ("key", "value"),
    [("batch_size", 2), ("optimizer", "sgd"), ("seed", 1), ("dtype", "float32")],
)
def test_resume_refuses_changed_settings(tmp_path: Path, key: str, value: object) -> None:
    sc = load_scenario("xor").with_train(optimizer="momentum", epochs=3)
    trainer = Trainer(sc)
    trainer.run(max_iterations=1)
    path = trainer.save(tmp_path / "c.npz")
    with pytest.raises(UsageError) as info:
        Trainer.resume(sc, path, overrides={key: value})
    assert f"--{key.replace('_', '-')}" in str(info.value)
    # the checkpoint's own value, or no flag, is fine
    same = {"batch_size": 4, "optimizer": "momentum", "seed": 0, "dtype": "float64"}[key]
    Trainer.resume(sc, path, overrides={key: same, "other": None})


def test_resume_refuses_another_scenarios_checkpoint(tmp_path: Path) -> None:
    trainer = Trainer(load_scenario("xor").with_train(epochs=1))
    trainer.run()
    path = trainer.save(tmp_path / "c.npz")
    with pytest.raises(CheckpointError, match="'xor'"):
        Trainer.resume(load_scenario("iris"), path)
    with pytest.raises(CheckpointError):
        Trainer(load_scenario("iris")).load_state(load_checkpoint(path))


def test_perceptron_is_not_trainable() -> None:
    with pytest.raises(UsageError, match="not trainable"):
        Trainer(load_scenario("perceptron"))


# ---------------------------------------------------------------------------------------------
# events
# ---------------------------------------------------------------------------------------------
def test_events_arrive_in_order_and_add_up(tmp_path: Path, iris_bn_path: Path) -> None:
    sc = load_scenario(iris_bn_path).with_train(epochs=3)
    trainer = Trainer(sc, out_dir=tmp_path / "run")
    events: list = []
    result = trainer.run(events.append)
    assert result.status == "completed" and result.epochs_done == 3 and result.iterations == 24
    kinds = [type(e).__name__ for e in events if not isinstance(e, CheckpointSaved)]
    assert kinds == (["EpochStart"] + ["BatchEnd"] * 8 + ["EpochEnd"]) * 3
    for epoch in range(1, 4):
        batch_ends = [e for e in events if isinstance(e, BatchEnd) and e.epoch == epoch]
        assert [e.batch for e in batch_ends] == list(range(1, 9))
        assert batch_ends[-1].samples == 120
        # running_loss is the sample-weighted mean of the batch losses so far
        sizes = [16] * 7 + [8]
        mean = sum(e.loss * n for e, n in zip(batch_ends, sizes, strict=True)) / 120
        assert math.isclose(batch_ends[-1].running_loss, mean, rel_tol=1e-12)
        end = next(e for e in events if isinstance(e, EpochEnd) and e.metrics.epoch == epoch)
        assert end.metrics.train_loss == batch_ends[-1].running_loss
        assert end.metrics.iterations == 8 * epoch
    saved = [e for e in events if isinstance(e, CheckpointSaved)]
    assert {e.kind for e in saved} == {"best", "checkpoint"}
    assert saved[-1] == CheckpointSaved(tmp_path / "run" / "checkpoint.npz", 3, "checkpoint")
    bests = [e.metrics.epoch for e in events if isinstance(e, EpochEnd) and e.best]
    assert [e.epoch for e in saved if e.kind == "best"] == bests
    # best.npz holds the epoch with the best test accuracy, and its parameters
    best = load_checkpoint(tmp_path / "run" / "best.npz")
    accs = [m.test_accuracy for m in trainer.history]
    assert best.meta["epochs_done"] == bests[-1] == 1 + accs.index(max(accs))


def test_epoch_metrics_are_measured_not_made_up(iris_bn_path: Path) -> None:
    """Test loss/accuracy equal an independent evaluation; train accuracy is the running
    accuracy of the training batches (in training mode, as the batches were seen)."""
    sc = load_scenario(iris_bn_path).with_train(epochs=2)
    trainer = Trainer(sc)
    trainer.run()
    m = trainer.history[-1]
    net = trainer.net
    net.train(False)
    out = net.forward(trainer.x_test)
    pred = out.argmax(axis=1)
    assert m.test_accuracy == float((pred == trainer.t_test).mean())
    assert math.isclose(m.test_loss, evaluate(net, trainer.x_test, trainer.t_test)[0])
    assert 0 < m.train_accuracy <= 1 and m.lr == 0.05 and m.iterations == 16


# ---------------------------------------------------------------------------------------------
# NaN / Inf: the first layer where it appeared
# ---------------------------------------------------------------------------------------------
SMALL = """
name = "small"
[data]
source = "iris"
normalize = "standard"
[network]
loss = "softmax_cross_entropy"
layers = [
  { type = "affine", out = 8 }, { type = "relu" },
  { type = "affine", out = 8 }, { type = "relu" },
  { type = "affine", out = 3 },
]
[train]
batch_size = 16
epochs = 3
"""


@pytest.fixture
def small(tmp_path: Path) -> Scenario:
    path = tmp_path / "small.toml"
    path.write_text(SMALL, encoding="utf-8")
    return load_scenario(path)


def _fail(trainer: Trainer) -> NonFiniteFound:
    before = trainer.net.state_dict()
    events: list = []
    result = trainer.run(events.append)
    assert result.status == "nonfinite"
    bad = [e for e in events if isinstance(e, NonFiniteFound)]
    assert bad == [result.nonfinite]
    nf = bad[0]
    # stopped before that iteration's update, and the message says where
    assert trainer.iteration == nf.iteration - 1
    if nf.iteration == 1:
        _same_arrays(trainer.net.state_dict(), before, "parameters after a failed iteration")
    text = nf.message()
    assert f"iteration {nf.iteration}" in text and nf.phase in text and nf.tensor in text
    if nf.layer:
        assert repr(nf.layer) in text
    return nf


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_inf_in_the_input_batch(small: Scenario) -> None:
    x_tr, t_tr, x_te, t_te = small.load_data(dtype="float32")
    row = 37
    x_tr = x_tr.copy()
    x_tr[row, 2] = np.inf
    # which iteration sees row 37 first: the same seeded shuffle, asked independently
    order = Batches(x_tr, t_tr, 16, small.rng(None, "shuffle"))
    iteration = 1
    while True:
        xb, _ = order.next()
        if np.isinf(xb).any():
            break
        iteration += 1
    trainer = Trainer(small, data=(x_tr, t_tr, x_te, t_te))
    nf = _fail(trainer)
    assert (nf.phase, nf.layer, nf.kind, nf.count) == ("forward", None, "Inf", 1)
    assert "x" in nf.tensor
    assert (nf.iteration, nf.epoch, nf.batch) == (iteration, 1, iteration)
    # the parameters are those after iteration - 1 updates
    ref = Trainer(small, data=(x_tr, t_tr, x_te, t_te))
    ref.run(max_iterations=iteration - 1)
    _same_arrays(trainer.net.state_dict(), ref.net.state_dict(), "parameters")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_overflow_in_a_forward_layer_names_that_layer(small: Scenario) -> None:
    """float32: affine2's weights are finite (the largest float32), but its output overflows.
    Not affine1 or relu1 before it, nor the layers after it that inherit the Inf."""
    trainer = Trainer(small.with_train(dtype="float32"))
    big = np.finfo(np.float32).max
    affine2 = trainer.net.layers[trainer.net.index("affine2")]
    affine2.params["W"][...] = big
    affine2.params["b"][...] = big
    nf = _fail(trainer)
    assert (nf.phase, nf.layer, nf.tensor, nf.iteration) == ("forward", "affine2", "output", 1)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_inf_weight_names_the_layer_and_the_parameter(small: Scenario) -> None:
    trainer = Trainer(small)
    trainer.run(max_iterations=5)
    trainer.net.layers[trainer.net.index("affine3")].params["b"][1] = np.inf
    nf = _fail(trainer)
    assert (nf.phase, nf.layer, nf.tensor, nf.count, nf.iteration) == \
        ("forward", "affine3", "b", 1, 6)


def test_nan_made_in_backward_names_the_layer(small: Scenario, monkeypatch) -> None:
    """relu2's backward returns NaN: affine3's gradients (computed before it) are finite,
    affine2's and affine1's (after it) are NaN too, and relu2 is named."""
    trainer = Trainer(small)
    trainer.run(max_iterations=2)
    relu2 = trainer.net.layers[trainer.net.index("relu2")]

    def nan_backward(dout, need_dx=True):
        return np.full_like(dout, np.nan)

    monkeypatch.setattr(relu2, "backward", nan_backward)
    nf = _fail(trainer)
    assert (nf.phase, nf.layer, nf.tensor, nf.kind, nf.iteration) == \
        ("backward", "relu2", "dx", "NaN", 3)


def test_nan_in_one_weight_gradient_names_the_gradient(small: Scenario, monkeypatch) -> None:
    trainer = Trainer(small)
    affine2 = trainer.net.layers[trainer.net.index("affine2")]
    real = affine2.backward

    def bad_dW(dout, need_dx=True):
        dx = real(dout, need_dx)
        affine2.grads["W"][0, 0] = np.nan
        return dx

    monkeypatch.setattr(affine2, "backward", bad_dW)
    nf = _fail(trainer)
    assert (nf.phase, nf.layer, nf.tensor, nf.count, nf.iteration) == \
        ("backward", "affine2", "dW", 1, 1)


def test_nan_made_by_the_loss_names_the_loss_step(small: Scenario, monkeypatch) -> None:
    """Every layer's output finite, the loss value NaN: the loss step is named, no layer."""
    trainer = Trainer(small)
    trainer.run(max_iterations=4)
    monkeypatch.setattr(trainer.net.loss_layer, "forward", lambda x, t: float("nan"))
    nf = _fail(trainer)
    assert (nf.phase, nf.layer, nf.tensor, nf.kind, nf.iteration) == \
        ("loss", None, "loss", "NaN", 5)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_huge_learning_rate_stops_with_the_layer_named(small: Scenario) -> None:
    trainer = Trainer(small.with_train(lr=1e200, dtype="float64"))
    nf = _fail(trainer)
    assert nf.layer in {lay.name for lay in trainer.net.layers}
    assert nf.iteration >= 2  # the first iteration's numbers are fine; its update is not


# ---------------------------------------------------------------------------------------------
# run folder: metrics.csv and config.toml
# ---------------------------------------------------------------------------------------------
def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == METRIC_FIELDS
        return list(reader)


def _csv_numbers(rows: list[dict[str, str]]) -> list[dict]:
    out = []
    for r in rows:
        d = {k: float(v) for k, v in r.items() if k not in TIMING}
        d["epoch"], d["iterations"] = int(r["epoch"]), int(r["iterations"])
        out.append(d)
    return out


def test_metrics_csv_one_exact_row_per_epoch(tmp_path: Path, iris_bn_path: Path) -> None:
    sc = load_scenario(iris_bn_path)
    trainer = Trainer(sc, out_dir=tmp_path / "run")
    trainer.run()
    rows = _csv_rows(tmp_path / "run" / "metrics.csv")
    assert _csv_numbers(rows) == _numbers(trainer.history)  # floats written exactly
    for r in rows:
        assert float(r["seconds"]) >= 0 and float(r["samples_per_second"]) > 0


def test_metrics_csv_after_resume_has_no_duplicate_or_missing_rows(
    tmp_path: Path, iris_bn_path: Path
) -> None:
    sc = load_scenario(iris_bn_path).with_train(epochs=6)
    reference = Trainer(sc)
    reference.run()
    run = tmp_path / "run"
    # a run that crashed: checkpoint.npz from epoch 2 (the throttle), metrics.csv up to epoch 3
    # and part of epoch 4
    first = Trainer(sc, out_dir=run)
    first.checkpoint_every = math.inf
    first.run(max_iterations=2 * 8)
    first.save(run / "checkpoint.npz")
    first.run(max_iterations=8 + 5)
    assert len(_csv_rows(run / "metrics.csv")) == 3
    # resume from the older checkpoint, interrupted once more mid-epoch (Ctrl-C saves)
    second = Trainer.resume(sc, run)
    second.run(max_iterations=7)
    second.save_interrupt()
    third = Trainer.resume(sc, run)
    third.run()
    rows = _csv_rows(run / "metrics.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    assert _csv_numbers(rows) == _numbers(reference.history)
    import pandas as pd  # a test extra: the issue promises metrics.csv reads in pandas
    frame = pd.read_csv(run / "metrics.csv")
    assert list(frame.columns) == METRIC_FIELDS and len(frame) == 6
    assert frame["train_loss"].tolist() == [m.train_loss for m in reference.history]


def test_config_toml_reloads_to_the_same_scenario(tmp_path: Path, iris_bn_path: Path) -> None:
    sc = load_scenario(iris_bn_path).with_train(optimizer="adam", lr=0.003, seed=5)
    trainer = Trainer(sc, out_dir=tmp_path / "run")
    trainer.run(max_iterations=1)
    again = load_scenario(tmp_path / "run" / "config.toml")
    assert again.config() == sc.config()
    assert again.architecture_hash() == sc.architecture_hash()
    # ... and trains to the same numbers
    a, b = Trainer(sc), Trainer(again)
    a.run()
    b.run()
    assert_same_run(a, b)


def test_checkpoint_meta_holds_what_the_issue_lists(tmp_path: Path, iris_bn_path: Path) -> None:
    sc = load_scenario(iris_bn_path)
    trainer = Trainer(sc, out_dir=tmp_path / "run")
    trainer.run()
    ck = load_checkpoint(tmp_path / "run" / "checkpoint.npz")
    meta = ck.meta
    assert meta["scenario"] == "iris-bn-dropout"
    assert meta["architecture_hash"] == sc.architecture_hash()
    assert meta["config"] == sc.config()
    assert meta["epochs_done"] == 4 and meta["iteration"] == 32
    assert ck.extra["history"].shape == (4, len(meta["history_fields"]))
    assert set(meta["dropout_rngs"]) == {"dropout1", "dropout2"}
    assert meta["batches"]["epoch"] == 3
    _same_arrays(ck.params, trainer.net.state_dict(), "saved parameters")
    _same_arrays(ck.optimizer, trainer.optimizer.state_dict(), "saved optimizer state")
    assert "batchnorm1.running_mean" in ck.params  # buffers too
    assert not list((tmp_path / "run").glob("*.tmp"))


# ---------------------------------------------------------------------------------------------
# accuracy of the small scenarios (MNIST is the benchmarks' job)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["and", "or", "nand", "not", "xor", "xor-sigmoid"])
def test_gates_reach_100_percent(name: str) -> None:
    trainer = Trainer(load_scenario(name))
    assert trainer.run().status == "completed"
    assert trainer.history[-1].test_accuracy == 1.0
    assert trainer.net.accuracy(trainer.x_test, trainer.t_test) == 1.0
    assert trainer.net.accuracy(trainer.x_train, trainer.t_train) == 1.0


def test_iris_reaches_29_of_30() -> None:
    trainer = Trainer(load_scenario("iris"))
    trainer.run()
    assert len(trainer.x_test) == 30
    correct = int(round(trainer.history[-1].test_accuracy * 30))
    assert correct >= 29, f"iris: {correct}/30 test samples right"
    assert trainer.net.accuracy(trainer.x_test, trainer.t_test) == trainer.history[-1].test_accuracy


def test_resuming_from_best_npz_branches_into_a_new_folder(tmp_path: Path) -> None:
    """Resuming from best.npz must not overwrite the run's newer checkpoint.npz."""
    run = tmp_path / "runs" / "xor-first"
    Trainer(load_scenario("xor").with_train(epochs=30), out_dir=run).run()
    newest = load_checkpoint(run / "checkpoint.npz").meta["iteration"]
    resumed = Trainer.resume(load_scenario("xor"), run / "best.npz", epochs=40)
    assert resumed.out_dir is not None and resumed.out_dir != run
    assert resumed.out_dir.parent == run.parent
    resumed.run()
    assert load_checkpoint(run / "checkpoint.npz").meta["iteration"] == newest
    assert (resumed.out_dir / "checkpoint.npz").is_file()


def test_long_histories_stay_small_in_checkpoints(tmp_path: Path) -> None:
    """The per-epoch metrics are an array in the checkpoint, not JSON: 3,000 one-batch epochs of
    xor cost 10 floats each (~240 kB), and they come back exactly."""
    trainer = Trainer(load_scenario("xor").with_train(epochs=3000), out_dir=tmp_path / "run")
    trainer.run()
    path = tmp_path / "run" / "checkpoint.npz"
    assert path.stat().st_size < 400_000
    again = Trainer.resume(load_scenario("xor"), path)
    assert again.history == trainer.history


def test_lr_decay_lowers_the_rate_every_epoch_and_survives_resume(tmp_path: Path) -> None:
    """lr_decay multiplies the rate after every epoch; the schedule follows the epoch, so a
    resumed run uses the same rates as an uninterrupted one (and ends bit-identical)."""
    sc = load_scenario("iris").with_train(epochs=6, lr_decay=0.5)
    whole = Trainer(sc)
    whole.run()
    assert [m.lr for m in whole.history] == [sc.train.lr * 0.5**k for k in range(6)]

    first = Trainer(sc, out_dir=tmp_path / "run")
    first.run(max_iterations=3 * first.batches_per_epoch + 5)  # stop inside epoch 4
    first.save(tmp_path / "run" / "checkpoint.npz")
    resumed = Trainer.resume(load_scenario("iris"), tmp_path / "run")
    assert resumed.scenario.train.lr_decay == 0.5
    resumed.run()
    assert _numbers(resumed.history) == _numbers(whole.history)
    _same_arrays(resumed.net.state_dict(), whole.net.state_dict(), "parameters")
