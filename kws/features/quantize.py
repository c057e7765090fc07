"""The input contract: raw frontend features -> the int8 windows a model takes.

One place for everything between a frontend's output and the model's input tensor, the
host mirror of ``firmware/app/feature_quantize.c`` (quantization) and
``firmware/app/feature_window.c`` + ``kws_app.c`` (which frames an inference sees)::

    f = raw * feature_scale           float32; micro: uint16 * 10/256, MFCC: 1
    q = f / input_scale               float32, IEEE-rounded division
    r = sign(q) * floor(|q| + 0.5)    half away from zero; |q| + 0.5 >= 1024 saturates
    int8 = clamp(r + zero_point, -128, 127)

A model window is the latest ``window_frames`` frames (the model input's size over the
feature width); the first inference runs once the window is full, then one every
``stride_frames`` frames.

:class:`FrontendKind` holds what the contract needs to know about each frontend (its name,
feature width, raw dtype and scale), so callers ask the config's kind instead of switching
on its class.  :class:`InputContract` binds one frontend to one model's input tensor.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kws.errors import KwsError
from kws.features.mfcc import MfccConfig, MfccFrontend, mfcc_features
from kws.features.micro import MicroFrontend, MicroFrontendConfig, micro_features

FrontendConfig = MicroFrontendConfig | MfccConfig

# micro_speech's training scale: uint16 log-mel values * 10/256 -> roughly 0..26.
MICRO_FEATURE_SCALE = 10.0 / 256.0
# Feature frames between inferences once the window is full (kws deploy's default).
DEFAULT_STRIDE_FRAMES = 10
# |q| + 0.5 at or beyond this saturates any zero point (feature_quantize.c's bound).
_SATURATION = np.float32(1024.0)


@dataclass(frozen=True)
class FrontendKind:
    """What the input contract knows about one frontend.

    Attributes
    ----------
    name
        ``"micro"`` or ``"mfcc"`` (the ``type`` in ``config.to_dict()``).
    config_type
        The frozen config dataclass.
    feature_dtype
        dtype of the raw features (:func:`compute`).
    feature_scale
        Raw feature -> model float input factor.
    compute
        ``(int16 audio, config) -> raw features [frames, width]`` through the C core.
    streaming
        ``config -> frontend`` whose ``process(int16 block)`` gives the next frames: the
        same bits for any split of a stream as ``compute`` on the whole.
    """

    name: str
    config_type: type
    feature_dtype: type
    feature_scale: float
    compute: Callable[[np.ndarray, Any], np.ndarray]
    streaming: Callable[[Any], Any]

    def num_features(self, config: FrontendConfig) -> int:
        """Values per feature frame of ``config`` (the config's own ``num_features``)."""
        return int(config.num_features)


FRONTEND_KINDS: tuple[FrontendKind, ...] = (
    FrontendKind("micro", MicroFrontendConfig, np.uint16, MICRO_FEATURE_SCALE, micro_features,
                 MicroFrontend),
    FrontendKind("mfcc", MfccConfig, np.float32, 1.0, mfcc_features, MfccFrontend),
)


def frontend_kind(config_or_name: FrontendConfig | str) -> FrontendKind:
    """The :class:`FrontendKind` of a config, or of a frontend name."""
    for kind in FRONTEND_KINDS:
        if config_or_name == kind.name or type(config_or_name) is kind.config_type:
            return kind
    names = " or ".join(repr(k.name) for k in FRONTEND_KINDS)
    if isinstance(config_or_name, str):
        raise ValueError(f"unknown frontend {config_or_name!r} (expected {names})")
    raise TypeError(f"not a frontend config: {type(config_or_name).__name__}")


def feature_scale(config: FrontendConfig) -> float:
    """Raw feature -> model float input factor (micro: 10/256, MFCC: 1)."""
    return frontend_kind(config).feature_scale


def num_features(config: FrontendConfig) -> int:
    """Feature width: filterbank channels (micro) or MFCC coefficients (mfcc)."""
    return frontend_kind(config).num_features(config)


def quantize_values(values: np.ndarray, feature_scale: float, input_scale: float,
                    zero_point: int) -> np.ndarray:
    """int8 from feature values, step for step ``kws_quantize_feature`` in feature_quantize.c.

    Every step is one correctly rounded float32 operation (values are first made float32, as
    the C code's ``(float)`` casts do), so the board and the host give the same bits; NaN
    saturates to +1024 like the C code.
    """
    f = np.asarray(values).astype(np.float32) * np.float32(feature_scale)
    q = f / np.float32(input_scale)
    magnitude = np.abs(q) + np.float32(0.5)
    with np.errstate(invalid="ignore"):  # NaN compares false: saturates as in C
        rounded = np.where(magnitude < _SATURATION, np.floor(magnitude), _SATURATION)
        signed = np.where(q < 0, -rounded, rounded)
    return np.clip(signed.astype(np.int32) + int(zero_point), -128, 127).astype(np.int8)


def quantize_inputs(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """int8 model input from float model inputs (already scaled features, e.g. training's).

    ``clip(round(x / scale) + zero_point, -128, 127)``, rounding half away from zero like
    TFLite's quantizer (``np.round`` would round to even).
    """
    return quantize_values(x, 1.0, scale, zero_point)


def to_model_input(features: np.ndarray, config: FrontendConfig) -> np.ndarray:
    """Float32 model input from raw features (micro: x * 10/256; mfcc: unchanged)."""
    return np.asarray(features).astype(np.float32) * np.float32(feature_scale(config))


def inference_ends(num_frames: int, window_frames: int, stride_frames: int) -> list[int]:
    """Frame counts after which the firmware runs the model (window full, then every stride).

    Inference at end ``e`` sees frames ``e - window_frames .. e - 1``.
    """
    if num_frames < window_frames:
        return []
    return list(range(window_frames, num_frames + 1, stride_frames))


@dataclass(frozen=True)
class InputContract:
    """One frontend bound to one int8 model input: what feeds the model, and when.

    Build it with :meth:`from_model` (``model.json`` + the ``.tflite``) or :meth:`from_dict`
    (``model.json`` / ``project.json`` content).
    """

    frontend: FrontendConfig
    input_shape: tuple[int, ...]
    input_scale: float
    input_zero_point: int
    stride_frames: int = DEFAULT_STRIDE_FRAMES

    def __post_init__(self) -> None:
        size = int(np.prod(self.input_shape))
        if size == 0 or size % self.num_features:
            raise KwsError(f"model input {list(self.input_shape)} is not a whole number of "
                           f"{self.num_features}-value {self.kind} frames")
        if self.stride_frames < 1:
            raise KwsError(f"stride must be at least 1 frame, not {self.stride_frames}")

    @classmethod
    def from_dict(cls, meta: dict[str, Any], stride_frames: int | None = None
                  ) -> InputContract:
        """From ``model.json`` or ``project.json`` content (``frontend``, ``input_shape``,
        ``input_scale``, ``input_zero_point``; ``stride_frames`` when present)."""
        from kws.features import frontend_from_dict

        stride = int(meta.get("stride_frames", DEFAULT_STRIDE_FRAMES)
                     if stride_frames is None else stride_frames)
        return cls(frontend_from_dict(meta["frontend"]),
                   tuple(int(d) for d in meta["input_shape"]), float(meta["input_scale"]),
                   int(meta["input_zero_point"]), stride)

    @classmethod
    def from_model(cls, model_path: str | Path, stride_frames: int | None = None
                   ) -> InputContract:
        """The contract of an exported model: the frontend from ``model.json`` beside it,
        shape, scale and zero point from the ``.tflite``'s input tensor."""
        from kws.modelinfo import io_quantization

        path = Path(model_path)
        info_path = path.with_name("model.json")
        if not info_path.is_file():
            raise KwsError(f"{info_path}: not found (the model's frontend comes from the "
                           "model.json `kws export` writes beside it)")
        try:
            meta = json.loads(info_path.read_text())
        except (OSError, ValueError) as exc:
            raise KwsError(f"{info_path}: unreadable model.json ({exc})") from None
        in_q, _ = io_quantization(path)
        if in_q.dtype != "int8":
            raise KwsError(f"{path}: input tensor is {in_q.dtype}, not int8")
        try:
            return cls.from_dict({**meta, "input_shape": in_q.shape, "input_scale": in_q.scale,
                                  "input_zero_point": in_q.zero_point}, stride_frames)
        except (KeyError, TypeError, ValueError) as exc:
            raise KwsError(f"{info_path}: invalid model.json ({exc})") from None
        except KwsError as exc:
            raise KwsError(f"{path}: {exc}") from None

    @property
    def kind(self) -> str:
        """The frontend's name, ``"micro"`` or ``"mfcc"``."""
        return frontend_kind(self.frontend).name

    @property
    def feature_scale(self) -> float:
        """Raw feature -> model float input factor."""
        return feature_scale(self.frontend)

    @property
    def num_features(self) -> int:
        """Values per feature frame."""
        return num_features(self.frontend)

    @property
    def window_frames(self) -> int:
        """Feature frames one model input spans."""
        return int(np.prod(self.input_shape)) // self.num_features

    @property
    def window_samples(self) -> int:
        """Audio samples that make exactly :attr:`window_frames` frames."""
        return self.frontend.window_size + (self.window_frames - 1) * self.frontend.window_step

    def quantize(self, features: np.ndarray) -> np.ndarray:
        """int8 model values from raw features (any shape), exactly as the firmware does."""
        return quantize_values(features, self.feature_scale, self.input_scale,
                               self.input_zero_point)

    def inference_frames(self, num_frames: int) -> list[int]:
        """Frame counts after which an inference runs, for a stream of ``num_frames``."""
        return inference_ends(num_frames, self.window_frames, self.stride_frames)

    def windows(self, quantized: np.ndarray) -> tuple[list[int], np.ndarray]:
        """The model inputs of a stream of quantized frames ``[frames, width]``.

        Returns the inference ends (:meth:`inference_frames`) and int8
        ``[n, *input_shape]``, window ``i`` holding frames ``ends[i] - window_frames`` to
        ``ends[i] - 1``.
        """
        ends = self.inference_frames(len(quantized))
        out = np.empty((len(ends), *self.input_shape), np.int8)
        for i, end in enumerate(ends):
            out[i] = quantized[end - self.window_frames : end].reshape(self.input_shape)
        return ends, out

    def stream_inputs(self, audio: np.ndarray) -> tuple[list[int], np.ndarray]:
        """:meth:`windows` of an int16 audio stream (frontend -> quantize -> windows)."""
        features = frontend_kind(self.frontend).compute(audio, self.frontend)
        return self.windows(self.quantize(features))

    def clip_input(self, audio: np.ndarray) -> np.ndarray:
        """One model input from a clip cut or zero-padded at its end to one window."""
        fitted = np.zeros(self.window_samples, np.int16)
        fitted[: min(len(fitted), len(audio))] = audio[: len(fitted)]
        features = frontend_kind(self.frontend).compute(fitted, self.frontend)
        return self.quantize(features).reshape(self.input_shape)
