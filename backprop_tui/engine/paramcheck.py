"""Gradient check of a parameter dict: cs231n models and the one-function style.

Two more ways in, for code that has no layers to step through:

* a model with a ``params`` dict and ``loss(X, y) -> (loss, grads)`` (cs231n's ``TwoLayerNet``,
  ``FullyConnectedNet``, ``ThreeLayerConvNet``): ``bt.gradcheck(model, X, y)``;
* a function ``f(params) -> (loss, grads)`` over a dict of arrays (the seed tutorials' style):
  ``bt.gradcheck_function(f, params)``.

Each parameter is perturbed in place, entry by entry (or along a direction, with the same modes
and tolerances as the network check), and the loss recomputed: the check names the parameter
whose gradient is wrong (``W2``, not ``b1``). Regularisation counts as the model computes it,
since its loss is what is differenced. numpy's global generator is put back before every
evaluation, so a dropout without a seed draws the same mask each time.

This module imports numpy only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .checks import GradcheckReport
from .contract import LayerError
from .datacheck import check_finite
from .numeric import (
    DEFAULT_ATOL,
    DEFAULT_FULL_LIMIT,
    DEFAULT_H,
    DEFAULT_K,
    DEFAULT_TOL,
    MODES,
    Counter,
    Job,
    compare,
    plan,
)

LossAndGrads = Callable[[], tuple[Any, Mapping[str, Any]]]


def is_model(obj: Any) -> bool:
    """A cs231n-style model: a ``params`` dict of arrays and a ``loss`` method."""
    params = getattr(obj, "params", None)
    return isinstance(params, Mapping) and callable(getattr(obj, "loss", None)) and all(
        isinstance(v, np.ndarray) for v in params.values())


def gradcheck_model(model: Any, x: np.ndarray, t: np.ndarray, **kw: Any) -> GradcheckReport:
    """Check ``model.loss(x, t) -> (loss, grads)`` parameter by parameter (see the module)."""
    check_finite(x, "x")
    check_finite(t, "t")
    return gradcheck_params(lambda: model.loss(x, t), model.params,
                            who=f"{type(model).__name__}.loss(X, y)", layer="model", **kw)


def gradcheck_function(f: Callable[[dict[str, np.ndarray]], Any], params: dict[str, np.ndarray],
                       **kw: Any) -> GradcheckReport:
    """Check ``f(params) -> (loss, grads)`` parameter by parameter (see the module)."""
    if not callable(f):
        raise TypeError(f"gradcheck_function takes a function f(params) -> (loss, grads); got "
                        f"{type(f).__name__}")
    if not isinstance(params, Mapping):
        raise TypeError(f"gradcheck_function's params must be a dict of arrays; got "
                        f"{type(params).__name__}")
    name = getattr(f, "__name__", "f")
    return gradcheck_params(lambda: f(params), params, who=f"{name}(params)", layer=name, **kw)


def _loss_and_grads(fn: LossAndGrads, who: str) -> tuple[float, Mapping[str, Any]]:
    try:
        result = fn()
    except Exception as e:  # the user's code: name it, its line and the error
        raise LayerError(who, e) from e
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], Mapping)):
        raise TypeError(f"{who} must return (loss, grads) with grads a dict like params; it "
                        f"returned {type(result).__name__}")
    loss, grads = result
    return float(loss), grads


def gradcheck_params(
    fn: LossAndGrads,
    params: Mapping[str, np.ndarray],
    *,
    who: str = "f(params)",
    layer: str = "params",
    mode: str = "auto",
    h: float = DEFAULT_H,
    tol: float = DEFAULT_TOL,
    atol: float = DEFAULT_ATOL,
    k: int = DEFAULT_K,
    full_limit: int = DEFAULT_FULL_LIMIT,
    seed: int = 0,
    layers: list[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    **ignored: Any,
) -> GradcheckReport:
    """``fn()`` returns ``(loss, grads)`` computed from the arrays in ``params``, which are
    perturbed in place (and always put back). ``layers`` limits the check to those parameter
    names. The rows are named ``layer`` (``model``) and the parameter (``W2``)."""
    if mode not in MODES:
        raise ValueError(f"unknown gradcheck mode {mode!r}; expected one of {', '.join(MODES)}")
    for key, p in params.items():
        if not (isinstance(p, np.ndarray) and p.dtype == np.float64):
            what = p.dtype if isinstance(p, np.ndarray) else type(p).__name__
            raise ValueError(f"gradient checks need float64 parameters: params[{key!r}] is "
                             f"{what} (cs231n's models take dtype=np.float64)")
    unknown = [name for name in layers or () if name not in params]
    if unknown:  # a typo would otherwise check nothing, and pass
        raise ValueError(f"no parameter {', '.join(map(repr, unknown))}; the parameters are "
                         f"{', '.join(params)}")
    rng = np.random.default_rng(seed)
    counter = Counter(progress, cancelled)
    global_rng = np.random.get_state()  # noqa: NPY002 - a dropout without a seed draws from it
    base_loss, grads = _loss_and_grads(fn, who)
    grads = {key: np.array(g, dtype=np.float64) for key, g in grads.items()}  # fn may reuse

    def run() -> tuple[float, bool]:
        counter.tick()
        np.random.set_state(global_rng)  # noqa: NPY002
        return _loss_and_grads(fn, who)[0], False

    jobs: list[Job] = []
    for i, (key, p) in enumerate(params.items()):
        if layers is not None and key not in layers:
            continue
        g = grads.get(key)
        problem = ""
        if g is None:
            problem = (f"{who} gave no gradient for {key} (grads[{key!r}]): the update would "
                       "leave it as it is")
            g = np.zeros(p.shape)
        elif g.shape != p.shape:
            problem = f"{who} gave grads[{key!r}] of shape {g.shape}, but {key} has {p.shape}"
        elif g.size == 0:
            problem = f"{key} has no entries: nothing to check"
        if problem:
            jobs.append(Job(layer, i, "param", key, p, g, run, "—", 0, 0, problem=problem))
            continue
        label, n_ent, n_dir = plan(g.size, mode, k, full_limit)
        jobs.append(Job(layer, i, "param", key, p, g, run, label, n_ent, n_dir))
    counter.total = sum(2 * (j.n_entries + j.n_dirs) for j in jobs)
    try:
        checks = [compare(job, h, rng, tol, atol) for job in jobs]
    finally:
        np.random.set_state(global_rng)  # noqa: NPY002
    return GradcheckReport(checks, str(mode), h, tol, atol, base_loss, counter.count, "params")
