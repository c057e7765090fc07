"""Real-board support: the STM32F4 PDM -> PCM filter on the host, full stm32f4-disco firmware
builds, and the nano33ble Arduino library export compiled for the Cortex-M4F."""

from __future__ import annotations

import importlib.util
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support.host_c import compile_cffi
from support.reference import contract_scores

ROOT = Path(__file__).resolve().parent.parent
STM32_DIR = ROOT / "firmware" / "boards" / "stm32f4-disco"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
MICRO_SPEECH = FIXTURES / "models" / "micro_speech_quantized.tflite"
PDM_RATE = 1_024_000
PCM_RATE = 16_000
FULL_SCALE = 32768.0

needs_arm = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("arm-none-eabi-objcopy") is None,
    reason="arm-none-eabi-gcc/objcopy not installed (apt-get install gcc-arm-none-eabi)",
)


# --- PDM filter on the host ----------------------------------------------------------------

PDM_CDEF = """
typedef struct { int gain_shift; int dc_block_shift; } KwsPdmFilterConfig;
typedef struct { ...; } KwsPdmFilterState;
extern const int32_t kws_pdm_fir_taps[79];
int kws_pdm_filter_init(KwsPdmFilterState* state, const KwsPdmFilterConfig* config);
void kws_pdm_filter_reset(KwsPdmFilterState* state);
size_t kws_pdm_filter_process(KwsPdmFilterState* state, const uint16_t* pdm, size_t num_words,
                              size_t* num_words_read, int16_t* out, size_t max_samples);
"""


@pytest.fixture(scope="module")
def pdm(tmp_path_factory):
    """pdm_filter.c compiled with the host gcc (strict C99) into a cffi module."""
    if shutil.which("gcc") is None:
        pytest.skip("host gcc not installed")
    return compile_cffi("_kws_pdm_filter_test", PDM_CDEF, "pdm_filter.h",
                        [STM32_DIR / "pdm_filter.c"], [STM32_DIR], tmp_path_factory.mktemp("pdm"))


def sigma_delta(signal: np.ndarray) -> np.ndarray:
    """Second-order sigma-delta modulator: bits (0/1) whose density follows ``signal``."""
    bits = np.empty(len(signal), dtype=np.uint8)
    i1 = i2 = 0.0
    y = 0.0
    for n, x in enumerate(signal.tolist()):
        i1 += x - y
        i2 += i1 - y
        y = 1.0 if i2 >= 0.0 else -1.0
        bits[n] = 1 if y > 0 else 0
    return bits


def pack_words(bits: np.ndarray) -> np.ndarray:
    """16 bits per uint16, first bit in bit 15 (what SPI/I2S puts in its data register)."""
    b = np.packbits(bits, bitorder="big")
    return ((b[0::2].astype(np.uint16) << 8) | b[1::2]).astype(np.uint16)


def tone_words(freq: float, amplitude: float, seconds: float = 0.25, dc: float = 0.0):
    n = int(PDM_RATE * seconds) // 64 * 64
    t = np.arange(n) / PDM_RATE
    return pack_words(sigma_delta(dc + amplitude * np.sin(2 * np.pi * freq * t)))


def run_filter(pdm, words: np.ndarray, gain_shift: int = 0, dc_block_shift: int = 0,
               chunks: list[int] | None = None, max_samples: int | None = None) -> np.ndarray:
    ffi, lib = pdm.ffi, pdm.lib
    state = ffi.new("KwsPdmFilterState*")
    config = ffi.new("KwsPdmFilterConfig*", {"gain_shift": gain_shift,
                                              "dc_block_shift": dc_block_shift})
    assert lib.kws_pdm_filter_init(state, config) == 1
    words = np.ascontiguousarray(words, dtype=np.uint16)
    out = np.zeros(len(words) // 4 + 4, dtype=np.int16)
    produced = 0
    pos = 0
    sizes = iter(chunks or [len(words)])
    read = ffi.new("size_t*")
    while pos < len(words):
        size = min(next(sizes, len(words)), len(words) - pos)
        limit = len(out) - produced if max_samples is None else max_samples
        src = ffi.cast("const uint16_t*", ffi.from_buffer(words[pos:pos + size]))
        dst = ffi.cast("int16_t*", ffi.from_buffer(out[produced:]))
        produced += lib.kws_pdm_filter_process(state, src, size, read, dst, limit)
        assert read[0] <= size
        pos += read[0]
    return out[:produced]


def spectrum_db(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Amplitude spectrum (Blackman-Harris window, amplitude-calibrated) in dBFS."""
    n = len(x)
    w = np.blackman(n)
    spec = np.abs(np.fft.rfft(x.astype(np.float64) * w)) * 2 / w.sum()
    return np.fft.rfftfreq(n, 1 / PCM_RATE), spec


def tone_stats(x: np.ndarray, freq: float) -> tuple[float, float, float]:
    """(spectral peak in Hz, fitted amplitude / full scale, SNR in dB) of a settled tone.

    Amplitude and SNR come from a least-squares fit of sine + cosine + offset at ``freq``:
    the residual is everything that is not the tone (noise, distortion, aliases).
    """
    freqs, spec = spectrum_db(x)
    peak = float(freqs[np.argmax(spec[4:]) + 4])
    t = np.arange(len(x)) / PCM_RATE
    basis = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t),
                      np.ones_like(t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, x.astype(np.float64), rcond=None)
    residual = x - basis @ coef
    amplitude = float(np.hypot(coef[0], coef[1]))
    snr = 10 * np.log10((amplitude ** 2 / 2) / np.mean(residual ** 2))
    return peak, amplitude / FULL_SCALE, float(snr)


def test_fir_taps_are_the_documented_design(pdm):
    spec = importlib.util.spec_from_file_location("pdm_design", STM32_DIR / "pdm_filter_design.py")
    assert spec is not None and spec.loader is not None
    design = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(design)
    taps_c = np.frombuffer(pdm.ffi.buffer(pdm.lib.kws_pdm_fir_taps), dtype=np.int32)
    assert np.array_equal(taps_c, design.fixed_point_taps())
    assert np.array_equal(taps_c, taps_c[::-1])  # linear phase
    assert int(taps_c.sum()) == 1 << 20  # unity gain at DC


@pytest.mark.parametrize("freq", [1000.0, 3000.0, 6000.0])
def test_sigma_delta_tone_is_recovered(pdm, freq):
    amplitude = 0.5
    out = run_filter(pdm, tone_words(freq, amplitude))
    settled = out[200:]  # the CIC and FIR fill in well under 200 samples
    peak, level, snr = tone_stats(settled, freq)
    assert abs(peak - freq) <= PCM_RATE / len(settled)
    # Flat passband: the FIR undoes the CIC's sinc^5 droop (-2.6 dB at 6 kHz otherwise).
    assert abs(20 * np.log10(level / amplitude)) < 0.25, level
    assert snr > 60.0, snr


def test_out_of_band_tone_is_rejected(pdm):
    # 12 kHz would alias to 4 kHz after decimating to 16 kHz without the filters.
    out = run_filter(pdm, tone_words(12000.0, 0.5))[200:]
    freqs, spec = spectrum_db(out)
    alias = spec[np.argmin(np.abs(freqs - 4000.0))]
    assert 20 * np.log10(alias / FULL_SCALE / 0.5) < -70.0
    assert np.abs(out).max() < 40  # only modulator noise is left


def test_gain_and_dc_blocker(pdm):
    words = tone_words(1000.0, 0.05, dc=0.3)
    plain = run_filter(pdm, words)[400:]
    assert abs(plain.mean() / FULL_SCALE - 0.3) < 0.005
    blocked = run_filter(pdm, words, gain_shift=3, dc_block_shift=8)[2000:]
    assert abs(blocked.mean()) < 0.002 * FULL_SCALE
    _, level, _ = tone_stats(blocked, 1000.0)
    assert abs(20 * np.log10(level / (0.05 * 8))) < 0.3


def test_saturates_instead_of_wrapping(pdm):
    out = run_filter(pdm, tone_words(500.0, 0.6), gain_shift=2)[200:]
    assert out.max() == 32767 and out.min() == -32768
    # Wrapping would put large values of the wrong sign next to the clipped peaks.
    assert np.all(np.abs(np.diff(out.astype(np.int32))) < 20000)


def test_streaming_in_chunks_is_bit_exact(pdm):
    words = tone_words(2500.0, 0.4, seconds=0.05, dc=0.1)
    whole = run_filter(pdm, words, gain_shift=1, dc_block_shift=10)
    rng = np.random.default_rng(7)
    chunks = [int(c) for c in rng.integers(1, 37, size=len(words))]
    pieces = run_filter(pdm, words, gain_shift=1, dc_block_shift=10, chunks=chunks)
    assert np.array_equal(whole, pieces)
    limited = run_filter(pdm, words, gain_shift=1, dc_block_shift=10, max_samples=3)
    assert np.array_equal(whole, limited)
    assert len(whole) == len(words) // 4


def test_bad_config_is_refused(pdm):
    ffi, lib = pdm.ffi, pdm.lib
    state = ffi.new("KwsPdmFilterState*")
    for gain, dc in [(-1, 0), (13, 0), (0, -1), (0, 17)]:
        config = ffi.new("KwsPdmFilterConfig*", {"gain_shift": gain, "dc_block_shift": dc})
        assert lib.kws_pdm_filter_init(state, config) == 0


# --- stm32f4-disco firmware builds -------------------------------------------------------

MIC_APP = r"""
/* Test application: microphone -> PDM filter -> micro frontend -> features over USART2. */
#include "board.h"
#include "board_mic.h"
#include "micro_frontend/micro_frontend.h"

extern const KwsMicroFrontendConfig mic_frontend_config;
static KwsMicroFrontendState frontend;
static int16_t chunk[160];
static uint16_t features[40];

int main(void) {
  uint32_t frames = 0;
  board_init();
  if (board_mic_start() != 0) {
    board_log("mic: PLLI2S did not lock\n");
    return 1;
  }
  if (!kws_micro_frontend_init(&frontend, &mic_frontend_config)) return 2;
  for (;;) {
    const int16_t* p = chunk;
    size_t left = sizeof(chunk) / sizeof(chunk[0]);
    board_mic_read(chunk, left);
    while (left > 0) {
      size_t used = 0;
      if (kws_micro_frontend_process(&frontend, p, left, &used, features)) {
        uint32_t stamp = board_ticks();
        board_uart_write(&frames, sizeof(frames));
        board_uart_write(&stamp, sizeof(stamp));
        board_uart_write(features, sizeof(features));
        ++frames;
      }
      p += used;
      left -= used;
    }
  }
}
"""


def _symbols(elf: Path) -> dict[str, tuple[int, int]]:
    nm = shutil.which("arm-none-eabi-nm")
    assert nm is not None
    out = subprocess.run([nm, "-S", str(elf)], capture_output=True, text=True, check=True).stdout
    table = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4:
            table[parts[3]] = (int(parts[0], 16), int(parts[1], 16))
        elif len(parts) == 3:
            table[parts[2]] = (int(parts[0], 16), 0)
    return table


def check_stm32_elf(elf: Path) -> None:
    """Vector table at the start of flash, entry = Reset_Handler, stack top in CCM, fits."""
    from kws.firmware_project.toolchain import size_of
    from kws.flash import elf_load_address

    data = elf.read_bytes()
    assert data[:4] == b"\x7fELF" and struct.unpack_from("<H", data, 18)[0] == 40
    entry = struct.unpack_from("<I", data, 24)[0]
    syms = _symbols(elf)
    assert entry == syms["Reset_Handler"][0] | 1 or entry == syms["Reset_Handler"][0]
    assert syms["board_vector_table"][0] == 0x08000000
    assert syms["board_vector_table"][1] == (16 + 82) * 4
    assert elf_load_address(elf) == 0x08000000
    image = elf.with_suffix(".check.bin")
    subprocess.run([shutil.which("arm-none-eabi-objcopy") or "", "-O", "binary", str(elf),
                    str(image)], check=True)
    vectors = struct.unpack_from("<16I", image.read_bytes(), 0)
    assert vectors[0] == syms["_estack"][0]
    assert 0x10000000 < vectors[0] <= 0x10010000 and vectors[0] % 8 == 0
    assert vectors[1] == syms["Reset_Handler"][0] | 1  # Thumb bit set
    assert vectors[3] == syms["HardFault_Handler"][0] | 1
    size = size_of(elf)
    assert 0 < size.flash <= 1024 * 1024
    assert image.stat().st_size == size.flash  # text + .data load image, nothing else
    assert syms["_ebss"][0] <= 0x20000000 + 128 * 1024


@pytest.mark.arm
@needs_arm
def test_stm32f4_mic_firmware_builds(tmp_path):
    from kws.features.micro import MicroFrontendConfig, tables_for
    from kws.firmware_project import emit_c
    from kws.firmware_project.toolchain import build_elf

    tables = tables_for(MicroFrontendConfig())
    config_c = tmp_path / "frontend_config.c"
    emit_c.write_c_file(config_c, emit_c.c_source(
        ["micro_frontend/micro_frontend.h"],
        [emit_c.emit_micro_frontend_config(tables, "mic_frontend_config")]))
    app = tmp_path / "main.c"
    app.write_text(MIC_APP)
    for float_abi in ("hard", "soft"):
        elf = build_elf(
            [app, config_c, *sorted((ROOT / "firmware/core/micro_frontend").glob("*.c"))], [],
            tmp_path / f"mic_{float_abi}.elf", emit_c.micro_frontend_capacity([tables]),
            float_abi=float_abi, board="stm32f4-disco",
        )
        check_stm32_elf(elf)
        syms = _symbols(elf)
        # The DMA target must be in SRAM (the DMA cannot reach CCM), the stack in CCM.
        assert 0x20000000 <= syms["mic_dma_buffer"][0] < 0x20020000
        assert syms["mic_dma_buffer"][1] == 2 * 4096 * 2


def _build_deployed(tmp_path: Path, audio_source: int | None) -> Path:
    from kws.firmware_project.deploy import deploy
    from kws.firmware_project.layout import load_project

    project = tmp_path / "fw"
    deploy(MICRO_SPEECH, project, "stm32f4-disco", frontend="micro")
    cfg = load_project(project)
    defines = " ".join(f"-D{k}" if v is None else f"-D{k}={v}" for k, v in cfg["defines"].items())
    if audio_source is not None:
        defines += f" -DKWS_APP_AUDIO_SOURCE={audio_source}"
    proc = subprocess.run(["make", "-C", str(project), "all", f"DEFINES={defines}"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return project


@pytest.mark.arm
@needs_arm
def test_deployed_project_builds_for_stm32f4_uart_audio(tmp_path):
    """The real firmware application (kws deploy) on this board, audio over USART2."""
    from kws.flash import plan_flash

    project = _build_deployed(tmp_path, audio_source=0)
    check_stm32_elf(project / "build" / "firmware.elf")
    plan = plan_flash(project, dry_run=True)
    assert plan.board == "stm32f4-disco" and plan.firmware == project / "build" / "firmware.elf"


@pytest.mark.arm
@needs_arm
def test_deployed_project_builds_for_stm32f4_mic(tmp_path):
    """The real firmware application reading the MP45DT02 (the board's default)."""
    project = _build_deployed(tmp_path, audio_source=None)
    check_stm32_elf(project / "build" / "firmware.elf")
    assert "mic_dma_buffer" in _symbols(project / "build" / "firmware.elf")


# --- nano33ble: the application as an Arduino library -----------------------------------------

APP_CDEF = """
typedef struct {
  void (*on_features)(void*, uint32_t, int, const void*, const int8_t*, int);
  void (*on_scores)(void*, uint32_t, const int8_t*, int);
  void (*on_detection)(void*, uint32_t, int, int32_t);
  void* context;
} KwsAppHooks;
int kws_app_init(const KwsAppHooks* hooks);
int kws_app_process_audio(const int16_t* samples, size_t n);
extern "Python" void record_features(void*, uint32_t, int, const void*, const int8_t*, int);
extern "Python" void record_scores(void*, uint32_t, const int8_t*, int);
extern "Python" void record_detection(void*, uint32_t, int, int32_t);
"""
# What a sketch does, in C: the library's header, hooks, audio in.
LINK_CHECK_MAIN = r"""
#include "kws_micro_speech.h"
static int16_t silence[160];
static const KwsAppHooks no_hooks = {0, 0, 0, 0};
int main(void) {
  if (!kws_app_init(&no_hooks)) return 1;
  return kws_app_process_audio(silence, 160) < 0;
}
"""


@pytest.fixture(scope="module")
def arduino_library(tmp_path_factory):
    from kws.firmware_project.deploy import deploy

    out = tmp_path_factory.mktemp("arduino") / "KwsMicroSpeech"
    cfg = deploy(MICRO_SPEECH, out, "nano33ble", frontend="micro", stride_frames=1)
    assert cfg["package"] == "arduino-library" and cfg["elf"] is None
    return out


def test_arduino_library_layout(arduino_library):
    lib = arduino_library
    props = dict(line.split("=", 1) for line in (lib / "library.properties").read_text()
                 .splitlines())
    assert props["name"] == "KwsMicroSpeech" and props["includes"] == "kws_micro_speech.h"
    sketch = (lib / "examples" / "kws_micro_speech" / "kws_micro_speech.ino").read_text()
    assert "PDM.onReceive(onPDMdata)" in sketch and "PDM.begin(1, 16000)" in sketch
    assert "#include <kws_micro_speech.h>" in sketch
    assert "kws_app_init(&hooks)" in sketch and "kws_app_process_audio" in sketch
    src = lib / "src"
    # The same application as every other board: firmware/app's pipeline, generated config.
    for name in ["kws_micro_speech.h", "kws_app.c", "feature_window.c", "feature_quantize.c",
                 "score_average.c", "kws_app_config.h", "frontend.c", "model.c",
                 "model_weights.c", "micro_frontend/micro_frontend.c", "kernels/conv_2d.c"]:
        assert (src / name).is_file(), name
    for name in ["main.c", "protocol.c", "kws_pipeline.c"]:
        assert not (src / name).exists(), name
    for stem in ("kws_app", "feature_window", "feature_quantize", "score_average"):
        assert (src / f"{stem}.c").read_bytes() == (ROOT / "firmware/app" / f"{stem}.c"
                                                     ).read_bytes()
    assert not list(lib.rglob("*.in")) and not (src / "model.json").exists()
    settings = (src / "kws_app_config.h").read_text()
    assert "#define KWS_APP_FRAMES 49" in settings
    assert "#define KWS_APP_CHANNELS 40" in settings
    assert "#define KWS_APP_STRIDE_FRAMES 1" in settings
    assert "#define KWS_MAX_CHANNELS 40" in (src / "kws_config.h").read_text()


@pytest.mark.arm
@needs_arm
def test_arduino_library_compiles_for_nano33ble(arduino_library, tmp_path):
    """All of src/ compiles with the board's Cortex-M4F flags and -Werror, and links into
    a program (newlib's nosys stubs stand in for the Arduino core)."""
    from kws.boards import get_board
    from kws.firmware_project.toolchain import C_FLAGS

    gcc = shutil.which("arm-none-eabi-gcc")
    assert gcc is not None
    flags = [*get_board("nano33ble").cflags(), *C_FLAGS, "-O2"]
    assert "-mcpu=cortex-m4" in flags and "-mfpu=fpv4-sp-d16" in flags and "-Werror" in flags
    src = arduino_library / "src"
    sources = sorted(src.rglob("*.c"))
    assert len(sources) >= 15
    objects = []
    for i, source in enumerate(sources):
        obj = tmp_path / f"{i}_{source.stem}.o"
        proc = subprocess.run([gcc, *flags, f"-I{src}", "-c", str(source), "-o", str(obj)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, f"{source}: {proc.stderr}"
        objects.append(str(obj))
    main = tmp_path / "sketch_main.c"
    main.write_text(LINK_CHECK_MAIN)
    proc = subprocess.run([gcc, *flags, f"-I{src}", str(main), *objects, "--specs=nosys.specs",
                           "-Wl,--gc-sections", "-o", str(tmp_path / "sketch.elf"), "-lm"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_arduino_app_matches_host_on_real_clips(arduino_library, tmp_path):
    """The library's application, compiled for the host and fed 20 ms at a time, reports
    the features, scores and detections kws computes on the host."""
    from support.detection import expected_detections

    from kws import protocol
    from kws.audio import load_audio
    from kws.features import MicroFrontendConfig, compute_features
    from kws.features.quantize import feature_scale, quantize_values
    from kws.firmware_project.layout import load_project

    src = arduino_library / "src"
    module = compile_cffi("_kws_arduino_app_test", APP_CDEF, "kws_micro_speech.h",
                          sorted(src.rglob("*.c")), [src], tmp_path, opt="-O1")
    ffi, lib = module.ffi, module.lib
    got: dict[str, list] = {"features": [], "scores": [], "detections": []}

    @ffi.def_extern(name="record_features")
    def _features(ctx, frame_index, raw_format, raw, quantized, n):
        ffi.from_handle(ctx)["features"].append(
            (int(frame_index), int(raw_format),
             np.frombuffer(ffi.buffer(quantized, n), dtype=np.int8).copy()))

    @ffi.def_extern(name="record_scores")
    def _scores(ctx, frame_index, scores, n):
        ffi.from_handle(ctx)["scores"].append(protocol.Scores(
            int(frame_index), np.frombuffer(ffi.buffer(scores, n), dtype=np.int8).copy()))

    @ffi.def_extern(name="record_detection")
    def _detection(ctx, frame_index, label, average):
        ffi.from_handle(ctx)["detections"].append((int(frame_index), int(label), int(average)))

    handle = ffi.new_handle(got)
    hooks = ffi.new("KwsAppHooks*", {"on_features": lib.record_features,
                                     "on_scores": lib.record_scores,
                                     "on_detection": lib.record_detection, "context": handle})
    assert lib.kws_app_init(hooks) == 1
    clips = [load_audio(FIXTURES / f"{w}_1000ms.wav") for w in ("yes", "no", "noise")]
    audio = np.concatenate(clips).astype(np.int16)
    for start in range(0, len(audio), 320):  # one 20 ms hop at a time
        chunk = np.ascontiguousarray(audio[start:start + 320])
        lib.kws_app_process_audio(ffi.cast("const int16_t*", ffi.from_buffer(chunk)), len(chunk))

    cfg = load_project(arduino_library)
    config = MicroFrontendConfig()
    features = compute_features(audio, config)
    q = quantize_values(features, feature_scale(config), cfg["input_scale"],
                        cfg["input_zero_point"])
    assert [f[0] for f in got["features"]] == list(range(1, len(features) + 1))
    assert all(f[1] == 1 for f in got["features"])  # KWS_FEATURES_UINT16
    assert np.array_equal(np.stack([f[2] for f in got["features"]]), q)
    expected = contract_scores(audio, cfg, MICRO_SPEECH, "tflm")
    assert [s.frame_index for s in got["scores"]] == list(range(49, len(features) + 1))
    assert [s.frame_index for s in expected] == [s.frame_index for s in got["scores"]]
    for have, want in zip(got["scores"], expected, strict=True):
        assert np.array_equal(have.scores, want.scores), have.frame_index
    # The clips themselves are recognised once the window holds them.
    by_frame = {s.frame_index: s.scores for s in got["scores"]}
    assert int(np.argmax(by_frame[49])) == 2 and int(np.argmax(by_frame[98])) == 3
    assert got["detections"] == expected_detections(got["scores"], cfg)
    assert {label for _, label, _ in got["detections"]} >= {2, 3}


def test_cli_deploys_an_arduino_library(tmp_path, capsys):
    from kws.cli import main

    out = tmp_path / "KwsNano"
    assert main(["deploy", str(MICRO_SPEECH), "--board", "nano33ble", "--frontend", "micro",
                 "--out", str(out)]) == 0
    assert "Arduino library" in capsys.readouterr().out
    assert (out / "src" / "kws_nano.h").is_file()
    assert "#include <kws_nano.h>" in (
        out / "examples" / "kws_micro_speech" / "kws_micro_speech.ino").read_text()
    assert main(["firmware", "build", str(out)]) == 2
    assert "arduino-cli" in capsys.readouterr().err
    assert main(["deploy", str(MICRO_SPEECH), "--board", "nano33ble", "--out",
                 str(tmp_path / "bad-name"), "--frontend", "micro"]) == 2
    assert "must be letters" in capsys.readouterr().err
    assert main(["deploy", str(MICRO_SPEECH), "--board", "nano33ble", "--out",
                 str(tmp_path / "KwsBits"), "--frontend", "micro"]) == 2
    assert "kws_bits.h replace" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["KwsNano"]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
