"""Hand-edited checkpoints with a valid SHA-256 (issue 13, item 12): every metadata field and
array is checked against the scenario before anything is loaded — by ``eval``, by a resume and
by the debugger — and a bad one is one ``error:`` line naming the field, exit 2: no TypeError,
no network evaluated in int8 or complex numbers, no resume that never ends."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from test_cli_train import assert_ok, assert_refused, cli

from backprop_tui.checkpoint import _digest, load_checkpoint
from backprop_tui.errors import CheckpointError
from backprop_tui.scenario import load_scenario
from backprop_tui.tui.session import DebugSession

Edit = Callable[[dict, dict], None]


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-epoch xor run with momentum (so the optimizer has state): its checkpoint.npz."""
    run = tmp_path_factory.mktemp("good") / "run"
    assert_ok(cli("train", "xor", "--headless", "--epochs", 3, "--optimizer", "momentum",
                  "--out", run))
    return run / "checkpoint.npz"


def resign(good: Path, out: Path, edit: Edit) -> Path:
    """A copy of ``good`` with ``edit(meta, arrays)`` applied and its SHA-256 recomputed as
    checkpoint.py computes it: the file is "valid", only its contents lie."""
    with np.load(good, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays.pop("__sha256__")
    meta = json.loads(str(arrays.pop("__meta__")))
    edit(meta, arrays)
    arrays["__meta__"] = np.array(json.dumps(meta))
    arrays["__sha256__"] = np.array(_digest(arrays))
    with open(out, "wb") as f:
        np.savez(f, **arrays)
    load_checkpoint(out)  # the checksum holds
    return out


def _set(*path: str, value: object) -> Edit:
    def edit(meta: dict, arrays: dict) -> None:
        table = meta
        for key in path[:-1]:
            table = table[key]
        if value is _DELETE:
            del table[path[-1]]
        else:
            table[path[-1]] = value
    return edit


def _array(key: str, fn: Callable[[np.ndarray | None], np.ndarray | None]) -> Edit:
    def edit(meta: dict, arrays: dict) -> None:
        new = fn(arrays.get(key))
        if new is None:
            arrays.pop(key)
        else:
            arrays[key] = new
    return edit


_DELETE = object()

#: fields a network's weights depend on: eval, resume and the debugger all refuse them
WEIGHTS: dict[str, tuple[Edit, str]] = {
    "dtype-int8": (_set("dtype", value="int8"), "dtype"),
    "dtype-complex": (_set("dtype", value="complex128"), "dtype"),
    "dtype-unknown": (_set("dtype", value="float8_e4m3"), "dtype"),
    "dtype-number": (_set("dtype", value=64), "dtype"),
    "dtype-missing": (_set("dtype", value=_DELETE), "dtype"),
    "weights-complex": (_array("param/affine1.W", lambda a: a.astype(np.complex128)),
                        "param/affine1.W"),
    "weights-int8": (_array("param/affine1.W", lambda a: a.astype(np.int8)), "param/affine1.W"),
    "weights-transposed": (_array("param/affine1.W", lambda a: a.T.copy()), "param/affine1.W"),
    "weights-missing": (_array("param/affine1.b", lambda a: None), "param"),
    "weights-extra": (_array("param/affine9.W", lambda a: np.ones(3)), "param"),
    "optimizer-kind": (_set("optimizer", "kind", value="rmsprop"), "optimizer.kind"),
    "optimizer-not-a-table": (_set("optimizer", value="momentum"), "optimizer"),
    "optimizer-lr": (_set("optimizer", "lr", value=-1), "optimizer.lr"),
    "optimizer-slot-shape": (_array("optim/v:affine1.W", lambda a: a[:1].copy()),
                             "optim/v:affine1.W"),
    "optimizer-slot-unknown": (_array("optim/m:affine1.W", lambda a: np.zeros((2, 6))),
                               "optim/m:affine1.W"),
    "optimizer-steps": (_array("optim/__t__", lambda a: np.array(-3)), "optim/__t__"),
}

#: where the run stands: what a resume needs
STATE: dict[str, tuple[Edit, str]] = {
    "epochs-negative": (_set("epochs_done", value=-5), "epochs_done"),
    "epochs-text": (_set("epochs_done", value="3"), "epochs_done"),
    "epochs-bool": (_set("epochs_done", value=True), "epochs_done"),
    "epochs-beyond-history": (_set("epochs_done", value=7), "batches"),
    "iteration-negative": (_set("iteration", value=-1), "iteration"),
    "in-epoch-text": (_set("in_epoch", value="yes"), "in_epoch"),
    "batches-epoch": (_set("batches", "epoch", value=9), "batches"),
    "batches-position": (_set("batches", "position", value=999), "batches"),
    "batches-not-a-table": (_set("batches", value=[0, 1]), "batches"),
    "sums-correct": (_set("epoch_sums", "correct", value=10**6), "epoch_sums.correct"),
    "sums-missing": (_set("epoch_sums", "seconds", value=_DELETE), "epoch_sums"),
    "best-accuracy": (_set("best_accuracy", value=5.0), "best_accuracy"),
    "history-fields": (_set("history_fields", value=["epoch"]), "history_fields"),
    "history-rows": (_array("extra/history", lambda a: a[:-1].copy()), "extra/history"),
    "history-order": (_array("extra/history", lambda a: a[::-1].copy()), "extra/history"),
    "dropout-rngs": (_set("dropout_rngs", value={"drop1": {"bit_generator": "PCG64"}}),
                     "dropout_rngs"),
    "numpy-rng-pos": (_set("numpy_global_rng", "pos", value=9999), "numpy_global_rng"),
    "numpy-rng-key": (_array("extra/numpy_global_rng", lambda a: a[:10].copy()),
                      "numpy_global_rng"),
    "train-batch-size": (_set("config", "train", "batch_size", value=0),
                         "config.train.batch_size"),
    "train-lr": (_set("config", "train", "lr", value="fast"), "config.train.lr"),
    "train-dtype": (_set("config", "train", "dtype", value="float16"), "config.train.dtype"),
    "train-dtype-disagrees": (_set("config", "train", "dtype", value="float32"), "dtype"),
    "train-epochs": (_set("config", "train", "epochs", value=-1), "config.train.epochs"),
}


@pytest.mark.parametrize("case", list(WEIGHTS))
def test_eval_resume_and_debug_refuse_bad_weights(case: str, good: Path, tmp_path: Path
                                                  ) -> None:
    edit, key = WEIGHTS[case]
    bad = resign(good, tmp_path / "bad.npz", edit)
    if not case.startswith("optimizer"):  # eval needs the weights only
        err = assert_refused(cli("eval", "xor", "--checkpoint", bad), str(bad), key)
        assert "Traceback" not in err
    assert_refused(cli("train", "xor", "--headless", "--resume", bad, "--out", tmp_path / "r"),
                   str(bad), key)
    assert not (tmp_path / "r").exists()
    with pytest.raises(CheckpointError, match=key.replace(".", r"\.")):
        DebugSession.from_scenario(load_scenario("xor"), checkpoint=bad)


@pytest.mark.parametrize("case", list(STATE))
def test_resume_refuses_a_bad_training_state(case: str, good: Path, tmp_path: Path) -> None:
    edit, key = STATE[case]
    bad = resign(good, tmp_path / "bad.npz", edit)
    assert_refused(cli("train", "xor", "--headless", "--resume", bad, "--out", tmp_path / "r"),
                   str(bad), key)
    assert not (tmp_path / "r").exists()


def test_the_untouched_checkpoint_resumes_and_evaluates(good: Path, tmp_path: Path) -> None:
    same = resign(good, tmp_path / "same.npz", lambda meta, arrays: None)
    assert_ok(cli("eval", "xor", "--checkpoint", same))
    result = cli("train", "xor", "--headless", "--resume", same, "--epochs", 5, "--out",
                 tmp_path / "r")
    assert_ok(result)
    assert load_checkpoint(tmp_path / "r").meta["epochs_done"] == 5


def test_a_checkpoint_saved_mid_epoch_and_at_an_epoch_start_resumes(tmp_path: Path) -> None:
    """The batch position check accepts every state a trainer saves: mid-epoch (iris has 12
    batches an epoch) and stopped just before an epoch's first batch."""
    from backprop_tui.training import Trainer

    sc = load_scenario("iris").with_train(epochs=3)
    for stop_after in (5, 12):  # in epoch 1, and right after it (epoch 2 begun, no batch)
        out = tmp_path / f"stop{stop_after}"
        t = Trainer(sc, out_dir=out)
        t.run(max_iterations=stop_after)
        t.save_interrupt()
        resumed = Trainer.resume(sc, out)
        assert resumed.iteration == stop_after
        resumed.run()
        assert resumed.epochs_done == 3
