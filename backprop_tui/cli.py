"""The ``backprop-tui`` command: thin Typer commands that parse, call the library, format and
return an exit code (0 ok · 1 a check failed · 2 bad usage or input · 130 interrupted)."""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from .errors import UserError

app = typer.Typer(
    name="backprop-tui",
    help="A terminal step-through debugger for backpropagation: walk a numpy network layer by "
    "layer, and audit its gradients.",
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

F = TypeVar("F", bound=Callable[..., Any])


def _console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def user_errors(fn: F) -> F:
    """Turn a :class:`UserError` into one message on stderr and exit code 2 — no traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            _console(stderr=True).print(f"[bold red]error:[/] {_escape(str(e))}", soft_wrap=True)
            raise typer.Exit(e.exit_code) from None

    return wrapper  # type: ignore[return-value]


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


ScenarioArg = Annotated[
    str, typer.Argument(help="A built-in scenario name (see `backprop-tui scenarios`) or a path "
                             "to a scenario .toml file.", show_default=False)
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder with your own MNIST IDX files (gz or raw); "
                 "default: $BACKPROP_TUI_DATA_DIR, else the data shipped with the package.",
                 show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


# ---------------------------------------------------------------------------------------------
@app.command("scenarios")
@user_errors
def scenarios_cmd(as_json: JsonOpt = False) -> None:
    """List the built-in scenarios: name, data, architecture, parameter count, description."""
    from .formatting import scenarios_table
    from .scenario import list_scenarios

    items = list_scenarios()
    if as_json:
        print(json.dumps([sc.summary() for sc in items], indent=2))
        return
    _console().print(scenarios_table(items))


# ---------------------------------------------------------------------------------------------
class ModeChoice(StrEnum):
    auto = "auto"
    full = "full"
    sampled = "sampled"
    directional = "directional"


class ScopeChoice(StrEnum):
    local = "local"
    global_ = "global"


@app.command("gradcheck")
@user_errors
def gradcheck_cmd(
    scenario: ScenarioArg,
    mode: Annotated[ModeChoice, typer.Option(
        help="full: every entry · sampled: K entries per tensor (half the largest gradients, "
             "half random) · directional: one random direction per tensor, O(1) evaluations · "
             "auto: full up to --full-limit entries, else sampled+directional.")] = ModeChoice.auto,
    scope: Annotated[ScopeChoice, typer.Option(
        help="local: each layer against its own forward with the real upstream gradient, so a "
             "bug fails on exactly its layer · global: re-run the whole loss from each layer."
    )] = ScopeChoice.local,
    tol: Annotated[float, typer.Option(
        help="Relative-error tolerance: an entry passes if |a−n|/max(|a|,|n|) ≤ TOL …")] = 1e-6,
    atol: Annotated[float, typer.Option(
        help="… or if |a−n| ≤ ATOL (centered differences carry ~1e-11 of noise).")] = 1e-9,
    h: Annotated[float, typer.Option("--h", help="Finite-difference step.")] = 1e-5,
    k: Annotated[int, typer.Option("--k", help="Entries per tensor in sampled mode.")] = 24,
    full_limit: Annotated[int, typer.Option(
        help="In auto mode, tensors up to this many entries are checked in full.")] = 1000,
    batch_size: Annotated[int | None, typer.Option(
        help="Training samples in the checked batch (default: the scenario's [gradcheck] "
             "batch_size).", show_default=False)] = None,
    seed: Annotated[int, typer.Option(
        help="Seed for the weights, the batch and the sampled entries.")] = 0,
    layer: Annotated[list[str] | None, typer.Option(
        "--layer", help="Check only this layer (repeatable; 'loss' for the loss layer).",
        show_default=False)] = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Audit every layer's gradients against centered finite differences (float64).

    Exit code 0 if every tensor passes, 1 if any fails, 2 for bad input.
    """
    from .engine.gradcheck import gradcheck
    from .errors import UsageError
    from .formatting import gradcheck_summary, gradcheck_table
    from .scenario import load_scenario

    for name, value in (("--tol", tol), ("--atol", atol), ("--h", h)):
        if not value > 0:
            raise UsageError("must be a positive number", key=name, value=value)
    for name, value in (("--k", k), ("--full-limit", full_limit), ("--batch-size", batch_size)):
        if value is not None and value <= 0:
            raise UsageError("must be a positive integer", key=name, value=value)
    sc = load_scenario(scenario)
    if sc.has_step:
        reason = (
            f"{sc.name}: nothing to check. Its step layers have derivative 0 wherever it exists "
            "(and none at the jump), so backprop sends exactly 0 to every weight before them: "
            "there is no gradient to compare. These weights are wired by hand, not learned."
        )
        if as_json:
            print(json.dumps({"scenario": sc.name, "mode": mode.value, "passed": True,
                              "skipped": reason, "checks": []}, indent=2))
        else:
            _console().print(reason)
        return
    net = sc.build_network(seed=seed, dtype="float64")
    x, t = sc.load_batch(batch_size or sc.gradcheck_batch_size, seed, data_dir, "float64")
    n = len(x)
    names = [lay.name for lay in net.layers] + ["loss"]
    for name in layer or []:
        if name not in names:
            raise UsageError("no such layer", key="--layer", value=name,
                             expected=f"one of {', '.join(names)}")
    t0 = time.perf_counter()
    report = gradcheck(net, x, t, mode=mode.value, scope=scope.value, h=h,
                       tol=tol, atol=atol, k=k, full_limit=full_limit, seed=seed,
                       layers=layer or None, inplace=True)
    seconds = time.perf_counter() - t0
    if as_json:
        doc = {
            "scenario": sc.name, "mode": mode.value, "scope": scope.value,
            "passed": report.passed, "tol": tol, "atol": atol, "h": h, "batch_size": n,
            "seed": seed, "loss": report.loss, "evaluations": report.evaluations,
            "seconds": round(seconds, 3), "checks": [c.as_dict() for c in report.checks],
        }
        print(json.dumps(doc, indent=2))
    else:
        console = _console()
        console.print(gradcheck_table(report, title=f"gradient check · {sc.name}"))
        console.print(gradcheck_summary(report, sc.name, n, seed, seconds))
    if not report.passed:
        raise typer.Exit(1)


# ---------------------------------------------------------------------------------------------
def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
