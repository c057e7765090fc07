"""Parser pieces every ``kws`` command shares: the subparser itself and common options."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

Command = Callable[[argparse.Namespace], int]


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Help that ends each option's text with its default, unless the text already says it,
    the default is empty (``None``/``False``) or the option is a flag."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (not action.option_strings or "default" in text.lower() or action.nargs == 0
                or default is None or default is False or default == argparse.SUPPRESS):
            return text
        shown = ",".join(map(str, default)) if isinstance(default, tuple | list) else default
        return f"{text} (default: {str(shown).replace('%', '%%')})"


class RawDescriptionDefaultsHelpFormatter(argparse.RawDescriptionHelpFormatter,
                                          DefaultsHelpFormatter):
    """:class:`DefaultsHelpFormatter` that lays the description out as written."""


def add_verbose_arg(parser: argparse.ArgumentParser, *, default: object = False) -> None:
    """``--verbose``: let TensorFlow's start-up and library log lines through."""
    parser.add_argument("--verbose", action="store_true", default=default,
                        help="show TensorFlow/absl log lines (hidden by default)")


def add_command(sub: argparse._SubParsersAction, name: str, func: Command | None, summary: str,
                description: str | None = None, *, as_written: bool = False
                ) -> argparse.ArgumentParser:
    """Add subcommand ``name`` whose parsed arguments go to ``func`` (``None``: to the
    actions it adds in turn).

    ``summary`` is its line in ``kws --help``, ``description`` the text of its own ``--help``
    (rewrapped, or laid out ``as_written``, e.g. a module docstring).  Every option's help
    shows its default.
    """
    formatter = RawDescriptionDefaultsHelpFormatter if as_written else DefaultsHelpFormatter
    parser = sub.add_parser(name, help=summary, description=description or summary,
                            formatter_class=formatter)
    # Accepted after the command too; SUPPRESS keeps a `kws --verbose CMD` from being reset.
    add_verbose_arg(parser, default=argparse.SUPPRESS)
    if func is not None:
        parser.set_defaults(func=func)
    return parser


def add_model_arg(parser: argparse.ArgumentParser, *, required: bool = True,
                  positional: bool = False, writes_beside: bool = False) -> None:
    """The int8 ``.tflite`` a command works on (``--model``; ``positional``: ``MODEL`` or
    ``--model``): a path, a run folder or a shipped model's name (``kws models``), which
    :func:`resolve_model_args` turns into a model file before the command runs.
    ``writes_beside``: the command changes files beside the model, so a shipped model is
    refused."""
    help_text = ("int8 .tflite model (model.json beside it from kws export), its run folder, "
                 "or a shipped model's name (kws models)")
    if positional:
        parser.add_argument("model", type=Path, nargs="?", help=help_text)
        parser.add_argument("--model", dest="model_option", type=Path, metavar="MODEL",
                            help="the same as the positional MODEL")
    else:
        parser.add_argument("--model", type=Path, required=required, help=help_text)
    mark_model_arg(parser, required=positional and required, writes_beside=writes_beside)


def mark_model_arg(parser: argparse.ArgumentParser, *, required: bool = False,
                   writes_beside: bool = False) -> None:
    """Have :func:`resolve_model_args` resolve this command's ``--model`` (a command that
    adds its own ``--model`` option calls this; ``required``: one must be given;
    ``writes_beside``: refuse a shipped model)."""
    parser.set_defaults(model_resolution=("required" if required else "optional"),
                        model_writes_beside=writes_beside)


def resolve_model_args(args: argparse.Namespace) -> None:
    """Resolve ``args.model`` (or a positional model's ``--model`` form) of a command marked
    by :func:`mark_model_arg` with :func:`kws.pretrained.resolve_model`; ``kws.cli`` calls
    it before the command, so a bad name is the CLI's one-line error."""
    mode = getattr(args, "model_resolution", None)
    if mode is None:
        return
    from kws.errors import KwsError
    from kws.pretrained import resolve_model, shipped_name

    option = getattr(args, "model_option", None)
    if option is not None:
        if args.model is not None:
            raise KwsError(f"two models given ({args.model} and --model {option}): give one")
        args.model = option
    if args.model is not None:
        args.model = resolve_model(args.model)
        name = shipped_name(args.model)
        if name is not None and getattr(args, "model_writes_beside", False):
            raise KwsError(f"{name}: a shipped model, and kws {getattr(args, 'command', '')} "
                           f"writes beside it: copy {args.model.parent} and give the copy")
    elif mode == "required":
        raise KwsError(f"kws {getattr(args, 'command', '')} needs a model: a .tflite path or "
                       "a shipped model's name (kws models)")


def add_json_arg(parser: argparse.ArgumentParser, what: str = "one JSON object") -> None:
    """``--json``: machine-readable output on stdout."""
    parser.add_argument("--json", action="store_true", help=f"print {what}")


def bounded(kind: type, low: float | None = None, high: float | None = None, *,
            high_open: bool = False) -> Callable[[str], int | float]:
    """An argparse ``type`` parsing ``kind`` (int or float) within ``[low, high]`` (``high``
    excluded when ``high_open``); a missing bound is unbounded."""
    name = "an integer" if kind is int else "a number"

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {name}, got {text!r}") from None
        if value != value or (low is not None and value < low) or (high is not None and (
                value >= high if high_open else value > high)):
            span = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}"
            raise argparse.ArgumentTypeError(
                f"{text} is out of range {span}{')' if high_open or high is None else ']'}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse
