"""The firmware application (``firmware/app/kws_app.c``) built for the host and driven from
Python: the same C code, generated model and ``kws_app_config.h`` that ``kws deploy`` puts
on a board, so the host's features, scores and detections are the board's, bit for bit.

The C is compiled once per model, ``model.json`` and detection settings into a cffi
extension cached under ``$KWS_CACHE_DIR/host_app`` (default ``~/.cache/kws/host_app``).
Results leave the C through hooks that append into buffers this module owns (no Python
call per frame).  The application keeps its state in C statics: every :class:`HostApp` of
one build shares it, so use one at a time per build (``reset()`` starts a new stream).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from kws import protocol
from kws.detector import DetectorSettings
from kws.errors import KwsError

HOST_BOARD = "qemu-mps2-an386"  # any make board: the host build uses only its generated C
APP_SOURCES = ("kws_app.c", "feature_window.c", "feature_quantize.c", "score_average.c")
CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off"]
CHUNK_SAMPLES = 4096  # samples per C call: bounds the result buffers
# Build key -> the HostApp whose sink the build's hooks fill (its C state is one per build).
_OWNERS: weakref.WeakValueDictionary[str, HostApp] = weakref.WeakValueDictionary()

# Where the hooks put results: caller-owned arrays, their capacity and fill.
_SINK = """
typedef struct {
  uint32_t* feature_frames; int8_t* features; float* raw; int feature_capacity;
  int feature_count;
  uint32_t* score_frames; int8_t* scores; int score_capacity; int score_count;
  uint32_t* detection_frames; int32_t* detection_labels; int32_t* detection_averages;
  int detection_capacity; int detection_count;
  int overflow;
} KwsHostSink;
"""
_CDEF = _SINK + """
int kws_host_init(KwsHostSink* sink, int with_features);
void kws_app_reset(void);
int kws_app_process_audio(const int16_t* samples, size_t n);
"""

# Hooks that copy each result into the sink's arrays; `overflow` counts what did not fit.
_GLUE = r"""
#include <string.h>
#include "kws_app.h"
""" + _SINK + r"""
static void host_features(void* context, uint32_t frame_index, int raw_format,
                          const void* raw, const int8_t* quantized, int n) {
  KwsHostSink* sink = (KwsHostSink*)context;
  int i;
  if (sink->feature_count >= sink->feature_capacity) { ++sink->overflow; return; }
  sink->feature_frames[sink->feature_count] = frame_index;
  memcpy(sink->features + (size_t)sink->feature_count * n, quantized, (size_t)n);
  for (i = 0; i < n; ++i) {
    sink->raw[(size_t)sink->feature_count * n + i] =
        raw_format == KWS_FEATURES_UINT16 ? (float)((const uint16_t*)raw)[i]
                                          : ((const float*)raw)[i];
  }
  ++sink->feature_count;
}

static void host_scores(void* context, uint32_t frame_index, const int8_t* scores, int n) {
  KwsHostSink* sink = (KwsHostSink*)context;
  if (sink->score_count >= sink->score_capacity) { ++sink->overflow; return; }
  sink->score_frames[sink->score_count] = frame_index;
  memcpy(sink->scores + (size_t)sink->score_count * n, scores, (size_t)n);
  ++sink->score_count;
}

static void host_detection(void* context, uint32_t frame_index, int label, int32_t average) {
  KwsHostSink* sink = (KwsHostSink*)context;
  if (sink->detection_count >= sink->detection_capacity) { ++sink->overflow; return; }
  sink->detection_frames[sink->detection_count] = frame_index;
  sink->detection_labels[sink->detection_count] = label;
  sink->detection_averages[sink->detection_count] = average;
  ++sink->detection_count;
}

int kws_host_init(KwsHostSink* sink, int with_features) {
  KwsAppHooks hooks;
  hooks.on_features = with_features ? host_features : 0;
  hooks.on_scores = host_scores;
  hooks.on_detection = host_detection;
  hooks.context = sink;
  return kws_app_init(&hooks);
}
"""


@dataclass
class HostEvents:
    """What the application reported for some audio, in order; frame indices count feature
    frames from the start of the stream (1 = the first)."""

    feature_frames: np.ndarray  # uint32 [n]
    features: np.ndarray  # int8 [n, channels]: the model's input rows
    raw_features: np.ndarray  # float32 [n, channels]: frontend output (micro: uint16 values)
    score_frames: np.ndarray  # uint32 [m]
    scores: np.ndarray  # int8 [m, labels]
    detection_frames: np.ndarray  # uint32 [k]
    detection_labels: np.ndarray  # int32 [k]
    detection_averages: np.ndarray  # int32 [k]: averaged score, int8 units

    def score_list(self) -> list[protocol.Scores]:
        """The scores as the protocol's SCORES messages."""
        return [protocol.Scores(int(f), s.copy())
                for f, s in zip(self.score_frames, self.scores, strict=True)]

    def detection_list(self) -> list[tuple[int, int, int]]:
        """``(frame_index, label, average)`` of every detection."""
        return [(int(f), int(lab), int(a)) for f, lab, a in zip(
            self.detection_frames, self.detection_labels, self.detection_averages,
            strict=True)]

    @classmethod
    def join(cls, parts: list[HostEvents], channels: int, labels: int) -> HostEvents:
        """One :class:`HostEvents` holding ``parts`` in order."""
        def cat(name: str, dtype: Any, width: int = 0) -> np.ndarray:
            arrays = [getattr(p, name) for p in parts]
            empty = np.empty((0, width) if width else (0,), dtype)
            return np.concatenate(arrays) if arrays else empty
        return cls(cat("feature_frames", np.uint32), cat("features", np.int8, channels),
                   cat("raw_features", np.float32, channels),
                   cat("score_frames", np.uint32), cat("scores", np.int8, labels),
                   cat("detection_frames", np.uint32), cat("detection_labels", np.int32),
                   cat("detection_averages", np.int32))


def cache_root() -> Path:
    """Where built applications are kept (``$KWS_CACHE_DIR/host_app``)."""
    from kws.deploy.native import cache_root as native_root

    return native_root().parent / "host_app"


def _build_key(tflite: Path, meta: dict[str, Any] | None, settings: DetectorSettings) -> str:
    """Hash of everything a build depends on: model, model.json, settings, the C sources and
    the Python that generates C."""
    from kws.firmware_project.layout import APP_DIR, CORE_DIR

    root = Path(__file__).resolve().parent
    digest = hashlib.sha256(json.dumps([meta, settings.to_dict(), CFLAGS, _GLUE],
                                       sort_keys=True).encode())
    digest.update(tflite.read_bytes())
    files = [*APP_DIR.glob("*.[ch]"), *CORE_DIR.rglob("*.[ch]"),
             *(root / "deploy").rglob("*.py"), *(root / "firmware_project").glob("*.py"),
             *(root / "features").rglob("*.py")]
    for path in sorted(files):
        digest.update(str(path.relative_to(root.parent)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:24]


def _compile(generated: Path, cfg: dict[str, Any], name: str, build_dir: Path) -> Path:
    """The cffi extension of the app + generated C in ``generated``; returns its path."""
    from cffi import FFI

    from kws.firmware_project.deploy import core_parts
    from kws.firmware_project.layout import APP_DIR, CORE_DIR

    sources = [APP_DIR / s for s in APP_SOURCES] + sorted(generated.glob("*.c"))
    for part in core_parts(cfg):
        sources += sorted((CORE_DIR / part).rglob("*.c"))
    ffi = FFI()
    ffi.cdef(_CDEF)
    macros = [(k, None if v is None else str(v)) for k, v in cfg["defines"].items()]
    ffi.set_source(name, _GLUE, sources=[str(s) for s in sources],
                   include_dirs=[str(generated), str(APP_DIR), str(CORE_DIR)],
                   define_macros=macros, extra_compile_args=CFLAGS)
    try:
        return Path(ffi.compile(tmpdir=str(build_dir), verbose=False))
    except Exception as exc:  # distutils raises its own CompileError/LinkError classes
        raise KwsError(f"{generated}: host build of the firmware app failed ({exc})") from exc


def _build(tflite: Path, meta: dict[str, Any] | None, settings: DetectorSettings
           ) -> tuple[Path, dict[str, Any]]:
    """The cached extension and project description for this model and settings."""
    from kws.boards import get_board
    from kws.firmware_project.deploy import _frontend_kind, _generate

    key = _build_key(tflite, meta, settings)
    folder = cache_root() / key
    lib_path, cfg_path = folder / "app.so", folder / "project.json"
    if lib_path.is_file() and cfg_path.is_file():
        return lib_path, json.loads(cfg_path.read_text())
    board = get_board(HOST_BOARD)
    kind = _frontend_kind(tflite, board, meta, None)
    if kind == "none":
        raise KwsError(f"{tflite}: the host app needs a frontend; export the model with "
                       "kws export (model.json with a frontend)")
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kws-host-app-") as tmp:
        generated = Path(tmp) / "generated"
        generated.mkdir()
        cfg = _generate(tflite, board, kind, meta, settings, generated)
        built = _compile(generated, cfg, f"_kws_host_app_{key}", Path(tmp) / "build")
        staging = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=folder.parent))
        shutil.copy2(built, staging / "app.so")
        (staging / "project.json").write_text(json.dumps(cfg, indent=2) + "\n")
        try:
            os.replace(staging, folder)
        except OSError:  # another process built it meanwhile
            shutil.rmtree(staging, ignore_errors=True)
    return lib_path, cfg


@lru_cache(maxsize=16)
def _load(lib_path: str, key: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_kws_host_app_{key}", lib_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class HostApp:
    """The firmware application for one model, running in this process.

    Build one with :meth:`from_model`; feed int16 audio at :attr:`sample_rate` with
    :meth:`process` (any block size, a stream split anywhere gives the same results).
    Instances of one build share the C state: the newest (or the last one ``reset()``)
    owns it, and an older one refuses to process until it is reset.
    """

    def __init__(self, module: ModuleType, project: dict[str, Any], settings: DetectorSettings,
                 *, features: bool = False) -> None:
        from kws.features import frontend_from_dict

        self.project = project
        self.settings = settings
        self.labels: list[str] = list(project["labels"])
        self.channels = int(project["channels"])
        self.frames = int(project["frames"])
        self.sample_rate = int(project["sample_rate"])
        fe = frontend_from_dict(project["frontend"])
        self.frame_step, self.frame_size = int(fe.window_step), int(fe.window_size)
        self._ffi, self._lib = module.ffi, module.lib
        frames = CHUNK_SAMPLES // self.frame_step + 2
        n_labels = len(self.labels)
        self._arrays = {
            "feature_frames": np.zeros(frames if features else 0, np.uint32),
            "features": np.zeros((frames if features else 0, self.channels), np.int8),
            "raw": np.zeros((frames if features else 0, self.channels), np.float32),
            "score_frames": np.zeros(frames, np.uint32),
            "scores": np.zeros((frames, n_labels), np.int8),
            "detection_frames": np.zeros(frames, np.uint32),
            "detection_labels": np.zeros(frames, np.int32),
            "detection_averages": np.zeros(frames, np.int32),
        }
        sink = self._ffi.new("KwsHostSink*")
        for name, array in self._arrays.items():
            ctype = {"features": "int8_t*", "scores": "int8_t*", "raw": "float*",
                     "detection_labels": "int32_t*", "detection_averages": "int32_t*"
                     }.get(name, "uint32_t*")
            setattr(sink, name, self._ffi.cast(ctype, self._ffi.from_buffer(array)))
        sink.feature_capacity = frames if features else 0
        sink.score_capacity = sink.detection_capacity = frames
        self._sink = sink
        self.with_features = features
        self._key = module.__name__
        if self._lib.kws_host_init(sink, int(features)) != 1:
            raise KwsError("the firmware app refused its frontend config")
        _OWNERS[self._key] = self
        self.samples_seen = 0

    @classmethod
    def from_model(cls, model_path: str | os.PathLike[str],
                   settings: DetectorSettings | None = None, *, features: bool = False,
                   meta: dict[str, Any] | None = None, **overrides: Any) -> HostApp:
        """Build (or reuse) the application for ``model_path`` and ``model.json`` beside it.

        ``settings`` default to model.json's (:meth:`DetectorSettings.from_meta`) with
        ``overrides`` (``average_count``, ``threshold``, ``suppress_inferences``,
        ``stride_frames``; None keeps model.json's) applied.  ``features=True`` also reports
        every feature frame (slower).  ``meta`` stands for model.json (labels, frontend)
        where the model has none beside it, e.g. taken from a project's ``project.json``.
        """
        from kws.firmware_project.deploy import model_meta

        tflite = Path(model_path)
        if not tflite.is_file():
            raise KwsError(f"{tflite}: model file not found")
        meta = model_meta(tflite) if meta is None else meta
        if settings is None:
            settings = DetectorSettings.from_meta(meta, **overrides)
        settings.check()
        lib_path, project = _build(tflite, meta, settings)
        module = _load(str(lib_path), lib_path.parent.name)
        return cls(module, project, settings, features=features)

    def reset(self) -> None:
        """Start a new stream: frontend, feature window and score history cleared."""
        self._lib.kws_host_init(self._sink, int(self.with_features))  # take the hooks back
        self._lib.kws_app_reset()
        _OWNERS[self._key] = self
        self.samples_seen = 0

    def frame_end_s(self, frame_index: Any) -> Any:
        """Stream time (s) at which feature frame ``frame_index`` (1-based) ends."""
        return ((np.asarray(frame_index, np.float64) - 1) * self.frame_step
                + self.frame_size) / self.sample_rate

    def _take(self) -> HostEvents:
        sink, a = self._sink, self._arrays
        if sink.overflow:
            raise KwsError(f"host app: {sink.overflow} results did not fit the buffers")
        nf, ns, nd = sink.feature_count, sink.score_count, sink.detection_count
        events = HostEvents(a["feature_frames"][:nf].copy(), a["features"][:nf].copy(),
                            a["raw"][:nf].copy(), a["score_frames"][:ns].copy(),
                            a["scores"][:ns].copy(), a["detection_frames"][:nd].copy(),
                            a["detection_labels"][:nd].copy(),
                            a["detection_averages"][:nd].copy())
        sink.feature_count = sink.score_count = sink.detection_count = 0
        return events

    def process(self, block: np.ndarray) -> HostEvents:
        """Stream int16 mono ``block`` through the app; what it reported comes back."""
        if _OWNERS.get(self._key) is not self:
            raise KwsError("host app: a newer HostApp of the same model and settings owns the "
                           "application's state now; call reset() to start a stream here")
        samples = np.ascontiguousarray(block, dtype=np.int16).reshape(-1)
        if block.dtype != np.int16 and len(samples):
            raise KwsError(f"host app: audio must be int16, not {block.dtype}")
        parts = []
        for start in range(0, len(samples), CHUNK_SAMPLES):
            chunk = samples[start:start + CHUNK_SAMPLES]
            self._lib.kws_app_process_audio(
                self._ffi.cast("const int16_t*", self._ffi.from_buffer(chunk)), len(chunk))
            parts.append(self._take())
        self.samples_seen += len(samples)
        return HostEvents.join(parts, self.channels, len(self.labels))
