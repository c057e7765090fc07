"""The shared parser pieces (``kws/commands/_args.py``, ``frontend_args.py``): every command
registers through them, and its parsed arguments reach the command's function."""

from __future__ import annotations

import argparse

import pytest

from kws.cli import COMMANDS, build_parser
from kws.commands import compare, deploy, features, firmware, run
from kws.commands._args import add_command, add_json_arg, add_model_arg
from kws.commands.frontend_args import (
    add_frontend_args,
    frontend_from_args,
    frontend_options_given,
)
from kws.features import MfccConfig, MicroFrontendConfig


def test_every_command_has_help_and_a_function(capsys) -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert sorted(sub.choices) == sorted(COMMANDS)
    summaries = {a.dest: a.help for a in sub._choices_actions}
    for name in COMMANDS:
        with pytest.raises(SystemExit) as exc:
            parser.parse_args([name, "--help"])
        assert exc.value.code == 0
        assert summaries[name] and "usage: kws " + name in capsys.readouterr().out
    cases = {
        ("run", "--engine", "tflm", "--model", "m.tflite", "--input", "x", "--output", "y"):
            run.run,
        ("compare", "--model", "m.tflite"): compare.run,
        ("deploy", "m.tflite", "--out", "o", "--json"): deploy.run,
        ("features", "a.wav", "-o", "f.npy"): features.run,
        ("firmware", "run", "proj", "--wav", "a.wav"): firmware.run,
        ("firmware", "bench", "proj", "--json"): firmware.bench,
    }
    for argv, func in cases.items():
        assert parser.parse_args(list(argv)).func is func, argv
    with pytest.raises(SystemExit):
        parser.parse_args(["firmware"])  # an ACTION is required


def test_add_command_pieces() -> None:
    sub = argparse.ArgumentParser(prog="t").add_subparsers()
    p = add_command(sub, "x", lambda args: 0, "one line", "a\n  laid out", as_written=True)
    add_model_arg(p)
    add_json_arg(p, "everything")
    args = p.parse_args(["--model", "m.tflite", "--json"])
    assert str(args.model) == "m.tflite" and args.json and args.func(args) == 0
    assert "a\n  laid out" in p.format_help() and "print everything" in p.format_help()
    q = add_command(sub, "y", None, "positional model")
    add_model_arg(q, positional=True)
    assert str(q.parse_args(["m.tflite"]).model) == "m.tflite"
    assert "func" not in vars(q.parse_args(["m.tflite"]))


def test_frontend_options_given() -> None:
    p = argparse.ArgumentParser()
    add_frontend_args(p, default="mfcc")
    args = p.parse_args([])
    assert frontend_options_given(args) == [] and frontend_from_args(args) == MfccConfig()
    args = p.parse_args(["--frontend", "micro", "--no-pcan", "--channels", "32"])
    assert frontend_options_given(args) == ["--frontend", "--channels", "--pcan/--no-pcan"]
    assert frontend_from_args(args) == MicroFrontendConfig(num_channels=32, enable_pcan=False)
