"""``kws wakeword WORD --out DIR``: from a word to a calibrated int8 model in one call.

Stages, each timed (``DIR/wakeword.json``):

``generate``
    :func:`kws.wakeword.generate.generate_dataset` writes ``DIR/data`` (synthetic positives
    from the local TTS engines, confusable words, other speech, noise; the user's own takes).
``train``
    :func:`kws.train.train` on ``DIR/data``: the wake word against everything else, classes
    weighted evenly (the data are mostly negatives), every negative kept, a small DS-CNN.
``mine``
    :func:`kws.wakeword.mine.mine_hard_negatives`: the windows of a training-side negative
    stream the model scores highest become ``DIR/data/_mined_`` clips, and training goes on
    from the first model with them (the false accepts of a stream come from windows that
    1 s clips never show: straddled words, speech over music).
``export``
    :func:`kws.export.export_run`: ``DIR/model_int8.tflite`` and ``DIR/model.json``.
``calibrate``
    :func:`kws.wakeword.calibrate.calibrate` runs long negative streams and held-out
    positives through the host build of the firmware application and writes the detector
    settings that meet the false-accept target into ``DIR/model.json`` (plus ``det.png``,
    ``report.html`` and ``calibration.json``).
``report``
    ``DIR/wakeword.json``: stage times, counts and metrics.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from kws.errors import KwsError

SUMMARY_FILE = "wakeword.json"
DATA_DIR = "data"
# A small DS-CNN on MFCC features (2.7 M MACs) run often: a new window every stride_frames
MODEL = "ds-cnn-s"
FRONTEND = {"type": "mfcc"}
SAMPLE_DATASET = Path("datasets") / "speech_commands_sample"


@dataclass(frozen=True)
class WakewordSize:
    """How much data, training and stream a run uses."""

    positives: int
    confusables: int
    speech: int
    epochs: int
    hours: float
    stride_frames: int
    model: str = MODEL
    engines: tuple[str, ...] | None = None  # None: every installed TTS engine
    noise_seconds: float = 30.0  # generated noise and music backgrounds
    tts_speech: int = 900  # ordinary phrases spoken by the TTS voices (negatives)
    mine_hours: float = 0.5  # training-side negative stream scored for hard negatives
    mined: int = 800  # hard-negative windows added (0: no mining, one training round)
    finetune_epochs: int = 12  # training on with them, from the first round's weights


# "default" fits in 15 minutes on 2 cores; "tiny" is for tests and the notebook.
SIZES: dict[str, WakewordSize] = {
    "default": WakewordSize(positives=1500, confusables=600, speech=900, epochs=40,
                            hours=1.0, stride_frames=5),
    "tiny": WakewordSize(positives=24, confusables=12, speech=60, epochs=1, hours=0.02,
                         stride_frames=5, model="ds-cnn-xs", engines=("espeak-ng",),
                         noise_seconds=5.0, tts_speech=12, mine_hours=0.01, mined=8,
                         finetune_epochs=1),
}


def find_sample_dataset() -> Path | None:
    """The bundled ``datasets/speech_commands_sample`` of a source checkout (``None`` when
    kws is installed without it)."""
    import kws

    root = Path(kws.__file__).resolve().parent.parent
    sample = root / SAMPLE_DATASET
    return sample if sample.is_dir() else None


def default_negatives() -> list[Path]:
    """Negatives when the user gave none: the bundled Speech Commands sample
    (:func:`kws.wakeword.generate.generate_dataset` leaves out the wake word's own folder and
    takes its ``_background_noise_`` as noise); none when kws is installed without it."""
    sample = find_sample_dataset()
    return [] if sample is None else [sample]


class StageClock:
    """Wall time and CPU time (this process and its finished workers) of each named stage,
    printed as it ends.  On a shared machine the CPU time says what the stage costs."""

    def __init__(self, console: Any) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}
        self.console = console

    @staticmethod
    def _cpu() -> float:
        import resource

        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the ``with`` block as stage ``name``."""
        self.console.print(f"[bold]{name}[/bold] ...")
        start, cpu = time.perf_counter(), self._cpu()
        yield
        self.seconds[name] = round(time.perf_counter() - start, 2)
        self.cpu_seconds[name] = round(self._cpu() - cpu, 2)
        self.console.print(f"{name}: {self.seconds[name]:.1f} s "
                           f"({self.cpu_seconds[name]:.1f} s CPU)")


def train_config(data: Path, label: str, size: WakewordSize, seed: int) -> Any:
    """The :class:`kws.train.TrainConfig` of a wake-word run on ``data``."""
    from kws.train import TrainConfig

    return TrainConfig(
        data=str(data), words=[label], model=size.model, frontend=dict(FRONTEND),
        epochs=size.epochs, seed=seed, lr=2e-3,
        # Every negative is kept (None) and each class weighs the same in the loss: the
        # data are mostly negatives, and false accepts come from the rare hard ones.
        unknown_percentage=None, class_weights="balanced",
        # Silence is easy to tell apart: a quarter of the positives' count is plenty.
        silence_percentage=25.0,
        # The generated clips are augmented already (noise, reverb, band limits), so little
        # noise is mixed in on top; SpecAugment masks against over-fitting synthetic voices,
        # small ones: 20 epochs with masks over 4 of 10 channels under-fit (75 % train acc).
        background_probability=0.3, snr_db=(5.0, 30.0),
        time_mask_frames=8, channel_mask_channels=2,
    )


def held_out_clips(data: Path, label: str) -> tuple[list[Path], list[Path]]:
    """Positive and negative clips of ``data`` that training did not fit on (the validation
    and test splits: whole voices, and a share of the user's takes).

    The negatives leave out the confusable phrases: some are one phoneme from the wake word
    ("ethena" for "athena"), and a stream dense with them would price the detector for an
    adversary, not for the other speech, noise and music it meets.  They leave out the
    ordinary phrases of the TTS voices too: those are in training so that a synthetic voice
    is no cue for the wake word, but the speech a detector meets is people's, and pricing
    it on synthetic speech set thresholds that missed most real speakers (they stay when
    there is no other speech).
    """
    from kws.data import UNKNOWN_LABEL, load_dataset
    from kws.wakeword.generate import CONFUSABLE_DIR, TTS_SPEECH_DIR

    splits = load_dataset(data, [label], unknown_percentage=None, silence_percentage=0)
    held = [*splits.validation, *splits.test]
    positives = sorted({ex.path for ex in held if ex.label == label})
    negatives = sorted({ex.path for ex in held if ex.label == UNKNOWN_LABEL
                        and ex.path.parent.name != CONFUSABLE_DIR})
    people = [p for p in negatives if p.parent.name != TTS_SPEECH_DIR]
    if not positives:
        raise KwsError(f"{data}: no held-out clips of {label!r} to calibrate on (too few "
                       "voices generated?)")
    return positives, people or negatives


def run_wakeword(word: str, out_dir: str | Path, *, seed: int = 0,
                 target_fa_per_hour: float = 0.5, recordings: str | Path | None = None,
                 negatives: Sequence[str | Path] = (), noise: Sequence[str | Path] = (),
                 size: str = "default", engines: Sequence[str] | None = None,
                 progress: bool = True) -> dict[str, Any]:
    """Generate data, train, export int8 and calibrate a wake-word model into ``out_dir``.

    Parameters
    ----------
    word
        The wake word or phrase (``"marvin"``, ``"hey kws"``).
    out_dir
        Run folder: ``data/``, the training run, ``model_int8.tflite``, ``model.json`` (with
        the calibrated detector settings), ``report.html``, ``det.png``, ``wakeword.json``.
    seed
        Seed of generation, split, training and the calibration streams.
    target_fa_per_hour
        False accepts per hour the detector settings must not exceed.
    recordings
        The user's own takes (``kws record`` layout), or ``None``.
    negatives, noise
        Folders of other speech and of background noise; when both are empty, the bundled
        Speech Commands sample (without the wake word's own folder) and its noise.
    size
        ``"default"`` or ``"tiny"`` (seconds-scale runs for tests), see :data:`SIZES`.
    engines
        TTS engines to speak with (``None``: the size's, every installed one by default).
    progress
        Show progress bars and stage lines on stderr.

    Returns
    -------
    dict
        The ``wakeword.json`` content.
    """
    from rich.console import Console

    from kws.wakeword.generate import label_of

    label = label_of(word)
    if size not in SIZES:
        raise KwsError(f"unknown size {size!r} (expected one of {', '.join(SIZES)})")
    if not target_fa_per_hour > 0:
        raise KwsError(f"--target-fa-per-hour must be above 0, not {target_fa_per_hour}")
    spec = SIZES[size]
    if engines is not None:
        spec = replace(spec, engines=tuple(engines))
    out = Path(out_dir)
    neg, noi = _negative_sources(negatives, noise, recordings)
    console = Console(stderr=True, quiet=not progress)
    clock = StageClock(console)
    summary: dict[str, Any] = {
        "word": word, "label": label, "seed": seed, "size": size, "settings": asdict(spec),
        "target_fa_per_hour": target_fa_per_hour, "status": "running",
        "sources": {"recordings": None if recordings is None else str(recordings),
                    "negatives": [str(p) for p in neg], "noise": [str(p) for p in noi]},
    }
    _write_summary(out, summary)
    with clock.stage("generate"):
        manifest = _generate(word, out / DATA_DIR, spec, seed, recordings, neg, noi, progress)
    with clock.stage("train"):
        trained = _train(out, label, spec, seed, progress)
    if spec.mined > 0:
        with clock.stage("mine"):
            summary["first_round"] = _round_summary(trained)
            summary["mined"] = _mine(out, label, spec, seed, noi, progress)
            trained = _train(out, label, spec, seed, progress, finetune=True)
    with clock.stage("export"):
        meta = _export(out, spec, progress)
    with clock.stage("calibrate"):
        calibration = _calibrate(out, label, spec, seed, target_fa_per_hour, noi, progress)
    with clock.stage("report"):
        summary.update(_results(manifest, trained, meta, calibration))
        summary["status"] = "done"
        _write_summary(out, summary)
    summary["stage_seconds"] = clock.seconds
    summary["stage_cpu_seconds"] = clock.cpu_seconds
    summary["seconds"] = round(sum(clock.seconds.values()), 2)
    _write_summary(out, summary)
    return summary


def _existing_folder(path: str | Path, what: str) -> Path:
    folder = Path(path)
    if not folder.exists():
        raise KwsError(f"{folder}: {what} folder not found")
    if not folder.is_dir():
        raise KwsError(f"{folder}: is a file, not a {what} folder")
    return folder


def _negative_sources(negatives: Sequence[str | Path], noise: Sequence[str | Path],
                      recordings: str | Path | None) -> tuple[list[Path], list[Path]]:
    """The negative speech and noise folders (checked), or :func:`default_negatives`."""
    if recordings is not None:
        _existing_folder(recordings, "recordings")
    speech = [_existing_folder(p, "negatives") for p in negatives]
    noise_dirs = [_existing_folder(p, "noise") for p in noise]
    if not speech and not noise_dirs:
        return default_negatives(), []
    return speech, noise_dirs


def _write_summary(out: Path, summary: dict[str, Any]) -> None:
    from kws.fileio import write_json_atomic

    write_json_atomic(out / SUMMARY_FILE, summary)


def _generate(word: str, data: Path, spec: WakewordSize, seed: int,
              recordings: str | Path | None, negatives: list[Path], noise: list[Path],
              progress: bool) -> dict[str, Any]:
    from kws.wakeword.generate import GenerateConfig, generate_dataset

    config = GenerateConfig(word=word, seed=seed, positives=spec.positives,
                            confusables=spec.confusables, speech=spec.speech,
                            tts_speech=spec.tts_speech,
                            engines=None if spec.engines is None else list(spec.engines),
                            noise_seconds=spec.noise_seconds)
    return generate_dataset(config, data, recordings=None if recordings is None
                            else Path(recordings), negatives=negatives, noise=noise,
                            progress=progress)


def _train(out: Path, label: str, spec: WakewordSize, seed: int, progress: bool,
           finetune: bool = False) -> dict[str, Any]:
    """Train ``out``'s model; ``finetune``: on from ``out/model.keras``, fewer epochs at a
    lower learning rate (the data now hold the mined hard negatives)."""
    from kws.train import train

    config = train_config(out / DATA_DIR, label, spec, seed)
    if finetune:
        config = replace(config, epochs=spec.finetune_epochs, lr=config.lr / 4,
                         init_model=str(out / "model.keras"))
    return train(config, out, progress=progress)


def _round_summary(trained: dict[str, Any]) -> dict[str, Any]:
    return {"counts": trained["counts"], "best_epoch": trained["best_epoch"],
            "best_val_balanced_accuracy": trained["best_val_balanced_accuracy"]}


def _mine(out: Path, label: str, spec: WakewordSize, seed: int, noise: list[Path],
          progress: bool) -> dict[str, Any]:
    from kws.wakeword.mine import mine_hard_negatives

    data = out / DATA_DIR
    return mine_hard_negatives(out, data, label, hours=spec.mine_hours, count=spec.mined,
                               seed=seed, noise=[*noise, data / "_background_noise_"],
                               progress=progress)


def _export(out: Path, spec: WakewordSize, progress: bool) -> dict[str, Any]:
    """int8 export; ``model.json`` gets the short stride the calibration runs at."""
    from kws.export import MODEL_FILE, export_run
    from kws.fileio import write_json_atomic

    meta = export_run(out, progress=progress)
    meta["stride_frames"] = spec.stride_frames
    write_json_atomic(out / "model.json", meta)
    if not (out / MODEL_FILE).is_file():
        raise KwsError(f"{out}: export wrote no {MODEL_FILE}")
    return meta


def _calibrate(out: Path, label: str, spec: WakewordSize, seed: int, target: float,
               noise: list[Path], progress: bool) -> Any:
    from kws.export import MODEL_FILE
    from kws.wakeword.calibrate import calibrate, write_detector_settings

    positives, negatives = held_out_clips(out / DATA_DIR, label)
    noise_files = [*noise, out / DATA_DIR / "_background_noise_"]
    result = calibrate(out / MODEL_FILE, positives=positives, negatives=negatives,
                       noise=[p for p in noise_files if p.is_dir()],
                       target_fa_per_hour=target, hours=spec.hours, seed=seed, out_dir=out,
                       progress=progress)
    write_detector_settings(out / MODEL_FILE, result.settings, _calibration_summary(result))
    return result


def _calibration_summary(result: Any) -> dict[str, Any]:
    return {"fa_per_hour": result.fa_per_hour, "frr": result.frr, "hours": result.hours,
            "positives": result.positives}


def _results(manifest: dict[str, Any], trained: dict[str, Any], meta: dict[str, Any],
             calibration: Any) -> dict[str, Any]:
    """Counts and metrics of a finished run for ``wakeword.json``."""
    return {
        "data": {"counts": manifest.get("counts"), "splits": manifest.get("splits"),
                 "voices": manifest.get("voices_used"),
                 "engines": sorted(manifest.get("syntheses_per_engine") or {}),
                 "syntheses_per_engine": manifest.get("syntheses_per_engine")},
        "train": {"counts": trained["counts"], "best_epoch": trained["best_epoch"],
                  "best_val_balanced_accuracy": trained["best_val_balanced_accuracy"],
                  "class_weights": trained["class_weights"], "model": trained["model"]},
        "model": {"file": "model_int8.tflite", "bytes": meta["file_size"],
                  "float_accuracy": meta["float_accuracy"],
                  "int8_accuracy": meta["int8_accuracy"]},
        "detector": calibration.settings.to_dict(),
        "calibration": _calibration_summary(calibration),
    }


def next_steps(out: Path, summary: dict[str, Any]) -> str:
    """What to run next, with the run's own paths."""
    model = out / "model_int8.tflite"
    cal, det = summary["calibration"], summary["detector"]
    return "\n".join([
        f"wrote {model} and {out / 'model.json'}: threshold {det['threshold']}, average "
        f"{det['average_count']}, suppress {det['suppress_inferences']}, stride "
        f"{det['stride_frames']} frames -> {cal['fa_per_hour']:.2f} false accepts/hour, "
        f"{100 * cal['frr']:.1f}% missed on {cal['positives']} held-out clips "
        f"({cal['hours']:.2f} h of negative stream); report {out / 'report.html'}",
        "next:",
        f"  kws simulate --model {model} FILE.wav",
        f"  kws listen --model {model}",
        f"  kws deploy {model} --board qemu-mps2-an386 --out {out / 'firmware'}",
    ])
