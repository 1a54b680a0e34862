"""Bad option values stop at parsing with the option's rule, before any work starts."""

import argparse
from pathlib import Path

import pytest

from app.arguments import integer, levels, names, number, share, writable_dir
from app.cli import build_parser


def test_integer_keeps_its_range() -> None:
    parse = integer(1, 10)
    assert parse(" 7 ") == 7
    for text, message in (
        ("0", "must be from 1 to 10, got 0"),
        ("11", "must be from 1 to 10, got 11"),
        ("x", "expected a whole number, got 'x'"),
        ("2.5", "expected a whole number, got '2.5'"),
    ):
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            parse(text)
    assert integer(0)("0") == 0
    with pytest.raises(argparse.ArgumentTypeError, match="must be at least 0, got -1"):
        integer(0)("-1")


def test_number_and_share_reject_out_of_range_and_non_finite_values() -> None:
    assert share("0.25") == 0.25
    for text in ("1.5", "-0.1"):
        with pytest.raises(argparse.ArgumentTypeError, match="must be from 0 to 1"):
            share(text)
    for text in ("nan", "inf"):
        with pytest.raises(argparse.ArgumentTypeError, match="expected a finite number"):
            number(0.0)(text)
    with pytest.raises(argparse.ArgumentTypeError, match="expected a number, got 'abc'"):
        number(0.0)("abc")


def test_levels_are_whole_numbers_of_at_least_one() -> None:
    assert levels("1, 8,32") == [1, 8, 32]
    for text in ("", "0", "1,,8", "a,b", "-1", "1.5"):
        with pytest.raises(argparse.ArgumentTypeError, match="comma-separated whole numbers"):
            levels(text)


def test_names_keep_order_drop_repeats_and_refuse_unknown_ones() -> None:
    parse = names(("ingest", "retrieval", "latency"))
    assert parse("latency, ingest,latency") == ["latency", "ingest"]
    for text in ("", " , ", "ingest,nope"):
        with pytest.raises(argparse.ArgumentTypeError, match="names from ingest, retrieval"):
            parse(text)


def test_writable_dir_creates_the_folder_and_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "results" / "nested"
    assert writable_dir(str(target)) == target
    assert target.is_dir() and list(target.iterdir()) == []
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(argparse.ArgumentTypeError, match="cannot write results to"):
        writable_dir(str(blocker / "sub"))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["eval", "squad", "--per-class", "0"], "argument --per-class: must be at least 1, got 0"),
        (["eval", "squad", "--per-class", "-3"], "argument --per-class: must be at least 1"),
        (["eval", "out_of_scope", "--max-in-scope-declined", "5"], "must be from 0 to 1, got 5"),
        (["eval", "all", "--only", "squad,nope"], "argument --only: expected comma-separated"),
        (["bench", "latency", "--clients", "a,b"], "argument --clients: expected comma-separated"),
        (["bench", "latency", "--clients", "0"], "argument --clients: expected comma-separated"),
        (["bench", "latency", "--requests", "0"], "argument --requests: must be at least 1"),
        (["bench", "retrieval", "--chunks", "10"], "argument --chunks: must be at least 1000"),
        (["bench", "all", "--only", "nope"], "argument --only: expected comma-separated"),
        (["bench", "ingest", "--corpus", "/no/such/folder"], "neither contoso, scifact nor"),
        (["serve", "--port", "70000"], "argument --port: must be from 1 to 65535, got 70000"),
        (["versions", "activate", "0"], "argument number: must be at least 1, got 0"),
    ],
)
def test_the_cli_refuses_bad_values_with_the_rule(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_an_unwritable_results_dir_is_refused_before_the_suite_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["eval", "squad", "--results-dir", str(blocker / "runs")])
    assert "argument --results-dir: cannot write results to" in capsys.readouterr().err


def test_defaults_still_parse() -> None:
    args = build_parser().parse_args(["bench", "latency"])
    assert args.clients == [1, 8, 32] and args.requests == 48
    args = build_parser().parse_args(["eval", "all"])
    assert "squad" in args.only
