"""The debugger's session for what the command line names: a scenario (built-in or .toml) or a
``.py`` file that builds a network of the user's own. ``debug`` opens the debugger on it,
``explain`` steps it and explains one entry; both take their batch here, so that ``explain``
explains exactly the numbers the debugger shows. (A graph is not a session: the callers handle
graphs first, see ``graphrun.py``.)"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .errors import ScenarioError
from .netfile import NetworkFile, is_network_file, load_network_file
from .scenario import load_scenario
from .tui.session import DebugSession


def open_session(ref: str, *, seed: int | None = None, batch_size: int | None = None,
                 checkpoint: Path | None = None, data_dir: Path | None = None,
                 nf: NetworkFile | None = None) -> DebugSession:
    """The session the debugger opens on ``ref``: its first batch, its seed (the scenario's or
    the file's unless ``seed`` is given). ``nf``: the network file ``ref`` names, when the caller
    has loaded it already (it runs the user's code). Raises a UserError (exit 2) for anything
    unusable."""
    from .errors import UsageError

    if nf is not None or is_network_file(ref):  # a network of the user's own, from a .py file
        if checkpoint is not None:
            raise UsageError("is for scenarios; a .py network starts from the weights the file "
                             "gives it", key="--checkpoint", value=str(checkpoint))
        nf = nf or load_network_file(ref)
        if nf.kind != "network":
            raise ScenarioError(
                f"holds a {'cs231n-style model' if nf.kind == 'model' else 'function f(params)'}"
                ", which has no layers to step through", file=nf.path,
                hint="`backprop-tui gradcheck` checks it parameter by parameter; to step "
                     "through it, build a bt.Network of its layers with bt.from_functions")
        opts = nf.options
        return DebugSession.for_network(
            nf.net, nf.x, nf.t, optimizer=opts.get("optimizer"),
            batch_size=batch_size or opts.get("batch_size"),
            seed=seed if seed is not None else int(opts.get("seed", 0)), name=nf.name)
    sc = load_scenario(ref)
    if batch_size:  # its activations at this batch size, before anything is built
        from .memory import check_fits

        check_fits(replace(sc, debug_batch_size=batch_size), key="--batch-size",
                   value=batch_size)
    return DebugSession.from_scenario(sc, seed=seed, batch_size=batch_size,
                                      checkpoint=checkpoint, data_dir=data_dir)
