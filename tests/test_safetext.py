"""Text from files never acts on the terminal (issue 13, item 7): scenario names are checked (a
safe character set and length, so the default run folder stays under ``runs/``), and every
name, description, label, message and file name from outside is shown with its control
characters escaped — on the command line and in the TUI."""

from __future__ import annotations

import asyncio
import html
import io
import re
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from test_cli import assert_user_error, run

import backprop_tui as bt
from backprop_tui.formatting import scenarios_table
from backprop_tui.safetext import NAME_MAX, printable, safe_name
from backprop_tui.scenario import load_scenario
from backprop_tui.training import default_run_dir
from backprop_tui.tui.app import DARK, BackpropApp
from backprop_tui.tui.screens.dialogs import ErrorDialog
from backprop_tui.tui.session import DebugSession

TITLE = "\x1b]0;pwned\x07"  # sets the terminal's title
CLEAR = "\x1b[2J"  # clears the screen
#: what may reach a terminal: no C0/C1 control but the line break, no bidi override
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

BODY = """
[data]
source = "xor"
[network]
loss = "softmax_cross_entropy"
layers = [{ type = "affine", out = 4 }, { type = "relu" }, { type = "affine", out = 2 }]
"""


def toml_str(s: str) -> str:
    """A TOML basic string holding ``s`` (control characters as \\uXXXX escapes)."""
    return '"' + "".join(f"\\u{ord(c):04x}" if ord(c) < 32 or c in '"\\' else c
                         for c in s) + '"'


def scenario(tmp_path: Path, head: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(head + BODY)
    return path


def assert_no_control(text: str) -> None:
    found = CONTROL.search(text)
    where = text[max(0, found.start() - 300):found.end() + 100] if found else ""
    assert found is None, f"control character in {where!r}"


@pytest.mark.parametrize("name", ["../../../x", "/tmp/x", "a" * 300, "a\x00b", TITLE + "x",
                                  CLEAR, ".hidden", "", "two words"],
                         ids=["dotdot", "absolute", "300", "nul", "title", "clear", "dot",
                              "empty", "space"])
def test_unsafe_scenario_names_are_one_error_line(tmp_path: Path, monkeypatch,
                                                  name: str) -> None:
    monkeypatch.chdir(tmp_path)
    path = scenario(tmp_path, f"name = {toml_str(name)}\n")
    result = run("train", str(path), "--headless", "--epochs", "1")
    line = assert_user_error(result, str(path), "name", "letters, digits", repr(name))
    assert_no_control(result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]  # no run folder anywhere
    assert ("too long (300 characters)" in line) == (len(name) == 300)


def test_a_safe_name_of_64_characters_is_taken(tmp_path: Path) -> None:
    sc = load_scenario(scenario(tmp_path, f'name = "{"n" * NAME_MAX}"\n'))
    assert sc.name == "n" * NAME_MAX


def test_the_default_name_from_an_unsafe_file_name_is_made_safe(tmp_path: Path,
                                                                monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = scenario(tmp_path, "", name=f"my scenario{CLEAR}.toml")
    sc = load_scenario(path)
    assert sc.name == "my-scenario-2J"
    result = run("train", str(path), "--headless", "--epochs", "1")
    assert result.exit_code == 0, result.output
    assert_no_control(result.output)
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert run_dir.name.startswith("my-scenario-2J-")


@pytest.mark.parametrize("name", ["../../../x", "/tmp/x", "a" * 300, TITLE])
def test_the_default_run_folder_never_leaves_runs(tmp_path: Path, name: str) -> None:
    path = default_run_dir(name, tmp_path / "runs")
    assert path.parent == tmp_path / "runs" and len(path.name) < 100
    assert_no_control(str(path)) and ".." not in path.parts


@pytest.mark.parametrize("width", [80, 160])
def test_a_description_is_kept_as_written_and_shown_with_its_escape_codes(
        tmp_path: Path, width: int) -> None:
    sc = load_scenario(scenario(tmp_path, f"description = {toml_str('a' + TITLE + CLEAR)}\n"))
    assert sc.description == "a" + TITLE + CLEAR  # config.toml keeps it as it was
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(scenarios_table([sc], width=width))
    shown = console.file.getvalue()
    assert_no_control(shown)
    assert "a\\x1b]0;pwned\\x07\\x1b[2J" in shown.replace("\n", "").replace(" ", "")


def test_a_layer_name_with_control_characters_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    relu = f'{{ type = "relu", name = {toml_str(CLEAR)} }}'
    path.write_text(BODY.replace('{ type = "relu" }', relu))
    result = run("gradcheck", str(path))
    assert_user_error(result, "network.layers[1].name", "not a printable layer name",
                      "\\x1b[2J")
    assert_no_control(result.stderr)


@pytest.mark.parametrize("args", [
    lambda d: ["gradcheck", str(d / f"no{CLEAR}such.toml")],
    lambda d: ["gradcheck", str(d / f"{TITLE}.toml")],
    lambda d: ["train", "xor", "--headless", "--resume", str(d / f"gone{CLEAR}")],
], ids=["missing", "title-file", "resume"])
def test_file_names_in_error_messages_are_escaped(tmp_path: Path, args) -> None:
    argv = args(tmp_path)
    if argv[1].endswith(f"{TITLE}.toml"):
        Path(argv[1]).write_text(f"{toml_str(TITLE)} = 1\n" + BODY)  # a key from the file
    result = run(*argv)
    assert result.exit_code == 2
    assert_no_control(result.stderr)
    assert "\\x1b" in result.stderr


HOSTILE_NET = f"""
import numpy as np
import backprop_tui as bt
rng = np.random.default_rng(0)
x = rng.normal(size=(8, 2))
t = rng.integers(0, 2, size=8)
net = bt.Network([bt.Affine(rng.normal(size=(2, 3)), np.zeros(3), {CLEAR!r}),
                  bt.ReLU({TITLE!r}), bt.Affine(rng.normal(size=(3, 2)), np.zeros(2), "out")],
                 bt.SoftmaxCrossEntropy())
bt.debug(net, x, t, name={(TITLE + "mine")!r})
"""


@pytest.mark.parametrize("json_out", [False, True])
def test_a_networks_layer_names_and_name_are_escaped_in_the_gradcheck_report(
        tmp_path: Path, json_out: bool) -> None:
    path = tmp_path / "net.py"
    path.write_text(HOSTILE_NET)
    result = run("gradcheck", str(path), *(["--json"] if json_out else []))
    assert result.exit_code == 0, result.output
    assert_no_control(result.output)
    if not json_out:
        assert "\\x1b[2J" in result.stdout and "\\x1b]0;pwned\\x07mine" in result.stdout


def hostile_network() -> tuple[bt.Network, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    net = bt.Network([bt.Affine(rng.normal(size=(2, 3)), np.zeros(3), CLEAR),
                      bt.ReLU(TITLE), bt.Affine(rng.normal(size=(3, 2)), np.zeros(2), "out")],
                     bt.SoftmaxCrossEntropy())
    return net, rng.normal(size=(8, 2)), rng.integers(0, 2, size=8)


def screenshots(app: BackpropApp, steps) -> list[str]:
    shots: list[str] = []

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            for step in steps:
                await step(app, pilot)
                await pilot.pause()
                shots.append(app.export_screenshot())

    asyncio.run(main())
    return shots


def test_the_debugger_shows_hostile_names_escaped() -> None:
    net, x, t = hostile_network()
    session = DebugSession.for_network(net, x, t, name=TITLE + "mine")

    async def look(app, pilot) -> None:
        pass

    async def step(app, pilot) -> None:
        await pilot.press("n", "n", "down")

    async def dialog(app, pilot) -> None:
        app.push_screen(ErrorDialog(f"cannot open {CLEAR}", f"line 1 {TITLE}\nline 2"))

    shots = screenshots(BackpropApp("debug", session=session, theme=DARK), [look, step, dialog])
    for shot in shots:
        assert_no_control(shot)
    assert "\\x1b[2J" in shots[0] and "\\x1b]0;pwned\\x07mine" in shots[0]


def test_the_picker_shows_a_hostile_description_escaped(tmp_path: Path) -> None:
    # "[/]" and "[bold]": a DataTable reads a str cell as markup (a crash, or styled text)
    path = scenario(tmp_path, "description = "
                              f"{toml_str('about [bold]x[/] [/] ' + TITLE + CLEAR)}\n")

    async def look(app, pilot) -> None:
        pass

    shots = screenshots(BackpropApp("picker", theme=DARK, scenario_names=[str(path)]), [look])
    assert_no_control(shots[0])
    assert "\\x1b]0;pwned" in shots[0]
    shown = html.unescape(re.sub("<[^>]+>", "", shots[0])).replace("\xa0", " ")
    assert "about [bold]x[/] [/]" in shown


def test_printable_and_safe_name() -> None:
    assert printable("a\x1b[2Jb\u202ec\x00") == "a\\x1b[2Jb\\u202ec\\x00"
    assert printable("two\nlines\tx", spaces=True) == "two lines x"
    assert printable("two\nlines\x07", newlines=True) == "two\nlines\\x07"
    assert printable("café ✓ 784→200") == "café ✓ 784→200"  # text is left alone
    assert safe_name("../../etc/passwd") == "etc-passwd"
    assert safe_name("\x1b]0;\x07") == "0-"
    assert safe_name("///") == "run" and len(safe_name("x" * 300)) == NAME_MAX


GRAPH = """kind = "graph"
{head}
output = "c"
nodes = [{{ name = {a}, value = 2.0 }}, {{ name = "b", value = 3.0 }},
         {{ name = "c", op = "mul", inputs = [{a}, "b"] }}]
"""


@pytest.mark.parametrize(("head", "a", "words"), [
    ("", toml_str("a" + CLEAR), ["nodes[0].name", "not a printable node name", "\\x1b[2J"]),
    ('name = "../../x"', '"a"', ["name", "../../x"]),
], ids=["node-name", "graph-name"])
def test_a_graph_files_names_are_checked_as_a_networks_are(tmp_path: Path, head, a,
                                                           words) -> None:
    """A graph's node names and name reach the terminal (tables, titles): a control character
    or a path for a name is one error line, as in a network scenario."""
    path = tmp_path / "g.toml"
    path.write_text(GRAPH.format(head=head, a=a))
    for cmd in ("graph", "gradcheck"):
        result = run(cmd, str(path))
        assert_user_error(result, *words)
        assert_no_control(result.stdout + result.stderr)


def test_a_graph_from_code_shows_its_names_escaped(tmp_path: Path) -> None:
    """bt.var names come from the user's code, unchecked: shown with their escapes."""
    path = tmp_path / "g.py"
    path.write_text("import backprop_tui as bt\n"
                    f"a = bt.var(2.0, {TITLE + 'a'!r})\n"
                    "c = (a * bt.var(3.0, 'b')).named('c')\n"
                    "bt.gradcheck(c)\n")
    for cmd in ("graph", "gradcheck"):
        result = run(cmd, str(path))
        assert result.exit_code == 0, result.output
        assert_no_control(result.stdout + result.stderr)
        assert "\\x1b]0;pwned\\x07a" in result.stdout
