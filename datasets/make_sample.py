#!/usr/bin/env python3
"""Build datasets/speech_commands_sample/ from the shared Speech Commands subset.

Usage::

    python datasets/make_sample.py --data /work/shared/data [--out datasets/speech_commands_sample]

What goes in (all real Speech Commands v0.02 clips, copied byte for byte, except the noise):

- ``yes/``, ``no/``: clips of whole speakers, taken in SHA-1 order of the speaker id until
  the size budget (``--max-mb`` for the whole sample) is used up;
- ``<other word>/``: up to ``--unknown-per-word`` clips of every other word (the
  ``_unknown_`` pool);
- ``_silence_/``: the first ``--silence`` clips of the official ``_silence_`` folder;
- ``_background_noise_/``: each of the six noise files trimmed to its first
  ``--noise-seconds`` seconds (rewritten as 16-bit WAV);
- ``validation_list.txt``/``testing_list.txt``: a whole-speaker split (see
  :func:`write_split_lists`);
- ``DATASET_LICENSE`` (CC BY 4.0) and ``MANIFEST.csv`` (path,label,speaker,sha256).

Run it with the project's virtualenv (it uses :mod:`kws.data` for the speaker split).

The output folder is built beside the target and renamed into place when complete.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

import soundfile as sf

KEYWORDS = ("yes", "no")
SUBSET = "speech_commands_v0.02_test_subset"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def speaker(path: Path) -> str:
    return path.name.split("_nohash_", 1)[0] if "_nohash_" in path.name else ""


def wavs(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.wav"))


def write_split_lists(out: Path) -> None:
    """Write validation_list.txt/testing_list.txt from a whole-speaker split (10 %/10 %).

    The source is all official *test* split, so the official hash rule would put every
    clip in test; these lists give the default ``split="auto"`` a usable train/val/test.
    """
    from kws.data import load_dataset

    ds = load_dataset(out, None, unknown_percentage=None, split="speaker", seed=0)
    for name, examples in (("validation_list.txt", ds.validation), ("testing_list.txt", ds.test)):
        rel = sorted(Path(e.path).relative_to(out).as_posix() for e in examples)
        (out / name).write_text("".join(f"{r}\n" for r in rel))


def build(src: Path, out: Path, args: argparse.Namespace) -> None:
    budget = int(args.max_mb * 1e6)
    used = 0
    noise_dir = out / "_background_noise_"
    noise_dir.mkdir()
    for f in wavs(src / "_background_noise_"):
        info = sf.info(str(f))
        frames = min(info.frames, int(args.noise_seconds * info.samplerate))
        audio, rate = sf.read(str(f), frames=frames, dtype="int16")
        sf.write(str(noise_dir / f.name), audio, rate, subtype="PCM_16")
        used += (noise_dir / f.name).stat().st_size

    def copy(f: Path, label: str) -> None:
        nonlocal used
        (out / label).mkdir(exist_ok=True)
        shutil.copyfile(f, out / label / f.name)
        used += f.stat().st_size

    for f in wavs(src / "_silence_")[: args.silence]:
        copy(f, "_silence_")
    others = sorted(
        p for p in src.iterdir()
        if p.is_dir() and not p.name.startswith("_") and p.name not in KEYWORDS
    )
    for word in others:
        for f in wavs(word)[: args.unknown_per_word]:
            copy(f, word.name)

    by_speaker: dict[str, list[tuple[Path, str]]] = {}
    for word in KEYWORDS:
        for f in wavs(src / word):
            by_speaker.setdefault(speaker(f), []).append((f, word))
    order = sorted(by_speaker, key=lambda s: hashlib.sha1(s.encode()).hexdigest())
    taken = 0
    for spk in order:
        size = sum(f.stat().st_size for f, _ in by_speaker[spk])
        if used + size > budget:
            break
        for f, word in by_speaker[spk]:
            copy(f, word)
        taken += 1
    print(f"{taken} of {len(order)} yes/no speakers fit the {args.max_mb} MB budget")

    shutil.copyfile(src / "DATASET_LICENSE", out / "DATASET_LICENSE")
    write_split_lists(out)
    rows = []
    for f in sorted(out.rglob("*.wav")):
        rel = f.relative_to(out).as_posix()
        rows.append((rel, f.parent.name, speaker(f), sha256(f)))
    with open(out / "MANIFEST.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(("path", "label", "speaker", "sha256"))
        w.writerows(rows)
    total = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"{len(rows)} clips, {total / 1e6:.1f} MB")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--data", type=Path, required=True,
                    help=f"the shared data folder (holding {SUBSET}/) or the subset itself")
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).resolve().parent / "speech_commands_sample")
    ap.add_argument("--max-mb", type=float, default=17.0, help="size budget of the whole sample")
    ap.add_argument("--noise-seconds", type=float, default=10.0)
    ap.add_argument("--silence", type=int, default=40)
    ap.add_argument("--unknown-per-word", type=int, default=3)
    args = ap.parse_args(argv)
    src = args.data / SUBSET if (args.data / SUBSET).is_dir() else args.data
    if not (src / "yes").is_dir() or not (src / "_background_noise_").is_dir():
        print(f"error: {src} is not the Speech Commands subset", file=sys.stderr)
        return 2
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        build(src, tmp, args)
        os.chmod(tmp, 0o755)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
        print(f"wrote {out}")
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
