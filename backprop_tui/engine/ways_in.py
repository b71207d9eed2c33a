"""The ways a network of the user's own gets in: what ``bt.gradcheck`` and ``bt.debug`` take.

* a :class:`~backprop_tui.engine.network.Network` (built-in layers, ``Layer`` subclasses of the
  user's own, book-style layers through ``bt.from_book``), used as it is;
* a whole network written the book's way (an ordered mapping ``layers`` plus ``lastLayer`` or
  ``last_layer``): wrapped by :func:`~backprop_tui.engine.book.from_book`, sharing its arrays.

(``bt.gradcheck`` also takes a cs231n-style model, checked parameter by parameter:
:mod:`~backprop_tui.engine.paramcheck`.)

Anything else is refused with one message that names the ways in, never an AttributeError from
deep inside the package.

This module imports numpy only.
"""

from __future__ import annotations

from typing import Any

from .book import from_book, is_book_network
from .network import Network

WAYS_IN = (
    "a bt.Network, or a network written the book's way (an ordered mapping `layers` of "
    "objects with forward/backward, plus `lastLayer` or `last_layer`)"
)


class NotANetwork(TypeError):
    """What was handed over is none of the things the tool can step or check."""


def as_network(obj: Any, what: str = "bt.gradcheck") -> Network:
    """``obj`` as a :class:`Network` (a book network is wrapped, not copied)."""
    if isinstance(obj, Network):
        net = obj
    elif is_book_network(obj):
        net = from_book(obj)
    else:
        hint = ""
        if hasattr(obj, "params") and callable(getattr(obj, "loss", None)):
            hint = (" It has `params` and `loss(X, y)`, as a cs231n model does: "
                    "bt.gradcheck(model, X, y) checks it parameter by parameter, but the "
                    "debugger steps through layers, which a model does not show; build a "
                    "bt.Network of its layers with bt.from_functions to step through it.")
        raise NotANetwork(f"{what} takes {WAYS_IN}; got {type(obj).__name__}.{hint}")
    return net
