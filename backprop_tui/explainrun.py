"""``backprop-tui explain SCENARIO "affine1.dW[1,3]"``: one entry of one tensor, explained with
the numbers of the scenario's first debugger batch (the batch ``debug`` opens on, same seed).

The iteration runs as far as ``--step`` says — ``forward`` (every layer and the loss, which also
gives ``dscores``), ``backward`` or ``update`` — by default as far as the step that produces the
tensor asked for. ``cli.py`` parses the options and calls :func:`explain_command`; whatever the
user got wrong is a :class:`~backprop_tui.errors.UserError` (exit 2) that names what exists.
"""

from __future__ import annotations

import re
from pathlib import Path

from rich.console import Console

from .engine.contract import LayerError
from .engine.explain import Context, ExplainError, Explanation, explain, producing_step
from .errors import ScenarioError, TrainingError, UsageError
from .formatting import json_text
from .safetext import printable

#: how far ``--step`` runs the iteration
STEPS: tuple[str, ...] = ("forward", "backward", "update")

_SPEC = re.compile(r"^(?P<layer>[^.\[\]]+)\.(?P<tensor>[^\[\]]+)(?:\[(?P<index>[^\]]*)\])?$")
_EXAMPLES = '"affine1.dW[1,3]", "relu1.y[0,2]", "loss.dscores[0,1]", "loss.loss" or ' \
            '"update.affine1.W[1,3]"'


def parse_spec(spec: str) -> tuple[str, str, tuple[int, ...]]:
    """``"affine1.dW[1,3]"`` → ``("affine1", "dW", (1, 3))``; ``"update.affine1.W[0,0]"`` →
    ``("update", "affine1.W", (0, 0))``; no brackets: the index ``()`` (a scalar)."""
    m = _SPEC.match(spec.strip())
    index: list[int] = []
    if m is not None and m["index"]:
        try:
            index = [int(part) for part in m["index"].split(",")]
        except ValueError:
            m = None
    if m is None:
        raise UsageError("is not a tensor entry", key="TENSOR", value=spec,
                         expected=f"LAYER.TENSOR[i,j], like {_EXAMPLES}")
    return m["layer"].strip(), m["tensor"].strip(), tuple(index)


def _position(steps: list[tuple[str, int | None]], step: str) -> int:
    """How many units of the iteration ``step`` runs."""
    if step == "forward":
        return steps.index(("loss", None)) + 1
    if step == "backward":
        return len(steps) - 1
    return len(steps)


def run_explain(ref: str, spec: str, step: str | None = None, seed: int | None = None,
                data_dir: Path | None = None) -> tuple[Explanation, dict]:
    """The explanation of ``spec`` on ``ref``'s first debugger batch, and what it was computed
    on (scenario, seed, batch size, step)."""
    from .debugref import open_session
    from .graphfile import is_graph_ref
    from .netfile import is_network_file, load_network_file

    if step is not None and step not in STEPS:
        raise UsageError("is not a step", key="--step", value=step,
                         expected=" or ".join(STEPS))
    layer, tensor, index = parse_spec(spec)
    nf = load_network_file(ref) if is_network_file(ref) else None
    if is_graph_ref(ref) or (nf is not None and nf.kind == "graph"):
        raise ScenarioError("is a computational graph, not a network", file=ref,
                            hint="`backprop-tui graph` shows every node's value and gradient")
    session = open_session(ref, seed=seed, data_dir=data_dir, nf=nf)
    net, stepper = session.net, session.stepper
    try:
        ctx = Context(net, optimizer=session.optimizer).at(layer, tensor)
    except ExplainError as e:
        raise UsageError(str(e), key="TENSOR") from None
    step = step or producing_step(ctx, tensor)
    try:
        while stepper.position < _position(stepper.steps, step):
            stepper.step()
    except LayerError as e:  # code of the user's raised while the batch went through it
        raise TrainingError(f"running the {step} step: {e}", file=ref) from None
    before = stepper.state_before_update() if stepper.complete else None
    try:
        e = explain(net, layer, tensor, index, optimizer=session.optimizer, before=before)
    except ExplainError as err:
        message = str(err)
        if "not computed yet" in message and ctx.name != "update":
            message += f"; --step {producing_step(ctx, tensor)} runs it"
        raise UsageError(message, key="TENSOR") from None
    return e, {"scenario": session.name, "seed": session.seed, "batch_size": session.batch_size,
               "step": step}


def explain_command(ref: str, spec: str, step: str | None, seed: int | None,
                    data_dir: Path | None, as_json: bool, console: Console) -> None:
    e, where = run_explain(ref, spec, step, seed, data_dir)
    if as_json:
        print(json_text({**where, **e.as_dict(), "text": e.text()}))
        return
    width = max(console.width, 40)
    console.print(printable(f"{where['scenario']} · batch of {where['batch_size']} (seed "
                            f"{where['seed']}) · after the {where['step']} step"),
                  highlight=False, markup=False, soft_wrap=True)
    console.print(printable(e.text(width), newlines=True), highlight=False, markup=False,
                  soft_wrap=True)
