"""The input contract (``kws.features.quantize``) is the mirror of the firmware's C:
``firmware/app/feature_quantize.c`` (feature -> int8) and ``feature_window.c`` (which frames
a model window holds), built here for the host with gcc; and ``kws features --int8`` makes
the inputs ``kws run`` takes."""

from __future__ import annotations

import ctypes
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import host_c_library

from kws.cli import main
from kws.errors import KwsError
from kws.features import MfccConfig, MicroFrontendConfig, compute_features, frontend_config
from kws.features.quantize import (
    FRONTEND_KINDS,
    InputContract,
    feature_scale,
    frontend_kind,
    inference_ends,
    num_features,
    quantize_inputs,
)

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "firmware" / "app"
FIXTURES = Path(__file__).parent / "fixtures"
MICRO_SPEECH = FIXTURES / "models" / "micro_speech_quantized.tflite"
CLIPS = ("yes_1000ms", "no_1000ms", "noise_1000ms", "silence_1000ms")
# (input scale, zero point): micro_speech's, a kws-trained MFCC model's range, and extremes.
QUANTIZATIONS = ((0.10171568393707275, -128), (0.0390625, -128), (0.7, 3), (1e-3, 127),
                 (3.1, -7), (0.2573, 41))


class _QuantizeConfig(ctypes.Structure):
    _fields_ = [("feature_scale", ctypes.c_float), ("input_scale", ctypes.c_float),
                ("zero_point", ctypes.c_int32)]


class _WindowConfig(ctypes.Structure):
    _fields_ = [("frames", ctypes.c_int), ("channels", ctypes.c_int),
                ("rows", ctypes.c_void_p)]


class _WindowState(ctypes.Structure):
    _fields_ = [("config", _WindowConfig), ("next_row", ctypes.c_int),
                ("filled", ctypes.c_uint32)]


@pytest.fixture(scope="module")
def app_c(tmp_path_factory) -> ctypes.CDLL:
    lib = host_c_library(tmp_path_factory.mktemp("contract_c") / "libcontract.so",
                         [APP / "feature_quantize.c", APP / "feature_window.c"])
    lib.kws_quantize_micro_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int,
                                             ctypes.c_void_p]
    lib.kws_quantize_float_frame.argtypes = lib.kws_quantize_micro_frame.argtypes
    lib.kws_feature_window_next_row.restype = ctypes.c_void_p
    lib.kws_feature_window_copy.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    return lib


def _c_quantize(lib: ctypes.CDLL, contract: InputContract, features: np.ndarray) -> np.ndarray:
    """The firmware's quantization of ``features``, frame by frame as kws_app.c calls it."""
    cfg = _QuantizeConfig(contract.feature_scale, contract.input_scale,
                          contract.input_zero_point)
    frames = np.ascontiguousarray(features.reshape(len(features), -1))
    width = frames.shape[1]
    fn = (lib.kws_quantize_micro_frame if frames.dtype == np.uint16
          else lib.kws_quantize_float_frame)
    out = np.empty(frames.shape, np.int8)
    for i in range(len(frames)):
        fn(ctypes.byref(cfg), frames[i].ctypes.data, width, out[i].ctypes.data)
    return out


def _real_features(config) -> np.ndarray:
    import soundfile as sf

    clips = [sf.read(str(FIXTURES / f"{name}.wav"), dtype="int16")[0] for name in CLIPS]
    return np.concatenate([compute_features(clip, config) for clip in clips])


def _contract(config, scale: float, zero_point: int, frames: int = 49) -> InputContract:
    return InputContract(config, (1, frames, num_features(config), 1), scale, zero_point)


def test_micro_quantization_equals_c(app_c) -> None:
    """Every uint16 value and real micro frames (speech, noise, silence, with and without
    PCAN), for several input scales and zero points."""
    every_value = np.arange(65536, dtype=np.uint16).reshape(-1, 256)
    for config in (MicroFrontendConfig(), MicroFrontendConfig(enable_pcan=False)):
        real = _real_features(config)
        assert real.dtype == np.uint16 and len(real) == 4 * 49 and real.max() > 300
        for scale, zp in QUANTIZATIONS:
            contract = _contract(config, scale, zp)
            for frames in (every_value, real):
                want = _c_quantize(app_c, contract, frames)
                assert np.array_equal(contract.quantize(frames), want), (scale, zp)
            if scale == QUANTIZATIONS[0][0]:  # micro_speech's own: values, not saturation
                assert len(np.unique(contract.quantize(real))) > 20


def test_mfcc_quantization_equals_c(app_c) -> None:
    """Random and real MFCC frames, values on rounding ties, saturation, +-0, inf and NaN."""
    rng = np.random.default_rng(20261130)
    config = MfccConfig()
    real = _real_features(config)
    assert real.dtype == np.float32 and len(real) == 4 * 49
    for scale, zp in QUANTIZATIONS:
        ties = (np.arange(-300, 300) + 0.5).astype(np.float32) * np.float32(scale)
        special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e30, -1e30, 1e-30,
                            np.float32(1023.5) * scale, np.float32(1024.5) * scale],
                           np.float32)
        random = np.concatenate([rng.normal(0, 30, 100_000), rng.uniform(-1e3, 1e3, 2000),
                                 rng.normal(0, 1, 2000) * scale]).astype(np.float32)
        contract = _contract(config, scale, zp)
        for values in (ties, special, random):
            frames = np.resize(values, (-(-values.size // 10), 10)).astype(np.float32)
            assert np.array_equal(contract.quantize(frames), _c_quantize(app_c, contract, frames))
        assert np.array_equal(contract.quantize(real), _c_quantize(app_c, contract, real))
        if scale == 0.7:  # about a kws-trained MFCC model's scale: values, not saturation
            assert len(np.unique(contract.quantize(real))) > 20


def test_windows_equal_the_firmware_ring_buffer(app_c) -> None:
    """The frames ``windows`` hands the model at each inference are the ones the C ring
    buffer (feature_window.c) copies out after that many frames."""
    rng = np.random.default_rng(7)
    for frames, channels, stride, total in ((49, 40, 10, 200), (49, 10, 1, 60), (5, 3, 7, 40),
                                            (4, 2, 4, 4), (6, 2, 3, 5)):
        config = frontend_config("micro", num_channels=channels)
        contract = InputContract(config, (1, frames * channels), 0.1, -128, stride)
        stream = rng.integers(-128, 128, size=(total, channels)).astype(np.int8)
        ends, windows = contract.windows(stream)
        assert ends == inference_ends(total, frames, stride) == contract.inference_frames(total)
        assert windows.shape == (len(ends), 1, frames * channels)
        storage = np.zeros(frames * channels, np.int8)
        state = _WindowState()
        app_c.kws_feature_window_init(ctypes.byref(state), ctypes.byref(
            _WindowConfig(frames, channels, storage.ctypes.data)))
        c_windows = {}
        for i, row in enumerate(stream, start=1):
            ctypes.memmove(app_c.kws_feature_window_next_row(ctypes.byref(state)),
                           row.ctypes.data, channels)
            app_c.kws_feature_window_commit(ctypes.byref(state))
            if app_c.kws_feature_window_full(ctypes.byref(state)):
                out = np.empty(frames * channels, np.int8)
                app_c.kws_feature_window_copy(ctypes.byref(state), out.ctypes.data)
                c_windows[i] = out
        for end, window in zip(ends, windows, strict=True):
            assert np.array_equal(window.reshape(-1), c_windows[end]), end
    assert inference_ends(48, 49, 10) == []
    assert inference_ends(49, 49, 10) == [49]
    assert inference_ends(99, 49, 10) == [49, 59, 69, 79, 89, 99]


def test_frontend_kinds_replace_class_switches() -> None:
    micro, mfcc = MicroFrontendConfig(num_channels=32), MfccConfig(num_mfcc=13)
    assert [k.name for k in FRONTEND_KINDS] == ["micro", "mfcc"]
    assert frontend_kind(micro).name == "micro" and frontend_kind("mfcc").config_type is MfccConfig
    assert (num_features(micro), num_features(mfcc)) == (32, 13)
    assert (feature_scale(micro), feature_scale(mfcc)) == (10 / 256, 1.0)
    assert frontend_config("mfcc", num_mfcc=13) == mfcc
    with pytest.raises(ValueError, match="unknown frontend 'mel'"):
        frontend_kind("mel")
    with pytest.raises(TypeError, match="not a frontend config"):
        frontend_kind(object())  # type: ignore[arg-type]
    # Float model inputs (training's scaled features) quantize by the same rule, scale 1.
    x = np.array([0.25, 0.75, -0.25, -0.75, 1.25, 1000.0, -1000.0], np.float32)
    assert quantize_inputs(x, 0.5, 3).tolist() == [4, 5, 2, 1, 6, 127, -128]


def _write_model(tmp_path: Path, frontend: dict | None = None) -> Path:
    model = tmp_path / "model_int8.tflite"
    shutil.copy(MICRO_SPEECH, model)
    if frontend is not None:
        (tmp_path / "model.json").write_text(json.dumps({"frontend": frontend}))
    return model


def test_contract_from_model(tmp_path) -> None:
    model = _write_model(tmp_path, MicroFrontendConfig().to_dict())
    contract = InputContract.from_model(model)
    assert contract.kind == "micro" and contract.input_shape == (1, 1960)
    assert (contract.input_scale, contract.input_zero_point) == (0.10171568393707275, -128)
    assert (contract.window_frames, contract.num_features, contract.stride_frames) == (49, 40, 10)
    assert contract.window_samples == 480 + 48 * 320  # a 30 ms window + 48 hops of 20 ms
    assert InputContract.from_model(model, stride_frames=3).stride_frames == 3
    # A clip is cut or zero-padded at its end to one window.
    clip = np.random.default_rng(1).integers(-3000, 3000, 20000).astype(np.int16)
    assert np.array_equal(contract.clip_input(clip), contract.clip_input(clip[:15840]))
    padded = np.concatenate([clip[:9000], np.zeros(6840, np.int16)])
    assert np.array_equal(contract.clip_input(clip[:9000]), contract.clip_input(padded))
    assert contract.clip_input(clip).shape == (1, 1960)
    for frontend, needle in ((None, "not found"), ({"type": "mel"}, "invalid model.json"),
                             (MfccConfig(num_mfcc=13).to_dict(),
                                                            "not a whole number of 13-value mfcc")):
        (tmp_path / "model.json").unlink(missing_ok=True)
        _write_model(tmp_path, frontend)
        with pytest.raises(KwsError, match=needle):
            InputContract.from_model(model)
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(KwsError, match="unreadable model.json"):
        InputContract.from_model(model)


def _write_clip(path: Path, names: tuple[str, ...]) -> np.ndarray:
    import soundfile as sf

    audio = np.concatenate([sf.read(str(FIXTURES / f"{n}.wav"), dtype="int16")[0]
                            for n in names])
    sf.write(path, audio, 16000, subtype="PCM_16")
    return audio


def test_cli_features_int8_feeds_kws_run(app_c, tmp_path, capsys) -> None:
    """``kws features --int8 --model`` writes the firmware's windows; ``kws run --engine
    native`` on them gives what the tflite-micro interpreter gives."""
    from kws.engines import run_model

    model = _write_model(tmp_path, MicroFrontendConfig().to_dict())
    wav = tmp_path / "yes_no.wav"
    audio = _write_clip(wav, ("yes_1000ms", "no_1000ms"))
    x_path, y_path = tmp_path / "x.npy", tmp_path / "y.npy"
    assert main(["features", str(wav), "-o", str(x_path), "--model", str(model), "--int8"]) == 0
    assert "6 int8 windows" in capsys.readouterr().out
    x = np.load(x_path)
    assert x.dtype == np.int8 and x.shape == (6, 1, 1960)
    # The firmware's steps, independently: C quantization, frames end-49..end-1 per window.
    contract = InputContract.from_model(model)
    q = _c_quantize(app_c, contract, compute_features(audio, MicroFrontendConfig()))
    assert len(q) == 99
    for window, end in zip(x, (49, 59, 69, 79, 89, 99), strict=True):
        assert np.array_equal(window.reshape(49, 40), q[end - 49 : end])
    assert main(["run", "--engine", "native", "--model", str(model), "--input", str(x_path),
                 "--output", str(y_path)]) == 0
    y = np.load(y_path)
    want = np.stack(run_model("tflm", model, list(x)))
    assert y.dtype == np.int8 and np.array_equal(y, want)
    assert len({int(np.argmax(v)) for v in want.reshape(6, -1)}) > 1  # not all one class

    # --model alone: raw features of the model's frontend; a stride changes the windows.
    assert main(["features", str(wav), "-o", str(tmp_path / "raw.npy"), "--model",
                 str(model)]) == 0
    raw = np.load(tmp_path / "raw.npy")
    assert raw.dtype == np.uint16 and np.array_equal(contract.quantize(raw), q)
    assert main(["features", str(wav), "-o", str(x_path), "--model", str(model), "--int8",
                 "--stride-frames", "25"]) == 0
    assert np.load(x_path).shape == (3, 1, 1960)


def test_cli_features_int8_refusals(tmp_path, capsys) -> None:
    model = _write_model(tmp_path, MicroFrontendConfig().to_dict())
    out = tmp_path / "x.npy"
    short = tmp_path / "short.wav"
    _write_clip(short, ("yes_30ms",))
    wav = FIXTURES / "yes_1000ms.wav"
    cases = [
        (["features", str(wav), "-o", str(out), "--int8"], "--int8 needs --model"),
        (["features", str(wav), "-o", str(out), "--model", str(model), "--n-mfcc", "13"],
         "--n-mfcc: the frontend comes from"),
        (["features", str(wav), "-o", str(out), "--model", str(model), "--frontend", "mfcc"],
         "--frontend: the frontend comes from"),
        (["features", str(wav), "-o", str(out), "--stride-frames", "3"],
         "--stride-frames applies to --int8 only"),
        (["features", str(short), "-o", str(out), "--model", str(model), "--int8"],
         "shorter than one model window (49 frames)"),
        (["features", str(wav), "-o", str(out), "--model", str(tmp_path / "no.tflite"),
          "--int8"], "model file not found"),
    ]
    for argv, needle in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert needle in err and err.count("\n") == 1, err
        assert not out.exists()


def test_cli_run_hint_names_the_int8_maker(tmp_path, capsys) -> None:
    x = tmp_path / "features.npy"
    np.save(x, np.zeros((49, 40), np.uint16))
    assert main(["run", "--engine", "native", "--model", str(MICRO_SPEECH), "--input", str(x),
                 "--output", str(tmp_path / "y.npy")]) == 2
    assert "kws features --int8 --model" in capsys.readouterr().err
