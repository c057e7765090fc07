"""``kws monitor``: print what a board says over its serial port, as it says it."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from kws.commands._args import add_command, add_json_arg, add_model_arg, bounded

DESCRIPTION = (
    "Opens PORT (a device path such as /dev/ttyACM0, or a pyserial URL such as "
    "socket://127.0.0.1:4321) and prints INFO, STATUS, detections and scores as the board "
    "sends them. Garbage bytes and broken frames are skipped (and counted), a board that "
    "restarts shows its new INFO, and a port that goes away is reopened with backoff until "
    "it comes back. Ctrl-C ends it (status 130)."
)


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "monitor", run, "print what a board says over its serial port",
                    DESCRIPTION)
    p.add_argument("--port", required=True, metavar="PORT",
                   help="serial device or pyserial URL (socket://host:port, loop://)")
    p.add_argument("--baud", type=bounded(int, 1), default=115200, help="baud rate")
    add_model_arg(p, required=False)
    p.add_argument("--duration", type=bounded(float, 0.0), default=None, metavar="S",
                   help="stop after S seconds (default: until Ctrl-C)")
    p.add_argument("--no-scores", action="store_true", help="leave SCORES out")
    add_json_arg(p, "one JSON object per event (JSON lines)")


def run(args: argparse.Namespace) -> int:
    from kws.monitor import ModelFacts, Monitor

    facts = ModelFacts.from_model(args.model) if args.model else None
    show = _json_line if args.json else _Printer().show

    def emit(event: dict[str, Any]) -> None:
        if args.no_scores and event["event"] == "scores":
            return
        show(event)

    Monitor(args.port, emit, baudrate=args.baud, facts=facts).run(args.duration)
    return 0


def _json_line(event: dict[str, Any]) -> None:
    print(json.dumps(event), flush=True)


class _Printer:
    """Events as readable lines."""

    def __init__(self) -> None:
        from kws.console import make_console

        self.console = make_console()

    def show(self, e: dict[str, Any]) -> None:
        from rich.markup import escape

        kind, t = e["event"], f"[dim]{e['time_s']:9.3f}s[/dim]"
        if kind == "info":
            head = "[yellow]board restarted[/yellow] " if e.get("restart") else ""
            line = (f"{head}INFO protocol {e['protocol_version']}, frontend {e['frontend']}, "
                    f"{e['num_labels']} labels, model {e['model_id']:08x}, window "
                    f"{e['frames']}x{e['channels']}, stride {e['stride_frames']}, "
                    f"{e['sample_rate']} Hz, mic {'yes' if e['has_mic'] else 'no'}")
        elif kind == "status":
            line = (f"STATUS audio from {'microphone' if e['mic_audio'] else 'host'}, clock "
                    f"{e['clock_hz'] / 1e6:g} MHz{' (fallback)' if e['clock_fallback'] else ''}"
                    f", overruns mic {e['mic_overruns']} uart {e['uart_overruns']}")
        elif kind == "detection":
            where = f" at {e['stream_time_s']:.2f}s" if "stream_time_s" in e else ""
            score = f" score {e['score']:.3f}" if "score" in e else f" average {e['average']}"
            line = f"[bold green]DETECTION {e['label']}[/bold green]{where}{score} " \
                   f"(frame {e['frame_index']})"
        elif kind == "scores":
            line = f"scores frame {e['frame_index']}: top {e['top']} {e['scores']}"
        elif kind == "link":
            line = f"[cyan]link {e['state']}[/cyan] {escape(e.get('url', e.get('error', '')))}"
            if "retry_in_s" in e:
                line += f" (retrying in {e['retry_in_s']:g} s)"
        elif kind == "garbage":
            line = (f"[yellow]skipped {e['bytes']} stray bytes, {e['dropped_frames']} "
                    "broken frames[/yellow]")
        else:
            line = escape(" ".join(f"{k}={v}" for k, v in e.items() if k != "time_s"))
        self.console.print(f"{t} {line}", highlight=False)
        sys.stdout.flush()
