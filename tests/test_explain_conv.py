"""bt.explain for Conv2D and MaxPool2D: every term checked against a naive loop over the padded
input, the terms summing to the entry the tensor holds (1e-12 rel), and ``inputs`` exactly the
entries that feed it — found by perturbing every entry of x, W, b, dout (and the max-pool's
routing caches) and re-running the layer's own code. Random geometries (hypothesis: batch,
channels, filters, kernel, stride, padding), ties in max-pool windows, and the mnist-cnn
scenario's real first debugger batch.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_conv import conv_geometry, overlapping_pool, tiling_pool
from test_explain import assert_sums, one_layer_net
from test_explain_scenarios import test_every_tensor_of_a_scenario_is_explained as explain_all
from test_tui_cut_numbers import cut_numbers

import backprop_tui as bt
from backprop_tui.engine.explain import Context, Entry, Explanation, explain, fmt_index, num

EXAMPLES = settings(max_examples=20, deadline=None, derandomize=True)
BACKWARD = ("dW", "db", "dx")


# -- the networks: one layer, a squared loss against random targets (a generic dout) ----------
def conv_net(geom, seed: int, l2: float = 0.0, zeros: bool = False) -> bt.Network:
    """``zeros``: about a third of x is exactly 0 (as after a ReLU): a product with such an x
    is 0 whatever its other factor, which then feeds nothing."""
    n, c, h, w, fn, fh, fw, stride, pad = geom
    rng = np.random.default_rng(seed)
    layer = bt.Conv2D(rng.normal(size=(fn, c, fh, fw)), rng.normal(size=fn), stride, pad,
                      name="conv1")
    out = layer.output_shape((c, h, w))
    x = rng.normal(size=(n, c, h, w))
    if zeros:
        x[rng.random(x.shape) < 0.35] = 0.0
    return with_zero_dout(one_layer_net(layer, x, math.prod(out), seed, l2), zeros, rng)


def with_zero_dout(net: bt.Network, zeros: bool, rng: np.random.Generator) -> bt.Network:
    """``zeros``: about a third of the gradient reaching the layer is exactly 0 (as below a
    ReLU that blocks), and its backward runs again on it."""
    if zeros:
        net.dout[rng.random(net.dout.shape) < 0.35] = 0.0
        net.backward_layer(0, net.dout)
    return net


def pool_net(geom, seed: int, ties: bool, zeros: bool = False) -> bt.Network:
    """``ties``: the inputs are 0, 1 or 2, so most windows hold their max more than once."""
    n, c, h, w, size, stride, pad = geom
    rng = np.random.default_rng(seed)
    layer = bt.MaxPool2D(size, stride, pad, name="pool1")
    x = rng.integers(0, 3, size=(n, c, h, w)).astype(float) if ties else \
        rng.normal(size=(n, c, h, w))
    net = one_layer_net(layer, x, math.prod(layer.output_shape((c, h, w))), seed)
    return with_zero_dout(net, zeros, rng)


def padded(x: np.ndarray, pad: int, fill: float = 0.0) -> np.ndarray:
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=fill)


# -- the reference: the terms from naive loops over the padded input -----------------------------
def reference_terms(net: bt.Network, tensor: str, idx: tuple[int, ...]) -> list[float]:
    """Every product of the formula (padding products included, as 0), computed directly."""
    layer = net.layers[0]
    x, dout, l2 = net.inputs[0], Context(net).at("conv1", "dout").array(), net.l2
    W, b = layer.params["W"], layer.params["b"]
    s, p = layer.stride, layer.pad
    xp = padded(x, p)
    F, C, FH, FW = W.shape
    N, _, OH, OW = dout.shape
    if tensor == "y":
        n, f, i, j = idx
        return [xp[n, c, i * s + a, j * s + q] * W[f, c, a, q]
                for c in range(C) for a in range(FH) for q in range(FW)] + [b[f]]
    if tensor == "dW":
        f, c, a, q = idx
        return [dout[n, f, i, j] * xp[n, c, i * s + a, j * s + q]
                for n in range(N) for i in range(OH) for j in range(OW)] + [l2 * W[idx]]
    if tensor == "db":
        return list(dout[:, idx[0]].ravel())
    n, c, h, w = idx
    return [dout[n, f, i, j] * W[f, c, h + p - i * s, w + p - j * s]
            for f in range(F) for i in range(OH) for j in range(OW)
            if 0 <= h + p - i * s < FH and 0 <= w + p - j * s < FW]


def assert_terms_are_the_reference(net: bt.Network, e: Explanation) -> None:
    """The nonzero terms are exactly the nonzero products of the formula (a zero product, such
    as one over padding, may be left out); the stored entry is what the code computed."""
    got = sorted(v for _, v in e.terms if v != 0)
    want = sorted(v for v in reference_terms(net, e.tensor, e.index) if v != 0)
    assert got == want, (e.entry, got, want)


def conv_replay(layer: bt.Conv2D, l2: float, x, W, b, dout) -> dict[str, np.ndarray]:
    """The layer's own code on these arrays (a fresh layer: forward, then backward, then L2 as
    Network.backward_layer adds it)."""
    fresh = bt.Conv2D(W, b, layer.stride, layer.pad)
    y = fresh.forward(x)
    dx = fresh.backward(dout)
    return {"y": y, "dW": fresh.grads["W"] + l2 * W, "db": fresh.grads["b"], "dx": dx}


def assert_conv_inputs_exact(net: bt.Network, e: Explanation) -> None:
    """Bump every entry of x, W, b (and dout, for a gradient) one at a time: the explained entry
    changes exactly when the bumped entry is listed in ``e.inputs``."""
    layer = net.layers[0]
    arrays = {"x": net.inputs[0], "W": layer.params["W"], "b": layer.params["b"],
              "dout": net.dout}
    listed = {(i.tensor, i.index) for i in e.inputs}
    assert len(listed) == len(e.inputs), "an input listed twice"
    assert all(i.layer == "conv1" for i in e.inputs)
    assert conv_replay(layer, net.l2, *arrays.values())[e.tensor][e.index] == e.value
    for name in (["x", "W", "b"] if e.tensor == "y" else arrays):
        for idx in np.ndindex(arrays[name].shape):
            bumped = {k: v.copy() for k, v in arrays.items()}
            bumped[name][idx] += 0.5 + 0.25 * abs(bumped[name][idx])
            new = conv_replay(layer, net.l2, *bumped.values())[e.tensor][e.index]
            assert (new != e.value) == ((name, idx) in listed), (
                f"{e.entry}: bumping {name}{list(idx)} "
                f"{'changes' if new != e.value else 'does not change'} it")


def draw_index(data, shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(data.draw(st.integers(0, d - 1)) for d in shape)


# -- Conv2D: hypothesis over geometries ---------------------------------------------------------
@EXAMPLES
@given(geom=conv_geometry(), seed=st.integers(0, 10**6), l2=st.sampled_from([0.0, 0.1]),
       zeros=st.booleans())
def test_conv_every_entry_sums_to_what_the_tensor_holds_and_matches_the_naive_terms(
        geom, seed, l2, zeros):
    net = conv_net(geom, seed, l2, zeros)
    layer = net.layers[0]
    for tensor, a in (("y", net.output), ("dW", layer.grads["W"]), ("db", layer.grads["b"]),
                      ("dx", net.dinputs[0])):
        for idx in np.ndindex(a.shape):
            e = explain(net, "conv1", tensor, idx)
            assert e.entry == Entry("conv1", tensor, idx) and e.value == a[idx]
            assert_sums(e)
            assert_terms_are_the_reference(net, e)


@EXAMPLES
@given(geom=conv_geometry(), seed=st.integers(0, 10**6), l2=st.sampled_from([0.0, 0.1]),
       zeros=st.booleans(), data=st.data())
def test_conv_inputs_are_exactly_the_entries_that_feed_it(geom, seed, l2, zeros, data):
    net = conv_net(geom, seed, l2, zeros)
    shapes = {"y": net.output.shape, "dW": net.layers[0].params["W"].shape,
              "db": net.layers[0].params["b"].shape, "dx": net.inputs[0].shape}
    for tensor, shape in shapes.items():
        assert_conv_inputs_exact(net, explain(net, "conv1", tensor, draw_index(data, shape)))


def test_conv_padding_shows_as_zero_and_feeds_nothing():
    """A 3×3 kernel with pad 1 at the corner output: 5 of its 9 cells are padding."""
    geom = (1, 2, 3, 3, 2, 3, 3, 1, 1)
    net = conv_net(geom, 4)
    e = explain(net, "conv1", "y", (0, 1, 0, 0))
    assert_conv_inputs_exact(net, e)
    pads = [label for label, v in e.terms if "padding" in label]
    assert len(pads) == 2 * 5 and len(e.terms) == 2 * 9 + 1
    assert Entry("conv1", "W", (1, 0, 0, 0)) not in e.inputs  # over padding
    assert Entry("conv1", "W", (1, 0, 1, 1)) in e.inputs
    window, kernel = e.grids[0], e.grids[1]
    assert window.title == "x[0,0] window, rows −1…1, columns −1…1"
    np.testing.assert_array_equal(window.values[0], 0)
    np.testing.assert_array_equal(window.values[1:, 1:], net.inputs[0][0, 0, :2, :2])
    np.testing.assert_array_equal(kernel.values, net.layers[0].params["W"][1, 0])
    assert any("padding cell(s) are 0" in note for note in e.notes)


def test_conv_dx_of_a_pixel_no_window_covers_is_zero_with_a_note():
    """1×1 kernel, stride 2 over a 3×3 input: row 1 and column 1 are skipped."""
    geom = (1, 1, 3, 3, 2, 1, 1, 2, 0)
    net = conv_net(geom, 1)
    e = explain(net, "conv1", "dx", (0, 0, 1, 2))
    assert e.value == 0 and e.terms == [] and e.inputs == []
    assert any("no window covers x[0,0,1,2]" in note for note in e.notes)
    covered = explain(net, "conv1", "dx", (0, 0, 2, 2))
    assert len(covered.terms) == 2  # one window, two filters
    assert_conv_inputs_exact(net, covered)


def test_conv_channels_beyond_the_grid_limit_are_named_in_a_note():
    net = conv_net((1, 3, 4, 4, 1, 2, 2, 2, 0), 2)
    e = explain(net, "conv1", "y", (0, 0, 1, 1))
    assert len(e.grids) == 4  # window and kernel of 2 channels
    assert any("grids of 2 of 3 channels" in note for note in e.notes)
    assert len(e.terms) == 3 * 4 + 1


def test_a_stored_entry_that_differs_from_its_terms_is_reported():
    """The rule explains the numbers the tensor holds: a changed dW entry is a finding."""
    net = conv_net((1, 1, 3, 3, 1, 2, 2, 1, 0), 0)
    net.layers[0].grads["W"][0, 0, 1, 1] += 1.0
    e = explain(net, "conv1", "dW", (0, 0, 1, 1))
    assert any("sum to" in note for note in e.notes)
    assert e.value == net.layers[0].grads["W"][0, 0, 1, 1]


def test_conv_col_is_one_entry_of_x_or_padding():
    net = conv_net((1, 1, 2, 2, 1, 3, 3, 1, 1), 0)
    col = net.layers[0].cache["col"]  # rows (n, i, j), columns (c, p, q)
    corner = explain(net, "conv1", "col", (0, 0))  # output (0,0), kernel cell (0,0): padding
    assert corner.value == 0 and corner.inputs == [] and "padding" in corner.substituted
    e = explain(net, "conv1", "col", (3, 4))  # output (1,1), kernel centre: x[0,0,1,1]
    assert e.value == col[3, 4] == net.inputs[0][0, 0, 1, 1]
    assert e.inputs == [Entry("conv1", "x", (0, 0, 1, 1))]


# -- MaxPool2D ----------------------------------------------------------------------------------
def naive_winner(x: np.ndarray, size: int, stride: int, pad: int, n: int, c: int, i: int,
                 j: int) -> tuple[int, int, int, int]:
    """The x entry that wins window (i, j): the first maximum, row by row; padding never."""
    win = padded(x, pad, -np.inf)[n, c, i * stride:i * stride + size, j * stride:j * stride + size]
    a, q = divmod(int(np.argmax(win)), size)
    return n, c, i * stride + a - pad, j * stride + q - pad


def assert_pool_entry(net: bt.Network, e: Explanation) -> None:
    """Against the naive winners: y is its window's winner (the one input: raising it raises
    y, lowering any other entry leaves y alone); dx sums dout over the windows it won, and is
    fed exactly by those douts and the routing cache the code reads."""
    layer, x, dout = net.layers[0], net.inputs[0], net.dout
    k, s, p = layer.size, layer.stride, layer.pad
    _, _, OH, OW = dout.shape
    if e.tensor == "y":
        win = naive_winner(x, k, s, p, *e.index)
        assert e.inputs == [Entry("pool1", "x", win)] and e.value == x[win]
        assert e.grids[0].highlight == {(win[2] - e.index[2] * s + p, win[3] - e.index[3] * s + p)}
        for idx in np.ndindex(x.shape):
            moved = x.copy()
            moved[idx] += 0.5 if idx == win else -0.5
            y = bt.MaxPool2D(k, s, p).forward(moved)[e.index]
            assert (y != e.value) == (idx == win), (e.entry, idx)
        return
    won = [(i, j) for i in range(OH) for j in range(OW)
           if naive_winner(x, k, s, p, e.index[0], e.index[1], i, j) == e.index]
    assert sorted(v for _, v in e.terms) == sorted(dout[(*e.index[:2], i, j)] for i, j in won)
    listed = {(i.tensor, i.index) for i in e.inputs}
    assert len(listed) == len(e.inputs)
    base = layer.backward(dout)[e.index]
    assert base == e.value
    for idx in np.ndindex(dout.shape):  # dout: linear, any bump tells
        bumped = dout.copy()
        bumped[idx] += 1.0
        assert (layer.backward(bumped)[e.index] != base) == (("dout", idx) in listed)
    for name in ("switches", "argmax"):  # the routing: does any value of the entry move it?
        cache = layer.cache[name]
        for idx in np.ndindex(cache.shape):
            old, moves = cache[idx], False
            for v in ([not old] if name == "switches" else range(k * k)):
                cache[idx] = v
                moves |= bool(layer.backward(dout)[e.index] != base)
            cache[idx] = old
            assert moves == ((name, idx) in listed), (e.entry, name, idx)


@EXAMPLES
@given(geom=st.one_of(tiling_pool(), overlapping_pool()), seed=st.integers(0, 10**6),
       ties=st.booleans(), zeros=st.booleans(), data=st.data())
def test_maxpool_winner_and_routing_over_random_geometries_with_ties(geom, seed, ties, zeros,
                                                                     data):
    net = pool_net(geom, seed, ties, zeros)
    for tensor, a in (("y", net.output), ("dx", net.dinputs[0])):
        for idx in np.ndindex(a.shape):
            e = explain(net, "pool1", tensor, idx)
            assert e.value == a[idx]
            assert_sums(e)
        assert_pool_entry(net, explain(net, "pool1", tensor, draw_index(data, a.shape)))


def test_maxpool_tie_goes_to_the_first_maximum_as_the_code_picks():
    x = np.array([[[[1.0, 3.0, 0.0], [3.0, 3.0, 2.0], [0.0, 1.0, 2.0]]]])
    net = one_layer_net(bt.MaxPool2D(2, stride=1, name="pool1"), x, 4, 0)
    e = explain(net, "pool1", "y", (0, 0, 0, 0))
    assert e.inputs == [Entry("pool1", "x", (0, 0, 0, 1))]
    assert e.grids[0].highlight == {(0, 1)}
    assert any("a tie: 2 other cell(s)" in note for note in e.notes)
    # windows (stride 1): (0,0) and (0,1) are won by x[0,0,0,1], (1,0) by x[0,0,1,0] and
    # (1,1) by x[0,0,1,1] (the first 3 of its row-major order)
    d = explain(net, "pool1", "dx", (0, 0, 0, 1))
    assert {label.split()[0] for label, _ in d.terms} == {"dout[0,0,0,0]", "dout[0,0,0,1]"}
    assert_pool_entry(net, d)
    assert_pool_entry(net, explain(net, "pool1", "dx", (0, 0, 1, 1)))
    none = explain(net, "pool1", "dx", (0, 0, 0, 0))
    assert none.value == 0 and none.terms == []
    assert any("not the max of any window" in note for note in none.notes)


def test_maxpool_switches_and_argmax_name_the_window():
    x = np.array([[[[1.0, 4.0], [2.0, 3.0]]]])
    net = one_layer_net(bt.MaxPool2D(2, name="pool1"), x, 1, 0)
    e = explain(net, "pool1", "argmax", (0, 0, 0, 0))
    assert e.value == 1 and e.grids[0].highlight == {(0, 1)}
    won = explain(net, "pool1", "switches", (0, 0, 0, 1))
    assert won.value == 1  # the one window's 4 entries decide it
    assert {i.index for i in won.inputs} == {(0, 0, h, w) for h in (0, 1) for w in (0, 1)}
    assert explain(net, "pool1", "switches", (0, 0, 1, 1)).value == 0


# -- the mnist-cnn scenario's first debugger batch -----------------------------------------------
@pytest.fixture(scope="module")
def mnist_cnn() -> bt.Network:
    from backprop_tui.tui.session import DebugSession

    session = DebugSession.from_scenario(bt.load_scenario("mnist-cnn"))
    net = session.net
    net.loss(*session.stepper.batch)
    net.backward()
    return net


def busiest(a: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(np.argmax(np.abs(a)), a.shape))


@pytest.mark.parametrize(("layer", "tensor"), [
    ("conv1", t) for t in ("x", "y", "col", "W", "b", "dout", "dW", "db", "dx")] + [
    ("maxpool1", t) for t in ("x", "y", "switches", "argmax", "dout", "dx")])
def test_mnist_cnn_one_entry_of_each_tensor(mnist_cnn, layer, tensor):
    a = Context(mnist_cnn).at(layer, tensor).array()
    idx = busiest(a)
    e = explain(mnist_cnn, layer, tensor, idx)
    assert e.value == a[idx]
    assert e.value != 0 or tensor == "b"  # mnist-cnn's biases start at 0
    assert_sums(e)
    if layer == "conv1" and tensor in ("y", *BACKWARD):
        assert_terms_are_the_reference(mnist_cnn, e)
    zeros = sum(1 for _, v in e.terms if v == 0)
    if layer == "conv1" and tensor in BACKWARD and zeros:  # ReLU and max-pool block many
        assert f"{zeros} of the {len(e.terms)} terms are 0 (a factor is 0)" in e.notes
    text = str(e)
    assert all(len(line) <= 80 for line in text.splitlines()), text
    assert not cut_numbers(text), text
    assert text.splitlines()[0] == f"{layer}.{tensor}{fmt_index(idx)} = {num(e.value)}"


def test_mnist_cnn_conv_output_draws_its_window_and_kernel_small(mnist_cnn):
    conv = mnist_cnn.layers[0]
    e = explain(mnist_cnn, "conv1", "y", (3, 7, 10, 12))
    x = mnist_cnn.inputs[0][3, 0, 10:15, 12:17]
    assert [g.values.shape for g in e.grids] == [(5, 5), (5, 5)]
    np.testing.assert_array_equal(e.grids[0].values, x)
    np.testing.assert_array_equal(e.grids[1].values, conv.params["W"][7, 0])
    assert len(e.terms) == 26
    # a background pixel is 0: its kernel entry feeds nothing (the pixel itself does)
    assert 0 < np.count_nonzero(x) < 25
    assert len(e.inputs) == 25 + np.count_nonzero(x) + 1
    lines = str(e).splitlines()
    grid = lines.index(f"  {e.grids[0].title}:")
    assert all(len(line) <= 60 for line in lines[grid:grid + 12])  # small: 5 numbers a row


def test_mnist_cnn_pool_dx_follows_the_chain_to_the_conv(mnist_cnn):
    """maxpool1.dx of a window's winner ← its dout = relu1's … explain follows the chain."""
    sw = mnist_cnn.layers[2].cache["switches"]
    idx = tuple(int(i) for i in np.argwhere(sw & (mnist_cnn.dinputs[2] != 0))[0])
    e = explain(mnist_cnn, "maxpool1", "dx", idx)
    dout = next(i for i in e.inputs if i.tensor == "dout")
    e2 = explain(mnist_cnn, dout.layer, dout.tensor, dout.index)
    assert e2.inputs == [Entry("flatten1", "dx", dout.index)]
    assert e.value == e2.value


@pytest.mark.parametrize("name", ["mnist-cnn", "mnist-cnn-book", "cifar10-cnn"])
def test_every_conv_scenario_explains_its_corner_and_centre_at_80_columns(name):
    """The built-in conv networks on random images of their shape (CIFAR-10 is not on the
    machine): padding (cifar10-cnn pads 2) and several channels, every text within 80."""
    sc = bt.load_scenario(name)
    net = sc.build_network(seed=0, dtype="float64")
    rng = np.random.default_rng(0)
    x = rng.random((3, *sc.input_shape))
    net.loss(x, rng.integers(0, 10, size=3))
    net.backward()
    conv, pool = (layer.name for layer in net.layers if layer.kind in ("Conv2D", "MaxPool2D"))
    ctx = Context(net)
    for layer, tensor in [(conv, t) for t in ("y", "col", "dW", "db", "dx")] + [
            (pool, t) for t in ("y", "switches", "argmax", "dx")]:
        shape = ctx.at(layer, tensor).array().shape
        for idx in {(0,) * len(shape), tuple(d // 2 for d in shape), tuple(d - 1 for d in shape)}:
            e = explain(net, layer, tensor, idx)
            assert_sums(e)
            text = str(e)
            assert all(len(line) <= 80 for line in text.splitlines()), text
            assert not cut_numbers(text), text


@pytest.mark.parametrize("name", ["mnist-cnn", "mnist-cnn-book"])
def test_every_tensor_of_a_conv_scenario_is_explained(name):
    """The conv scenarios whose data is shipped, as test_explain_scenarios does the others:
    one whole iteration in the debugger's session, the first and last entry of every tensor of
    every layer, the loss and the update."""
    explain_all(name)
