"""A network of your own, in a Python file, for the command line.

``backprop-tui gradcheck my_net.py`` and ``backprop-tui debug my_net.py`` take a Python file in
place of a scenario: the file builds a :class:`~backprop_tui.engine.network.Network` (with
layers of its own, or the book's via ``bt.from_book``) and its data, and either

* calls ``bt.debug(net, x, t, ...)`` — the README's example as it is: here the call opens
  nothing, it hands over its arguments (the batch size and optimizer too), or
* defines ``net``, ``x`` and ``t`` at module level.

The file runs with its own folder first on ``sys.path`` (so ``from mylayers import MyAffine``
works) and with ``__name__`` set to ``"__backprop_tui__"``, so code under
``if __name__ == "__main__":`` does not run; what it prints is not shown. Anything that goes
wrong — no such file, the file raises, no network in it — is a
:class:`~backprop_tui.errors.ScenarioError` (exit 2) naming the file and the line.
"""

from __future__ import annotations

import contextlib
import io
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .engine.contract import describe_error
from .engine.network import Network
from .engine.ways_in import WAYS_IN, NotANetwork, as_network
from .errors import ScenarioError

RUN_NAME = "__backprop_tui__"


@dataclass
class NetworkFile:
    path: Path
    net: Network
    x: np.ndarray
    t: np.ndarray
    #: keyword arguments the file passed to ``bt.debug`` (batch_size, optimizer, seed, name…)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.options.get("name") or self.path.name)


def is_network_file(ref: str | Path) -> bool:
    return str(ref).endswith(".py")


def load_network_file(ref: str | Path) -> NetworkFile:
    """Run the file and take the network and data it defines (see the module docstring)."""
    import backprop_tui as bt

    path = Path(ref).expanduser()
    if not path.is_file():
        raise ScenarioError("no such Python file", file=path,
                            hint="Give the path of a .py file that builds your network")
    calls: list[tuple[tuple, dict]] = []

    def capture(*args: Any, **kwargs: Any) -> None:
        calls.append((args, kwargs))

    saved_debug, saved_path = bt.debug, list(sys.path)
    bt.debug = capture  # type: ignore[assignment]
    sys.path.insert(0, str(path.resolve().parent))
    try:
        # what the file prints (its own report, say) would mix into ours and break --json
        with contextlib.redirect_stdout(io.StringIO()):
            namespace = runpy.run_path(str(path), run_name=RUN_NAME)
    except SystemExit as e:
        raise ScenarioError(f"the file exited (SystemExit {e.code}) while it was run",
                            file=path) from None
    except Exception as e:
        raise ScenarioError(f"running it raised {describe_error(e)}", file=path) from None
    finally:
        bt.debug = saved_debug  # type: ignore[assignment]
        sys.path[:] = saved_path
    if calls:
        args, options = calls[-1]
        names = ("net", "x", "t")
        found = dict(zip(names, args, strict=False))
        for key in names:
            if key in options:
                found[key] = options.pop(key)
        where = "bt.debug(...)"
    else:
        found, options = {k: namespace[k] for k in ("net", "x", "t") if k in namespace}, {}
        where = "module level"
    if not found:
        raise ScenarioError(
            "defines no network", file=path,
            expected="a call bt.debug(net, x, t), or the names net, x and t at module level")
    missing = [k for k in ("net", "x", "t") if k not in found]
    if missing:
        raise ScenarioError(f"{', '.join(missing)} not given ({where})", file=path,
                            expected="net, x (one sample per row) and t (the targets)")
    try:
        net = as_network(found["net"], "net")
    except NotANetwork:
        raise ScenarioError("is not a network the tool can take", file=path, key="net",
                            value=type(found["net"]).__name__, expected=WAYS_IN) from None
    x, t = np.asarray(found["x"]), np.asarray(found["t"])
    if x.ndim < 2 or len(x) == 0 or len(t) != len(x):
        raise ScenarioError("x and t do not match", file=path,
                            value=f"x of shape {x.shape}, t of shape {t.shape}",
                            expected="x with one sample per row and one target per sample")
    return NetworkFile(path, net, x, t, options)
