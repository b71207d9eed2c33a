"""bt.explain: the core (Entry, Explanation, the rule table, errors, the text) and Affine.

Every explanation is held to two properties (the helpers below, shared by the other explain
test files): its terms sum to the entry as the tensor holds it, and ``inputs`` is *exactly* the
set of entries that feed it — perturbing each listed entry changes the explained entry, and
perturbing any other entry of the layer's tensors does not (on generic random numbers, where no
product is zero by accident).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import backprop_tui as bt
from backprop_tui.engine.explain import Context, Entry, ExplainError, Explanation, explain
from backprop_tui.engine.network import given as handed

EXAMPLES = settings(max_examples=25, deadline=None, derandomize=True)

#: tensors a step computes (the explained entries), by phase; the rest are what feeds them
OUTPUTS = {"forward": ("y",), "backward": ("dx",)}


def assert_sums(e: Explanation, rel: float = 1e-12) -> None:
    """The terms sum to the value: to ``rel`` of the terms' size (where terms cancel, the value
    itself can be far smaller than the rounding of any sum of them)."""
    total = math.fsum(v for _, v in e.terms)
    scale = max(abs(e.value), math.fsum(abs(v) for _, v in e.terms))
    assert abs(total - e.value) <= rel * scale, (e.value, total, e.terms)
    assert not any(note.startswith("the code's") for note in e.notes), e.notes
    assert e.value == e.value  # not NaN


def _bump(a: np.ndarray, idx: tuple[int, ...], classes: int) -> list:
    """The changed values to try for one entry: a boolean flipped, a label moved to every other
    class, a number moved across zero (a step or a ReLU then changes too) and away from it."""
    if a.dtype == np.bool_:
        return [not a[idx]]
    if a.dtype.kind in "iu":
        return [k for k in range(classes) if k != a[idx]]
    v = float(a[idx])
    return [-v - (0.5 if v >= 0 else -0.5)]


def _phase(tensor: str, layer) -> str:
    if tensor in ("dx", "dscores") or (tensor.startswith("d")
                                       and tensor[1:] in getattr(layer, "params", ())):
        return "backward"
    return "forward"


def recompute(net: bt.Network, i: int | None, phase: str) -> dict[str, np.ndarray]:
    """Layer ``i``'s step (``None``: the loss's) again on whatever its arrays now hold, frozen:
    forward from its input, or backward from its cache and dout (with L2, as the network adds
    it). A forward leaves the cache as it was: the arrays the network holds stay its own."""
    if i is None:
        ctx = Context(net).at("loss", "scores")
        loss, scores = net.loss_layer, ctx.array("scores")
        if phase == "forward":
            kept = loss.cache
            value = loss.forward(scores, ctx.array("t"))
            out, loss.cache = {"loss": np.asarray(value + net.l2_term()), **loss.cache}, kept
            return out
        return {"dscores": loss.backward(1.0)}
    layer = net.layers[i]
    ctx = Context(net).at(layer.name, "x")
    if phase == "forward":
        kept = dict(layer.cache)
        with net.frozen():
            y = layer.forward(handed(layer, ctx.x()))
        out = {"y": y, **layer.cache}
        layer.cache.clear()
        layer.cache.update(kept)
        return out
    dx = net.backward_layer(i, ctx.dout())
    return {"dx": dx, **{f"d{k}": g for k, g in layer.grads.items()}}


def assert_inputs_exact(net: bt.Network, e: Explanation) -> None:
    """Perturb every entry of the tensors a step reads, one at a time (in place, and put back:
    a deep copy would part Affine's cached x from the input it is a view of): the explained
    entry changes exactly when the perturbed entry is one of ``e.inputs``."""
    ctx = Context(net).at(e.layer, e.tensor)
    i, layer = ctx.i, ctx.layer
    phase = _phase(e.tensor, layer)
    tensors = ctx.tensors()
    made = {"y", "dx", "dscores", "loss", e.tensor} | {f"d{k}" for k in getattr(layer, "params",
                                                                              ())}
    if phase == "backward":
        made -= {"y"}
    feeding = [k for k, a in tensors.items() if k not in made and a is not None]
    listed = {(entry.tensor, entry.index) for entry in e.inputs}
    assert all(entry.layer == ctx.name for entry in e.inputs), e.inputs
    assert len(listed) == len(e.inputs), "an input listed twice"
    assert {t for t, _ in listed} <= set(feeding), (listed, feeding)
    base = recompute(net, i, phase)[e.tensor][e.index]
    assert base == e.value
    classes = tensors["scores"].shape[1] if "scores" in tensors else 2
    for name in feeding:
        a = tensors[name]
        for idx in np.ndindex(a.shape):
            old = a[idx].copy()
            changed = False
            for v in _bump(a, idx, classes):
                a[idx] = v
                changed = changed or recompute(net, i, phase)[e.tensor][e.index] != base
            a[idx] = old
            assert changed == ((name, idx) in listed), (
                f"{e.entry}: perturbing {name}{list(idx)} "
                f"{'changes' if changed else 'does not change'} it")
    recompute(net, i, phase)


def check_all(net: bt.Network, layer: str, tensor: str) -> None:
    """Every entry of ``layer.tensor``: terms sum, inputs exact."""
    shape = Context(net).at(layer, tensor).array().shape
    for idx in np.ndindex(shape):
        e = explain(net, layer, tensor, idx)
        assert e.entry == Entry(layer, tensor, idx)
        assert_sums(e)
        assert_inputs_exact(net, e)


def one_layer_net(layer: bt.Layer, x: np.ndarray, out_dim: int, seed: int, l2: float = 0.0
                  ) -> bt.Network:
    """``layer`` then the seeds' squared loss against random targets: a generic, non-zero
    ``dout`` reaches the layer. Forward and backward have run."""
    rng = np.random.default_rng(seed + 1)
    net = bt.Network([layer], bt.MeanSquaredError(), l2=l2)
    net.loss(x, rng.normal(size=(x.shape[0], out_dim)))
    net.backward()
    return net


def affine_net(seed: int, n: int, d_in: int, d_out: int, l2: float = 0.0,
               image: tuple[int, ...] | None = None) -> bt.Network:
    rng = np.random.default_rng(seed)
    shape = (n, *image) if image else (n, d_in)
    d_in = int(np.prod(shape[1:]))
    layer = bt.Affine(rng.normal(size=(d_in, d_out)), rng.normal(size=d_out), name="affine1")
    return one_layer_net(layer, rng.normal(size=shape), d_out, seed, l2)


# -- Affine ---------------------------------------------------------------------------------
@EXAMPLES
@given(seed=st.integers(0, 10**6), n=st.integers(1, 4), d_in=st.integers(1, 4),
       d_out=st.integers(1, 4), l2=st.sampled_from([0.0, 0.01]))
def test_affine_every_entry_sums_and_names_exactly_its_inputs(seed, n, d_in, d_out, l2):
    net = affine_net(seed, n, d_in, d_out, l2)
    for tensor in ("y", "dW", "db", "dx"):
        check_all(net, "affine1", tensor)


def test_affine_input_with_more_axes_is_flattened_and_named_in_its_own_shape():
    net = affine_net(3, 2, 0, 3, image=(2, 2, 2))
    for tensor in ("y", "dW", "dx"):
        check_all(net, "affine1", tensor)
    e = explain(net, "affine1", "dx", (1, 1, 0, 1))
    assert e.inputs[0] == Entry("affine1", "dout", (1, 0))
    assert any("i = 5" in note for note in e.notes)


@EXAMPLES
@given(seed=st.integers(0, 10**6), n=st.integers(1, 200))
def test_affine_sums_to_1e_12_on_large_batches(seed, n):
    """A BLAS sum over many samples still agrees with the terms summed exactly."""
    net = affine_net(seed, n, 3, 2, l2=0.1)
    for tensor, idx in (("dW", (2, 1)), ("db", (0,)), ("y", (n - 1, 1)), ("dx", (0, 2))):
        assert_sums(explain(net, "affine1", tensor, idx))


def test_dW_formula_numbers_and_l2_term():
    net = affine_net(0, 3, 2, 2, l2=0.5)
    e = bt.explain(net, "affine1", "dW", (1, 0))
    x, dout, W = net.inputs[0], net.dout, net.layers[0].params["W"]
    assert e.formula == "dW[i,j] = Σₙ x[n,i]·dout[n,j] + λ·W[i,j]"
    assert [v for _, v in e.terms] == [x[n, 1] * dout[n, 0] for n in range(3)] + [0.5 * W[1, 0]]
    assert e.value == net.layers[0].grads["W"][1, 0]
    assert "(L2)" in e.terms[-1][0]
    assert Entry("affine1", "W", (1, 0)) in e.inputs


def test_a_layer_that_is_not_trainable_gets_no_l2_term():
    """Network.backward_layer adds λ·W only to trainable layers (the perceptron's are not)."""
    rng = np.random.default_rng(0)
    layer = bt.Affine(rng.normal(size=(2, 2)), rng.normal(size=2), name="affine1")
    layer.trainable = False
    net = one_layer_net(layer, rng.normal(size=(3, 2)), 2, 0, l2=0.5)
    e = explain(net, "affine1", "dW", (0, 1))
    assert "λ" not in e.formula and len(e.terms) == 3
    assert_sums(e)


# -- the identities that link the layers ----------------------------------------------------
def xor_net() -> bt.Network:
    sc = bt.load_scenario("xor")
    net = sc.build_network(seed=0, dtype="float64")
    x, t, _, _ = sc.load_data()
    net.loss(x, t)
    net.backward()
    return net


def test_x_is_the_layer_befores_y_and_dout_the_layer_afters_dx():
    net = xor_net()
    e = explain(net, "affine2", "x", (2, 4))
    assert e.inputs == [Entry("relu1", "y", (2, 4))] and e.value == net.inputs[2][2, 4]
    e = explain(net, "relu1", "dout", (2, 4))
    assert e.inputs == [Entry("affine2", "dx", (2, 4))] and e.value == net.dinputs[2][2, 4]
    e = explain(net, "affine2", "dout", (1, 0))
    assert e.inputs == [Entry("softmaxcrossentropy", "dscores", (1, 0))]
    assert e.value == net.dout[1, 0]
    e = explain(net, "affine1", "x", (0, 1))
    assert e.inputs == [] and "data" in e.formula
    for e in (explain(net, "affine1", "W", (1, 2)),):
        assert e.value == net.layers[0].params["W"][1, 2] and e.inputs == []
        assert_sums(e)


def test_following_the_chain_from_the_loss_to_the_first_weight():
    """dW of affine1 ← dout of affine1 = dx of relu1 ← dout of relu1 = dx of affine2 ← its dout
    = the loss's dscores: every step's inputs name the next entry to explain."""
    net = xor_net()
    n, j = np.argwhere(~net.layers[1].cache["mask"])[0]  # a unit that passes its gradient
    e = explain(net, "affine1", "dW", (1, j))
    seen = [e.entry]
    entry = next(i for i in e.inputs if i.tensor == "dout" and i.index[0] == n)
    while entry.tensor in ("dout", "dx") and entry.layer != "softmaxcrossentropy":
        e = explain(net, entry.layer, entry.tensor, entry.index)
        assert_sums(e)
        seen.append(e.entry)
        entry = next(i for i in e.inputs if i.tensor in ("dout", "dx", "dscores"))
    assert entry == Entry("softmaxcrossentropy", "dscores", (n, 0))
    assert [s.layer for s in seen] == ["affine1", "affine1", "relu1", "relu1", "affine2",
                                       "affine2"]


# -- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("layer", "tensor", "index", "message"), [
    ("affine9", "dW", (0, 0), "no layer 'affine9' in this network; it has affine1, relu1, "
     "affine2, softmaxcrossentropy, update"),
    ("affine1", "dV", (0, 0), "affine1 has no tensor 'dV'; it has x, y, W, b, dout, dW, db, dx"),
    ("affine1", "dW", (2, 0), "affine1.dW[2,0]: index 2 on axis 0 is outside 0…1 (shape (2, 6))"),
    ("affine1", "dW", (-1, 0), "index -1 on axis 0 is outside 0…1"),
    ("affine1", "dW", (1,), "affine1.dW has 2 axes (shape (2, 6)); the index [1] has 1"),
    ("affine1", "db", "a", "an index is a tuple of integers, like (1, 3), not 'a'"),
    ("update", "affine1.W", (0, 0), "explaining the update needs the optimizer"),
])
def test_what_cannot_be_explained_is_one_clear_error(layer, tensor, index, message):
    with pytest.raises(ExplainError) as err:
        explain(xor_net(), layer, tensor, index)
    assert message in str(err.value)
    assert isinstance(err.value, ValueError)


def test_a_tensor_not_computed_yet_is_an_error():
    sc = bt.load_scenario("xor")
    net = sc.build_network(seed=0, dtype="float64")
    with pytest.raises(ExplainError, match=r"affine1.dW is not computed yet \(run the backward"):
        explain(net, "affine1", "dW", (0, 0))
    with pytest.raises(ExplainError, match=r"affine1.y is not computed yet \(run the forward"):
        explain(net, "affine1", "y", (0, 0))


def test_an_int_index_is_a_1d_index():
    net = xor_net()
    assert explain(net, "affine1", "db", 2).entry == explain(net, "affine1", "db", (2,)).entry


# -- the text ----------------------------------------------------------------------------------
def test_text_shows_the_largest_terms_first_and_the_sum_of_the_rest():
    net = affine_net(1, 20, 2, 2)
    e = explain(net, "affine1", "dW", (1, 1))
    lines = e.text(80, max_terms=5).splitlines()
    assert lines[0] == f"affine1.dW[1,1] = {bt.engine.explain.num(e.value)}"
    order = sorted((v for _, v in e.terms), key=abs, reverse=True)
    shown = [ln for ln in lines if ln.startswith("    ") and "x[" in ln]
    assert len(shown) == 4
    rest = math.fsum(order[4:])
    assert f"… 16 more terms, sum of the rest = {bt.engine.explain.num(rest)}" in e.text(80, 5)
    assert str(e) == e.text(80, 8)


@pytest.mark.parametrize("width", [40, 60, 80])
def test_text_fits_the_width_and_never_cuts_a_number(width):
    net = affine_net(2, 6, 3, 3, l2=0.25)
    e = explain(net, "affine1", "dW", (2, 1))
    text = e.text(width)
    assert all(len(line) <= width for line in text.splitlines()), text
    numbers = {bt.engine.explain.paren(v) for v in (net.inputs[0][0, 2], net.dout[0, 1])}
    assert all(n in text for n in numbers)


def test_a_debugger_passes_its_records_as_the_context():
    """Mid-iteration the network's arrays are partly the last iteration's (affine1's output is
    only stored as relu1's input when relu1 runs); a Context made from the stepper's records
    explains what the debugger shows, where the network's own arrays are stale."""
    from backprop_tui.engine.explain import explain_in

    sc = bt.load_scenario("xor")
    net = sc.build_network(seed=0, dtype="float64")
    stepper = bt.Stepper(net, sc.build_optimizer(), sc.batches(4, 0))
    for _ in range(stepper.steps_per_iteration + 1):  # a whole iteration, then forward L1
        stepper.step()
    fwd = stepper.record_for("forward", 0)
    n = len(net.layers)
    ctx = Context(net, inputs=[fwd.input] + [None] * (n - 1),
                  outputs=[fwd.output] + [None] * (n - 1),
                  dinputs=[None] * n, douts=[None] * n)
    e = explain_in(ctx, "affine1", "y", (2, 3))
    assert e.value == fwd.output[2, 3]
    assert_sums(e)
    stale = explain(net, "affine1", "y", (2, 3))  # relu1's input: the last iteration's
    assert any(note.startswith("the code's y[2,3]") for note in stale.notes)
    bwd = Context(net, dinputs=[None] * n, douts=[None] * n, grads=[None] * n)
    with pytest.raises(ExplainError, match="affine1.dW is not computed yet"):
        explain_in(bwd, "affine1", "dW", (0, 0))  # the layer's grads: the last iteration's


def test_grids_are_drawn_with_the_highlighted_cells_marked_and_fit_the_width():
    from backprop_tui.engine.explain import Grid

    e = explain(affine_net(0, 2, 2, 2), "affine1", "db", 0)
    e.grids.append(Grid("window", np.arange(12.0).reshape(3, 4) - 5.5, {(1, 2)}))
    text = e.text(40)
    assert "  window:" in text
    assert "[0.5]" in text  # row 1, column 2: −5.5 + 6 = 0.5
    assert all(len(line) <= 40 for line in text.splitlines())
    wide = explain(affine_net(0, 2, 2, 2), "affine1", "db", 0)
    wide.grids.append(Grid("kernel", np.full((1, 30), -1.25)))
    lines = wide.text(40).splitlines()
    assert lines[-1].endswith("…") and all(len(line) <= 40 for line in lines)
    assert wide.as_dict()["grids"][0]["values"] == [[-1.25] * 30]
