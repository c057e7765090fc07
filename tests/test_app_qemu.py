"""The firmware application under QEMU (mps2-an386, Cortex-M4F, DSP kernel path).

- WAV streamed as AUDIO frames over the UART -> the firmware's own frontend, quantization,
  window and model -> SCORES identical to the host path (host C frontend + the same
  quantization + tflite-micro, and + native); FEATURES identical to the host frontend;
  DETECTIONs (a threshold the stream crosses) exactly where the averaging rule says.
  Micro and MFCC frontends.
- The ``qemu`` engine equals tflite-micro on 300 random inputs (micro_speech fixture and a
  DS-CNN) and on real clips' features.
- ``kws firmware bench`` reports instructions per inference/MAC.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from support.detection import expected_detections
from support.reference import contract_scores

pytestmark = [
    pytest.mark.arm,
    pytest.mark.skipif(
        not all(shutil.which(t) for t in ("arm-none-eabi-gcc", "qemu-system-arm", "make")),
        reason="needs arm-none-eabi-gcc, qemu-system-arm and make "
        "(apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm make)",
    ),
]

FIXTURES = Path(__file__).parent / "fixtures"
MICRO_SPEECH = FIXTURES / "models" / "micro_speech_quantized.tflite"
LABELS = ["_silence_", "_unknown_", "yes", "no"]
NUM_RANDOM = 300


def _clip(names: tuple[str, ...]) -> np.ndarray:
    from kws.audio import load_audio

    return np.concatenate([load_audio(FIXTURES / f"{n}_1000ms.wav") for n in names])


def _make_model(root: Path, kind: str) -> Path:
    """A DS-CNN-XS with random weights and batch norm (so scores vary), int8-calibrated on
    the fixture clips' features, with a model.json like `kws export` writes."""
    import keras

    from kws.export import convert_int8
    from kws.features import compute_features, frontend_config, to_model_input
    from kws.model import ds_cnn

    fe = frontend_config(kind)
    feats = [to_model_input(compute_features(_clip((n,)), fe), fe)
             for n in ("yes", "no", "noise", "silence")]
    frames, channels = feats[0].shape
    keras.utils.set_random_seed(7)
    model = ds_cnn((frames, channels, 1), len(LABELS), "xs")
    rng = np.random.default_rng(1)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            g, b, m, v = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, g.shape), rng.normal(0, 0.5, b.shape),
                               rng.normal(0, 0.3, m.shape), rng.uniform(0.5, 2, v.shape)])
    rep = np.stack(feats * 6)[..., None]
    rep = (rep + rng.normal(0, 0.3 * rep.std(), rep.shape)).astype(np.float32)
    logits = keras.Model(model.input, model.get_layer("logits").output)
    out = root / kind
    out.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Raw logits (no softmax) keep many distinct int8 values: a sharper comparison.
        (out / "model_int8.tflite").write_bytes(convert_int8(logits, rep))
    (out / "model.json").write_text(json.dumps({
        "format": "kws-model/1", "model_file": "model_int8.tflite", "labels": LABELS,
        "frontend": fe.to_dict()}))
    return out / "model_int8.tflite"


def _stream() -> np.ndarray:
    """Noise, the planted words and silence, with an odd tail (partial chunk and window)."""
    audio = _clip(("noise", "yes", "no", "silence", "yes"))
    return np.concatenate([audio, audio[:1234]])


def _deploy_detecting(model: Path, pdir: Path, board: str, audio: np.ndarray) -> None:
    """Deploy with the detection threshold at the median of the best keyword score over
    ``audio``'s inferences: the random model then detects on some inferences, not all."""
    from kws.firmware_project.deploy import deploy
    from kws.firmware_project.layout import load_project

    options = {"stride_frames": 7, "average_count": 2, "suppress_inferences": 3}
    deploy(model, pdir, board, threshold=0.3, **options)
    cfg = load_project(pdir)
    scores = np.stack([s.scores for s in contract_scores(audio, cfg, model, "tflm")])
    keywords = [i for i, label in enumerate(LABELS) if not label.startswith("_")]
    threshold_q = int(np.median(scores[:, keywords].max(axis=1)))
    # Half a step below threshold_q: deploy's ceil() lands exactly on it.
    threshold = (threshold_q - cfg["output_zero_point"] - 0.5) * cfg["output_scale"]
    deploy(model, pdir, board, threshold=threshold, **options)
    assert load_project(pdir)["threshold_q"] == threshold_q


def build_projects(root: Path, board: str) -> dict[str, tuple[Path, Path]]:
    """kind -> (model, project dir built for ``board``), stride 7 frames, averaged over 2
    inferences, a threshold that :func:`_stream` crosses."""
    from kws.firmware_project.build import build_project

    out = {}
    for kind in ("micro", "mfcc"):
        model = _make_model(root, kind)
        pdir = root / f"project_{kind}"
        _deploy_detecting(model, pdir, board, _stream())
        build_project(pdir)
        out[kind] = (model, pdir)
    return out


@pytest.fixture(scope="module")
def projects(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """kind -> (model, built project dir) on qemu-mps2-an386."""
    return build_projects(tmp_path_factory.mktemp("app"), "qemu-mps2-an386")


def assert_features_equal_host(result, cfg: dict, audio: np.ndarray) -> None:
    """The FEATURES the firmware sent equal the host frontend's and quantization's."""
    from kws.features import compute_features, frontend_from_dict
    from kws.features.quantize import feature_scale, quantize_values

    fe = frontend_from_dict(cfg["frontend"])
    raw = compute_features(audio, fe)
    q = quantize_values(raw, feature_scale(fe), cfg["input_scale"], cfg["input_zero_point"])
    assert [f.frame_index for f in result.features] == list(range(1, len(raw) + 1))
    assert np.array_equal(np.stack([f.raw for f in result.features]), raw)
    assert np.array_equal(np.stack([f.quantized for f in result.features]), q)


@pytest.mark.parametrize("kind", ["micro", "mfcc"])
def test_wav_over_uart_matches_host(projects, kind: str) -> None:
    assert_wav_over_uart_matches_host(*projects[kind], kind)


def assert_wav_over_uart_matches_host(model: Path, pdir: Path, kind: str) -> None:
    """A WAV streamed to the built project ``pdir``: features, scores and detections equal
    the host's (host frontend + quantization + tflite-micro, and + native)."""
    from kws.firmware_project.layout import load_project
    from kws.firmware_project.run import run_project

    cfg = load_project(pdir)
    audio = _stream()
    result = run_project(pdir, audio, features=True, chunk=333)
    assert result.info.frontend == kind and result.info.stride_frames == 7
    assert result.info.num_labels == 4 and result.info.macs == cfg["macs"]

    # Features: the device's frontend and quantization equal the host's, frame by frame.
    assert_features_equal_host(result, cfg, audio)

    # Scores: host frontend + same quantization + tflite-micro, and + native.
    for engine in ("tflm", "native"):
        expected = contract_scores(audio, cfg, model, engine)
        assert len(expected) == len(result.scores) > 20
        assert [s.frame_index for s in result.scores] == [e.frame_index for e in expected]
        for got, want in zip(result.scores, expected, strict=True):
            assert np.array_equal(got.scores, want.scores), (engine, got.frame_index)
    all_scores = np.stack([s.scores for s in result.scores])
    assert len(np.unique(all_scores)) > 10  # a comparison of varied values, not constants

    # Detections: where the averaging rule says, and some, but not on every inference.
    replay = expected_detections(result.scores, cfg)
    detections = [(d.frame_index, d.label, d.average) for d in result.detections]
    assert detections == replay
    assert 0 < len(detections) < len(result.scores) // cfg["suppress_inferences"]
    assert all(average >= cfg["threshold_q"] for _, _, average in detections)
    _assert_host_app_equals_board(model, cfg, audio, result)


def _assert_host_app_equals_board(model: Path, cfg: dict, audio: np.ndarray, result) -> None:
    """The application built for the host (kws.host_app), fed odd-sized blocks, reports the
    board's features, scores and detections bit for bit."""
    from kws.board_check import host_app_for
    from kws.host_app import HostEvents

    app = host_app_for(cfg, model, features=True)
    parts = [app.process(audio[i:i + 777]) for i in range(0, len(audio), 777)]
    host = HostEvents.join(parts, app.channels, len(app.labels))
    assert host.feature_frames.tolist() == [f.frame_index for f in result.features]
    assert np.array_equal(host.raw_features, np.stack([f.raw for f in result.features]))
    assert np.array_equal(host.features, np.stack([f.quantized for f in result.features]))
    assert host.score_frames.tolist() == [s.frame_index for s in result.scores]
    assert np.array_equal(host.scores, np.stack([s.scores for s in result.scores]))
    assert host.detection_list() == [(d.frame_index, d.label, d.average)
                                     for d in result.detections]


def test_cli_run_json(projects, tmp_path, capsys) -> None:
    import soundfile as sf

    from kws.cli import main

    _, pdir = projects["micro"]
    wav = tmp_path / "clip.wav"
    sf.write(wav, _clip(("yes", "no")), 16000, subtype="PCM_16")
    assert main(["firmware", "run", str(pdir), "--wav", str(wav), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["labels"] == LABELS
    assert [s["frame_index"] for s in out["scores"]] == list(range(49, 100, 7))
    assert main(["firmware", "run", str(pdir), "--wav", str(wav)]) == 0
    text = capsys.readouterr().out
    assert "frame" in text and "_silence_" in text
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00")
    assert main(["firmware", "run", str(pdir), "--wav", str(bad)]) == 2


def _random_inputs(shape, n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, size=shape).astype(np.int8) for _ in range(n)]


def _assert_engine_equal(model: Path, inputs: list[np.ndarray], engine: str = "qemu") -> None:
    from kws.engines import run_model

    want = run_model("tflm", model, inputs)
    got = run_model(engine, model, inputs)
    bad = [i for i, (a, b) in enumerate(zip(want, got, strict=True)) if not np.array_equal(a, b)]
    assert not bad, f"{model.name}: {len(bad)}/{len(inputs)} outputs differ (first {bad[:5]})"


def test_qemu_engine_micro_speech_random(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KWS_CACHE_DIR", str(tmp_path))
    _assert_engine_equal(MICRO_SPEECH, _random_inputs((1, 1960), NUM_RANDOM, 11))


def test_qemu_engine_ds_cnn_random_and_real(projects, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KWS_CACHE_DIR", str(tmp_path))
    model, pdir = projects["mfcc"]
    _assert_engine_equal(model, random_and_real_inputs(pdir))


def random_and_real_inputs(pdir: Path) -> list[np.ndarray]:
    """NUM_RANDOM random model inputs, then the fixture clips' quantized features."""
    from kws.features import compute_features, frontend_from_dict
    from kws.features.quantize import feature_scale, quantize_values
    from kws.firmware_project.layout import load_project

    cfg = load_project(pdir)
    inputs = _random_inputs(cfg["input_shape"], NUM_RANDOM, 12)
    fe = frontend_from_dict(cfg["frontend"])
    for name in ("yes", "no", "noise", "silence"):
        raw = compute_features(_clip((name,)), fe)
        inputs.append(quantize_values(raw, feature_scale(fe), cfg["input_scale"],
                                      cfg["input_zero_point"]))
    return inputs


def test_bench_reports_instruction_counts(projects, capsys) -> None:
    from kws.cli import main

    _, pdir = projects["mfcc"]
    assert main(["firmware", "bench", str(pdir), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"instructions_per_inference", "macs", "instructions_per_mac"}
    cfg = json.loads((pdir / "project.json").read_text())
    assert out["macs"] == cfg["macs"] > 0
    # Not below the SMLAD limit (0.5/MAC) and not a stuck counter.
    assert 0.5 < out["instructions_per_mac"] < 50
    assert out["instructions_per_inference"] == pytest.approx(
        out["instructions_per_mac"] * out["macs"], rel=1e-3)
