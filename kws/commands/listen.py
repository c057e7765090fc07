"""``kws listen``: the firmware application (built for the host) on a live microphone.

Audio comes through PortAudio (sounddevice) at the device's own rate, is resampled to
16 kHz in blocks and fed to the same C pipeline a board runs; a live view shows per-class
score bars, the input level, dropped blocks, the detection log and each detection's
latency after the end of the word.  ``--compare-engine`` runs a second engine on the same
int8 windows and shows how often it agrees.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from kws.commands._args import add_command, add_json_arg, add_model_arg
from kws.detector import add_detector_args, detector_overrides


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "listen", run, "live keyword spotting from a microphone", __doc__,
                    as_written=True)
    add_model_arg(p, required=False)
    p.add_argument("--device", help="input device index or name (see --list-devices)")
    p.add_argument("--rate", type=int, help="device sample rate (default: the device's own)")
    p.add_argument("--list-devices", action="store_true", help="list input devices and exit")
    p.add_argument("--compare-engine", choices=("litert", "tflm", "native"),
                   help="also run this engine on every window and show the agreement")
    p.add_argument("--duration", type=float,
                   help="stop after this many seconds of audio (default: until Ctrl-C)")
    add_detector_args(p)
    add_json_arg(p, "a summary (detections, latency, dropped blocks) at the end")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from kws.commands.record import _list_devices
    from kws.errors import KwsError

    console = Console(stderr=True)
    if args.list_devices:
        _list_devices(console)
        return 0
    if args.model is None:
        raise KwsError("kws listen needs --model M.tflite")
    if args.duration is not None and args.duration <= 0:
        raise KwsError(f"--duration must be positive, not {args.duration}")
    listener, mic = _open(args)
    with mic:
        console.print(f"listening: {mic.name!r} at {mic.rate} Hz -> "
                      f"{listener.app.sample_rate} Hz, {args.model.name} "
                      f"(threshold {listener.app.settings.threshold:g}; Ctrl-C stops)")
        _listen(listener, mic, console, args.duration)
    if args.json:
        print(json.dumps(listener.summary(mic.overflows), indent=2))
    else:
        console.print(f"{len(listener.detections)} detections in {listener.seconds:.1f} s")
    return 0


def _open(args: argparse.Namespace) -> tuple[Any, Any]:
    from kws.commands.record import Microphone
    from kws.host_app import HostApp
    from kws.listen import Listener

    mic = Microphone(args.device, args.rate)  # one-line KwsError: no device / bad rate
    app = HostApp.from_model(args.model, features=args.compare_engine is not None,
                             **detector_overrides(args))
    compare = None
    if args.compare_engine:
        from kws.engines import open_session

        compare = (args.compare_engine, open_session(args.compare_engine, args.model))
    return Listener(app, mic.rate, compare), mic


def _listen(listener: Any, mic: Any, console: Any, duration: float | None) -> None:
    """Blocks from ``mic`` through ``listener`` until ``duration`` or Ctrl-C."""
    from rich.live import Live

    live = Live(console=console, auto_refresh=False) if console.is_terminal else None
    last_draw = 0.0
    try:
        if live is not None:
            live.start()
        for block in mic.stream():
            for det in listener.feed(block):
                if live is None:
                    console.print(f"{det['time_s']:8.2f} s  {det['label']}  "
                                  f"{det['score']:.2f}")
            if live is not None and time.monotonic() - last_draw > 0.05:
                live.update(listener.view(mic.overflows), refresh=True)
                last_draw = time.monotonic()
            if duration is not None and listener.seconds >= duration:
                break
    except KeyboardInterrupt:
        pass
    finally:
        if live is not None:
            live.update(listener.view(mic.overflows), refresh=True)
            live.stop()
