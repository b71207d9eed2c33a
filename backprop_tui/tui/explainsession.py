"""What the explain view shows (key ``e`` in the debugger), computed from a
:class:`~backprop_tui.tui.session.DebugSession` without any UI.

The engine explains one entry (``engine/explain.py``: ``bt.explain``); this module ties it to
what the debugger shows:

* :meth:`ExplainSession.entry_at` — the tensor pane's row, tensor key and the cursor's true
  index as the engine's :class:`Entry` (``cache mask`` → ``mask``, the loss row's tensors under
  the loss layer's name, the update row's ``Δaffine1.W`` → ``Entry("update", "affine1.W", …)``);
  :meth:`ExplainSession.place_of` the other way, for the tensors an explanation's inputs come
  from;
* :meth:`ExplainSession.explain` — the engine's explanation of an entry *as the stepper's
  records hold it* (a context made of this iteration's records, not of whatever the network
  last computed: a step back leaves stale values in the layers), after the update with the
  parameters and optimizer state it started from (``Stepper.state_before_update``); an entry
  the iteration has not computed yet is refused in one line, as the tensor pane says it;
* :meth:`ExplainSession.fed_by` — the inputs, largest contribution first (a term that names an
  input is its contribution), gradients before activations at a tie, so following the first
  walks from a gradient toward the loss;
* :meth:`ExplainSession.down` — one step the other way: the entry this one feeds next in the
  order the steps run (``dx`` of layer k → ``dout`` of layer k−1 → ``dx`` … → the first
  layer's ``dW``), the one it contributes most to.

Imports numpy and the engine only (no textual).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..engine.explain import Context, Entry, ExplainError, Explanation, explain_in, fmt_index
from .session import DebugSession

#: candidates :meth:`ExplainSession.down` explains at most to find the entry one feeds, and the
#: terms it explains at most on one key press: a bound on the time a press takes (mnist-cnn's
#: affine1 y has 4,320 terms: 14 candidates; xor never comes near)
DOWN_MAX_CANDIDATES = 1024
DOWN_TERM_BUDGET = 60_000


@dataclass(frozen=True)
class Place:
    """Where the debugger shows an entry: the network pane's row, the tensor pane's key and
    the entry's index in that tensor."""

    row: int
    key: str
    index: tuple[int, ...]


@dataclass(frozen=True)
class Fed:
    """One input of an explanation: the entry, where it is shown, its value and its
    contribution: the term of largest size that names it (0 when no term does)."""

    entry: Entry
    place: Place | None
    value: float | None
    term: float
    #: a parameter as the backward step (and the update) used it: the update has changed it
    #: since, ``value`` is the entry before the update (:meth:`ExplainSession.before_update`)
    before: bool = False


def contribution(e: Explanation, entry: Entry) -> float:
    """The term of ``e`` of largest size that names ``entry`` (0.0: none does)."""
    return max((v for label, v in e.terms if named(label, entry)), key=abs, default=0.0)


#: an entry named in a term's label with its numbers: ``dout[0,3]``, ``relu1.dx[0,3]`` (not
#: ``x[0,3]`` inside ``dx[0,3]``, nor the symbolic ``x_pad[n,c,…]``)
_NAMED = re.compile(r"(?<![\w])([A-Za-z_]\w*\[[0-9,]+\])")


def contributions(e: Explanation) -> dict[str, float]:
    """``tensor[i,j]`` → the term of largest size whose label names it, for every entry the
    labels name: one pass over the terms (an Affine y of mnist-cnn has 4,320 terms and 8,641
    inputs: asking :func:`contribution` per input read 37 million labels)."""
    out: dict[str, float] = {}
    for label, v in e.terms:
        for name in set(_NAMED.findall(label)):
            if abs(v) > abs(out.get(name, 0.0)) or name not in out:
                out[name] = v
    return out


def named(label: str, entry: Entry) -> bool:
    """``label`` (a term's) names ``entry``: ``dout[0,3]`` in ``dout[0,3]·W[3,1] = …``, also
    as ``relu1.dx[0,3]``; not ``x[0,3]`` inside ``dx[0,3]``."""
    word = re.escape(f"{entry.tensor}{fmt_index(entry.index)}")
    return re.search(rf"(?<![\w]){word}", label) is not None


def _is_gradient(tensor: str) -> bool:
    return tensor.startswith("d") or tensor in ("dscores",)


class ExplainSession:
    """Explains the entries a :class:`DebugSession` shows, and walks between them."""

    def __init__(self, session: DebugSession) -> None:
        self.session = session

    # -- the debugger's places ↔ the engine's entries -----------------------------------------
    @property
    def _loss_name(self) -> str:
        return self.session.net.loss_layer.name

    def entry_at(self, row: int, key: str, index: tuple[int, ...]) -> Entry:
        """The engine's entry for ``key[index]`` of the network pane's ``row``."""
        s = self.session
        index = tuple(int(i) for i in index)
        if row == s.update_row:
            return Entry("update", key.removeprefix("Δ"), index)
        if row == s.loss_row:
            return Entry(self._loss_name, key, index)
        return Entry(s.layers[row].name, key.removeprefix("cache "), index)

    def place_of(self, entry: Entry) -> Place | None:
        """Where the debugger shows ``entry`` (None: no pane shows that tensor)."""
        s = self.session
        if entry.layer == "update":
            row, keys = s.update_row, [f"Δ{entry.tensor}"]
        elif entry.layer in (self._loss_name, "loss"):
            row, keys = s.loss_row, [entry.tensor]
        else:
            names = [layer.name for layer in s.layers]
            if entry.layer not in names:
                return None
            row, keys = names.index(entry.layer), [entry.tensor, f"cache {entry.tensor}"]
        shown = [it.key for it in s.tensors(row)]
        key = next((k for k in keys if k in shown), None)
        return None if key is None else Place(row, key, entry.index)

    def value_of(self, entry: Entry, *, before_update: bool = False) -> float | None:
        """``entry`` as the tensor pane shows it (None: not shown, or not computed yet); with
        ``before_update`` a parameter as the update found it (the pane shows it after)."""
        before = self.session.stepper.state_before_update() if before_update else None
        key = f"{entry.layer}.{entry.tensor}"
        if before is not None and key in before["params"]:
            return float(before["params"][key][entry.index])
        place = self.place_of(entry)
        item = None if place is None else self.session.tensor(place.row, place.key)
        if item is None or item.array is None:
            return None
        try:
            return float(np.asarray(item.array)[entry.index])
        except (IndexError, TypeError, ValueError):
            return None

    def before_update(self, entry: Entry) -> np.ndarray | None:
        """The whole tensor of ``entry`` as the update found it, when ``entry`` is a
        parameter the update has run on in this iteration (the panes show it after)."""
        st = self.session.stepper
        before = st.state_before_update() if st.complete else None
        if before is None or entry.layer == "update":
            return None
        return before["params"].get(f"{entry.layer}.{entry.tensor}")

    # -- explaining ---------------------------------------------------------------------------
    def context(self) -> Context:
        """The engine's context made of this iteration's records: a tensor the iteration has
        not computed is None (the layers' arrays may still hold an undone step's values)."""
        s = self.session
        st = s.stepper
        n = len(s.layers)
        fwd = [st.record_for("forward", i) for i in range(n)]
        bwd = [st.record_for("backward", i) for i in range(n)]
        loss = st.record_for("loss", None)
        # what arrives at a step not run yet is shown too (the step before's output)
        inputs = [r.input if r else None for r in fwd]
        douts = [r.input if r else None for r in bwd]
        if n and inputs[0] is None:  # the arriving batch: the data, as the pane shows it
            item = s.tensor(0, "x")
            inputs[0] = None if item is None else item.array
        for i in range(n):
            if inputs[i] is None and i > 0 and fwd[i - 1] is not None:
                inputs[i] = fwd[i - 1].output
            if douts[i] is None:
                after = bwd[i + 1] if i + 1 < n else loss
                douts[i] = after.output if after is not None else None
        # after the update: the parameters the forward and backward used (the live ones
        # are explained as those plus the update's change)
        return Context(s.net, optimizer=s.optimizer,
                       before=st.state_before_update() if st.complete else None,
                       inputs=inputs, outputs=[r.output if r else None for r in fwd],
                       output=fwd[-1].output if fwd and fwd[-1] else None,
                       dinputs=[r.output if r else None for r in bwd], douts=douts,
                       dout=loss.output if loss else None,
                       grads=[r.grads if r else None for r in bwd])

    def pending(self, entry: Entry) -> str | None:
        """Why ``entry`` cannot be explained yet (the tensor pane's own words), or None."""
        place = self.place_of(entry)
        item = None if place is None else self.session.tensor(place.row, place.key)
        if item is not None and item.array is None:
            return f"{entry.layer}.{entry.tensor} is {item.source}"
        return None

    def explain(self, entry: Entry) -> Explanation:
        """The engine's explanation of ``entry`` as this iteration computed it; ExplainError
        (one line) when it cannot be explained."""
        why = self.pending(entry)
        if why is not None:
            raise ExplainError(why)
        return explain_in(self.context(), entry.layer, entry.tensor, entry.index)

    def fed_by(self, e: Explanation) -> list[Fed]:
        """``e``'s inputs, largest contribution first; at a tie gradients first (following
        the first input walks toward the loss), then in the engine's order."""
        out = []
        terms = contributions(e)
        for k, entry in enumerate(e.inputs):
            term = terms.get(f"{entry.tensor}{fmt_index(entry.index)}", 0.0)
            before = self.before_update(entry)
            out.append((-abs(term), not _is_gradient(entry.tensor), k,
                        Fed(entry, self.place_of(entry),
                            self.value_of(entry, before_update=before is not None),
                            term, before=before is not None)))
        out.sort(key=lambda t: t[:3])
        return [t[3] for t in out]

    # -- one step the other way: the entry this one feeds ---------------------------------------
    def _next_tensor(self, entry: Entry) -> tuple[Entry | None, str | None, str | None]:
        """(the entry ``entry`` is, one layer on — an identity — or None; else the layer and
        tensor whose entries it feeds next; all None at the end of the chain)."""
        s = self.session
        names = [la.name for la in s.layers]
        last = len(names) - 1
        if entry.layer == "update":
            return None, None, None
        if entry.layer in (self._loss_name, "loss"):
            if entry.tensor == "dscores":
                return Entry(names[last], "dout", entry.index), None, None
            return None, self._loss_name, "dscores"
        i = names.index(entry.layer)
        layer = s.layers[i]
        t = entry.tensor
        if t == "dx":
            return (Entry(names[i - 1], "dout", entry.index), None, None) if i > 0 else \
                (None, None, None)
        if t == "dout":
            if i > 0 or not layer.params:
                return None, entry.layer, "dx"
            return None, entry.layer, f"d{next(iter(layer.params))}"
        if t.startswith("d") and t[1:] in layer.params:
            return None, "update", f"{entry.layer}.{t[1:]}"
        if t == "y":
            return (Entry(names[i + 1], "x", entry.index), None, None) if i < last else \
                (Entry(self._loss_name, "scores", entry.index), None, None)
        return None, entry.layer, "y"  # x, a parameter or a cached tensor feeds the output

    def down(self, entry: Entry) -> Entry:
        """The entry ``entry`` feeds next in the order the steps run — down the backward pass
        for a gradient (``dx`` of layer k is ``dout`` of layer k−1; a ``dout`` feeds the
        layer's ``dx``, the first layer's ``dW``), toward the loss for an activation — the one
        it contributes most to. ExplainError (one line) when there is none or it is not
        computed yet."""
        same, layer, tensor = self._next_tensor(entry)
        if same is not None:
            why = self.pending(same)
            if why is not None:
                raise ExplainError(why)
            return same
        if layer is None or tensor is None:
            raise ExplainError(f"{entry} feeds nothing further down: the chain ends here")
        target = Entry(layer, tensor, ())
        why = self.pending(target)
        place = self.place_of(target)
        if why is not None or place is None:
            raise ExplainError(why or f"{layer}.{tensor} is not shown by the debugger")
        item = self.session.tensor(place.row, place.key)
        assert item is not None and item.array is not None
        budget = DOWN_TERM_BUDGET
        looked = 0
        for candidates in self._candidates(entry, item.array.shape):
            found: list[tuple[float, Entry]] = []
            for idx in candidates:
                if budget <= 0:
                    break
                try:
                    e = self.explain(Entry(layer, tensor, idx))
                except ExplainError:
                    continue
                looked += 1
                budget -= max(1, len(e.terms))
                if entry in e.inputs:
                    found.append((abs(contribution(e, entry)), e.entry))
            found.sort(key=lambda f: -f[0])
            # the largest that the chain goes on from (a ReLU below may block it)
            for _, c in found:
                if self._goes_on(c):
                    return c
            if found:
                return found[0][1]
        if budget <= 0:
            raise ExplainError(f"none of the {looked} entries of {layer}.{tensor} nearest to "
                               f"{entry} takes it (a zero factor may block it)")
        raise ExplainError(f"{entry} goes no further down: no entry of {layer}.{tensor} takes "
                           "it (a mask or a zero factor blocks it; explain that tensor to see)")

    def _goes_on(self, entry: Entry) -> bool:
        """False when ``entry`` is a ``dx`` whose next stop, an elementwise layer below
        (``dx`` shaped like ``dout``: ReLU, Sigmoid …), does not pass it on: a cheap look one
        layer ahead, so that ``d`` walks on where it can."""
        same, layer, tensor = self._next_tensor(entry)
        if same is None or same.tensor != "dout":
            return True
        below = Entry(same.layer, "dx", same.index)
        place = self.place_of(below)
        item = None if place is None else self.session.tensor(place.row, place.key)
        dout = self.value_of(same)
        if item is None or item.array is None or dout is None:
            return True
        src = self.place_of(same)
        shown = None if src is None else self.session.tensor(src.row, src.key)
        if shown is None or shown.array is None or shown.array.shape != item.array.shape:
            return True
        try:
            return same in self.explain(below).inputs
        except ExplainError:
            return True

    def _candidates(self, entry: Entry, shape: tuple[int, ...]
                    ) -> list[list[tuple[int, ...]]]:
        """Entries of a tensor of ``shape`` that ``entry`` may feed, in sets to try in turn
        (each at most :data:`DOWN_MAX_CANDIDATES`): those that share its sample (batch
        tensors) and the index of each axis of the same length (a channel, a unit); then those
        that share its sample; then any."""
        place = self.place_of(entry)
        item = None if place is None else self.session.tensor(place.row, place.key)
        src = () if item is None or item.array is None else item.array.shape
        sample: dict[int, int] = {}
        if entry.index and src and shape and src[0] == shape[0] == self.session.n and \
                entry.layer != "update":
            sample[0] = entry.index[0]
        axes = dict(sample)
        for b in range(len(sample), len(src)):
            for a in range(len(sample), len(shape)):
                if a not in axes and shape[a] == src[b] > 1:
                    axes[a] = entry.index[b]
                    break

        # images (N, C, H, W) → (N, C', H', W'): the entries nearest the same place first
        spatial = len(src) == len(shape) >= 3 and len(entry.index) == len(src)
        center = [entry.index[a] * shape[a] / src[a] if spatial and src[a] else 0.0
                  for a in range(len(shape))]

        def entries(fixed: dict[int, int]) -> list[tuple[int, ...]]:
            ranges = [np.array([fixed[a]]) if a in fixed else np.arange(n)
                      for a, n in enumerate(shape)]
            grid = np.stack([g.ravel() for g in np.meshgrid(*ranges, indexing="ij")], axis=1) \
                if shape else np.zeros((1, 0), dtype=np.int64)
            if spatial and len(grid) > DOWN_MAX_CANDIDATES:
                far = sum(np.abs(grid[:, a] - center[a]) for a in range(2, len(shape)))
                grid = grid[np.argsort(far, kind="stable")]
            return [tuple(int(i) for i in row) for row in grid[:DOWN_MAX_CANDIDATES]]

        # an axis of the same length may be a coincidence: then the sample's entries, then any
        levels = [axes, sample, {}]
        return [entries(f) for k, f in enumerate(levels) if f not in levels[:k]]
