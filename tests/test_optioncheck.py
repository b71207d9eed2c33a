"""Numeric command-line options: non-finite and out-of-range values are one ``error:`` line and
exit 2 (issue 13, item 9), before anything is trained or checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cli import assert_user_error, run

from backprop_tui.errors import UsageError
from backprop_tui.optioncheck import FRACTION, POSITIVE, check_options


@pytest.mark.parametrize(
    ("flag", "value", "parts"),
    [
        ("--h", "inf", ["--h", "(got inf)", "0 < h < 1"]),
        ("--h", "nan", ["--h", "(got nan)"]),
        ("--h", "2", ["--h", "(got 2.0)"]),
        ("--tol", "inf", ["--tol", "(got inf)", "would pass anything"]),
        ("--tol", "1", ["--tol", "(got 1.0)"]),
        ("--tol", "-inf", ["--tol", "(got -inf)"]),
        ("--atol", "inf", ["--atol", "(got inf)", "a finite number > 0"]),
        ("--atol", "nan", ["--atol", "(got nan)"]),
        ("--seed", str(2**63), ["--seed"]),
    ],
)
def test_gradcheck_refuses_non_finite_and_useless_tolerances(flag: str, value: str,
                                                              parts: list[str]) -> None:
    assert_user_error(run("gradcheck", "xor", flag, value), *parts)


@pytest.mark.parametrize(
    ("args", "parts"),
    [
        (["--min-accuracy", "nan"], ["--min-accuracy", "(got nan)", "[0, 1]"]),
        (["--min-accuracy", "-1"], ["--min-accuracy", "(got -1.0)"]),
        (["--min-accuracy", "2"], ["--min-accuracy", "(got 2.0)", "0.95 means 95 %"]),
        (["--min-accuracy", "inf"], ["--min-accuracy", "(got inf)"]),
        (["--lr", "inf"], ["--lr", "(got inf)", "a finite number > 0"]),
        (["--lr", "-inf"], ["--lr", "(got -inf)"]),
        (["--epochs", "-1"], ["--epochs", "(got -1)"]),
        (["--batch-size", "0"], ["--batch-size", "(got 0)"]),
        (["--log-every", "0"], ["--log-every", "(got 0)"]),
    ],
)
def test_train_refuses_bad_numbers_before_training(tmp_path: Path, args: list[str],
                                                   parts: list[str]) -> None:
    out = tmp_path / "run"
    assert_user_error(run("train", "xor", "--headless", "--epochs", "1", "--out", str(out),
                          *args), *parts)
    assert not out.exists()  # refused before a run folder was made


@pytest.mark.parametrize(("args", "flag"), [(["--batch-size", "0"], "--batch-size"),
                                            (["--seed", "-3"], "--seed")])
def test_debug_refuses_bad_numbers_for_a_network_file(tmp_path: Path, args: list[str],
                                                      flag: str) -> None:
    net = tmp_path / "net.py"
    net.write_text("raise SystemExit('must not run: the flags are refused first')\n")
    assert_user_error(run("debug", str(net), *args), flag)


def test_the_in_range_values_still_run(tmp_path: Path) -> None:
    result = run("train", "xor", "--headless", "--epochs", "1", "--min-accuracy", "0",
                 "--lr", "0.5", "--out", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output
    assert run("gradcheck", "xor", "--tol", "1e-5", "--atol", "1e-8", "--h", "1e-6").exit_code == 0


def test_check_options_names_the_first_bad_value_and_skips_absent_ones() -> None:
    check_options(("--lr", None, POSITIVE), ("--min-accuracy", 1.0, FRACTION))
    with pytest.raises(UsageError) as e:
        check_options(("--lr", 0.1, POSITIVE), ("--min-accuracy", float("nan"), FRACTION))
    assert e.value.key == "--min-accuracy" and "must be a fraction" in str(e.value)
