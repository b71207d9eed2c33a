"""The formula pane's content: each row's equations with this network's shapes substituted.

``dW = xᵀ·dout   (2×4)·(4×6) → 2×6``: the equations are the layer's own text
(``forward_equations`` / ``backward_equations``), the shapes come from the layer
(``Layer.equation_shapes``) for the batch being stepped. A layer of the user's own that states no
equations still shows its input and output shapes and its parameters' gradients.

It imports numpy and the engine only (no textual).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..engine.layers import dims
from ..engine.network import Network
from ..engine.optim import Optimizer


@dataclass(frozen=True)
class Formula:
    """One equation and the shapes it works on in this network (empty when not known)."""

    equation: str
    shapes: str = ""
    direction: Literal["forward", "backward", "update"] = "forward"


def layer_formulas(net: Network, i: int, n: int) -> list[Formula]:
    """Equations of layer ``i`` for a batch of ``n`` samples."""
    layer = net.layers[i]
    in_shape = (n, *(net.input_shape if i == 0 else net.shapes[i - 1]))
    out_shape = (n, *net.shapes[i])
    if not layer.forward_equations and not layer.backward_equations:
        # a layer of the user's own that states no equations: its shapes, at least
        note = f"(set forward_equations / backward_equations on {layer.kind} to show its math)"
        out = [Formula(f"y = {layer.kind}.forward(x)", f"{dims(in_shape)} → "
                       f"{dims(out_shape)}", "forward"),
               Formula(f"dx = {layer.kind}.backward(dout)", f"{dims(out_shape)} → "
                       f"{dims(in_shape)}", "backward")]
        out += [Formula(f"d{k} = ∂L/∂{k}", dims(p.shape), "backward")
                for k, p in layer.params.items()]
        return [*out, Formula(note, "", "backward")]
    shapes = layer.equation_shapes(in_shape, out_shape)
    if shapes is not None:
        fshapes, bshapes = shapes
        fw = [Formula(eq, s, "forward") for eq, s in zip(layer.forward_equations, fshapes,
                                                         strict=False)]
        bw = [Formula(eq, s, "backward") for eq, s in zip(layer.backward_equations, bshapes,
                                                          strict=False)]
    else:  # a layer of the user's own: its equations as written, the shapes once
        fw = [Formula(eq, "", "forward") for eq in layer.forward_equations]
        bw = [Formula(eq, "", "backward") for eq in layer.backward_equations]
        fw.append(Formula("x → y", f"{dims(in_shape)} → {dims(out_shape)}", "forward"))
        bw.append(Formula("dout → dx", f"{dims(out_shape)} → {dims(in_shape)}", "backward"))
        bw += [Formula(f"d{k}", dims(p.shape), "backward") for k, p in layer.params.items()]
    if net.l2 and layer.trainable and layer.decay:
        bw.append(Formula("dW += λ·W", f"L2 weight decay, λ = {net.l2:g}", "backward"))
    return fw + bw


def loss_formulas(net: Network, n: int) -> list[Formula]:
    """Equations of the loss row (and the L2 term) for a batch of ``n`` samples."""
    lossl = net.loss_layer
    s = dims((n, *net.shapes[-1]))
    out = [Formula(eq, f"scores {s} → scalar", "forward") for eq in lossl.forward_equations]
    if net.l2:
        out.append(Formula("L += ½·λ·Σ‖W‖²", f"λ = {net.l2:g}, over every weight matrix",
                           "forward"))
    out += [Formula(eq, f"{s} → {s}", "backward") for eq in lossl.backward_equations]
    return out


def update_formulas(optimizer: Optimizer) -> list[Formula]:
    """The optimizer's update rule, applied to every parameter."""
    return [Formula(eq, f"for every parameter · {optimizer.describe()}", "update")
            for eq in optimizer.equations]
