"""The ``backprop-tui`` command: thin Typer commands that parse, call the library, format and
return an exit code (0 ok · 1 a check failed · 2 bad usage or input · 130 interrupted)."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from .cliout import console as _console
from .cliout import escape as _escape
from .engine.gradcheck import SCOPES
from .engine.numeric import MODES
from .engine.optim import OPTIMIZERS
from .errors import UserError
from .optioncheck import (
    COUNT,
    FRACTION,
    POSITIVE,
    POSITIVE_INT,
    REL_TOL,
    SEED,
    STEP,
    check_options,
)
from .scenario import DTYPES

app = typer.Typer(
    name="backprop-tui",
    help="A terminal step-through debugger for backpropagation: walk a numpy network layer by "
    "layer, and audit its gradients.",
    add_completion=False,
    invoke_without_command=True,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(fn: F) -> F:
    """Turn a :class:`UserError` into one message on stderr and exit code 2 — no traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            if kwargs.get("as_json"):  # a script reading stdout gets JSON, not an empty line
                from .formatting import json_text

                print(json_text({"passed": False, "error": {"kind": type(e).__name__,
                                                            "message": str(e)}}))
            _console(stderr=True).print(f"[bold red]error:[/] {_escape(str(e))}", soft_wrap=True)
            raise typer.Exit(e.exit_code) from None

    return wrapper  # type: ignore[return-value]


ScenarioArg = Annotated[
    str, typer.Argument(help="A built-in scenario name (see `backprop-tui scenarios`) or a path "
                             "to a scenario .toml file.", show_default=False)
]
NetworkArg = Annotated[
    str, typer.Argument(help="A built-in scenario name (see `backprop-tui scenarios`), a path "
                             "to a scenario .toml file, or a Python .py file that builds your "
                             "own network (it calls bt.debug(net, x, t) or defines net, x, t).",
                        show_default=False)
]
RunArg = Annotated[
    str, typer.Argument(help="A built-in scenario name (see `backprop-tui scenarios`), a path "
                             "to a scenario .toml file, or a Python .py file that builds your "
                             "own network (it calls bt.debug(net, x, t, ...) or defines net, x, "
                             "t; x_test and t_test, if it defines them, are the test set).",
                        show_default=False)
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder with your own MNIST IDX files (gz or raw; default: "
                 "$BACKPROP_TUI_DATA_DIR, else the data shipped with the package), or with "
                 "CIFAR-10's python or binary batches (default: $BACKPROP_TUI_CIFAR10_DIR; "
                 "not shipped, see the README).", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
AllDataOpt = Annotated[bool, typer.Option(
    "--all-data", help="The whole training and test split, not the scenario's train_size/"
    "test_size (cifar10-twolayer: 50,000/10,000 instead of cs231n's 5,000/500).")]


@app.callback()
def _root(ctx: typer.Context) -> None:
    """With no command: open the scenario picker (in a terminal), then the debugger."""
    if ctx.invoked_subcommand is not None:
        return
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print(ctx.get_help())
        print("\n(Run backprop-tui in a terminal to open the scenario picker.)")
        raise typer.Exit(0)
    from .exerciserun import print_summaries
    from .tui.app import run_picker

    print_summaries(run_picker())


# ---------------------------------------------------------------------------------------------
@app.command("scenarios")
@user_errors
def scenarios_cmd(as_json: JsonOpt = False) -> None:
    """List the built-in scenarios: name, data, architecture, parameter count, description;
    then chapter 6's experiments (train NAME --headless runs one). JSON: one object each, its
    "kind" graph, network or experiment."""
    from .experiments import EXPERIMENTS
    from .formatting import json_text, scenarios_table
    from .graphfile import list_graph_scenarios
    from .scenario import list_scenarios

    items = [*list_graph_scenarios(), *list_scenarios()]  # graphs first: the learning path
    if as_json:
        print(json_text([x.summary() for x in [*items, *EXPERIMENTS.values()]]))
        return
    console = _console()
    console.print(scenarios_table(items, width=console.width))
    console.print(scenarios_table(EXPERIMENTS.values(), width=console.width, what="runs",
                                  title="experiments (backprop-tui train NAME [--headless])"))


# ---------------------------------------------------------------------------------------------
def _choices(name: str, values: Iterable[str]) -> type[StrEnum]:
    """An option's choices, made from the library's own list of values: a new optimizer,
    dtype or gradcheck mode needs no edit here."""
    return StrEnum(name, {v: v for v in values})


ModeChoice = _choices("ModeChoice", MODES)
ScopeChoice = _choices("ScopeChoice", SCOPES)


@app.command("gradcheck")
@user_errors
def gradcheck_cmd(
    scenario: NetworkArg,
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
    """Audit every layer's gradients against centered finite differences (float64): of a
    scenario, or of your own network in a .py file (a check of your layers for CI).

    Exit code 0 if every tensor passes, 1 if any fails, 2 for bad input.
    """
    import numpy as np

    from .blas import threads_for
    from .engine.contract import LayerError
    from .engine.datacheck import BadData
    from .engine.gradcheck import gradcheck
    from .engine.paramcheck import gradcheck_function
    from .errors import DataError, UsageError
    from .formatting import gradcheck_summary, gradcheck_table, json_text
    from .graphfile import is_graph_ref
    from .graphrun import graph_gradcheck, need_graph
    from .netfile import is_network_file, load_network_file
    from .scenario import load_scenario

    check_options(("--tol", tol, REL_TOL), ("--atol", atol, POSITIVE), ("--h", h, STEP),
                  ("--k", k, POSITIVE_INT), ("--full-limit", full_limit, POSITIVE_INT),
                  ("--batch-size", batch_size, POSITIVE_INT), ("--seed", seed, SEED))
    options = dict(mode=mode.value, h=h, tol=tol, atol=atol, k=k, full_limit=full_limit,
                   seed=seed, layers=layer or None)
    nf = load_network_file(scenario) if is_network_file(scenario) else None
    if is_graph_ref(scenario) or (nf is not None and nf.kind == "graph"):  # graphrun.py
        title, graph = (nf.name, nf.net) if nf else need_graph(scenario)
        raise typer.Exit(graph_gradcheck(title, graph, options, as_json, _console(),
                                         _console(stderr=True)))
    if nf is not None:  # your own code, built by a Python file
        title, net = nf.name, nf.net
        if nf.kind == "network":
            net.cast(np.float64)
            names = [lyr.name for lyr in net.layers] + ["loss"]
        else:  # a model or f(params): checked parameter by parameter
            params = nf.params if nf.kind == "function" else net.params
            _float64_params(nf.path, params)
            names = list(params)
        has_step = nf.kind == "network" and any(lyr.kind == "Step" for lyr in net.layers)
    else:
        sc = load_scenario(scenario)
        if batch_size:  # its activations at this batch size, before anything is built
            from .memory import check_fits

            check_fits(replace(sc, gradcheck_batch_size=batch_size), key="--batch-size",
                       value=batch_size)
        title, net = sc.name, None
        names = [spec.name for spec in sc.layers] + ["loss"]
        has_step = sc.has_step
    for name in layer or []:
        if name not in names:
            what = "parameter" if nf is not None and nf.kind != "network" else "layer"
            raise UsageError(f"no such {what}", key="--layer", value=name,
                             expected=f"one of {', '.join(names)}")
    if has_step:
        reason = (
            f"{title}: nothing to check. Its step layers have derivative 0 wherever it exists "
            "(and none at the jump), so backprop sends exactly 0 to every weight before them: "
            "there is no gradient to compare. These weights are wired by hand, not learned."
        )
        if as_json:
            print(json_text({"scenario": title, "mode": mode.value, "passed": True,
                             "skipped": reason, "checks": []}))
        else:
            _console().print(_escape(reason))
        return
    if nf is None:
        net = sc.build_network(seed=seed, dtype="float64")
        x, t = sc.load_batch(batch_size or sc.gradcheck_batch_size, seed, data_dir, "float64")
    elif nf.kind != "function":  # a seeded sample of the file's data, 8 rows unless told
        n = min(batch_size or 8, len(nf.x))
        rows = np.sort(np.random.default_rng(seed).choice(len(nf.x), size=n, replace=False))
        x, t = nf.x[rows].astype(np.float64), nf.t[rows]
    t0 = time.perf_counter()
    try:
        with threads_for("gradcheck"):  # thousands of tiny products: one BLAS thread
            if nf is not None and nf.kind == "function":
                x = t = None
                report = gradcheck_function(net, nf.params, **options)
            else:
                report = gradcheck(net, x, t, scope=scope.value, inplace=True, **options)
    except BadData as e:  # NaN in the data, labels that are not class indices: not a layer's
        raise DataError(str(e), file=nf.path if nf is not None else sc.path) from None
    except LayerError as e:  # the code being checked raised: a failed check, said in one line
        if as_json:
            print(json_text({"scenario": title, "mode": mode.value, "scope": scope.value,
                             "passed": False, "error": e.as_dict(), "checks": []}))
        else:
            _console(stderr=True).print(f"[bold red]FAILED:[/] {_escape(str(e))}",
                                        soft_wrap=True)
        raise typer.Exit(1) from None
    seconds = time.perf_counter() - t0
    n = 0 if x is None else len(x)
    if as_json:
        doc = {
            "scenario": title, "mode": mode.value, "scope": report.scope,
            "passed": report.passed, "tol": tol, "atol": atol, "h": h, "batch_size": n,
            "seed": seed, "loss": report.loss, "evaluations": report.evaluations,
            "seconds": round(seconds, 3), "checks": [c.as_dict() for c in report.checks],
            "unchecked": report.unchecked,
        }
        print(json_text(doc))
    else:
        console = _console()
        console.print(gradcheck_table(report, title=f"gradient check · {title}"))
        console.print(gradcheck_summary(report, title, n, seed, seconds))
    if not report.passed:
        raise typer.Exit(1)


def _float64_params(path: Any, params: Any) -> None:
    """A model or f(params) from a file is checked in place: its parameters must be float64."""
    import numpy as np

    from .errors import ScenarioError

    for key, p in params.items():
        if not (isinstance(p, np.ndarray) and p.dtype == np.float64):
            what = p.dtype if isinstance(p, np.ndarray) else type(p).__name__
            raise ScenarioError("the gradient check needs float64 parameters", file=path,
                                key=f"params[{key!r}]", value=str(what),
                                expected="float64 arrays (cs231n's models take "
                                         "dtype=np.float64)")


@app.command("graph")
@user_errors
def graph_cmd(
    scenario: Annotated[str, typer.Argument(
        help="A built-in graph (see `backprop-tui scenarios`: data 'graph'), a graph .toml, "
             "or a .py file that calls bt.debug(node).", show_default=False)],
    as_json: JsonOpt = False,
) -> None:
    """One forward and one backward pass through a computational graph: every node's name,
    op, value and gradient."""
    from .graphrun import graph_command

    graph_command(scenario, as_json, _console())


# ---------------------------------------------------------------------------------------------
OptimizerChoice = _choices("OptimizerChoice", OPTIMIZERS)
DtypeChoice = _choices("DtypeChoice", DTYPES)


@app.command("train")
@user_errors
def train_cmd(
    scenario: RunArg,
    headless: Annotated[bool, typer.Option(
        "--headless", help="Train without the TUI: progress bars on a terminal, plain lines "
        "otherwise.")] = False,
    epochs: Annotated[int | None, typer.Option(
        help="Epochs to train (in total, when resuming).", show_default=False)] = None,
    batch_size: Annotated[int | None, typer.Option(help="Samples per batch.",
                                                   show_default=False)] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate.", show_default=False)] = None,
    optimizer: Annotated[OptimizerChoice | None, typer.Option(show_default=False)] = None,
    seed: Annotated[int | None, typer.Option(
        help="Seed for the weights, the batch order and Dropout (a .py file builds its own "
             "weights; its seed also seeds numpy's global generator, for the book's Dropout).",
        show_default=False)] = None,
    dtype: Annotated[DtypeChoice | None, typer.Option(
        help="float32 is fast; float64 is exact. A .py network trains in float64 unless told: "
             "your own layers may not be float32-safe.", show_default=False)] = None,
    out: Annotated[Path | None, typer.Option(
        help="Run folder (default: runs/SCENARIO-TIME). Gets metrics.csv, config.toml (run.toml "
             "for a .py network), checkpoint.npz and best.npz.", show_default=False)] = None,
    resume: Annotated[Path | None, typer.Option(
        help="Continue from a run folder or checkpoint; the result equals an uninterrupted run.",
        show_default=False)] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Train into an --out folder that holds another run: its files are "
        "deleted first.")] = False,
    min_accuracy: Annotated[float | None, typer.Option(
        help="Exit 1 if the final test accuracy (0-1) is below this.", show_default=False)] = None,
    log_every: Annotated[int | None, typer.Option(
        help="Print every N-th epoch's summary line (default: about 20 lines per run).",
        show_default=False)] = None,
    data_dir: DataDirOpt = None,
    all_data: AllDataOpt = False,
    quick: Annotated[bool, typer.Option(
        "--quick", help="An experiment: a shorter version for a first look (under a minute).")
    ] = False,
    trials: Annotated[int | None, typer.Option(
        help="hyperparameter-search: how many trials (default 100).", show_default=False)
    ] = None,
    health: Annotated[bool, typer.Option(
        "--health", help="With --headless: network health after the first iteration and at "
        "the last batch of every epoch (every k-th of runs over 100 epochs, k = ⌈epochs/100⌉) "
        "into the run folder's health.csv (one row per layer), the last report printed at "
        "the end.")] = False,
    plots: Annotated[Path | None, typer.Option(
        help="An experiment: write each of its charts as an SVG file into this folder.",
        show_default=False)] = None,
) -> None:
    """Train a scenario, or your own network from a .py file, in the live dashboard or
    headless (--headless), with checkpoints, resume and Ctrl-C saving. An experiment of
    chapter 6 (see `backprop-tui scenarios`) runs all its runs, in the compare view or with
    --headless; either writes each run's metrics.csv, combined.csv and experiment.json (and
    with --plots DIR each chart as an SVG file).

    A .py file's settings come from its bt.debug(...) call (optimizer, batch_size, seed), then
    from these flags; where both are silent: SGD lr 0.1, batch size min(N, 32), 10 epochs,
    seed 0, float64.

    The dashboard: space pauses/resumes, d opens the debugger on the current batch, s saves,
    q stops and saves. Exit 0 done · 1 NaN/Inf appeared or --min-accuracy missed · 2 bad
    input · 130 interrupted (a checkpoint is saved first).
    """
    from .errors import UsageError
    from .experiments import EXPERIMENTS

    if scenario in EXPERIMENTS:
        from .experimentrun import train_experiment

        return train_experiment(
            scenario, headless=headless, quick=quick, trials=trials, seed=seed, out=out,
            resume=resume, data_dir=data_dir, plots=plots, other_options={
                "--epochs": epochs, "--batch-size": batch_size, "--lr": lr,
                "--optimizer": optimizer, "--dtype": dtype, "--force": force,
                "--min-accuracy": min_accuracy, "--log-every": log_every,
                "--all-data": all_data, "--health": health or None})
    for flag, given in (("--quick", quick or None), ("--trials", trials), ("--plots", plots)):
        if given is not None:
            raise UsageError("only applies to an experiment", key=flag, value=given,
                             expected=f"an experiment's name ({', '.join(EXPERIMENTS)})")
    check_options(("--log-every", log_every, POSITIVE_INT),
                  ("--min-accuracy", min_accuracy, FRACTION))
    if health and not headless:
        raise UsageError("is for headless training", key="--health",
                         hint="Add --headless; in the dashboard, press h")
    # the dashboard reads keys from stdin and draws on stderr (Textual's choice)
    if not headless and not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise UsageError(
            "the live training dashboard needs a terminal",
            hint="Add --headless to train with progress lines instead (for CI and pipes).")
    from .runfolder import claim_for

    trainer = _make_trainer(scenario, epochs=epochs, batch_size=batch_size, lr=lr,
                            optimizer=optimizer, seed=seed, dtype=dtype, out=out,
                            resume=resume, data_dir=data_dir, all_data=all_data)
    from . import trainrun

    with claim_for(trainer, resume=resume, force=force):  # locked until the training ends
        if headless:
            trainrun.train_headless(trainer, scenario, min_accuracy, log_every,
                                    resumed=resume is not None, health=health)
        else:
            trainrun.train_dashboard(trainer, scenario, min_accuracy)


def _make_trainer(scenario: str, *, epochs: int | None, batch_size: int | None,
                  lr: float | None, optimizer: OptimizerChoice | None, seed: int | None,
                  dtype: DtypeChoice | None, out: Path | None, resume: Path | None,
                  data_dir: Path | None, all_data: bool = False):
    """The Trainer both front ends use: flags checked, the scenario loaded and overridden, or
    the run resumed from a checkpoint (raises ``UserError`` for bad input: exit 2)."""
    from .training import Trainer, default_run_dir

    check_options(("--epochs", epochs, COUNT), ("--batch-size", batch_size, POSITIVE_INT),
                  ("--lr", lr, POSITIVE), ("--seed", seed, SEED))
    sc = _load_run(scenario, data_dir, all_data)
    opt_name = optimizer.value if optimizer else None
    dt = dtype.value if dtype else None
    if resume is not None:
        return Trainer.resume(
            sc, resume, epochs=epochs, lr=lr, out_dir=out, data_dir=data_dir,
            overrides={"batch_size": batch_size, "optimizer": opt_name, "seed": seed,
                       "dtype": dt})
    sc = sc.with_train(epochs=epochs, batch_size=batch_size, lr=lr, optimizer=opt_name,
                       seed=seed, dtype=dt)
    return Trainer(sc, out_dir=out or default_run_dir(sc.name), data_dir=data_dir)


def _load_run(scenario: str, data_dir: Path | None, all_data: bool):
    """The scenario (with all its data if asked), or the run of a .py network of the user's
    own — which brings its own data: ``--data-dir`` and ``--all-data`` are refused for it."""
    from .errors import UsageError
    from .netfile import is_network_file
    from .scenario import load_scenario

    if is_network_file(scenario):
        from .ownrun import NetworkFileRun

        for flag, given in (("--data-dir", data_dir), ("--all-data", all_data or None)):
            if given is not None:
                raise UsageError("is for a scenario's MNIST or CIFAR-10 data; a .py network "
                                 "brings its own", key=flag, value=str(given))
        return NetworkFileRun.load(scenario)
    sc = load_scenario(scenario)
    return sc.with_all_data() if all_data else sc


@app.command("health")
@user_errors
def health_cmd(
    scenario: RunArg,
    iterations: Annotated[int, typer.Option(
        help="Training iterations before the report (1: the initial loss, the init's dead "
             "units and the first update); at most the scenario's epochs × batches.")] = 1,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Network health after N training iterations, one row per layer: the activation
    histogram, dead ReLU units by index, saturated sigmoid/tanh units, ‖dW‖, ‖dx‖, ‖W‖, the
    update/weight ratio, NaN/Inf; and the initial loss against ln C."""
    from .healthrun import health_command
    from .training import Trainer

    check_options(("--iterations", iterations, POSITIVE_INT))
    health_command(Trainer(_load_run(scenario, data_dir, False)), iterations, as_json,
                   _console())


class ThemeChoice(StrEnum):
    dark = "dark"
    light = "light"


@app.command("debug")
@user_errors
def debug_cmd(
    scenario: NetworkArg,
    checkpoint: Annotated[Path | None, typer.Option(
        help="Step through a trained network: a checkpoint file, or a run folder (its "
             "checkpoint.npz). Its weights are converted to float64.", show_default=False)] = None,
    batch_size: Annotated[int | None, typer.Option(
        help="Samples per batch (default: the scenario's [debug] batch_size).",
        show_default=False)] = None,
    seed: Annotated[int | None, typer.Option(
        help="Seed for the weights and the batch order (default: the scenario's).",
        show_default=False)] = None,
    theme: Annotated[ThemeChoice, typer.Option(help="Colour theme.")] = ThemeChoice.dark,
    data_dir: DataDirOpt = None,
) -> None:
    """Open the step-through debugger on a scenario, or on your own network in a .py file.

    Walk one training iteration step by step (forward, loss, backward, update), inspect every
    tensor, gradient-check any layer.

    Press ? in the debugger for the keys. Exit 2 for bad input (before the screen opens).
    """
    from .debugref import open_session
    from .errors import UsageError
    from .graphfile import is_graph_ref
    from .graphrun import need_graph
    from .netfile import is_network_file, load_network_file
    from .tui.app import DARK, LIGHT, run_debugger, run_graph_debugger

    check_options(("--batch-size", batch_size, POSITIVE_INT), ("--seed", seed, SEED))
    colours = LIGHT if theme == ThemeChoice.light else DARK
    if is_graph_ref(scenario):
        if checkpoint is not None:
            raise UsageError("is for network scenarios; a graph starts from its file's values",
                             key="--checkpoint", value=str(checkpoint))
        return run_graph_debugger(*need_graph(scenario), theme=colours)
    nf = load_network_file(scenario) if is_network_file(scenario) else None
    if nf is not None and nf.kind == "graph":  # bt.debug(node): the graph debugger
        if checkpoint is not None:
            raise UsageError("is for scenarios; a .py network starts from the weights the file "
                             "gives it", key="--checkpoint", value=str(checkpoint))
        return run_graph_debugger(nf.name, nf.net, theme=colours)
    session = open_session(scenario, seed=seed, batch_size=batch_size, checkpoint=checkpoint,
                           data_dir=data_dir, nf=nf)
    run_debugger(session, theme=colours)


@app.command("exercise")
@user_errors
def exercise_cmd(
    scenario: Annotated[str | None, typer.Argument(
        help="A built-in scenario (default: any whose data are here) or a .toml file.",
        show_default=False)] = None,
    seed: Annotated[int | None, typer.Option(
        help="Seed that picks the mistake and where it goes (default: a new one, said on "
             "exit).", show_default=False)] = None,
    list_: Annotated[bool, typer.Option("--list", help="Print the catalogue of mistakes.")] = False,
    as_json: JsonOpt = False,
    theme: Annotated[ThemeChoice, typer.Option(help="Colour theme.")] = ThemeChoice.dark,
    data_dir: DataDirOpt = None,
) -> None:
    """Find the bug: one mistake students make is planted in one piece of a network, without
    saying where. Step, gradient-check, then press a to answer; prints the time and hints on exit.
    """
    from .exerciserun import print_catalogue, run

    check_options(("--seed", seed, SEED))
    if list_ or as_json:
        return print_catalogue(as_json, _console())
    run(scenario, seed, data_dir, light=theme == ThemeChoice.light)


StepChoice = _choices("StepChoice", ("forward", "backward", "update"))


@app.command("explain")
@user_errors
def explain_cmd(
    scenario: NetworkArg,
    tensor: Annotated[str, typer.Argument(
        help='The entry: LAYER.TENSOR[i,j], like "affine1.dW[1,3]", "loss.dscores[0,1]", '
             '"loss.loss" or "update.affine1.W[1,3]".', show_default=False)],
    step: Annotated[StepChoice | None, typer.Option(
        help="How far the iteration runs first (default: the step that computes the "
             "tensor).", show_default=False)] = None,
    seed: Annotated[int | None, typer.Option(
        help="Seed for the weights and the batch order (default: the scenario's).",
        show_default=False)] = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Explain one number of the debugger's first batch: its formula with this batch's values,
    the terms (largest first) that sum to it, and the entries that feed it."""
    from .explainrun import explain_command

    check_options(("--seed", seed, SEED))
    explain_command(scenario, tensor, step.value if step else None, seed, data_dir, as_json,
                    _console())


@app.command("eval")
@user_errors
def eval_cmd(
    scenario: RunArg,
    checkpoint: Annotated[Path | None, typer.Option(
        help="A checkpoint file, or a run folder (its checkpoint.npz). Default: the latest "
             "run of the scenario in runs/.", show_default=False)] = None,
    data_dir: DataDirOpt = None,
    all_data: AllDataOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Test accuracy, per-class accuracy and the confusion matrix of a trained network: of a
    scenario, or of your own network from the .py file it was trained from (on its x_test and
    t_test; on its training data if it has none)."""
    import numpy as np

    from .blas import threads_for
    from .checkpoint import load_checkpoint
    from .formatting import confusion_table, json_text
    from .ownrun import NO_TEST_NOTE, NetworkFileRun
    from .restore import checkpoint_dtype, load_weights
    from .training import evaluate, latest_run_dir

    sc = _load_run(scenario, data_dir, all_data)
    if checkpoint is None:  # the latest run; say which (on stderr: --json stays JSON)
        checkpoint = latest_run_dir(sc.name, scenario)
        _console(stderr=True).print(f"evaluating the latest run of {_escape(sc.name)}: "
                                    f"{_escape(checkpoint)} (--checkpoint chooses another)")
    ckpt = load_checkpoint(checkpoint)
    sc.check_checkpoint(ckpt)
    dtype = checkpoint_dtype(ckpt)  # every field checked, as a resume checks them
    net = sc.build_network(dtype=dtype)
    load_weights(ckpt, net)
    _, _, x_te, t_te = sc.load_data(data_dir=data_dir, dtype=dtype)
    own = isinstance(sc, NetworkFileRun)
    if own and not sc.has_test_data and not as_json:
        _console().print(f"note: {NO_TEST_NOTE}", highlight=False, soft_wrap=True)

    def measure() -> tuple[float, float, Any]:  # on the trainer's BLAS threads: its numbers
        with np.errstate(all="ignore"), threads_for("train"):
            return (*evaluate(net, x_te, t_te), net.predict(x_te))

    loss, acc, pred = _own_code(sc, "evaluating the checkpoint", measure)
    labels = net.loss_layer.labels(t_te)
    names = sc.class_names() if not own else \
        tuple(str(i) for i in range(int(max(labels.max(), pred.max(), 1)) + 1))
    k = len(names)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (labels, pred), 1)
    per_class = [float(cm[i, i] / cm[i].sum()) if cm[i].sum() else float("nan") for i in range(k)]
    if as_json:
        doc = {
            "scenario": sc.name, "checkpoint": str(ckpt.path), "test_samples": int(len(x_te)),
            "test_loss": loss, "test_accuracy": acc,
            "per_class_accuracy": dict(zip(names, per_class, strict=True)),
            "confusion_matrix": cm.tolist(),
        }
        if own:  # what the "test" samples are: the file's x_test/t_test or its training data
            doc["test_set"] = "x_test/t_test" if sc.has_test_data else "the training data"
        print(json_text(doc))
        return
    console = _console()
    console.print(f"[bold]{_escape(sc.name)}[/] · {_escape(ckpt.path)} · epoch "
                  f"{_escape(ckpt.meta.get('epochs_done'))} · "
                  f"{len(x_te):,} test samples", highlight=False, soft_wrap=True)
    console.print(f"test accuracy [bold]{100 * acc:.2f}%[/] ({int(cm.trace())}/{len(x_te)}), "
                  f"test loss {loss:.4f}", highlight=False)
    console.print(confusion_table(cm, names, per_class))


def _own_code(sc: Any, doing: str, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, where code of the user's runs: what it raises is one error line naming
    the file and the line (exit 2)."""
    from .engine.contract import describe_error
    from .errors import TrainingError

    try:
        return fn(*args)
    except Exception as e:
        raise TrainingError(f"{doing} raised {describe_error(e)}", file=sc.path) from None


# ---------------------------------------------------------------------------------------------
def _usage_error_class() -> type[Exception]:
    """Click's UsageError, whether Typer vendors Click or depends on it (BadParameter is public
    and derives from it)."""
    for cls in typer.BadParameter.__mro__:
        if cls.__name__ == "UsageError":
            return cls
    return typer.BadParameter


def _offending_value(e: Exception, argv: list[str]) -> str | None:
    """The command-line text a rejected option was given (``--tol abc`` → ``'abc'``), so the
    message can say what was wrong. Click's BadParameter names the option but not the value."""
    param = getattr(e, "param", None)
    opts = [o for o in getattr(param, "opts", []) or [] if o.startswith("-")]
    if not opts:
        return None
    for i, arg in enumerate(argv):
        for opt in opts:
            if arg == opt and i + 1 < len(argv):
                return argv[i + 1]
            if opt.startswith("--") and arg.startswith(opt + "="):
                return arg[len(opt) + 1:]
    return None


def main() -> None:
    """Console-script entry point: usage errors become one ``error:`` line and exit 2."""
    usage_error = _usage_error_class()
    try:
        code = app(standalone_mode=False)
    except usage_error as e:
        ctx = getattr(e, "ctx", None)
        if type(e).__name__ == "NoArgsIsHelpError":  # `backprop-tui gradcheck` alone: help
            print(ctx.get_help() if ctx else "")
            sys.exit(0)
        message = e.format_message().rstrip().replace(": Value error, ", ": ")
        value = _offending_value(e, sys.argv[1:])
        if value is not None and repr(value) not in message:
            message = message.rstrip(".") + f" (got {value!r})"
        if not message.endswith((".", "!", "?")):
            message += "."
        hint = f" Try '{ctx.command_path} --help'." if ctx else ""
        _console(stderr=True).print(f"[bold red]error:[/] {_escape(message)}{hint}",
                                    soft_wrap=True)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
