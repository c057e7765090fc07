"""Board check benchmark: ``kws compare --qemu`` on Speech Commands clips.

    python benchmarks/device_check.py [--data DIR] [--per-word 30] [--board qemu-mps2-an386]

- Clips: the first ``--per-word`` WAVs (by file name) of each of the ten command words'
  folders under ``--data``, a Speech Commands folder (the default is this project's shared
  test subset, an example path: give your own copy).
- Firmware: the ``--model`` (default TFLM's micro_speech from ``tests/fixtures/models``)
  deployed for ``--board`` (``qemu-mps2-an386``, Cortex-M4F, or ``qemu-mps2-an385``,
  Cortex-M3 without FPU) with the micro frontend, ``--average 1 --threshold 0.5``, and
  built with arm-none-eabi-gcc.
- The check: what ``kws compare --qemu`` runs (:func:`kws.device_check.compare_device`
  against the firmware under QEMU, its UART on a local TCP port, through pyserial's
  ``socket://``): every clip streamed as AUDIO frames and through the host pipeline,
  features, score vectors and detections compared for equality.

Writes ``device_check.json`` (``device_check_<board>.json`` for another board) and a
markdown line beside it (``.md``) to ``benchmarks/results``: clips, score vectors,
detections, mismatches per stage, wall time and audio throughput (audio seconds per wall
second).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kws.errors import KwsError  # noqa: E402

DEFAULT_DATA = Path("/work/shared/data/speech_commands_v0.02_test_subset")
DEFAULT_MODEL = ROOT / "tests" / "fixtures" / "models" / "micro_speech_quantized.tflite"
DEFAULT_BOARD = "qemu-mps2-an386"
BOARDS = ("qemu-mps2-an386", "qemu-mps2-an385")
COMMAND_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
RESULTS = ROOT / "benchmarks" / "results"


def pick_clips(data: Path, words: list[str], per_word: int) -> list[Path]:
    """The first ``per_word`` WAVs (sorted by name) of each word's folder under ``data``,
    word by word; :class:`KwsError` when a folder is missing or holds fewer."""
    if per_word < 1:
        raise KwsError(f"--per-word must be at least 1, not {per_word}")
    clips: list[Path] = []
    for word in words:
        wavs = sorted((data / word).glob("*.wav"))
        if len(wavs) < per_word:
            raise KwsError(f"{data / word}: {len(wavs)} WAVs, {per_word} needed for '{word}'")
        clips += wavs[:per_word]
    return clips


def build_firmware(model: Path, board: str, out: Path, *, average: int = 1,
                   threshold: float = 0.5, frontend: str = "micro") -> dict[str, Any]:
    """``kws deploy`` + ``kws firmware build`` of ``model`` for ``board`` into ``out``;
    the project (``project.json``) and the build's seconds (``build_s``)."""
    from kws.firmware_project.build import build_project
    from kws.firmware_project.deploy import deploy

    if board not in BOARDS:
        raise KwsError(f"board {board!r}: the check runs under QEMU, one of {', '.join(BOARDS)}")
    start = time.perf_counter()
    project = deploy(model, out, board, frontend=frontend, average_count=average,
                     threshold=threshold, force=True)
    build_project(out)
    return {**project, "build_s": round(time.perf_counter() - start, 1)}


def compare_on_qemu(project_dir: Path, model: Path, clips: list[Path],
                    progress: bool = False) -> dict[str, Any]:
    """``kws compare --qemu project_dir --model model`` on ``clips``: the report of
    :func:`kws.device_check.compare_device`, plus ``wall_s`` (the comparison alone)."""
    from kws.device_check import compare_device
    from kws.firmware_project.layout import load_project
    from kws.firmware_project.run import start_project_qemu
    from kws.link import Link

    project = load_project(project_dir)
    start = time.perf_counter()
    # As compare.py: 8 frames in flight, partial frames given up only after 5 s.
    with start_project_qemu(project_dir) as session, \
            Link(session.url, timeout=20.0, idle_flush=5.0) as link:
        report = compare_device(link, project, model, clips, "qemu", progress=progress,
                                in_flight=8)
    report["wall_s"] = round(time.perf_counter() - start, 1)
    return report


def audio_seconds(clips: list[Path]) -> float:
    """Total length of ``clips`` (s)."""
    import soundfile as sf

    return sum(sf.info(str(c)).duration for c in clips)


def device_check(data: Path, model: Path, board: str = DEFAULT_BOARD, per_word: int = 30,
                 words: tuple[str, ...] = COMMAND_WORDS, average: int = 1,
                 threshold: float = 0.5, progress: bool = False) -> dict[str, Any]:
    """Pick the clips, build the firmware, compare device and host (see the module doc).

    Returns
    -------
    dict
        ``board``, ``model``, ``settings`` (average, threshold, suppression, stride), ``clips``,
        ``per_word``, ``words``, ``score_vectors``, ``detections``, ``mismatches`` per stage,
        ``mismatched_clips``, ``first_mismatch``, ``audio_s``, ``wall_s``, ``build_s`` and
        ``throughput`` (audio seconds per wall second of the comparison).
    """
    clips = pick_clips(data, list(words), per_word)
    with tempfile.TemporaryDirectory(prefix="kws-device-check-") as tmp:
        project_dir = Path(tmp) / "fw"
        project = build_firmware(model, board, project_dir, average=average,
                                 threshold=threshold)
        report = compare_on_qemu(project_dir, model, clips, progress)
    audio_s = audio_seconds(clips)
    return {
        "board": board, "model": model.name, "data": str(data),
        "settings": {"average": project["average_count"], "threshold": project["threshold"],
                     "suppress_inferences": project["suppress_inferences"],
                     "stride_frames": project["stride_frames"]},
        "words": list(words), "per_word": per_word, "clips": report["clips"],
        "score_vectors": report["pairs"][0]["tensors"], "detections": report["detections"],
        "mismatches": report["mismatches"], "mismatched_clips": report["mismatched_clips"],
        "first_mismatch": report["first_mismatch"], "audio_s": round(audio_s, 1),
        "wall_s": report["wall_s"], "build_s": project["build_s"],
        "throughput": round(audio_s / report["wall_s"], 3),
    }


def markdown(result: dict[str, Any]) -> str:
    """One line for the README."""
    m = result["mismatches"]
    s = result["settings"]
    return (f"{result['board']}, {result['model']} (average {s['average']}, threshold "
            f"{s['threshold']:g}, stride {s['stride_frames']}): {result['clips']} clips "
            f"({result['per_word']} each of {len(result['words'])} words, "
            f"{result['audio_s']:.0f} s of audio), {result['score_vectors']} score vectors, "
            f"{result['detections']} detections; mismatches: features {m['features']}, "
            f"scores {m['scores']}, detections {m['detections']}; "
            f"{result['wall_s'] / 60:.1f} min wall, {result['throughput']:.2f} s of audio "
            f"per second.\n")


def main(argv: list[str] | None = None) -> int:
    """The command line; exit 0 when device == host, 1 on any mismatch, 2 on an error."""
    from kws.fileio import write_json_atomic, write_text_atomic

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help=f"Speech Commands folder (example: {DEFAULT_DATA})")
    parser.add_argument("--per-word", type=int, default=30, help="clips per word (30)")
    parser.add_argument("--words", default=",".join(COMMAND_WORDS),
                        help="comma-separated word folders (default the ten command words)")
    parser.add_argument("--board", default=DEFAULT_BOARD, choices=BOARDS)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON result (default benchmarks/results/device_check.json, "
                        "device_check_<board>.json for another board); .md beside it")
    args = parser.parse_args(argv)
    out = args.out or RESULTS / ("device_check.json" if args.board == DEFAULT_BOARD
                                 else f"device_check_{args.board}.json")
    try:
        words = tuple(w.strip() for w in args.words.split(",") if w.strip())
        result = device_check(args.data, args.model, args.board, args.per_word, words,
                              progress=sys.stdout.isatty())
    except KwsError as exc:
        print(f"device_check: {exc}", file=sys.stderr)
        return 2
    given = sys.argv[1:] if argv is None else argv
    result["command"] = " ".join(["python", "benchmarks/device_check.py", *given])
    write_json_atomic(out, result)
    write_text_atomic(out.with_suffix(".md"), markdown(result))
    print(markdown(result), end="")
    return 1 if any(result["mismatches"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
