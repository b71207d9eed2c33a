"""A network of your own, in a Python file, for the command line.

``backprop-tui gradcheck my_net.py`` and ``backprop-tui debug my_net.py`` take a Python file in
place of a scenario. The file builds what it checks, and its data, and either

* calls ``bt.debug(net, x, t, ...)`` or ``bt.gradcheck(net_or_model, x, t)`` — the README's
  examples as they are: here the call opens and checks nothing, it hands over its arguments
  (the batch size and optimizer too), or ``bt.gradcheck_function(f, params)``, or
* defines at module level ``net``, ``x`` and ``t`` (a ``bt.Network`` or a book network),
  ``model``, ``x`` and ``t`` (a cs231n-style model), or ``f`` and ``params`` (a function
  ``f(params) -> (loss, grads)``).

The file runs with its own folder first on ``sys.path`` (so ``from mylayers import MyAffine``
works) and with ``__name__`` set to ``"__backprop_tui__"``, so code under
``if __name__ == "__main__":`` does not run; what it prints is not shown. ``x_test`` and
``t_test`` at module level, if the file defines them, are a test set (``backprop-tui train``
evaluates on it). Anything that goes
wrong — no such file, the file raises, nothing usable in it — is a
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

from .engine.book import is_book_network
from .engine.contract import describe_error
from .engine.datacheck import BadData, check_finite
from .engine.graph import Graph, GraphError, Node
from .engine.paramcheck import is_model
from .engine.ways_in import WAYS_IN, NotANetwork, as_network
from .errors import DataError, ScenarioError
from .safetext import printable

RUN_NAME = "__backprop_tui__"


@dataclass
class NetworkFile:
    path: Path
    #: what to check or step: a Network (``kind == "network"``), a cs231n-style model
    #: (``"model"``), a function f(params) -> (loss, grads) (``"function"``) or a
    #: computational graph (``"graph"``: the file called ``bt.debug(o)`` on a graph node)
    net: Any
    x: np.ndarray | None = None
    t: np.ndarray | None = None
    #: keyword arguments the file passed to ``bt.debug`` (batch_size, optimizer, seed, name…)
    options: dict[str, Any] = field(default_factory=dict)
    kind: str = "network"
    params: dict[str, np.ndarray] | None = None
    #: ``x_test`` and ``t_test`` at the file's module level, as it defines them (None if not);
    #: ``backprop-tui train`` checks and uses them
    x_test: Any = None
    t_test: Any = None

    @property
    def name(self) -> str:
        """``bt.debug(name=...)``, else the file's name, printable (it reaches the terminal)."""
        return printable(self.options.get("name") or self.path.name)


def check_file_data(path: Path, **arrays: Any) -> None:
    """The file's data must be finite (:func:`~backprop_tui.engine.datacheck.check_finite`):
    a NaN would otherwise fail every layer of the check. A DataError naming the file."""
    for name, a in arrays.items():
        try:
            check_finite(a, name)
        except BadData as e:
            raise DataError(str(e), file=path) from None


def _graph_file(path: Path, obj: Node | Graph, options: dict[str, Any]) -> NetworkFile:
    """A graph handed over by ``bt.debug(o)`` or ``bt.gradcheck(o)`` (``o`` its output)."""
    name = str(options.pop("name", "") or path.name)
    try:
        graph = obj if isinstance(obj, Graph) else Graph(obj, name=name)
    except GraphError as e:
        raise ScenarioError(str(e), file=path) from None
    return NetworkFile(path, graph, options={"name": name, **options}, kind="graph")


def is_network_file(ref: str | Path) -> bool:
    return str(ref).endswith(".py")


#: the calls a file may make, and the names of their positional arguments
CALLS = {"debug": ("net", "x", "t"), "gradcheck": ("net", "x", "t"),
         "gradcheck_function": ("f", "params")}
EXPECTED = ("a call bt.debug(net, x, t), bt.gradcheck(net_or_model, x, t) or "
            "bt.gradcheck_function(f, params); or at module level net, x, t — model, x, t — "
            "or f and params")


def _run(path: Path) -> tuple[dict[str, Any], list[tuple[str, tuple, dict]]]:
    """Run the file with the package's entry points replaced by recorders of their calls."""
    import backprop_tui as bt

    calls: list[tuple[str, tuple, dict]] = []
    saved = {name: getattr(bt, name) for name in CALLS}

    def recorder(which: str):
        def record(*args: Any, **kwargs: Any) -> Any:
            calls.append((which, args, dict(kwargs)))
            if which != "debug":  # the file may use its report: the check runs as written
                return saved[which](*args, **kwargs)
            return None
        return record

    saved_path = list(sys.path)
    for name in CALLS:
        setattr(bt, name, recorder(name))
    sys.path.insert(0, str(path.resolve().parent))
    try:
        # what the file prints (its own report, say) would mix into ours and break --json
        with contextlib.redirect_stdout(io.StringIO()):
            namespace = runpy.run_path(str(path), run_name=RUN_NAME)
    except SystemExit as e:
        raise ScenarioError(f"the file exited (SystemExit {e.code}) while it was run",
                            file=path) from None
    except BadData as e:  # the file's own bt.gradcheck(net, x, t) refused its data
        raise DataError(str(e), file=path) from None
    except Exception as e:
        raise ScenarioError(f"running it raised {describe_error(e)}", file=path) from None
    finally:
        for name, fn in saved.items():
            setattr(bt, name, fn)
        sys.path[:] = saved_path
    return namespace, calls


def load_network_file(ref: str | Path) -> NetworkFile:
    """Run the file and take what it checks or steps, and its data (see the module docstring)."""
    from .scenario import path_kind

    path = Path(ref).expanduser()
    if path_kind(path) != "file":
        raise ScenarioError("no such Python file", file=path,
                            hint="Give the path of a .py file that builds your network")
    namespace, calls = _run(path)
    options: dict[str, Any] = {}
    if calls:
        # the debugger's call says the most (batch size, optimizer); else the last check
        which, args, options = next((c for c in reversed(calls) if c[0] == "debug"), calls[-1])
        names = CALLS[which]
        found = dict(zip(names, args, strict=False))
        for key in names:
            if key in options:
                found[key] = options.pop(key)
        where = f"bt.{which}(...)"
    else:
        keys = [("net", "x", "t"), ("model", "x", "t"), ("f", "params")]
        names = next((k for k in keys if k[0] in namespace), ("net", "x", "t"))
        found = {k: namespace[k] for k in names if k in namespace}
        where = "module level"
    if not found:
        raise ScenarioError("defines nothing to check", file=path, expected=EXPECTED)
    if isinstance(found.get("net"), Node | Graph):  # bt.debug(o) of a graph node: a graph
        return _graph_file(path, found["net"], options)
    missing = [k for k in names if k not in found]
    if missing:
        raise ScenarioError(f"{', '.join(missing)} not given ({where})", file=path,
                            expected="net (or model), x (one sample per row) and t (the "
                                     "targets); or f and params")
    if "f" in found:
        f, params = found["f"], found["params"]
        if not callable(f) or not isinstance(params, dict):
            raise ScenarioError("f and params do not fit", file=path,
                                value=f"f: {type(f).__name__}, params: {type(params).__name__}",
                                expected="a function f(params) -> (loss, grads) and a dict of "
                                         "arrays")
        return NetworkFile(path, f, options=options, kind="function", params=params)
    obj = found.get("net", found.get("model"))
    x, t = np.asarray(found["x"]), np.asarray(found["t"])
    if x.ndim < 2 or len(x) == 0 or len(t) != len(x):
        raise ScenarioError("x and t do not match", file=path,
                            value=f"x of shape {x.shape}, t of shape {t.shape}",
                            expected="x with one sample per row and one target per sample")
    check_file_data(path, x=x, t=t)
    tests = {"x_test": namespace.get("x_test"), "t_test": namespace.get("t_test")}
    if is_model(obj) and not is_book_network(obj):
        return NetworkFile(path, obj, x, t, options, kind="model", **tests)
    try:
        net = as_network(obj, "net")
    except NotANetwork:
        raise ScenarioError("is not a network the tool can take", file=path,
                            key="net" if "net" in found else "model",
                            value=type(obj).__name__, expected=WAYS_IN) from None
    return NetworkFile(path, net, x, t, options, **tests)
