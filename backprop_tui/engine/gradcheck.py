"""Numerical gradient checking, per layer and per tensor.

For every parameter of every layer, and for every layer's input, the analytic gradient from
``backward`` is compared with centered differences of the loss::

    numeric = (L(θ + h) − L(θ − h)) / 2h          (float64, h = 1e-5 by default)
    rel     = |a − n| / max(|a|, |n|)              (both zero counts as a pass)

An entry passes when ``rel ≤ tol`` (default 1e-6) *or* ``|a − n| ≤ atol·max(1, |f|)`` (default
atol 1e-9, scaled by the magnitude of the function being differenced, since round-off is
relative to it).
Centered differences carry an absolute error of roughly ``ε·|L|/h + h²·|L‴|/6`` — measured here
at 1e-11…5e-11 for losses of order 1 — so the relative error of a gradient entry that is itself
~1e-8 says nothing about the code. Entries smaller than ``atol/tol`` (1e-3 by default) are
therefore judged by their absolute error, and the reported ``max_rel_error`` is taken over the
larger entries only, where a relative error means something.

Modes, per tensor:

* ``full``        — every entry (2 loss evaluations each);
* ``sampled``     — ``k`` entries: half the largest ``|analytic|``, half at random (seeded);
* ``directional`` — one random unit direction ``v``: compare ``(L(θ+hv) − L(θ−hv)) / 2h`` with
  ``g·v``; O(1) evaluations however large the tensor (the idea behind PyTorch's fast mode);
* ``auto``        — ``full`` for tensors up to ``full_limit`` entries, otherwise ``sampled`` plus
  ``directional``.

A perturbation of a parameter of layer ``i`` only changes layers ``i…n``, so the loss is re-run
from layer ``i``'s saved input, not from the start.

An entry that misses at ``h`` is measured again at ``h/10``: truncation error shrinks as
``h²·f‴``, so a correct but very curved layer (BatchNorm over a feature that barely varies) agrees
there, while a wrong backward misses at every step. Such entries are counted in ``refined``.

Kinks: ReLU, max-pool and step layers make discrete choices. When a ``±h`` evaluation makes a
different choice than the unperturbed pass (a ReLU mask flips, a max-pool switch moves), the
entry straddles a kink: the finite difference is meaningless there, so the entry is counted in
``kinks`` and left out of the verdict instead of being reported as a failure. Code that does not
say which choice it made (a layer of the user's own, cs231n's max-pool with ties, a ReLU at exact
0) is found out by its numbers: an entry that misses at ``h`` and at ``h/10`` is a kink when the
one-sided differences ``(f(θ+s) − f(θ))/s`` and ``(f(θ) − f(θ−s))/s`` (s = h/10) disagree by
more than 1e-3 of their size and by as much as at s = h — the slope jumps at θ. On a smooth
function they differ by ``s·f″``, which shrinks tenfold with the step, so a wrong backward of a
smooth layer (or a sharply curved but correct one) is not taken for a kink.

Users' code is checked as it is: layers that may write into the arrays they receive get copies
(``Layer.writes_inputs``), and a layer that draws from numpy's global generator (the book's
Dropout) sees the same draws in every evaluation — the generator is put back, before each, to
where it stood before that layer's forward in the checked pass. A check that checked nothing does
not pass: a gradient of a shape other than its parameter's or input's, a parameter without a
gradient, or a tensor with no entries is a failure naming the layer. A loss whose forward takes
``log(p + ε)`` while its backward is the exact gradient without ε (the book's
``SoftmaxWithLoss``) is recognised, reported with ε and the difference, and passes.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np

from .book import is_book_network, signature_parameters
from .checks import GradcheckReport, TensorCheck
from .contract import describe_error
from .datacheck import check_finite, check_labels
from .graph import Graph, Node
from .graphcheck import gradcheck_graph
from .layers import Layer
from .network import Network, given
from .numeric import (
    DEFAULT_ATOL,
    DEFAULT_FULL_LIMIT,
    DEFAULT_H,
    DEFAULT_K,
    DEFAULT_TOL,
    MODES,
    Counter,
    Job,
    Mode,
    compare,
    plan,
)
from .paramcheck import gradcheck_model, is_model
from .walk import Walk
from .ways_in import as_network

SCOPES: tuple[str, ...] = ("local", "global")


def _signature(layers) -> list[np.ndarray | None]:
    return [None if (s := layer.kink_signature()) is None else s.copy() for layer in layers]


def _changed(layers, base: list[np.ndarray | None]) -> bool:
    for layer, sig in zip(layers, base, strict=True):
        if sig is not None and not np.array_equal(sig, layer.kink_signature()):
            return True
    return False


def gradcheck(
    net: Network | Any,
    x: np.ndarray | None = None,
    t: np.ndarray | None = None,
    *,
    mode: Mode | str = "auto",
    scope: Literal["local", "global"] = "local",
    h: float = DEFAULT_H,
    tol: float = DEFAULT_TOL,
    atol: float = DEFAULT_ATOL,
    k: int = DEFAULT_K,
    full_limit: int = DEFAULT_FULL_LIMIT,
    seed: int = 0,
    layers: list[str] | None = None,
    inputs: bool = True,
    end_to_end: bool = True,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    inplace: bool = False,
) -> GradcheckReport:
    """Check every parameter gradient and every layer-input gradient of ``net`` on ``(x, t)``.

    ``scope="local"`` (the default) checks each layer against *its own* forward: with ``dout``
    the gradient that reached the layer's output in the real backward pass, it differentiates
    ``f(θ, x) = ⟨forward(x; θ), dout⟩ (+ ½·λ·‖W‖²)`` numerically and compares with what the
    layer's ``backward(dout)`` returned. A wrong backward therefore fails on exactly its own
    layer, whatever the layers around it do. The loss layer is checked the same way, as
    ``loss``, and — unless ``end_to_end`` is false — one more row, ``network``, compares the
    whole chain: the full loss along one random direction in the space of all parameters.

    ``scope="global"`` perturbs each tensor and re-runs the real loss from that layer on: the
    classic check, in which a bug also shows in every layer below it.

    ``net`` is a :class:`Network` or a whole network written the book's way (see
    :func:`~backprop_tui.engine.ways_in.as_network`); it must be float64. A cs231n-style model
    (``params`` and ``loss(X, y) -> (loss, grads)``) is checked parameter by parameter instead
    (:mod:`~backprop_tui.engine.paramcheck`; ``scope``, ``inputs``, ``end_to_end`` and
    ``inplace`` do not apply, ``layers`` selects parameters). Unless
    ``inplace`` is true it runs on a deep copy, so the caller's network (caches, gradients,
    Dropout masks, BatchNorm statistics) is untouched. Dropout masks are drawn once and then
    frozen, so every evaluation sees the same function.
    """
    if isinstance(net, Node | Graph):  # a computational graph: node by node, no data
        return gradcheck_graph(net if isinstance(net, Graph) else Graph(net), mode=mode, h=h,
                               tol=tol, atol=atol, k=k, full_limit=full_limit, seed=seed,
                               layers=layers, progress=progress, cancelled=cancelled)
    if x is None or t is None:
        raise TypeError("bt.gradcheck(net, x, t) needs the data x and the targets t (only a "
                        "graph node, bt.gradcheck(o), is checked without them)")
    if mode not in MODES:
        raise ValueError(f"unknown gradcheck mode {mode!r}; expected one of {', '.join(MODES)}")
    if scope not in SCOPES:
        raise ValueError(f"unknown gradcheck scope {scope!r}; expected "
                         + " or ".join(repr(s) for s in SCOPES))
    if is_model(net) and not is_book_network(net):  # params + loss(X, y) -> (loss, grads)
        return gradcheck_model(net, x, t, mode=mode, h=h, tol=tol, atol=atol, k=k,
                               full_limit=full_limit, seed=seed, layers=layers,
                               progress=progress, cancelled=cancelled)
    book = None
    if is_book_network(net):  # copied whole, so that its own gradient() can be compared too
        book = net if inplace else copy.deepcopy(net)
        net = as_network(book)
        _cast_book(book, net)  # a float32 book network: its copy, checked in float64
    else:
        net = as_network(net)
        if net.dtype != np.float64:
            raise ValueError(f"gradient checks need a float64 network, this one is {net.dtype}")
        if not inplace:
            net = copy.deepcopy(net)
    if layers is not None:
        known = [layer.name for layer in net.layers] + ["loss"]
        unknown = [name for name in layers if name not in known]
        if unknown:  # a typo would otherwise check nothing, and pass
            raise ValueError(f"no layer {', '.join(map(repr, unknown))} in this network; its "
                             f"layers are {', '.join(known)}")
    # NaN in the data would fail every layer's row, as if every backward were wrong
    check_finite(x, "x")
    check_finite(t, "t")
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=np.float64)
    net.train(True)
    counter = Counter(progress, cancelled)
    walk = Walk(net)
    n_layers = len(net.layers)
    # numpy's global generator, which the book's Dropout draws from, is put back as it was
    # before the check, however it ends: the caller's next draws (a stepper's replay) are as if
    # no check had run
    with _numpy_rng_kept() as global_rng:
        walk.start(x, t)
        for pos in range(n_layers + 1):  # draws the Dropout masks that every evaluation reuses
            if pos == n_layers and isinstance(walk.h, np.ndarray) and walk.h.ndim == 2:
                check_labels(t, walk.h.shape[1])  # before a user's loss indexes with them
            walk.run(pos, check=False)
        with net.frozen():
            np.random.set_state(global_rng)  # noqa: NPY002
            base_loss, rng_before, reached = _checked_pass(walk, x, t)
            base_data_loss = net.data_loss
            base_inputs = [h.copy() for h in net.inputs]
            jobs: list[Job] = []
            unchecked: list[str] = []
            for i, layer in enumerate(net.layers):
                if layers is not None and layer.name not in layers:
                    continue
                if i < reached:  # no gradient reached it: the layer above returned a misshapen dx
                    unchecked.append(layer.name)
                    continue
                upstream = net.dout if i == n_layers - 1 else net.dinputs[i + 1]
                if scope == "local" and not np.any(upstream):
                    # only zeros reached its output (dead units above, a step, a backward that
                    # returns zeros): ⟨forward, 0⟩ is 0 whatever the layer computes, so its rows
                    # compare 0 with 0 — true, but its backward was not exercised: said so
                    unchecked.append(layer.name)
                jobs.extend(_layer_jobs(net, i, base_inputs, t, scope, inputs, mode, k, full_limit,
                                        counter, rng_before))
            if scope == "local" and inputs and (layers is None or "loss" in layers):
                jobs.append(_loss_job(net, t, mode, k, full_limit, counter))
            if scope == "local" and end_to_end and layers is None and reached == 0:
                job = _end_to_end_job(net, x, t, counter, rng_before[0] if rng_before else None)
                if job is not None:
                    jobs.append(job)
            counter.total = sum(2 * (j.n_entries + j.n_dirs) for j in jobs)

            checks = []
            for job in jobs:
                check = compare(job, h, rng, tol, atol)
                if job.layer == "loss" and (not check.passed or check.max_rel_error > tol / 10):
                    check = _loss_with_epsilon(job, check, net.output, t, base_data_loss, h, rng,
                                               tol, atol)
                    if check.explained:
                        # take the loss's own ε out of the end-to-end row: its subject is the chain
                        # of layers and the L2 term, and the loss row has said what ε does
                        delta = (check.numeric - check.analytic).reshape(job.analytic.shape)
                        for other in jobs:
                            if other.layer == "network":
                                other.loss_delta = delta
                elif job.layer in unchecked and check.passed:
                    check.untested = True
                    check.note = ("only zeros reached this layer's output, so 0 = 0 here: true, "
                                  "but its backward was not exercised")
                elif job.layer == "network" and job.loss_delta is not None:
                    check.note = ("the loss's ε (see the loss row) is taken out of this "
                                  "comparison, which checks the chain of layers and the L2 term")
                checks.append(check)
            # leave the network exactly as the unperturbed pass left it
            np.random.set_state(global_rng)  # noqa: NPY002
            _checked_pass(walk, x, t)
            if book is not None and layers is None and reached == 0:
                checks.extend(_book_methods(book, net, x, t, base_loss, global_rng, tol, atol))
        return GradcheckReport(checks, str(mode), h, tol, atol, base_loss, counter.count, scope,
                               unchecked)


def _cast_book(book: Any, net: Network) -> None:
    """Cast a book network's copy to float64 and point its ``params`` dict at the new arrays
    (casting rebinds the layers' attributes), so that its own ``gradient()`` is compared."""
    before = {id(p): (layer, name) for layer in net.layers for name, p in layer.params.items()}
    keys = {key: before.get(id(p)) for key, p in getattr(book, "params", {}).items()
            if isinstance(p, np.ndarray)}
    net.cast(np.float64)
    for key, owner in keys.items():
        if owner is not None:
            layer, name = owner
            book.params[key] = layer.params[name]


def _row(layer: str, tensor: str, shape: tuple[int, ...], a: np.ndarray, n: np.ndarray,
         passed: bool, note: str) -> TensorCheck:
    """A row comparing two computed arrays (no finite differences)."""
    a, n = np.asarray(a, dtype=np.float64).ravel(), np.asarray(n, dtype=np.float64).ravel()
    diff = np.abs(a - n)
    size = np.maximum(np.abs(a), np.abs(n))
    big = (size > 0) & (size >= 1e-3 * size.max()) if size.size else size.astype(bool)
    rel = diff[big] / size[big]
    return TensorCheck(layer, -1, tensor, "param", shape, "vs layers", int(a.size), 0,
                       float(diff.max()) if diff.size else 0.0,
                       float(rel.max()) if rel.size else 0.0, passed,
                       np.arange(a.size), a, n, np.zeros(a.size, dtype=bool), note=note)


def _book_methods(book: Any, net: Network, x: np.ndarray, t: np.ndarray, base_loss: float,
                  global_rng: tuple, tol: float, atol: float) -> list[TensorCheck]:
    """A book network's own ``loss(x, t)`` and ``gradient(x, t)`` against what its layers,
    just checked one by one, give with its ``weight_decay_lambda``: the chapter 6 mistakes (the
    decay missing from ``loss()`` or its ``λ·W`` from ``gradient()``) live there, not in a
    layer. Run with numpy's generator where the checked pass had it, so Dropout draws alike."""
    rows: list[TensorCheck] = []
    lam = net.l2

    def call(method: str) -> Any:
        fn = getattr(book, method)
        kwargs = {"train_flg": True} if "train_flg" in signature_parameters(fn) else {}
        np.random.set_state(global_rng)  # noqa: NPY002
        try:
            return fn(x, t, **kwargs)
        except Exception as e:  # the layers' rows stand; this one says what went wrong
            rows.append(_row(f"{method}()", "value", (), np.zeros(0), np.zeros(0), False,
                             f"{type(book).__name__}.{method}(x, t) raised "
                             f"{describe_error(e)}"))
            return None

    own = call("loss") if callable(getattr(book, "loss", None)) else None
    if own is not None:
        own = float(own)
        ok = abs(own - base_loss) <= 1e-9 * max(1.0, abs(base_loss))
        note = ""
        if not ok:
            decay = net.l2_term()
            note = (f"{type(book).__name__}.loss(x, t) gives {own:.10g}; its layers and loss "
                    f"layer with ½·λ·Σ‖W‖² (weight_decay_lambda = {lam:g}) give {base_loss:.10g}")
            if decay and abs((base_loss - own) - decay) <= 1e-9 * max(1.0, decay):
                note += ": the difference is exactly the weight decay, missing from loss()"
        rows.append(_row("loss()", "value", (), np.array([own]), np.array([base_loss]), ok,
                         note))
    params = getattr(book, "params", None)
    if callable(getattr(book, "gradient", None)) and isinstance(params, dict):
        grads = call("gradient")
        if grads is None:
            return rows
        owners = {id(p): layer for layer in net.layers for p in layer.params.values()}
        for key, p in params.items():
            layer = owners.get(id(p))
            name = next((k for k, v in layer.params.items() if v is p), None) if layer else None
            if name is None or not isinstance(grads, dict) or key not in grads:
                continue
            mine = layer.grads[name]
            own = np.asarray(grads[key], dtype=np.float64)
            if own.shape != mine.shape:
                rows.append(_row("gradient()", key, p.shape, own, np.zeros(own.size), False,
                                 f"gradient()[{key!r}] has shape {own.shape}, {key} has "
                                 f"{p.shape}"))
                continue
            ok = bool(np.all((np.abs(own - mine) <= atol)
                             | (np.abs(own - mine) <= tol * np.maximum(np.abs(own),
                                                                      np.abs(mine)))))
            note = ""
            if not ok:
                note = (f"{type(book).__name__}.gradient(x, t)[{key!r}] differs from "
                        f"{layer.name}'s d{name}" + (f" + λ·{name} (weight_decay_lambda = "
                                                     f"{lam:g})" if lam and name in
                                                     layer.decay else ""))
                if lam and name in layer.decay and np.allclose(own + lam * p, mine, rtol=tol,
                                                               atol=atol):
                    note += ": exactly by λ·W, missing from gradient()"
            rows.append(_row("gradient()", key, p.shape, own, mine, ok, note))
    return rows


@contextmanager
def _numpy_rng_kept() -> Iterator[tuple]:
    """numpy's global generator state now, put back on leaving (users' layers draw from it)."""
    state = np.random.get_state()  # noqa: NPY002
    try:
        yield state
    finally:
        np.random.set_state(state)  # noqa: NPY002


def _checked_pass(walk: Walk, x: np.ndarray, t: np.ndarray) -> tuple[float, list[tuple], int]:
    """The pass every comparison refers to, unit by unit: forward, loss, backward. Returns the
    loss, where numpy's global generator stood before each layer's forward (the book's Dropout
    draws from it), and the index of the lowest layer a well-shaped gradient reached: a
    backward that returns a dx of the wrong shape ends the pass there (the layer below would
    fail on it, and be blamed for it)."""
    net = walk.net
    n = len(net.layers)
    rng_before = []
    walk.start(x, t)
    for pos in range(n):
        rng_before.append(np.random.get_state())  # noqa: NPY002
        walk.run(pos, check=False)
    unit = walk.run(n, check=False)
    loss, reached = unit.loss, n
    if not _well_shaped(unit.output, net.output):
        return loss, rng_before, reached
    for pos in range(n + 1, 2 * n + 1):
        unit = walk.run(pos, check=False)
        reached = walk.steps[pos][1]
        if not _well_shaped(unit.output, net.inputs[reached]):
            break
    return loss, rng_before, reached


def _well_shaped(dx: object, like: np.ndarray | None) -> bool:
    return isinstance(dx, np.ndarray) and like is not None and dx.shape == like.shape


def local_function(layer: Layer, upstream: np.ndarray, l2: float, rng_state: tuple,
                   counter: Counter | None = None) -> Callable[[np.ndarray], tuple[float, bool]]:
    """The function a local check differentiates: ``x ↦ ⟨forward(x; θ), dout⟩ (+ ½·λ·‖W‖²)``
    for ``layer`` with ``upstream`` as dout, numpy's global generator put back to ``rng_state``
    before each evaluation (the draws of the pass it refers to). Returns the value and whether
    a kink flipped (the layer's ``kink_signature`` changed). Parameters are perturbed in place in
    ``layer.params``; ``explain`` uses it too, for the numerical derivative of one entry."""
    base_sig = _signature([layer])
    decay = [name for name in layer.decay if l2 and layer.trainable]

    def local(h_in: np.ndarray) -> tuple[float, bool]:
        if counter is not None:
            counter.tick()
        np.random.set_state(rng_state)  # noqa: NPY002 - the draws of the checked pass
        value = float(np.vdot(layer.forward(given(layer, h_in)), upstream))
        for name in decay:
            w = layer.params[name]
            value += 0.5 * l2 * float(np.vdot(w, w))
        return value, _changed([layer], base_sig)

    return local


def _layer_jobs(net, i, base_inputs, t, scope, inputs, mode, k, full_limit, counter,
                rng_before) -> list[Job]:
    layer = net.layers[i]
    n = len(net.layers)
    upstream = net.dout if i == n - 1 else net.dinputs[i + 1]
    rng_state = rng_before[i]
    jobs = []
    if scope == "local":
        local = local_function(layer, upstream, net.l2, rng_state, counter)
        x_in = base_inputs[i]
        run_param = lambda: local(x_in)  # noqa: E731
        x_pert = x_in.copy()
        run_input = lambda: local(x_pert)  # noqa: E731
    else:
        base_sig = _signature(net.layers[i:])

        def global_(h_in: np.ndarray) -> tuple[float, bool]:
            counter.tick()
            np.random.set_state(rng_state)  # noqa: NPY002
            value = net.compute_loss(net.forward_from(i, h_in), t)
            return value, _changed(net.layers[i:], base_sig)

        x_in = base_inputs[i]
        run_param = lambda: global_(x_in)  # noqa: E731
        x_pert = x_in.copy()
        run_input = lambda: global_(x_pert)  # noqa: E731

    def problem(kind, tensor, analytic, note) -> Job:
        return Job(layer.name, i, kind, tensor, np.zeros(0), analytic, run_param, "—", 0, 0,
                    problem=note)

    where = f"{layer.name}'s backward"
    unclaimed = getattr(layer, "unclaimed_grads", None)
    for name in unclaimed() if unclaimed is not None else ():
        arr = getattr(layer.obj, name)
        jobs.append(problem("param", name, np.zeros(arr.shape),
                            f"{where} set d{name}, but {name} is not taken for a parameter (W, "
                            f"b, gamma, beta, w, or an array with d{name} = None from __init__ "
                            "on): it was not checked, and would not be trained"))
    for name, p in layer.params.items():
        g = layer.grads.get(name)
        if g is None:
            if layer.trainable:
                jobs.append(problem("param", name, np.zeros(p.shape),
                                    f"{where} set no gradient for {name} (grads[{name!r}] "
                                    f"or d{name}): the update would leave it as it is"))
            continue
        g = np.asarray(g)
        if g.shape != p.shape:
            jobs.append(problem("param", name, g, f"{where} gave d{name} of shape {g.shape}, "
                                f"but {name} has shape {p.shape}"))
        elif g.size == 0:
            jobs.append(problem("param", name, g, f"{name} has no entries: nothing to check"))
        else:
            label, n_ent, n_dir = plan(g.size, mode, k, full_limit)
            jobs.append(Job(layer.name, i, "param", name, p, g.astype(np.float64), run_param,
                             label, n_ent, n_dir))
    if inputs:
        dx = net.dinputs[i]
        if not isinstance(dx, np.ndarray):
            jobs.append(problem("input", "x", np.zeros(x_in.shape),
                                f"{where} returned {type(dx).__name__}, not dx (an array shaped "
                                f"like its input {x_in.shape})"))
        elif dx.shape != x_in.shape:
            jobs.append(problem("input", "x", dx, f"{where} returned dx of shape {dx.shape}, "
                                f"but its input x has shape {x_in.shape}"))
        elif dx.size == 0:
            jobs.append(problem("input", "x", dx, "x has no entries: nothing to check"))
        else:
            label, n_ent, n_dir = plan(dx.size, mode, k, full_limit)
            jobs.append(Job(layer.name, i, "input", "x", x_pert, dx.astype(np.float64),
                             run_input, label, n_ent, n_dir))
    return jobs


def _loss_job(net, t, mode, k, full_limit, counter) -> Job:
    out = net.output.copy()
    loss_layer = net.loss_layer

    def run() -> tuple[float, bool]:
        counter.tick()
        return loss_layer.forward(given(loss_layer, out), t), False

    dout = net.dout
    if not isinstance(dout, np.ndarray) or dout.shape != out.shape:
        what = (f"dx of shape {dout.shape}" if isinstance(dout, np.ndarray)
                else type(dout).__name__)
        return Job("loss", len(net.layers), "input", "x", out, np.zeros(0), run, "—", 0, 0,
                    problem=f"the loss's backward returned {what}, but the scores it was given "
                            f"have shape {out.shape}")
    label, n_ent, n_dir = plan(out.size, mode, k, full_limit)
    return Job("loss", len(net.layers), "input", "x", out, dout.astype(np.float64), run, label,
                n_ent, n_dir)


class _AllParams:
    """All trainable parameters seen as one vector, for the end-to-end directional check."""

    def __init__(self, arrays: list[np.ndarray]) -> None:
        self.arrays = arrays
        self.size = sum(a.size for a in arrays)
        self.shape = (self.size,)

    def copy(self) -> np.ndarray:
        return np.concatenate([a.ravel() for a in self.arrays])

    def reshape(self, *_):
        raise TypeError("entries of the end-to-end check are not addressable")

    def _assign(self, flat: np.ndarray) -> None:
        pos = 0
        for a in self.arrays:
            a[...] = flat[pos : pos + a.size].reshape(a.shape)
            pos += a.size

    def __iadd__(self, delta: np.ndarray) -> _AllParams:
        self._assign(self.copy() + delta)
        return self

    def __setitem__(self, key, value: np.ndarray) -> None:
        self._assign(np.asarray(value))


def _end_to_end_job(net, x, t, counter, rng_state) -> Job | None:
    arrays, grads = [], []
    for layer in net.layers:
        if layer.trainable:
            for name, p in layer.params.items():
                g = layer.grads.get(name)
                if g is not None and np.shape(g) == p.shape:  # else: a failed row already
                    arrays.append(p)
                    grads.append(np.asarray(g, dtype=np.float64).ravel())
    if not arrays:
        return None
    base_sig = _signature(net.layers)

    def run() -> tuple[float, bool]:
        counter.tick()
        if rng_state is not None:
            np.random.set_state(rng_state)  # noqa: NPY002
        value = net.loss(x, t)
        if job.loss_delta is not None:
            value -= float(np.vdot(job.loss_delta, net.output))
        return value, _changed(net.layers, base_sig)

    g = np.concatenate(grads)
    job = Job("network", -1, "param", "all parameters", _AllParams(arrays), g, run,
               "directional", 0, 1)
    return job


def _loss_with_epsilon(job: Job, check: TensorCheck, scores: np.ndarray, t: np.ndarray,
                       loss_value: float, h: float, rng: np.random.Generator, tol: float,
                       atol: float) -> TensorCheck:
    """The loss row, or — when its difference is an ε inside the log — the row compared entry
    by entry in full (the loss alone is cheap to evaluate), with the ε said: a sampled or
    directional comparison cannot be corrected for ε row by row."""
    full = check
    if check.checked < job.analytic.size or (check.indices < 0).any():
        full = compare(dataclasses.replace(job, label="full", n_entries=job.analytic.size,
                                           n_dirs=0), h, rng, tol, atol)
    _explain_loss_epsilon(full, scores, t, loss_value, tol, atol)
    return full if full.explained else check


def _epsilon_from_loss(pt: np.ndarray, loss_value: float) -> float | None:
    """The ε for which ``−mean(log(p_t + ε))`` equals the loss the forward computed (bisection
    in log ε; the mean decreases as ε grows), or None if no ε in (1e-30, 1e-3] does."""
    def f(eps: float) -> float:
        return float(-np.mean(np.log(pt + eps)))

    lo, hi = -30.0, -3.0
    if not f(10 ** hi) <= loss_value <= f(10 ** lo):
        return None
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(10 ** mid) > loss_value else (lo, mid)
    return 10 ** ((lo + hi) / 2)


def _explain_loss_epsilon(check: TensorCheck, scores: np.ndarray, t: np.ndarray,
                          loss_value: float, tol: float, atol: float) -> None:
    """A softmax cross-entropy whose forward takes ``log(p + ε)`` (the book's guard against
    log 0) while its backward is the exact gradient ``(p − onehot(t))/N`` of the loss without ε:
    then ``numeric = analytic · p_t / (p_t + ε)`` row by row, the same ε in every row. If the
    compared entries fit that with one small ε, say so in ``check.note`` and pass the check;
    anything else (a missing 1/N, a wrong sign, mixed-up targets) still fails."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] < 2 or check.indices.size == 0:
        return
    n, k = scores.shape
    z = scores - scores.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    t = np.asarray(t)
    if t.ndim == 2 and t.shape == scores.shape:
        labels = t.argmax(axis=1)
        if not np.array_equal(t, np.eye(k)[labels]):
            return  # soft targets: not the case this recognises
    elif t.ndim == 1 and len(t) == n and np.array_equal(t, np.round(t)) and t.min() >= 0 \
            and t.max() < k:
        labels = t.astype(np.int64)
    else:
        return
    idx = check.indices[check.indices >= 0]  # entries (a direction says nothing per row)
    if idx.size == 0:
        return
    a, num = check.analytic[: idx.size], check.numeric[: idx.size]
    exact = ((p - np.eye(k)[labels]) / n).ravel()[idx]
    if not np.allclose(a, exact, rtol=tol, atol=atol):
        return  # the backward is not the exact cross-entropy gradient
    p_target = p[np.arange(n), labels]
    pt = p_target[idx // k]
    # ε from the entries where the factor p_t / (p_t + ε) is measurable; when every row is
    # confidently wrong (p_t ≪ ε: a numeric gradient of ~0 says only that ε ≫ p_t), from the
    # loss value itself
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = num / a
    usable = (np.abs(a) > 1e-3 * np.abs(a).max()) & (ratio > 1e-3) & (ratio < 1.0)
    if usable.any():
        eps = float(np.median(pt[usable] * (1.0 / ratio[usable] - 1.0)))
    else:
        eps = _epsilon_from_loss(p_target, loss_value)
    if eps is None or not (np.isfinite(eps) and 0 < eps <= 1e-3):
        return
    with np.errstate(divide="ignore"):
        value = float(-np.mean(np.log(p_target + eps)))
    if not abs(value - loss_value) <= 1e-6 * max(1.0, abs(loss_value)):
        return  # the forward's value is not −mean(log(p_t + ε)): some other difference
    expected = a * pt / (pt + eps)
    fits = np.abs(expected - num) <= np.maximum(tol * np.abs(num), atol)
    if not fits.all():
        return
    check.passed = True
    check.explained = True
    rel = float(np.max(np.abs(expected - a) / np.maximum(np.abs(a), 1e-300)))
    check.note = (f"forward takes log(p + ε) with ε ≈ {eps:.0e} while backward is the exact "
                  f"gradient (p − t)/N of the loss without ε: they differ by up to "
                  f"{check.max_abs_error:.1e} ({rel:.1e} relative), the most where p of the "
                  "target class is small. The usual guard against log(0), not a mistake in "
                  "backward.")
