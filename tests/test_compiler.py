"""The model compiler: DS-CNN S/M/L and TFLM's micro_speech compiled to C and run on the host
(``native``) must equal the tflite-micro interpreter exactly; unsupported models are refused
with one clear message; the memory plan is sound; the C builds warning-free for Cortex-M4."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from support.int8_models import (
    assert_native_equals_tflm,
    convert,
    distinct_values,
    random_ds_cnn,
    random_int8_inputs,
)

from kws.errors import KwsError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FIXTURES = Path(__file__).parent / "fixtures"
MICRO_SPEECH = FIXTURES / "models" / "micro_speech_quantized.tflite"
CORE = Path(__file__).resolve().parent.parent / "firmware" / "core"
NUM_RANDOM = 300


@pytest.fixture(scope="session")
def ds_cnn_models(tmp_path_factory) -> dict[str, Path]:
    """DS-CNN S/M/L (49x10 MFCC input, 12 classes) with random weights, int8-calibrated on
    random features; plus each model cut before its softmax (raw logits are more sensitive)."""
    import keras

    root = tmp_path_factory.mktemp("ds_cnn")
    paths = {}
    for size in ("s", "m", "l"):
        model, rep = random_ds_cnn(size)
        logits = keras.Model(model.input, model.get_layer("logits").output)
        variants = [(size, model)] + ([(f"{size}_logits", logits)] if size != "l" else [])
        for name, m in variants:
            paths[name] = root / f"ds_cnn_{name}.tflite"
            paths[name].write_bytes(convert(m, rep))
    return paths


@pytest.mark.parametrize("size", ["s", "m", "l"])
def test_ds_cnn_native_equals_tflm(ds_cnn_models, size: str) -> None:
    from kws.deploy import load_graph

    path = ds_cnn_models[size]
    graph = load_graph(path)
    kinds = [op.kind for op in graph.ops]
    assert kinds[0] == "CONV_2D" and kinds[-1] == "SOFTMAX"
    assert "DEPTHWISE_CONV_2D" in kinds and "AVERAGE_POOL_2D" in kinds
    shape = graph.tensor(graph.input).shape
    assert_native_equals_tflm(path, random_int8_inputs(shape, NUM_RANDOM, seed=1))
    if size != "l":  # L's kernels are S's and M's; its logits would only add minutes
        logits = assert_native_equals_tflm(ds_cnn_models[f"{size}_logits"],
                                           random_int8_inputs(shape, 60, seed=2))
        assert distinct_values(logits) > 8


def test_micro_speech_random_inputs() -> None:
    assert_native_equals_tflm(MICRO_SPEECH, random_int8_inputs((1, 1960), NUM_RANDOM, seed=3))


def test_micro_speech_real_clips() -> None:
    from kws.audio import load_audio
    from kws.export import quantize_inputs
    from kws.features import MicroFrontendConfig, compute_features, to_model_input
    from kws.modelinfo import io_quantization

    config = MicroFrontendConfig()  # micro_speech: 30/20 ms, 40 channels, PCAN
    in_q, _ = io_quantization(MICRO_SPEECH)
    labels = ["silence", "unknown", "yes", "no"]
    clips = ["yes", "no", "silence", "noise"]
    inputs = []
    for clip in clips:
        features = compute_features(load_audio(FIXTURES / f"{clip}_1000ms.wav"), config)
        assert features.shape == (49, 40)
        q = quantize_inputs(to_model_input(features, config), in_q.scale, in_q.zero_point)
        inputs.append(q.reshape(in_q.shape))
    outputs = assert_native_equals_tflm(MICRO_SPEECH, inputs)
    assert labels[int(np.argmax(outputs[0]))] == "yes"
    assert labels[int(np.argmax(outputs[1]))] == "no"


def test_memory_plan_is_sound(ds_cnn_models, tmp_path) -> None:
    from kws.deploy import compile_model, memory_plan_report

    compiled = compile_model(ds_cnn_models["s"], tmp_path, name="dscnn_s")
    arena = [r for r in compiled.plan if r["storage"] == "arena"]
    buffers: dict[int, dict] = {}
    for r in arena:
        buffers.setdefault(r["buffer"], r)
        assert r["offset"] % 16 == 0
        assert r["offset"] + r["bytes"] <= compiled.arena_bytes
    rows = list(buffers.values())
    for i, a in enumerate(rows):
        for b in rows[i + 1:]:
            live_together = a["first_op"] <= b["last_op"] and b["first_op"] <= a["last_op"]
            overlap = (a["offset"] < b["offset"] + b["bytes"]
                       and b["offset"] < a["offset"] + a["bytes"])
            assert not (live_together and overlap), (a, b)
    # Buffers are reused: far less than one buffer per tensor, about two live activations
    # plus one op's kernel scratch (widened patches / depthwise plane, kept small).
    largest = max(r["bytes"] for r in arena if r["tensor"] >= 0)
    scratch = max((r["bytes"] for r in arena if r["tensor"] < 0), default=0)
    assert scratch <= largest // 8
    assert compiled.arena_bytes < sum(r["bytes"] for r in rows)
    assert compiled.arena_bytes <= 2 * largest + scratch + 64
    # RESHAPE (if the converter kept one) runs in place.
    assert all(op["in_place"] for op in compiled.ops if op["kind"] == "RESHAPE")
    report = memory_plan_report(compiled)
    assert f"arena: {compiled.arena_bytes} bytes" in report
    header = Path(compiled.files["header"]).read_text()
    assert f"#define KWS_DSCNN_S_ARENA_BYTES {compiled.arena_bytes}" in header
    assert "void kws_dscnn_s_invoke(const int8_t* input, int8_t* output);" in header
    assert "#define KWS_DSCNN_S_NUM_LABELS 12" in header
    assert f"#define KWS_DSCNN_S_MACS {compiled.macs}" in header
    from kws.model import count_macs, ds_cnn

    assert compiled.macs == count_macs(ds_cnn((49, 10, 1), 12, "s"))
    weights = Path(compiled.files["weights_source"]).stat().st_size
    assert weights > compiled.weight_bytes  # every weight byte is in the C source
    assert Path(compiled.files["info"]).is_file()


def test_micro_speech_plan_aliases_input_reshape(tmp_path) -> None:
    from kws.deploy import compile_model

    compiled = compile_model(MICRO_SPEECH, tmp_path)
    storage = {r["name"]: r["storage"] for r in compiled.plan}
    assert storage["Reshape_1"] == storage["Reshape_2"] == "input"
    assert storage["labels_softmax"] == "output"
    # 4000-byte depthwise output + the 720-byte scratch of its convolution kernel (one
    # input channel: im2col patch + four widened pixels); the 4-byte logits reuse it.
    assert compiled.arena_bytes == 4720
    source = Path(compiled.files["source"]).read_text()
    assert "kws_conv_2d(&op1_params, input, arena.bytes);" in source
    assert "kws_softmax(&op3_params, arena.bytes + 4000, output);" in source


# --- refusals ---------------------------------------------------------------------------


def _convert_keras(model, int8: bool = True) -> bytes:
    if int8:
        rep = np.random.default_rng(0).normal(size=(8, *model.input_shape[1:]))
        return convert(model, rep.astype(np.float32))
    import tensorflow as tf

    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


def _refused(tmp_path: Path, data: bytes, *needles: str) -> str:
    from kws.deploy import compile_model

    path = tmp_path / "model.tflite"
    path.write_bytes(data)
    out = tmp_path / "out"
    with pytest.raises(KwsError) as info:
        compile_model(path, out)
    message = str(info.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message, message
    assert not out.exists() or not any(out.iterdir()), "no partial output"
    return message


def test_refuses_float_model(tmp_path) -> None:
    import keras

    inputs = keras.Input((8, 4, 1), batch_size=1)
    model = keras.Model(inputs, keras.layers.Conv2D(2, 3)(inputs))
    _refused(tmp_path, _convert_keras(model, int8=False), "float32", "int8")


def test_refuses_add_op(tmp_path) -> None:
    import keras

    inputs = keras.Input((6, 4, 2), batch_size=1)
    a = keras.layers.Conv2D(2, 1)(inputs)
    model = keras.Model(inputs, keras.layers.Add()([a, inputs]))
    _refused(tmp_path, _convert_keras(model), "ADD", "not supported")


def test_refuses_dilation(tmp_path) -> None:
    import keras

    inputs = keras.Input((12, 12, 2), batch_size=1)
    model = keras.Model(inputs, keras.layers.Conv2D(3, 3, dilation_rate=2)(inputs))
    _refused(tmp_path, _convert_keras(model), "dilation 2x2", "CONV_2D")


def test_refuses_corrupt_and_truncated_files(tmp_path) -> None:
    _refused(tmp_path, b"", "not a .tflite")
    _refused(tmp_path, os.urandom(4000), "not a .tflite")
    data = MICRO_SPEECH.read_bytes()
    _refused(tmp_path, data[: len(data) // 3])
    with pytest.raises(KwsError, match="cannot read model"):
        from kws.deploy import compile_model

        compile_model(tmp_path / "missing.tflite", tmp_path / "out2")


def test_rejects_bad_module_name(tmp_path) -> None:
    from kws.deploy import compile_model

    with pytest.raises(KwsError, match="not a C identifier"):
        compile_model(MICRO_SPEECH, tmp_path, name="my-model")


# --- Cortex-M4 builds ---------------------------------------------------------------------


@pytest.mark.arm
@pytest.mark.parametrize("cpu", ["cortex-m4", "cortex-m3"])
def test_generated_c_builds_for_arm(ds_cnn_models, tmp_path, cpu: str) -> None:
    """M4 compiles the SMLAD path, M3 (no DSP) the portable one; both warning-free."""
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        pytest.skip("arm-none-eabi-gcc not installed (sudo apt-get install gcc-arm-none-eabi)")
    from kws.deploy import compile_model

    compiled = compile_model(ds_cnn_models["s"], tmp_path, name="model")
    flags = [f"-mcpu={cpu}", "-mthumb", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2",
             f"-I{CORE}", f"-I{tmp_path}"]
    if cpu == "cortex-m4":
        flags += ["-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
    sources = [compiled.files["source"], compiled.files["weights_source"],
               *map(str, sorted((CORE / "kernels").glob("*.c")))]
    objects = []
    for src in sources:
        obj = tmp_path / (Path(src).stem + ".o")
        result = subprocess.run([gcc, *flags, "-c", src, "-o", str(obj)],
                                capture_output=True, text=True)
        assert result.returncode == 0 and not result.stderr, result.stderr
        objects.append(obj)
    dump = subprocess.run(["arm-none-eabi-objdump", "-d", str(tmp_path / "conv_2d.o")],
                          capture_output=True, text=True).stdout
    assert ("smlad" in dump) == (cpu == "cortex-m4")


_QEMU_PROGRAM = r"""
#include <stdint.h>

#include "board.h"
#include "model.h"

static int8_t input[KWS_MODEL_INPUT_SIZE];
static int8_t output[KWS_MODEL_OUTPUT_SIZE];

int main(void) {
  uint8_t header[4];
  uint32_t count, i;
  board_init();
  board_uart_read(header, 4);
  count = (uint32_t)header[0] | ((uint32_t)header[1] << 8);
  for (i = 0; i < count; ++i) {
    board_uart_read(input, sizeof input);
    kws_model_invoke(input, output);
    board_uart_write(output, sizeof output);
  }
  return 0;
}
"""


def assert_cortex_m4_equals_tflm(path: Path, tmp_path: Path, inputs: list[np.ndarray]) -> None:
    """``path`` compiled, built for QEMU's Cortex-M4 (mps2-an386, the SMLAD/SXTB16 path)
    and run on ``inputs``: every output equals tflite-micro's."""
    if not (shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm")):
        pytest.skip("arm-none-eabi-gcc or qemu-system-arm not installed "
                    "(sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi "
                    "qemu-system-arm)")
    from kws.deploy import compile_model
    from kws.engines import run_model
    from kws.firmware_project.qemu import run_qemu
    from kws.firmware_project.toolchain import build_elf

    compiled = compile_model(path, tmp_path, name="model")
    (tmp_path / "main.c").write_text(_QEMU_PROGRAM)
    elf = build_elf([tmp_path / "main.c", compiled.files["source"],
                     compiled.files["weights_source"], *sorted((CORE / "kernels").glob("*.c"))],
                    [tmp_path], tmp_path / "check.elf")
    payload = len(inputs).to_bytes(4, "little") + b"".join(x.tobytes() for x in inputs)
    result = run_qemu(elf, timeout=600, uart_input=payload)
    assert result.exit_code == 0, result.stdout
    size = compiled.output_size
    got = [np.frombuffer(result.uart[i * size:(i + 1) * size], np.int8)
           for i in range(len(inputs))]
    expected = run_model("tflm", path, inputs)
    for e, g in zip(expected, got, strict=True):
        assert np.array_equal(e.ravel(), g)


@pytest.mark.arm
@pytest.mark.parametrize("model", ["micro_speech", "s", "m", "l", "s_logits"])
def test_cortex_m4_dsp_path_equals_tflm_under_qemu(ds_cnn_models, tmp_path, model: str) -> None:
    """The SMLAD/SXTB16 path, run on QEMU's Cortex-M4 (mps2-an386), equals tflite-micro on
    300 random inputs per model."""
    from kws.deploy import load_graph

    path = MICRO_SPEECH if model == "micro_speech" else ds_cnn_models[model]
    graph = load_graph(path)
    inputs = random_int8_inputs(graph.tensor(graph.input).shape, 300, seed=9)
    assert_cortex_m4_equals_tflm(path, tmp_path, inputs)
