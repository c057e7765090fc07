"""``kws record``: guided takes of a wake word, or background audio, from a microphone.

Audio comes through PortAudio (sounddevice) at the device's own rate and is resampled to
16 kHz; the checks, trimming, numbering and manifest live in :mod:`kws.record`.
"""

from __future__ import annotations

import argparse
import getpass
import queue
import re
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from kws.audio import DEFAULT_SAMPLE_RATE as RATE
from kws.errors import KwsError

BLOCKS_PER_SECOND = 20


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "record",
        help="record takes of a word (or background audio) from a microphone",
        description="Prompt for a word, record each take, trim it around the speech, reject "
        "clipped, too quiet or too short takes, and save OUT/<word>/<speaker>_<n>.wav plus "
        "OUT/manifest.csv: a folder 'kws train --data OUT' reads.  With --negative, record "
        "background audio into OUT/_background_noise_/ in chunks.",
    )
    p.add_argument("--word", help="the word to record (folder name)")
    p.add_argument("--count", type=int, default=30, help="takes to keep (default 30)")
    p.add_argument("--out", type=Path, help="dataset folder")
    p.add_argument("--speaker", help="speaker name in file names (default: your user name)")
    p.add_argument("--device", help="input device index or name (see --list-devices)")
    p.add_argument("--rate", type=int, help="device sample rate (default: the device's own)")
    p.add_argument("--list-devices", action="store_true", help="list input devices and exit")
    p.add_argument("-y", "--yes", action="store_true",
                   help="no questions: keep every valid take (for scripts)")
    p.add_argument("--countdown", type=int, default=3,
                   help="seconds before each take (default 3)")
    p.add_argument("--take-seconds", type=float, default=2.0,
                   help="length of each take (default 2.0)")
    p.add_argument("--max-tries", type=int,
                   help="give up after this many takes (default: 3 x --count)")
    p.add_argument("--clip-ms", type=int, default=1000,
                   help="length of a saved take (default 1000)")
    p.add_argument("--max-ms", type=int, default=1500,
                   help="longest saved take (default 1500; speech longer than --clip-ms is "
                        "kept whole)")
    p.add_argument("--min-peak-db", type=float, default=-30.0,
                   help="quietest accepted peak level in dBFS (default -30)")
    p.add_argument("--negative", action="store_true",
                   help="record background audio (not the word) instead of takes")
    p.add_argument("--seconds", type=float, default=600.0,
                   help="background audio to record with --negative (default 600)")
    p.add_argument("--chunk-seconds", type=float, default=10.0,
                   help="length of each background file, at least 1 s (default 10)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True, markup=False)
    if args.list_devices:
        _list_devices(console)
        return 0
    if args.out is None:
        raise KwsError("--out is required (the dataset folder to record into)")
    speaker = _speaker(args.speaker)
    if args.negative:
        if args.seconds <= 0 or args.chunk_seconds < 1:
            raise KwsError("--seconds must be positive and --chunk-seconds at least 1")
        with Microphone(args.device, args.rate) as mic:
            return _record_background(args, mic, console, speaker)
    from kws.record import check_name

    if not args.word:
        raise KwsError("--word is required (or --negative for background audio)")
    check_name(args.word, "word")
    if args.count <= 0 or args.take_seconds <= 0 or args.countdown < 0:
        raise KwsError("--count and --take-seconds must be positive, --countdown >= 0")
    if not args.yes and not sys.stdin.isatty():
        raise KwsError("no terminal to review takes on: pass --yes to keep every valid take")
    with Microphone(args.device, args.rate) as mic:
        return _record_words(args, mic, console, speaker)


def _sounddevice() -> Any:
    try:
        import sounddevice
    except OSError as exc:  # the PortAudio library itself is missing
        raise KwsError(f"PortAudio is not available ({exc}); install libportaudio2") from None
    return sounddevice


def _list_devices(console: Any) -> None:
    sd = _sounddevice()
    try:
        default = sd.default.device[0]
    except (TypeError, IndexError):
        default = -1
    inputs = [d for d in sd.query_devices() if d["max_input_channels"] > 0]
    if not inputs:
        console.print("no input devices")
    for d in inputs:
        mark = "*" if d["index"] == default else " "
        console.print(f"{mark} {d['index']:3d}  {d['name']}  ({d['max_input_channels']} in, "
                      f"{d['default_samplerate']:g} Hz)")


def _speaker(name: str | None) -> str:
    from kws.record import check_name

    if name is not None:
        return check_name(name, "speaker")
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = ""
    return re.sub(r"[^A-Za-z0-9.-]", "-", user).strip(".-") or "speaker"


class Microphone:
    """A mono float32 input stream at the device's rate; audio is kept only while capturing.

    Parameters
    ----------
    device
        Index or (part of a) name; None for the default input device.
    rate
        Sample rate; None for the device's default.
    """

    def __init__(self, device: str | None, rate: int | None) -> None:
        sd = _sounddevice()
        self._sd = sd
        dev: int | str | None = int(device) if device and device.isdigit() else device
        try:
            info = sd.query_devices(dev, "input")
        except (ValueError, sd.PortAudioError):
            which = f" {device!r}" if device else ""
            raise KwsError(
                f"no input device{which} (kws record --list-devices lists them)"
            ) from None
        self.index: int = info["index"]
        self.name: str = info["name"]
        self.rate: int = int(rate or info["default_samplerate"])
        try:
            sd.check_input_settings(self.index, channels=1, samplerate=self.rate,
                                    dtype="float32")
        except (ValueError, sd.PortAudioError) as exc:
            raise KwsError(
                f"input device {self.name!r} does not support {self.rate} Hz ({exc})"
            ) from None
        self.level = 0.0
        self.overflows = 0
        self._capturing = False
        self._queue: queue.Queue[np.ndarray] = queue.Queue()
        self._stream: Any = None

    def __enter__(self) -> Microphone:
        try:
            self._stream = self._sd.InputStream(
                device=self.index, channels=1, samplerate=self.rate, dtype="float32",
                blocksize=self.rate // BLOCKS_PER_SECOND, callback=self._callback,
            )
            self._stream.start()
        except self._sd.PortAudioError as exc:
            raise KwsError(f"cannot open input device {self.name!r} at {self.rate} Hz "
                           f"({exc})") from None
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._stream is not None:
            self._stream.close()

    def _callback(self, indata: np.ndarray, frames: int, when: Any, status: Any) -> None:
        self.level = float(np.max(np.abs(indata))) if frames else 0.0
        if self._capturing:
            self.overflows += bool(status.input_overflow)
            self._queue.put(indata[:, 0].copy())

    def stream(self) -> Iterator[np.ndarray]:
        """Blocks from now on, until the caller stops iterating."""
        while not self._queue.empty():
            self._queue.get_nowait()
        self._capturing = True
        try:
            while True:
                try:
                    yield self._queue.get(timeout=2.0)
                except queue.Empty:
                    raise KwsError(f"input device {self.name!r} stopped delivering audio") \
                        from None
        finally:
            self._capturing = False

    def play(self, clip: np.ndarray) -> None:
        """Play a 16 kHz clip on the default output device and wait for it."""
        self._sd.play(clip, RATE)
        self._sd.wait()

    def capture(self, seconds: float, tick: Callable[[float], None]) -> np.ndarray:
        """``seconds`` of audio from now; ``tick(fraction done)`` after each block."""
        n = int(round(seconds * self.rate))
        parts, got = [], 0
        for block in self.stream():
            parts.append(block)
            got += len(block)
            tick(min(1.0, got / n))
            if got >= n:
                break
        return np.concatenate(parts)[:n]


class _Meter:
    """A live line with a level bar on a terminal; nothing elsewhere."""

    def __init__(self, console: Any, mic: Microphone) -> None:
        from rich.live import Live

        self.mic = mic
        self.live = Live(console=console, transient=True, auto_refresh=False) \
            if console.is_terminal else None

    def __enter__(self) -> _Meter:
        if self.live is not None:
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()

    def show(self, text: str) -> None:
        if self.live is None:
            return
        from rich.text import Text

        db = 20 * np.log10(max(self.mic.level, 1e-6))
        filled = int(np.clip((db + 60) / 60 * 30, 0, 30))
        style = "red" if db > -1 else "green" if db > -30 else "yellow"
        line = Text(f"{text}  ")
        line.append("#" * filled, style=style).append("." * (30 - filled))
        line.append(f" {db:6.1f} dBFS")
        self.live.update(line, refresh=True)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _to_16k(audio: np.ndarray, rate: int) -> np.ndarray:
    from kws.audio import float_to_int16, resample

    return float_to_int16(resample(audio, rate, RATE))


def _take(args: argparse.Namespace, mic: Microphone, console: Any,
          label: str) -> tuple[np.ndarray, str]:
    """Countdown, then one take: device audio and when it started."""
    with _Meter(console, mic) as meter:
        for left in range(args.countdown, 0, -1):
            for _ in range(10):
                meter.show(f"{label}: say '{args.word}' in {left}")
                time.sleep(0.1)
        console.print(f"{label}: say '{args.word}' now")
        started = _now()
        audio = mic.capture(args.take_seconds,
                            lambda done: meter.show(f"{label}: recording {done:4.0%}"))
    return audio, started


def _ask(console: Any, prompt: str) -> str:
    return str(console.input(prompt, markup=False)).strip().lower()


def _review(console: Any, mic: Microphone, clip: np.ndarray) -> str:
    """Ask what to do with a good take: "keep", "redo" or "quit"."""
    while True:
        answer = _ask(console, "[Enter] keep  [r] redo  [p] play  [q] quit: ")
        if answer in ("", "k"):
            return "keep"
        if answer in ("r", "q"):
            return {"r": "redo", "q": "quit"}[answer]
        if answer == "p":
            mic.play(clip)


def _record_words(args: argparse.Namespace, mic: Microphone, console: Any,
                  speaker: str) -> int:
    from kws.record import TakeSettings, check_take, save_take, trim_take

    settings = TakeSettings(clip_ms=args.clip_ms, max_ms=max(args.max_ms, args.clip_ms),
                            min_peak_dbfs=args.min_peak_db)
    # Unattended runs stop at some point; a person at the keyboard decides when to quit.
    max_tries = args.max_tries or (3 * args.count if args.yes else None)
    console.print(f"recording {args.count} takes of '{args.word}' as {speaker} from "
                  f"'{mic.name}' at {mic.rate} Hz into {args.out}/{args.word}/")
    kept = tries = 0
    while kept < args.count:
        if max_tries is not None and tries >= max_tries:
            console.print(f"kept {kept} of {args.count} takes after {tries} tries")
            return 1
        tries += 1
        label = f"take {kept + 1}/{args.count}"
        overflows = mic.overflows
        device_audio, started = _take(args, mic, console, label)
        audio = _to_16k(device_audio, mic.rate)
        check = check_take(audio, device_audio, settings)
        reason = check.reason
        if mic.overflows > overflows:
            reason = "audio was lost (input overflow): the machine is too busy, try again"
        if reason is not None or check.span is None:
            console.print(f"{label}: rejected: {reason}")
            if not args.yes and _ask(console, "[Enter] try again  [q] quit: ") == "q":
                break
            continue
        clip = trim_take(audio, check.span, settings)
        if not args.yes:
            action = _review(console, mic, clip)
            if action == "redo":
                continue
            if action == "quit":
                break
        path = save_take(args.out, args.word, speaker, clip, {
            "word": args.word, "device": mic.name, "device_rate": mic.rate,
            "speech_start_s": f"{check.span[0] / RATE:.3f}",
            "speech_end_s": f"{check.span[1] / RATE:.3f}",
            "peak_dbfs": f"{check.peak_dbfs:.1f}",
            "speech_rms_dbfs": f"{check.speech_rms_dbfs:.1f}",
            "recorded_at": started, "saved_at": _now(),
        })
        kept += 1
        console.print(f"{label}: saved {path} ({(check.span[1] - check.span[0]) / RATE:.2f} "
                      f"s of speech, peak {check.peak_dbfs:.1f} dBFS)")
    console.print(f"kept {kept} takes in {args.out / args.word}")
    return 0 if kept == args.count else 1


def _record_background(args: argparse.Namespace, mic: Microphone, console: Any,
                       speaker: str) -> int:
    import soxr

    from kws.audio import float_to_int16
    from kws.record import BACKGROUND_NOISE_DIR, dbfs, rms_dbfs, save_take

    chunk = int(args.chunk_seconds * RATE)
    total = int(args.seconds * RATE)
    resampler = soxr.ResampleStream(mic.rate, RATE, 1, dtype="float64", quality="HQ")
    pending = np.zeros(0, dtype=np.int16)
    saved = captured = 0
    started = _now()

    def save(audio: np.ndarray) -> None:
        nonlocal started, saved
        path = save_take(args.out, BACKGROUND_NOISE_DIR, speaker, audio, {
            "device": mic.name, "device_rate": mic.rate, "peak_dbfs": f"{dbfs(audio):.1f}",
            "speech_rms_dbfs": f"{rms_dbfs(audio):.1f}", "recorded_at": started,
            "saved_at": _now(),
        })
        started = _now()
        saved += len(audio)
        console.print(f"saved {path} ({len(audio) / RATE:.1f} s, "
                      f"{saved / RATE:.0f}/{args.seconds:g} s)")

    console.print(f"recording {args.seconds:g} s of background audio from '{mic.name}' at "
                  f"{mic.rate} Hz into {args.out}/{BACKGROUND_NOISE_DIR}/")
    needed = int(np.ceil(args.seconds * mic.rate))
    with _Meter(console, mic) as meter:
        for block in mic.stream():
            block = block[: needed - captured].astype(np.float64)
            captured += len(block)
            last = captured >= needed
            pending = np.concatenate([pending, float_to_int16(
                resampler.resample_chunk(block, last=last))])
            while len(pending) >= chunk:
                save(pending[:chunk])
                pending = pending[chunk:]
            meter.show(f"background {captured / mic.rate:5.1f}/{args.seconds:g} s")
            if last:
                break
    rest = pending[: max(0, total - saved)]
    if len(rest) >= RATE:  # a last chunk shorter than 1 s is dropped
        save(rest)
    if mic.overflows:
        console.print(f"warning: {mic.overflows} input overflows: audio was lost in places "
                      "(the machine was too busy)")
    return 0
