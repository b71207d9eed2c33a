"""Scenarios: the executable spec of ``backprop_tui.scenario``.

* every built-in scenario of issue 2 loads, builds the network the issue describes, and loads
  its data with the documented shapes, dtypes and splits;
* building is deterministic (same seed ⇒ bit-identical weights, in float32 and float64 alike);
* the resolved config round-trips through TOML, and the architecture hash only follows what
  decides the parameter shapes;
* the public API sequence from the issue works exactly as written;
* every bad input is one :class:`ScenarioError` whose message names the file, the dotted key and
  the value, says what was expected and, for a typo, suggests the closest valid word.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tomli_w import dumps as toml_dumps

import backprop_tui as bt
from backprop_tui.data import load_iris
from backprop_tui.engine.registry import LAYER_TYPES
from backprop_tui.errors import ScenarioError, UserError
from backprop_tui.scenario import Scenario, list_scenarios, load_scenario

# The built-ins issue 2 asks for, and their architectures as layer sizes (for MLPs) — the
# parameter counts below are computed from these, not copied from the code.
BUILTINS = (
    "and", "cifar10-cnn", "cifar10-twolayer", "iris", "iris-dropout", "mnist-cnn", "mnist-cnn-book",
    "mnist-mlp", "mnist-mlp-book",
    "mnist-twolayer", "mnist-twolayer-book", "nand", "not", "or", "perceptron", "xor",
    "xor-sigmoid",
)
MLP_SIZES = {
    "and": (2, 1), "or": (2, 1), "nand": (2, 1), "not": (1, 1),
    "perceptron": (2, 2, 1), "xor": (2, 6, 2), "xor-sigmoid": (2, 4, 1),
    "iris": (4, 20, 20, 3), "iris-dropout": (4, 20, 20, 3), "mnist-mlp": (784, 200, 80, 10),
    "mnist-twolayer": (784, 100, 10),
    "mnist-mlp-book": (784, 200, 80, 10), "mnist-twolayer-book": (784, 50, 10),
    "cifar10-twolayer": (3072, 100, 10),  # cs231n's TwoLayerNet
}


def mlp_params(sizes: tuple[int, ...]) -> int:
    """Weights and biases of a chain of affine layers."""
    return sum(a * b + b for a, b in zip(sizes, sizes[1:], strict=False))


def cnn_params() -> int:
    """The book's SimpleConvNet: conv 30@5×5 on 1×28×28 → pool 2 → affine 100 → affine 10."""
    conv = 30 * (1 * 5 * 5) + 30
    pooled = 30 * ((28 - 5 + 1) // 2) ** 2  # 30 × 12 × 12
    return conv + mlp_params((pooled, 100, 10))


def cifar_cnn_params() -> int:
    """conv 16@5×5 pad 2 on 3×32×32 → pool 2 → affine 100 → affine 10."""
    return 16 * (3 * 5 * 5) + 16 + mlp_params((16 * 16 * 16, 100, 10))


EXPECTED_PARAMS = {**{k: mlp_params(v) for k, v in MLP_SIZES.items()}, "mnist-cnn": cnn_params(),
                   "mnist-cnn-book": cnn_params(), "cifar10-cnn": cifar_cnn_params()}

# A small valid scenario that the bad-input cases below break one piece at a time.
VALID = """\
name = "tiny"
description = "a small valid scenario for the tests"

[data]
source = "xor"

[network]
loss = "softmax_cross_entropy"
layers = [
  { type = "affine", out = 6 },
  { type = "relu" },
  { type = "affine", out = 2 },
]

[train]
lr = 0.1
batch_size = 4
"""

# The same on MNIST images, for conv/pool geometry. Only parsed, never given data.
IMAGE = """\
[data]
source = "mnist"
layout = "image"

[network]
loss = "softmax_cross_entropy"
layers = [
  LAYERS
  { type = "affine", out = 10 },
]
"""


def write(tmp_path: Path, text: str, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def replaced(old: str, new: str, text: str = VALID) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once in the template"
    return text.replace(old, new)


def image(layers: str) -> str:
    return IMAGE.replace("LAYERS", layers)


def scenario_error(tmp_path: Path, text: str, name: str = "bad.toml") -> ScenarioError:
    path = write(tmp_path, text, name)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value


def assert_clear(err: UserError, *parts: str) -> None:
    """One line that contains every expected part (file, key, value, expectation, hint)."""
    msg = str(err)
    assert "\n" not in msg, f"the message must be one line: {msg!r}"
    assert isinstance(err, UserError) and err.exit_code == 2
    for part in parts:
        assert part in msg, f"{part!r} not in {msg!r}"


# ------------------------------------------------------------------------------------------
# fixtures
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scenarios() -> dict[str, Scenario]:
    return {sc.name: sc for sc in list_scenarios()}


@pytest.fixture(scope="module")
def mnist_flat() -> tuple[np.ndarray, ...]:
    """The whole of MNIST, flat, in float32 (one decode for the module: ~0.3 s, 220 MB)."""
    return load_scenario("mnist-mlp").load_data(dtype="float32")


# ------------------------------------------------------------------------------------------
# the built-ins
# ------------------------------------------------------------------------------------------
def test_list_scenarios_names_every_builtin_of_the_issue(scenarios: dict[str, Scenario]) -> None:
    assert [sc.name for sc in list_scenarios()] == sorted(BUILTINS)
    assert all(sc.builtin for sc in scenarios.values())
    assert all(sc.description for sc in scenarios.values())


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_loads_by_name_and_by_path(name: str, scenarios: dict[str, Scenario]) -> None:
    by_name = load_scenario(name)
    by_path = load_scenario(by_name.path)
    assert by_name.name == name and by_name.path.name == f"{name}.toml"
    assert by_path.config() == by_name.config()
    assert by_name.builtin and not by_path.builtin


@pytest.mark.parametrize("name", BUILTINS)
def test_param_count_and_shapes_agree_with_the_built_network(name: str, scenarios) -> None:
    sc = scenarios[name]
    net = sc.build_network(seed=0)
    assert sc.param_count == net.param_count() == EXPECTED_PARAMS[name]
    assert list(sc.shapes) == net.shapes
    assert [layer.name for layer in net.layers] == [spec.name for spec in sc.layers]
    assert net.input_shape == sc.input_shape
    if name in MLP_SIZES:
        affine = [layer.params["W"].shape for layer in net.layers if "W" in layer.params]
        sizes = MLP_SIZES[name]
        assert affine == list(zip(sizes, sizes[1:], strict=False))


def test_mnist_cnn_is_the_books_simple_conv_net(scenarios) -> None:
    sc = scenarios["mnist-cnn"]
    net = sc.build_network(seed=0)
    assert sc.input_shape == (1, 28, 28)
    assert [layer.kind for layer in net.layers] == [
        "Conv2D", "ReLU", "MaxPool2D", "Flatten", "Affine", "ReLU", "Affine"]
    assert net.shapes == [(30, 24, 24), (30, 24, 24), (30, 12, 12), (4320,), (100,), (100,),
                          (10,)]
    assert net.layers[0].params["W"].shape == (30, 1, 5, 5)
    assert sc.architecture == "conv30@5×5-pool2-100-10 ReLU"


@pytest.mark.parametrize(
    ("name", "loss", "l2", "lr"),
    [("xor", "softmax_cross_entropy", 1e-3, 0.1), ("xor-sigmoid", "mse", 0.0, 0.1),
     ("iris", "softmax_cross_entropy", 1e-3, 5e-2), ("and", "sigmoid_bce", 0.0, None)],
)
def test_builtin_hyperparameters_follow_the_issue(name, loss, l2, lr, scenarios) -> None:
    sc = scenarios[name]
    assert (sc.loss, sc.l2) == (loss, l2)
    if lr is not None:
        assert sc.train.lr == lr
    assert sc.build_network(seed=0).l2 == l2


def test_perceptron_is_hand_wired_and_forward_only(scenarios) -> None:
    sc = scenarios["perceptron"]
    assert sc.has_step and not sc.trainable
    net = sc.build_network(seed=0)
    and_layer = net.layers[2]
    np.testing.assert_array_equal(and_layer.params["W"], [[0.5], [0.5]])  # the book's AND
    np.testing.assert_array_equal(and_layer.params["b"], [-0.7])
    assert not any(layer.trainable for layer in net.layers if layer.params)
    x, t, _, _ = sc.load_data()
    out = net.forward(x)
    np.testing.assert_array_equal(out[:, 0], [0, 1, 1, 0])  # XOR from NAND, OR and AND
    np.testing.assert_array_equal(out[:, 0], t)


# ------------------------------------------------------------------------------------------
# determinism
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", BUILTINS)
def test_build_network_is_bit_identical_for_a_seed(name: str, scenarios) -> None:
    sc = scenarios[name]
    a = sc.build_network(seed=3).state_dict()
    b = sc.build_network(seed=3).state_dict()
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].tobytes() == b[key].tobytes(), key
    other = sc.build_network(seed=4).state_dict()
    differs = any(not np.array_equal(a[k], other[k]) for k in a)
    # hand-wired weights do not depend on the seed; drawn ones do
    assert differs == (name != "perceptron")


def test_default_seed_is_the_scenarios_train_seed(scenarios) -> None:
    sc = scenarios["iris"].with_train(seed=7)
    a, b = sc.build_network().state_dict(), sc.build_network(seed=7).state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("name", ["xor", "iris", "mnist-cnn"])
def test_float32_and_float64_networks_share_weights_up_to_rounding(name, scenarios) -> None:
    sc = scenarios[name]
    n64 = sc.build_network(seed=0, dtype="float64")
    n32 = sc.build_network(seed=0, dtype="float32")
    assert n64.dtype == np.float64 and n32.dtype == np.float32
    s64, s32 = n64.state_dict(), n32.state_dict()
    for key in s64:
        assert s32[key].dtype == np.float32 and s64[key].dtype == np.float64
        # drawn in float64 and cast: the float32 weights are exactly the rounded float64 ones
        np.testing.assert_array_equal(s32[key], s64[key].astype(np.float32))


# ------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------
TRUTH = {"and": [0, 0, 0, 1], "or": [0, 1, 1, 1], "nand": [1, 1, 1, 0], "xor": [0, 1, 1, 0]}


@pytest.mark.parametrize("name", ["and", "or", "nand", "xor", "xor-sigmoid", "perceptron"])
def test_gate_data_is_the_truth_table(name: str, scenarios) -> None:
    sc = scenarios[name]
    x_tr, t_tr, x_te, t_te = sc.load_data()
    assert x_tr.shape == (4, 2) and x_tr.dtype == np.float64
    assert t_tr.dtype == np.int64
    np.testing.assert_array_equal(x_tr, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(t_tr, TRUTH[sc.data.source])
    np.testing.assert_array_equal(x_te, x_tr)  # the truth table is also the test set
    np.testing.assert_array_equal(t_te, t_tr)


def test_not_gate_has_one_input(scenarios) -> None:
    x, t, _, _ = scenarios["not"].load_data(dtype="float32")
    assert x.shape == (2, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:, 0], [0, 1])
    np.testing.assert_array_equal(t, [1, 0])


def test_iris_is_a_stratified_120_30_split_standardised_on_train(scenarios) -> None:
    sc = scenarios["iris"]
    x_tr, t_tr, x_te, t_te = sc.load_data()
    assert x_tr.shape == (120, 4) and x_te.shape == (30, 4)
    assert x_tr.dtype == x_te.dtype == np.float64
    assert t_tr.dtype == t_te.dtype == np.int64
    assert np.bincount(t_tr).tolist() == [40, 40, 40]
    assert np.bincount(t_te).tolist() == [10, 10, 10]
    # standardised with the training statistics only
    np.testing.assert_allclose(x_tr.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(x_tr.std(axis=0), 1, atol=1e-12)
    assert np.abs(x_te.mean(axis=0)).max() > 1e-6  # the test set is not re-centred
    # undo the standardisation (per feature x = (raw − μ)/σ, the same map for both parts):
    # together the two parts are exactly the 150 flowers, each with its own label
    raw, labels, _ = load_iris()
    both = np.concatenate([x_tr, x_te])
    both_t = np.concatenate([t_tr, t_te])
    back = np.empty_like(both)
    for j in range(4):
        a, c = np.polyfit(np.sort(raw[:, j]), np.sort(both[:, j]), 1)
        back[:, j] = (both[:, j] - c) / a
        # σ and μ are those of the 120 training flowers only
        assert 1 / a == pytest.approx(back[:120, j].std(), rel=1e-9)
        assert -c / a == pytest.approx(back[:120, j].mean(), rel=1e-9)
    back = np.round(back, 6)
    key = lambda rows, ts: sorted(map(tuple, np.column_stack([rows, ts]).tolist()))  # noqa: E731
    assert key(back, both_t) == key(raw, labels)
    # the same split seed gives the same split
    again = sc.load_data()
    np.testing.assert_array_equal(again[0], x_tr)
    np.testing.assert_array_equal(again[3], t_te)


def test_iris_split_seed_moves_flowers_between_train_and_test(tmp_path, scenarios) -> None:
    cfg = scenarios["iris"].config()
    cfg["data"]["split_seed"] += 1
    other = load_scenario(write(tmp_path, toml_dumps(cfg), "iris2.toml"))
    x_te, t_te = scenarios["iris"].load_data()[2:]
    y_te, u_te = other.load_data()[2:]
    assert y_te.shape == x_te.shape and np.bincount(u_te).tolist() == [10, 10, 10]
    assert not np.array_equal(y_te, x_te)


def test_mnist_flat_layout(mnist_flat) -> None:
    x_tr, t_tr, x_te, t_te = mnist_flat
    assert x_tr.shape == (60000, 784) and x_te.shape == (10000, 784)
    assert x_tr.dtype == x_te.dtype == np.float32
    assert t_tr.shape == (60000,) and t_te.shape == (10000,)
    assert t_tr.dtype == t_te.dtype == np.int64
    assert 0.0 == x_tr.min() and x_tr.max() == 1.0  # pixels scaled to [0, 1]
    assert sorted(np.unique(t_tr).tolist()) == list(range(10))
    assert x_tr.flags.writeable  # a fresh array, not the shared read-only decode


def test_mnist_image_layout_and_subset_sizes(tmp_path, mnist_flat) -> None:
    text = replaced('layout = "image"', 'layout = "image"\ntrain_size = 100\ntest_size = 50',
                    image('{ type = "conv", filters = 2, size = 5 },'))
    sc = load_scenario(write(tmp_path, text, "small.toml"))
    assert sc.input_shape == (1, 28, 28)
    x_tr, t_tr, x_te, t_te = sc.load_data()  # default dtype: float64
    assert x_tr.shape == (100, 1, 28, 28) and x_te.shape == (50, 1, 28, 28)
    assert x_tr.dtype == np.float64 and t_tr.dtype == np.int64
    # the same pixels as the flat layout (the first samples), only reshaped
    np.testing.assert_allclose(x_tr.reshape(100, 784), mnist_flat[0][:100], rtol=1e-6)
    np.testing.assert_array_equal(t_tr, mnist_flat[1][:100])
    np.testing.assert_array_equal(t_te, mnist_flat[3][:50])


def test_load_batch_is_a_seeded_subset_of_the_training_set(scenarios) -> None:
    sc = scenarios["iris"]
    x_all, t_all, _, _ = sc.load_data()
    x, t = sc.load_batch(10, seed=5)
    assert x.shape == (10, 4) and t.shape == (10,) and t.dtype == np.int64
    rows = [int(np.flatnonzero((x_all == row).all(axis=1))[0]) for row in x]
    assert rows == sorted(rows) and len(set(rows)) == 10  # distinct, in training-set order
    np.testing.assert_array_equal(t, t_all[rows])
    x2, t2 = sc.load_batch(10, seed=5)
    np.testing.assert_array_equal(x2, x)
    x3, _ = sc.load_batch(10, seed=6)
    assert not np.array_equal(x3, x)
    # more than there is: the whole training set
    x_big, _ = scenarios["xor"].load_batch(100)
    assert x_big.shape == (4, 2)


def test_load_batch_of_mnist(scenarios, mnist_flat) -> None:
    x, t = scenarios["mnist-cnn"].load_batch(8, seed=0, dtype="float64")
    assert x.shape == (8, 1, 28, 28) and x.dtype == np.float64 and t.dtype == np.int64
    flat = mnist_flat[0]
    for row, label in zip(x.reshape(8, 784), t, strict=True):
        hits = np.flatnonzero(np.abs(flat - row.astype(np.float32)).max(axis=1) == 0)
        assert hits.size >= 1 and label in mnist_flat[1][hits]
    xf, tf = scenarios["mnist-mlp"].load_batch(8, seed=0, dtype="float32")
    assert xf.shape == (8, 784) and xf.dtype == np.float32
    np.testing.assert_array_equal(tf, t)  # same seed, same rows, whatever the layout


# ------------------------------------------------------------------------------------------
# config, hash, with_train, summary
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", BUILTINS)
def test_config_round_trips_through_toml(tmp_path, name: str, scenarios) -> None:
    sc = scenarios[name]
    cfg = sc.config()
    json.dumps(cfg)  # plain data only (no numpy arrays, no tuples needed)
    path = write(tmp_path, toml_dumps(cfg), f"{name}-config.toml")
    assert tomllib.loads(path.read_text()) == json.loads(json.dumps(cfg))
    again = load_scenario(path)
    assert again.config() == cfg
    assert again.architecture_hash() == sc.architecture_hash()
    a, b = sc.build_network(seed=1).state_dict(), again.build_network(seed=1).state_dict()
    assert all(a[k].tobytes() == b[k].tobytes() for k in a)


def test_architecture_hash_follows_the_layers_not_the_training(tmp_path, scenarios) -> None:
    base = load_scenario(write(tmp_path, VALID, "a.toml"))
    h = base.architecture_hash()
    assert len(h) == 64 and h == load_scenario(write(tmp_path, VALID, "b.toml")).architecture_hash()

    def hash_of(text: str) -> str:
        return load_scenario(write(tmp_path, text, "c.toml")).architecture_hash()

    # training settings, names of the scenario and descriptions do not change the shapes
    assert hash_of(replaced("lr = 0.1", "lr = 0.5")) == h
    more = 'batch_size = 2\nepochs = 3\noptimizer = "adam"'
    assert hash_of(replaced("batch_size = 4", more)) == h
    assert hash_of(replaced('name = "tiny"', 'name = "other"')) == h
    assert base.with_train(lr=0.9).architecture_hash() == h
    # the layers do
    assert hash_of(replaced("out = 6", "out = 7")) != h
    assert hash_of(replaced('{ type = "relu" }', '{ type = "tanh" }')) != h
    assert hash_of(replaced('  { type = "relu" },\n', "")) != h
    assert hash_of(replaced('loss = "softmax_cross_entropy"', 'loss = "mse"')) != h
    # and so does the data's input shape
    assert hash_of(replaced('source = "xor"', 'source = "iris"').replace("out = 2", "out = 3")) != h
    # and, or, nand: the same 2-1 network on different truth tables; the rest all differ
    hashes = {name: sc.architecture_hash() for name, sc in scenarios.items()}
    assert hashes["and"] == hashes["or"] == hashes["nand"]
    # the book variants train the same networks differently (initialisation is not shape)
    assert hashes["mnist-cnn-book"] == hashes["mnist-cnn"]
    assert hashes["mnist-mlp-book"] == hashes["mnist-mlp"]
    assert len(set(hashes.values())) == len(BUILTINS) - 4


def test_with_train_overrides_only_what_is_given(scenarios) -> None:
    sc = scenarios["xor"]
    assert sc.with_train() is sc
    other = sc.with_train(lr=0.5, epochs=None, batch_size=2)
    assert (other.train.lr, other.train.batch_size, other.train.epochs) == (0.5, 2, sc.train.epochs)
    assert sc.train.lr == 0.1  # the original is unchanged (frozen dataclasses)
    opt = other.build_optimizer()
    assert type(opt).__name__.lower() == "sgd" and opt.lr == 0.5


@pytest.mark.parametrize("kind", ["sgd", "momentum", "adagrad", "adam"])
def test_build_optimizer(tmp_path, kind: str) -> None:
    settings = f'optimizer = "{kind}"\nmomentum = 0.5\nbeta1 = 0.8\nbeta2 = 0.99'
    sc = load_scenario(write(tmp_path, replaced("batch_size = 4", settings), "opt.toml"))
    opt = sc.build_optimizer()
    assert opt.lr == 0.1 and type(opt).__name__.lower() == kind
    if kind == "momentum":
        assert opt.momentum == 0.5
    if kind == "adam":
        assert (opt.beta1, opt.beta2) == (0.8, 0.99)
    assert sc.build_optimizer(lr=0.01, optimizer="sgd").lr == 0.01


def test_summary_has_the_columns_the_scenarios_command_shows(scenarios) -> None:
    s = scenarios["xor"].summary()
    assert s == {"name": "xor", "kind": "network", "data": "XOR truth table",
                 "architecture": "2-6-2 ReLU",
                 "parameters": 32, "description": scenarios["xor"].description}
    assert scenarios["mnist-mlp"].summary()["architecture"] == "784-200-80-10 ReLU"


# ------------------------------------------------------------------------------------------
# the public API, exactly as written in the issue
# ------------------------------------------------------------------------------------------
def test_public_api_sequence_from_the_issue() -> None:
    sc = bt.load_scenario("xor")                 # built-in name or path to a .toml
    net = sc.build_network(seed=0, dtype="float64")
    x_train, y_train, x_test, y_test = sc.load_data()
    x, y = x_train, y_train
    loss = net.loss(x, y)                        # forward through every layer + loss (+ L2)
    dx = net.backward()                          # fills every layer.grads
    seen = []
    for layer in net.layers:
        seen.append((layer.name, layer.params, layer.grads, layer.cache))

    assert isinstance(loss, float) and math.isfinite(loss) and loss > 0
    assert net.l2_loss > 0 and loss == pytest.approx(net.data_loss + net.l2_loss)
    assert dx.shape == x.shape
    assert [name for name, *_ in seen] == ["affine1", "relu1", "affine2"]
    for _name, params, grads, _cache in seen:
        assert grads.keys() == params.keys()
        for k in params:
            assert grads[k].shape == params[k].shape and np.isfinite(grads[k]).all()
    assert "x" in seen[0][3] and seen[1][3]["mask"].shape == (4, 6)
    # L2 is in the gradient: dW = xᵀ·dout + λ·W
    affine2 = net.layers[2]
    h = net.inputs[2].reshape(4, -1)
    np.testing.assert_allclose(affine2.grads["W"], h.T @ net.dout + 1e-3 * affine2.params["W"])
    assert x_test.shape == (4, 2) and y_test.shape == (4,)


# ------------------------------------------------------------------------------------------
# bad input: one ScenarioError naming file, key, value, what was expected, a suggestion
# ------------------------------------------------------------------------------------------
BAD = [
    # unknown / misspelt keys, with "Did you mean"
    ("top-level typo", 'nmae = "x"\n' + VALID,
     ["nmae", "unknown key", "Did you mean 'name'?", "expected one of"]),
    ("section typo", VALID + "\n[trian]\nlr = 0.1\n",
     ["trian", "unknown key", "Did you mean 'train'?"]),
    ("train key typo", replaced("lr = 0.1", "lrr = 0.1"),
     ["train.lrr", "unknown key", "Did you mean 'lr'?", "batch_size"]),
    ("data key typo", replaced('source = "xor"', 'source = "xor"\nnormalise = "none"'),
     ["data.normalise", "Did you mean 'normalize'?"]),
    ("required layer key misspelt", replaced("out = 6", "outt = 6"),
     ["network.layers[0].out", "missing required key", "'outt'", "did you mean 'out'?"]),
    ("optional layer key misspelt", image('{ type = "maxpool", size = 2, strid = 2 },'),
     ["network.layers[0].strid", "unknown key", "Did you mean 'stride'?"]),
    ("key that the layer type does not take", replaced('{ type = "relu" }',
                                                        '{ type = "relu", out = 3 }'),
     ["network.layers[1].out", "unknown key", "expected one of name, type"]),
    ("batchnorm has no dim: it is inferred", replaced('{ type = "relu" }',
                                                      '{ type = "batchnorm", dim = 6 }'),
     ["network.layers[1].dim", "unknown key"]),
    ("debug key typo", VALID + "\n[debug]\nbatchsize = 3\n",
     ["debug.batchsize", "Did you mean 'batch_size'?"]),
    # wrong types
    ("string for a number", replaced("lr = 0.1", 'lr = "0.1"'),
     ["train.lr", "wrong type", "a string", "'0.1'", "expected a positive number"]),
    ("string for an int", replaced("out = 6", 'out = "6"'),
     ["network.layers[0].out", "a string", "'6'", "a positive integer"]),
    ("bool for an int", replaced("batch_size = 4", "batch_size = true"),
     ["train.batch_size", "a boolean", "True", "a positive integer"]),
    ("float for an int", replaced("batch_size = 4", "batch_size = 4.0"),
     ["train.batch_size", "a float", "4.0", "a positive integer"]),
    ("bool for a number", replaced("lr = 0.1", "lr = true"), ["train.lr", "a boolean"]),
    ("table for the layer array",
     '[data]\nsource = "xor"\n[network]\nloss = "mse"\n[network.layers]\ntype = "affine"\n',
     ["network.layers", "wrong type, a table", "an array of layer tables"]),
    ("int for the layer array", replaced("layers = [", "layers = 3\nold = [").split("old")[0],
     ["network.layers", "an integer", "an array of layer tables"]),
    ("number as a layer", replaced('{ type = "relu" },', "1,"),
     ["network.layers[1]", "must be a table", "(got 1)"]),
    ("string for a section", replaced('[data]\nsource = "xor"\n', 'data = "xor"\n'),
     ["data", "wrong type, a string", "'xor'", "expected a table"]),
    ("array for a string", replaced('name = "tiny"', 'name = ["tiny"]'),
     ["name", "an array", "a string"]),
    ("string for a bool", replaced("batch_size = 4", 'batch_size = 4\nenabled = "yes"'),
     ["train.enabled", "a string", "true or false"]),
    ("weights that are not numbers", replaced("out = 2 }", 'out = 2, W = "abc" }'),
     ["network.layers[2].W", "not a numeric array", "'abc'", "shape (6, 2)"]),
    ("ragged weights", replaced("out = 2 }", "out = 2, W = [[1.0], [1.0, 2.0]] }"),
     ["network.layers[2].W", "not a numeric array", "shape (6, 2)"]),
    ("weights of the wrong shape", replaced("out = 2 }", "out = 2, W = [[1.0, 2.0]] }"),
     ["network.layers[2].W", "shape (1, 2) does not fit", "[[1.0, 2.0]]", "shape (6, 2)"]),
    ("bias of the wrong shape", replaced("out = 2 }", "out = 2, b = [0.0, 0.0, 0.0] }"),
     ["network.layers[2].b", "shape (3,) does not fit", "shape (2,)"]),
    # out of range
    ("negative learning rate", replaced("lr = 0.1", "lr = -0.1"),
     ["train.lr", "out of range", "-0.1", "a positive number"]),
    ("zero learning rate", replaced("lr = 0.1", "lr = 0"), ["train.lr", "(got 0.0)"]),
    ("infinite learning rate", replaced("lr = 0.1", "lr = inf"),
     ["train.lr", "finite", "inf"]),
    ("nan l2", replaced('loss = "softmax', 'l2 = nan\nloss = "softmax'),
     ["network.l2", "finite", "nan"]),
    ("negative l2", replaced('loss = "softmax', 'l2 = -1e-3\nloss = "softmax'),
     ["network.l2", "-0.001", "a number in [0, 1e6]"]),
    ("overflowing l2", replaced('loss = "softmax', 'l2 = 1.7e308\nloss = "softmax'),
     ["network.l2", "1.7e+308", "a number in [0, 1e6]"]),
    ("overflowing init", replaced('loss = "softmax', 'init = 6.2e153\nloss = "softmax'),
     ["network.init", "6.2e+153", "a positive number ≤ 1000"]),
    ("dropout p = 1", replaced('{ type = "relu" }', '{ type = "dropout", p = 1.0 }'),
     ["network.layers[1].p", "out of range", "1.0", "a probability in [0, 1)"]),
    ("zero batch size", replaced("batch_size = 4", "batch_size = 0"),
     ["train.batch_size", "out of range", "(got 0)", "a positive integer"]),
    ("zero gradcheck batch", VALID + "\n[gradcheck]\nbatch_size = 0\n",
     ["gradcheck.batch_size", "(got 0)"]),
    ("negative epochs", replaced("batch_size = 4", "batch_size = 4\nepochs = -1"),
     ["train.epochs", "-1", "an integer ≥ 0"]),
    ("momentum 1", replaced("batch_size = 4", "batch_size = 4\nmomentum = 1"),
     ["train.momentum", "a number in [0, 1)"]),
    ("negative seed", replaced("batch_size = 4", "batch_size = 4\nseed = -1"),
     ["train.seed", "-1", "an integer ≥ 0"]),
    ("negative split seed", replaced('source = "xor"', 'source = "xor"\nsplit_seed = -1'),
     ["data.split_seed", "-1", "an integer ≥ 0"]),
    ("test fraction 1", replaced('source = "xor"', 'source = "iris"\ntest_fraction = 1.0')
     .replace("out = 2", "out = 3"), ["data.test_fraction", "1.0", "between 0 and 1"]),
    ("zero units", replaced("out = 6", "out = 0"),
     ["network.layers[0].out", "(got 0)", "a positive integer"]),
    ("negative padding", image('{ type = "conv", filters = 2, size = 3, pad = -1 },'),
     ["network.layers[0].pad", "-1", "an integer ≥ 0"]),
    ("negative init std", replaced('loss = "softmax', 'init = -1\nloss = "softmax'),
     ["network.init", "-1", '"he", "xavier" or a positive number']),
    # sizes that do not chain, geometry that does not divide
    ("conv after a flat layer", replaced('{ type = "relu" }',
                                         '{ type = "conv", filters = 2, size = 3 }'),
     ["network.layers[1]", "Conv2D", "expects image inputs", "(6,)"]),
    ("max-pool after a flat layer", replaced('{ type = "relu" }',
                                             '{ type = "maxpool", size = 2 }'),
     ["network.layers[1]", "MaxPool2D", "expects image inputs"]),
    ("batchnorm on images", image('{ type = "batchnorm" },'),
     ["network.layers[0]", "BatchNorm", "flat (N, D)", "(1, 28, 28)"]),
    ("conv on flat MNIST", image('{ type = "conv", filters = 2, size = 5 },')
     .replace('"image"', '"flat"'), ["network.layers[0]", "expects image inputs", "(784,)"]),
    ("conv stride that does not divide", image('{ type = "conv", filters = 2, size = 5, '
                                               'stride = 2 },'),
     ["network.layers[0]", "5×5 filter with stride 2", "does not tile a 28×28 input"]),
    ("conv larger than the image", image('{ type = "conv", filters = 2, size = 30 },'),
     ["network.layers[0]", "30×30", "does not tile"]),
    ("pool window that does not divide", image('{ type = "maxpool", size = 3 },'),
     ["network.layers[0]", "3×3 window with stride 3", "does not tile a 28×28 input"]),
    ("pool after conv that does not divide", image(
        '{ type = "conv", filters = 2, size = 4 },\n  { type = "maxpool", size = 2 },'),
     ["network.layers[1]", "MaxPool2D", "25×25"]),
    # unknown layer, loss, source…
    ("unknown layer type", replaced('"relu"', '"rleu"'),
     ["network.layers[1].type", "unknown value", "'rleu'", "Did you mean 'relu'?",
      ", ".join(LAYER_TYPES)]),
    ("unknown layer type without a near miss", replaced('"relu"', '"lstm"'),
     ["network.layers[1].type", "'lstm'", "expected one of affine"]),
    ("unknown loss", replaced("softmax_cross_entropy", "softmax_crossentropy"),
     ["network.loss", "'softmax_crossentropy'", "Did you mean 'softmax_cross_entropy'?",
      "sigmoid_bce, mse"]),
    ("unknown source", replaced('"xor"', '"xro"'),
     ["data.source", "'xro'", "Did you mean 'xor'?", "iris, mnist"]),
    ("unknown optimizer", replaced("lr = 0.1", 'lr = 0.1\noptimizer = "adamw"'),
     ["train.optimizer", "'adamw'", "Did you mean 'adam'?"]),
    ("unknown dtype", replaced("lr = 0.1", 'lr = 0.1\ndtype = "float16"'),
     ["train.dtype", "'float16'", "float32, float64"]),
    ("unknown init", replaced('loss = "softmax', 'init = "kaiming"\nloss = "softmax'),
     ["network.init", "'kaiming'", '"he", "xavier"']),
    ("unknown layout", replaced('"image"', '"images"', image("")),
     ["data.layout", "Did you mean 'image'?"]),
    # losses that do not fit the output
    ("softmax with one output", replaced("out = 2", "out = 1"),
     ["network.loss", "at least 2 class scores", "(1,)", "'softmax_cross_entropy'"]),
    ("binary cross-entropy with two outputs",
     replaced("out = 2", "out = 2").replace("softmax_cross_entropy", "sigmoid_bce"),
     ["network.layers", "(2,)", "sigmoid_bce", "needs 1 output", "Set out = 1"]),
    ("softmax with too few classes for iris",
     replaced('source = "xor"', 'source = "iris"'),
     ["network.layers", "(2,)", "iris", "3 classes", "Set out = 3"]),
    ("binary cross-entropy on three classes",
     replaced('source = "xor"', 'source = "iris"').replace("out = 2", "out = 1")
     .replace("softmax_cross_entropy", "sigmoid_bce"),
     ["network.loss", "sigmoid_bce is for two classes", "iris data has 3"]),
    ("softmax with too few classes for MNIST", image("").replace("out = 10", "out = 5"),
     ["network.layers", "10 classes", "Set out = 10"]),
    # structure
    ("empty layer list", replaced("layers = [", "layers = []\nold = [").split("old")[0],
     ["network.layers", "at least one layer"]),
    ("no [data]", VALID.split("[data]")[0] + "[network]" + VALID.split("[network]")[1],
     ["data", "missing required key", "a table"]),
    ("no source", replaced('source = "xor"\n', ""),
     ["data.source", "missing required key", "one of and, or, nand, not, xor, iris, mnist"]),
    ("no loss", replaced('loss = "softmax_cross_entropy"\n', ""),
     ["network.loss", "missing required key", "softmax_cross_entropy"]),
    ("no layers", VALID.split("layers = [")[0] + "\n[train]\nlr = 0.1\n",
     ["network.layers", "missing required key"]),
    ("layer without a type", replaced('{ type = "relu" }', '{ name = "r" }'),
     ["network.layers[1].type", "missing required key"]),
    ("conv without a size", image('{ type = "conv", filters = 2 },'),
     ["network.layers[0].size", "missing required key", "a positive integer"]),
    ("duplicate layer names", replaced('{ type = "relu" }',
                                       '{ type = "relu", name = "a" },\n  '
                                       '{ type = "tanh", name = "a" }'),
     ["network.layers[2].name", "unique", "'a'"]),
    ("a layer called loss", replaced('{ type = "relu" }', '{ type = "relu", name = "loss" }'),
     ["network.layers[1].name", "'loss'"]),
    ("invalid TOML", VALID + "\n[train\n", ["not valid TOML", "line"]),
    ("a key given twice", replaced("lr = 0.1", "lr = 0.1\nlr = 0.2"), ["not valid TOML"]),
    ("an empty file", "", ["data", "missing required key"]),
]


@pytest.mark.parametrize(("text", "parts"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_scenario_is_one_clear_error(tmp_path: Path, text: str, parts: list[str]) -> None:
    err = scenario_error(tmp_path, text)
    assert_clear(err, str(tmp_path / "bad.toml"), *parts)


def test_error_fields_are_structured(tmp_path) -> None:
    err = scenario_error(tmp_path, replaced("lr = 0.1", "lr = -0.1"))
    assert (err.file, err.key, err.value) == (str(tmp_path / "bad.toml"), "train.lr", -0.1)
    assert err.expected == "a positive number"
    assert str(err).startswith(f"{tmp_path / 'bad.toml'}: train.lr: ")


def test_what_is_accepted(tmp_path) -> None:
    """The edges of the rules above: these load (and build)."""
    ok = [
        replaced("lr = 0.1", "lr = 1"),  # an integer where a float is expected
        # affine after conv/pool flattens by itself; no Flatten layer needed
        image('{ type = "conv", filters = 2, size = 5 },\n  { type = "maxpool", size = 2 },'),
        # BatchNorm takes its size from the layer before it
        replaced('{ type = "relu" }', '{ type = "batchnorm" }'),
        replaced("out = 2", "out = 1").replace("softmax_cross_entropy", "mse"),
        replaced("out = 2", "out = 1").replace("softmax_cross_entropy", "sigmoid_bce"),
        replaced("out = 6", 'out = 6, init = 0.01, name = "hidden"'),
        replaced('{ type = "relu" }', '{ type = "dropout", p = 0.0 }'),
    ]
    for i, text in enumerate(ok):
        sc = load_scenario(write(tmp_path, text, f"ok{i}.toml"))
        net = sc.build_network(seed=0)
        assert net.param_count() == sc.param_count
    conv = load_scenario(tmp_path / "ok1.toml")
    assert conv.shapes == ((2, 24, 24), (2, 12, 12), (10,))
    bn = load_scenario(tmp_path / "ok2.toml").build_network()
    assert bn.layers[1].params["gamma"].shape == (6,)


# -- references that are not scenarios ------------------------------------------------------
@pytest.mark.parametrize(
    ("ref", "suggestion"),
    [("xorr", "Did you mean 'xor'?"), ("mnist_cnn", "Did you mean 'mnist-cnn'?"),
     ("XOR", "Did you mean 'xor'?"), ("iris2", "Did you mean 'iris'?"),
     ("mnist-conv", "Did you mean 'mnist-cnn'?")],
)
def test_unknown_name_suggests_the_closest_builtin(ref: str, suggestion: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(ref)
    assert_clear(info.value, f"unknown scenario {ref!r}", suggestion, ", ".join(sorted(BUILTINS)),
                 "backprop-tui scenarios")


def test_unknown_name_without_a_near_miss_lists_the_builtins() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario("zzzzzz")
    assert "Did you mean" not in str(info.value)
    assert_clear(info.value, "'zzzzzz'", "mnist-twolayer", "a path to a .toml file")


@pytest.mark.parametrize("ref", ["nope.toml", "./missing/x.toml", "sub/dir/scenario.toml"])
def test_missing_path(tmp_path, monkeypatch, ref: str) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ScenarioError) as info:
        load_scenario(ref)
    assert_clear(info.value, str(Path(ref)), "no such scenario file", ".toml")


def test_missing_path_object(tmp_path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "xor")  # a Path is a path, never a built-in name
    assert_clear(info.value, str(tmp_path / "xor"), "no such scenario file")


@pytest.mark.parametrize("name", ["folder", "folder.toml"])
def test_a_directory_is_not_a_scenario(tmp_path, name: str) -> None:
    (tmp_path / name).mkdir()
    for ref in (tmp_path / name, str(tmp_path / name)):
        with pytest.raises(ScenarioError) as info:
            load_scenario(ref)
        assert_clear(info.value, str(tmp_path / name), "is a folder, not a scenario file")


def test_a_non_utf8_file(tmp_path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "café"\n'.encode("latin-1"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert_clear(info.value, str(path), "cannot read", "utf-8")


# -- no other exception escapes, whatever the values ------------------------------------------
_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 40), st.floats(allow_nan=True, width=64),
    st.text(max_size=8), st.lists(st.integers(-2, 5), max_size=3),
    st.dictionaries(st.sampled_from(["type", "out", "x"]), st.integers(0, 3), max_size=2),
)
_SLOTS = [
    ("name",), ("data",), ("data", "source"), ("data", "normalize"), ("data", "layout"),
    ("data", "test_fraction"), ("data", "split_seed"), ("network",), ("network", "loss"),
    ("network", "l2"), ("network", "init"), ("network", "layers"), ("network", "layers", 0),
    ("network", "layers", 0, "out"), ("network", "layers", 0, "type"),
    ("network", "layers", 1, "type"), ("network", "layers", 1, "p"), ("network", "layers", 0, "W"),
    ("network", "layers", 2, "out"), ("train",), ("train", "lr"), ("train", "batch_size"),
    ("train", "optimizer"), ("train", "dtype"), ("train", "seed"), ("debug", "batch_size"),
    ("gradcheck", "batch_size"), ("extra",),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.sampled_from(_SLOTS), _VALUES), min_size=1, max_size=3))
def test_any_value_anywhere_loads_or_is_a_scenario_error(edits) -> None:
    """Put arbitrary values at arbitrary places: the result loads, builds and runs one
    forward/backward pass on its data, or it is a ScenarioError — never anything else."""
    import tempfile

    doc = tomllib.loads(VALID)
    for slot, value in edits:
        target = doc
        try:
            for key in slot[:-1]:
                target = target[key]
            if value is None:
                del target[slot[-1]]
            else:
                target[slot[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    try:
        text = toml_dumps(doc)
    except TypeError:
        return
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fuzz.toml"
        path.write_text(text, encoding="utf-8")
        try:
            sc = load_scenario(path)
        except ScenarioError as e:
            assert "\n" not in str(e) and str(path) in str(e)
            return
    if sc.data.source == "mnist":
        return
    net = sc.build_network(seed=0)
    x, t = sc.load_batch(4)
    assert np.isfinite(net.loss(x, t))
    net.backward()


def test_mnist_only_settings_are_refused_elsewhere(tmp_path) -> None:
    """Settings that would be silently ignored are refused, with the reason."""
    for setting in ('layout = "image"', "train_size = 2", "test_size = 2"):
        text = replaced('source = "xor"', f'source = "xor"\n{setting}')
        err = scenario_error(tmp_path, text)
        assert_clear(err, "bad.toml", "data." + setting.split(" ")[0], "only applies to MNIST")


def test_iris_test_fraction_must_leave_flowers_on_both_sides(tmp_path) -> None:
    text = IRIS_TEMPLATE.replace("test_fraction = 0.2", "test_fraction = 0.001")
    err = scenario_error(tmp_path, text)
    assert_clear(err, "data.test_fraction", "0.001", "fewer than one flower per class")


IRIS_TEMPLATE = """
[data]
source = "iris"
test_fraction = 0.2
[network]
loss = "softmax_cross_entropy"
layers = [ { type = "affine", out = 3 } ]
"""


def test_architecture_hash_ignores_initialisation(tmp_path) -> None:
    a = load_scenario(write(tmp_path, IRIS_TEMPLATE, "a.toml"))
    b = load_scenario(write(tmp_path, IRIS_TEMPLATE.replace('out = 3 }', 'out = 3, init = 0.01 }'),
                            "b.toml"))
    assert a.architecture_hash() == b.architecture_hash()


def test_lr_decay_is_validated(tmp_path) -> None:
    sc = load_scenario(write(tmp_path, replaced("lr = 0.1", "lr = 0.2\nlr_decay = 0.5"), "a.toml"))
    assert sc.epoch_lr(1) == 0.2 and sc.epoch_lr(3) == 0.05
    err = scenario_error(tmp_path, replaced("lr = 0.1", "lr = 0.1\nlr_decay = 1.5"))
    assert_clear(err, "train.lr_decay", "1.5", "a factor in (0, 1]")


@pytest.mark.parametrize(("layer", "words"), [
    ('{ type = "affine", out = 1, init = 1e400 }', ["init", "(got inf)"]),
    ('{ type = "affine", out = 1, W = [[nan], [1.0]] }', ["network.layers[0].W",
                                                           "holds NaN or inf"]),
])
def test_infinite_or_nan_weights_are_refused(tmp_path, layer, words) -> None:
    path = tmp_path / "s.toml"
    path.write_text(f'[data]\nsource = "and"\n[network]\nloss = "sigmoid_bce"\n'
                    f'layers = [ {layer} ]\n')
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    for w in words:
        assert w in str(e.value)
