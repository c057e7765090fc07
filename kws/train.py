"""Train a DS-CNN keyword spotter on features from the C-core front end.

Each epoch trains on a freshly augmented pass over the training clips
(:func:`kws.data.augmented_epoch`), validates on clean cached features, and the weights of the
best validation epoch are kept.  A run directory receives:

``model.keras``
    The best float model.
``train.json``
    ``config`` (every training option), ``labels``, ``frontend`` (``config.to_dict()``),
    ``input_shape``, ``model`` (name, params, MACs), ``history`` (per epoch: loss, accuracy,
    val_accuracy, val_balanced_accuracy, val_false_accept_rate, lr, seconds), ``best_epoch``
    (1-based, highest validation balanced accuracy), ``best_val_accuracy``,
    ``best_val_balanced_accuracy``, ``class_weights`` (per label, the loss weight),
    ``test_accuracy`` and ``test_metrics`` (float model, :func:`kws.evaluate.
    classification_metrics`; ``None`` when the test split is empty), ``counts`` (examples per
    split), ``seconds``, ``kws_version``.
``representative.npy``
    float32 ``[n, frames, channels]`` clean training features for int8 calibration, so
    ``kws export RUN_DIR`` needs no dataset.
``test.npz``
    ``x`` float32 ``[n, frames, channels]`` and ``y`` int32 clean test features and labels.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from kws.errors import KwsError
from kws.fileio import write_atomic, write_json_atomic
from kws.train_data import (  # noqa: F401 (balanced_class_weights, spec_mask: public API)
    TrainFeatures,
    balanced_class_weights,
    load_splits,
    prepare_features,
    spec_mask,
    with_default_masks,
)

STRATEGIES = ("none", "mirrored", "multiworker")
LR_SCHEDULES = ("cosine", "step")
CLASS_WEIGHTS = ("capped", "balanced", "none")


@dataclass
class TrainConfig:
    """Every option of a training run (stored verbatim in ``train.json``)."""

    data: str
    words: list[str] | None = None
    model: str = "ds-cnn-s"
    frontend: dict[str, Any] = field(default_factory=lambda: {"type": "micro"})
    epochs: int = 30
    batch_size: int | None = None
    lr: float = 1e-3
    lr_schedule: str = "cosine"
    seed: int = 0
    label_smoothing: float = 0.1
    dropout: float = 0.2
    strategy: str = "none"
    split: str = "auto"
    # Seed of the "speaker" split (None: ``seed``); fixed, it varies training only.
    split_seed: int | None = None
    # Hold the _background_noise_ files out whole (kws.data.load_speech_commands): training
    # never mixes in the noise that validation and test silence are cut from.
    noise_holdout: bool = True
    # "auto": see kws.data.load_speech_commands; a number: percent of the keyword clips.
    unknown_percentage: float | str | None = "auto"
    silence_percentage: float | str = "auto"
    # "capped": each class weighs about the same in the loss (kws.train_data.class_weights_for).
    class_weights: str = "capped"
    validation_percentage: float = 10.0
    testing_percentage: float = 10.0
    cache_dir: str | None = None
    augment: bool = True
    time_shift_ms: float = 100.0
    background_probability: float = 0.8
    snr_db: tuple[float, float] = (10.0, 40.0)
    # SpecAugment-style masks on training features: up to this many frames / channels per
    # mask, one time mask and one channel mask per example (0 disables; None: the few-word
    # default of kws.train_data.default_masks, resolved by train() into train.json).
    time_mask_frames: int | None = None
    channel_mask_channels: int | None = None
    clip_ms: int = 1000
    representative_size: int = 300
    # A .keras model of the same architecture and labels to start from (fine-tuning, e.g.
    # the second round of a wake word on its mined hard negatives); None: random weights.
    init_model: str | None = None

    def validate(self) -> None:
        """Raise :class:`KwsError` for option values that cannot work."""
        from kws.model import parse_model_name

        try:
            parse_model_name(self.model)
        except ValueError as exc:
            raise KwsError(str(exc)) from exc
        if self.epochs < 1:
            raise KwsError(f"--epochs must be at least 1, got {self.epochs}")
        if self.batch_size is not None and self.batch_size < 1:
            raise KwsError(f"--batch-size must be at least 1, got {self.batch_size}")
        if not (self.lr > 0 and np.isfinite(self.lr)):
            raise KwsError(f"--lr must be a positive number, got {self.lr}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise KwsError(f"--label-smoothing must be in [0, 1), got {self.label_smoothing}")
        if not 0.0 <= self.dropout < 1.0:
            raise KwsError(f"--dropout must be in [0, 1), got {self.dropout}")
        if self.strategy not in STRATEGIES:
            raise KwsError(f"--strategy must be one of {', '.join(STRATEGIES)}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise KwsError(f"--lr-schedule must be one of {', '.join(LR_SCHEDULES)}")
        if self.class_weights not in CLASS_WEIGHTS:
            raise KwsError(f"--class-weights must be one of {', '.join(CLASS_WEIGHTS)}")
        if self.init_model is not None and not Path(self.init_model).is_file():
            raise KwsError(f"{self.init_model}: no model to start training from")


def save_keras_atomic(model: Any, path: Path) -> None:
    """``model.save`` to a temp ``.keras`` file beside ``path``, then rename."""
    # Keras picks the format from the suffix, so save to a temp .keras and write its bytes.
    with tempfile.TemporaryDirectory(dir=path.parent if path.parent.is_dir() else None) as d:
        tmp = Path(d) / "model.keras"
        model.save(tmp)
        data = tmp.read_bytes()
    write_atomic(path, lambda f: f.write(data))


def make_strategy(name: str) -> Any:
    """The ``tf.distribute`` strategy for ``name`` (``None`` for ``"none"``).

    ``multiworker`` reads the cluster from ``TF_CONFIG`` (a single local worker without it)
    and, as TensorFlow requires, must be created before any other TensorFlow work.
    """
    import tensorflow as tf

    if name == "none":
        return None
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        try:
            from kws.distribute import multiworker_strategy

            return multiworker_strategy()
        except (RuntimeError, ValueError) as exc:
            raise KwsError(
                f"--strategy multiworker: cannot start collective ops ({exc}); it must be "
                "the first TensorFlow work in the process"
            ) from exc
    raise KwsError(f"unknown strategy {name!r} (expected one of {', '.join(STRATEGIES)})")


def auto_batch_size(num_train: int) -> int:
    """Default batch size: 100 (MLPerf Tiny) but at least ~20 steps per epoch, 16 minimum.

    Small keyword datasets would otherwise give a handful of steps per epoch, and the
    batch-norm moving statistics that validation and export use would trail the weights.
    """
    return max(16, min(100, num_train // 20))


def _lr_schedule(config: TrainConfig, steps_per_epoch: int) -> Any:
    import keras

    total = max(1, config.epochs * steps_per_epoch)
    if config.lr_schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(config.lr, decay_steps=total, alpha=0.01)
    # Step decay: full rate for half the run, a tenth until 3/4, a hundredth after.
    boundaries = [max(1, total // 2), max(2, (3 * total) // 4)]
    return keras.optimizers.schedules.PiecewiseConstantDecay(
        boundaries, [config.lr, config.lr * 0.1, config.lr * 0.01]
    )


def _one_hot(y: np.ndarray, num_classes: int) -> np.ndarray:
    return np.eye(num_classes, dtype=np.float32)[y]


def predict_classes(model: Any, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Argmax of the float model on features ``[n, frames, channels]``."""
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64)
    probs = model.predict(x[..., None], batch_size=batch_size, verbose=0)
    return np.argmax(probs, axis=-1)


def fit(
    model: Any,
    next_epoch: Callable[[int], tuple[np.ndarray, np.ndarray]],
    x_val: np.ndarray,
    y_val: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    num_classes: int,
    rng: np.random.Generator,
    log: Callable[[dict[str, Any]], None] | None = None,
    labels: list[str] | None = None,
    class_weights: np.ndarray | None = None,
    whole_batches: bool = False,
) -> tuple[list[dict[str, Any]], int]:
    """Train a compiled ``model`` for ``epochs``, keeping the best validation weights.

    ``next_epoch(epoch)`` returns that epoch's training features ``[n, frames, channels]``
    and labels; they are shuffled with ``rng``.  ``class_weights[c]`` weighs the loss of
    class ``c`` examples (``None``: all 1).  After the last epoch the weights of the best
    validation *balanced* accuracy (mean recall, so a rare ``_unknown_`` class counts as
    much as a keyword; earliest on ties) are restored.  ``whole_batches`` drops the
    shuffled remainder that does not fill a batch: replicas of a distributed strategy must
    all get batches of one shape (a 23-example tail splits 12/11 and aborts the collective).

    Returns
    -------
    history, best_epoch
        One dict per epoch (``epoch``, ``loss``, ``accuracy``, ``val_accuracy``,
        ``val_balanced_accuracy``, ``val_false_accept_rate``, ``lr``, ``seconds``) and the
        1-based best epoch.
    """
    import keras

    from kws.evaluate import classification_metrics

    labels = labels or [str(i) for i in range(num_classes)]
    best_acc, best_epoch, best_weights = -1.0, 0, None
    history: list[dict[str, Any]] = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        x, y = next_epoch(epoch)
        if len(x) == 0:
            raise KwsError("the training split is empty")
        order = rng.permutation(len(x))
        if whole_batches and len(x) >= batch_size:
            order = order[:len(x) - len(x) % batch_size]
        result = model.fit(
            x[order][..., None], _one_hot(y[order], num_classes), batch_size=batch_size,
            epochs=1, shuffle=False, verbose=0,
            sample_weight=None if class_weights is None else class_weights[y[order]],
        )
        val = classification_metrics(y_val, predict_classes(model, x_val), labels)
        row = {
            "epoch": epoch,
            "loss": float(result.history["loss"][-1]),
            "accuracy": float(result.history["accuracy"][-1]),
            "val_accuracy": val["accuracy"],
            "val_balanced_accuracy": val["balanced_accuracy"],
            "val_false_accept_rate": val["false_accept_rate"],
            "lr": float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)),
            "seconds": round(time.perf_counter() - start, 3),
        }
        row["best"] = (score := val["balanced_accuracy"]) > best_acc
        if row["best"]:
            best_acc, best_epoch, best_weights = score, epoch, model.get_weights()
        history.append(row)
        if log is not None:
            log(row)
    if best_weights is not None:
        model.set_weights(best_weights)
    return history, best_epoch


def _build_model(config: TrainConfig, strategy: Any, input_shape: tuple[int, int, int],
                 num_classes: int, num_train: int, console: Any) -> Any:
    """The compiled DS-CNN (inside ``strategy``'s scope when there is one)."""
    import keras

    from kws.model import count_macs, count_params, ds_cnn, parse_model_name

    steps_per_epoch = -(-num_train // config.batch_size)

    def build() -> Any:
        model = ds_cnn(input_shape, num_classes, parse_model_name(config.model),
                       dropout=config.dropout)
        model.compile(
            optimizer=keras.optimizers.Adam(_lr_schedule(config, steps_per_epoch)),
            loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
            metrics=["accuracy"],
        )
        return model

    if strategy is None:
        model = build()
    else:
        with strategy.scope():
            model = build()
    if config.init_model is not None:
        _load_initial_weights(model, Path(config.init_model))
    console.print(f"{config.model}: {count_params(model):,} parameters, "
                  f"{count_macs(model):,} MACs, input {list(input_shape)}"
                  + (f", {config.strategy} strategy on {strategy.num_replicas_in_sync} "
                     "replica(s)" if strategy is not None else ""))
    return model


def _load_initial_weights(model: Any, path: Path) -> None:
    """Set ``model``'s weights from the saved model ``path`` (same layers and shapes)."""
    import keras

    if not path.is_file():
        raise KwsError(f"{path}: no model to start training from")
    start = keras.models.load_model(path, compile=False)
    ours, theirs = model.get_weights(), start.get_weights()
    if [w.shape for w in ours] != [w.shape for w in theirs]:
        raise KwsError(f"{path}: its layers do not match the model being trained (another "
                       "architecture, input or label count)")
    model.set_weights(theirs)


def _fit_with_progress(config: TrainConfig, model: Any, data: TrainFeatures, labels: list[str],
                       class_weights: np.ndarray | None, rng: np.random.Generator,
                       console: Any, progress: bool) -> tuple[list[dict[str, Any]], int]:
    """:func:`fit` with a progress bar and one line per epoch."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("[bold]training"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.description}"), console=console,
                  disable=not progress) as bar:
        task = bar.add_task("", total=config.epochs)

        def log(row: dict[str, Any]) -> None:
            mark = " *" if row["best"] else ""
            bar.console.print(
                f"epoch {row['epoch']:3d}/{config.epochs}  loss {row['loss']:.4f}  "
                f"acc {row['accuracy']:.4f}  val_acc {row['val_accuracy']:.4f}  "
                f"val_bal {row['val_balanced_accuracy']:.4f}  "
                f"lr {row['lr']:.2e}  {row['seconds']:.1f}s{mark}"
            )
            bar.update(task, advance=1, description=f"val_bal {row['val_balanced_accuracy']:.4f}")

        return fit(
            model, data.next_epoch, data.x_val, data.y_val, epochs=config.epochs,
            batch_size=config.batch_size, num_classes=len(labels), rng=rng, log=log,
            labels=labels, class_weights=class_weights,
            whole_batches=config.strategy != "none",
        )


def _save_run(out: Path, model: Any, data: TrainFeatures, result: dict[str, Any]) -> None:
    """Write the run directory's files (see the module docstring)."""
    save_keras_atomic(model, out / "model.keras")
    write_atomic(out / "representative.npy",
                 lambda f: np.save(f, data.x_rep.astype(np.float32)))
    if data.x_test is not None and data.y_test is not None:
        x_test, y_test = data.x_test, data.y_test
        write_atomic(out / "test.npz", lambda f: np.savez(
            f, x=x_test.astype(np.float32), y=y_test.astype(np.int32)))
    else:
        (out / "test.npz").unlink(missing_ok=True)
    write_json_atomic(out / "train.json", result)
    # An export of an earlier model in this folder no longer describes model.keras.
    for stale in ("model_int8.tflite", "model.json"):
        (out / stale).unlink(missing_ok=True)


def train(config: TrainConfig, out_dir: str | os.PathLike[str], *, progress: bool = True
          ) -> dict[str, Any]:
    """Train a model as described by ``config`` and write the run directory ``out_dir``.

    Returns the ``train.json`` dictionary.  Raises :class:`KwsError` for unusable data or
    options.
    """
    config.validate()
    config = with_default_masks(config)
    # MultiWorkerMirroredStrategy has to exist before TensorFlow initialises its runtime.
    strategy = make_strategy(config.strategy)

    import keras
    import tensorflow as tf
    from rich.console import Console

    from kws.evaluate import classification_metrics, metrics_summary
    from kws.model import count_macs, count_params

    started = time.perf_counter()
    out = Path(out_dir)
    console = Console(stderr=True, quiet=not progress)
    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(config.seed)

    frontend, splits, counts, class_weights = load_splits(config, console)
    labels = list(splits.labels)
    data = prepare_features(config, splits, frontend, rng, progress)
    input_shape = (int(data.x_val.shape[1]), int(data.x_val.shape[2]), 1)
    # A distributed batch is split evenly over the replicas (23 would split 12/11).
    replicas = 1 if strategy is None else int(strategy.num_replicas_in_sync)
    if config.batch_size is None:
        batch = auto_batch_size(len(splits.train))
        config = replace(config, batch_size=-(-batch // replicas) * replicas)
    elif config.batch_size % replicas:
        raise KwsError(f"--batch-size {config.batch_size} does not split evenly over the "
                       f"{replicas} replicas of --strategy {config.strategy}")
    model = _build_model(config, strategy, input_shape, len(labels), len(splits.train), console)
    history, best_epoch = _fit_with_progress(config, model, data, labels, class_weights, rng,
                                             console, progress)

    test_metrics = None
    if data.x_test is not None:
        test_metrics = classification_metrics(data.y_test, predict_classes(model, data.x_test),
                                              labels)
    result: dict[str, Any] = {
        "kws_version": kws_version(),
        "config": asdict(config),
        "labels": labels,
        "frontend": frontend.to_dict(),
        "input_shape": list(input_shape),
        "model": {"name": config.model, "params": count_params(model),
                  "macs": count_macs(model)},
        "counts": counts,
        "history": history,
        "best_epoch": best_epoch,
        "best_val_accuracy": history[best_epoch - 1]["val_accuracy"],
        "best_val_balanced_accuracy": history[best_epoch - 1]["val_balanced_accuracy"],
        "class_weights": None if class_weights is None else dict(
            zip(labels, (round(float(w), 4) for w in class_weights), strict=True)),
        "test_accuracy": None if test_metrics is None else test_metrics["accuracy"],
        "test_metrics": test_metrics,
        "seconds": round(time.perf_counter() - started, 2),
    }
    _save_run(out, model, data, result)
    console.print(f"best epoch {best_epoch}: val_acc {result['best_val_accuracy']:.4f}, "
                  f"val_bal {result['best_val_balanced_accuracy']:.4f}; saved {out}")
    if test_metrics is not None:
        console.print("test (float): " + metrics_summary(test_metrics), soft_wrap=True)
    return result


def kws_version() -> str:
    """Installed version of the ``kws`` package (``"unknown"`` when run from a bare tree)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kws")
    except PackageNotFoundError:
        return "unknown"
