"""cffi build script for ``kws._core``: the firmware C core compiled for the host.

Every C file under ``firmware/core`` is compiled into the extension, so Python computes
features (and, later, runs models) with exactly the code that runs on the board.
"""

from __future__ import annotations

from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "firmware" / "core"

CDEF = r"""
typedef struct { int16_t real; int16_t imag; } KwsComplexInt16;

typedef struct { int size; int step; const int16_t* coefficients; } KwsWindowConfig;
typedef struct {
  int input_size; int fft_size;
  const KwsComplexInt16* twiddles; const KwsComplexInt16* super_twiddles;
} KwsFftConfig;
typedef struct {
  int num_channels; int start_index; int end_index;
  const int16_t* channel_frequency_starts; const int16_t* channel_weight_starts;
  const int16_t* channel_widths; const int16_t* weights; const int16_t* unweights;
} KwsFilterbankConfig;
typedef struct {
  int num_channels; int smoothing_bits;
  uint16_t even_smoothing; uint16_t odd_smoothing; uint16_t min_signal_remaining;
} KwsNoiseReductionConfig;
typedef struct {
  int enable_pcan; int num_channels; int snr_shift; const int16_t* gain_lut;
} KwsPcanConfig;
typedef struct { int enable_log; int scale_shift; } KwsLogScaleConfig;
typedef struct {
  KwsWindowConfig window; KwsFftConfig fft; KwsFilterbankConfig filterbank;
  KwsNoiseReductionConfig noise_reduction; KwsPcanConfig pcan; KwsLogScaleConfig log_scale;
} KwsMicroFrontendConfig;
typedef struct { ...; } KwsMicroFrontendState;

int kws_micro_frontend_init(KwsMicroFrontendState* state, const KwsMicroFrontendConfig* config);
void kws_micro_frontend_reset(KwsMicroFrontendState* state);
int kws_micro_frontend_process(KwsMicroFrontendState* state, const int16_t* samples,
                               size_t num_samples, size_t* num_samples_read, uint16_t* out);
size_t kws_micro_frontend_process_all(KwsMicroFrontendState* state, const int16_t* samples,
                                      size_t num_samples, uint16_t* out, size_t max_frames);
"""

# Extra declarations contributed by other parts of the core (MFCC, kernels) are appended
# from files named *.cdef next to their headers, keeping this script stable.
EXTRA_CDEFS = sorted(CORE.rglob("*.cdef"))

HEADERS = ["micro_frontend/micro_frontend.h"] + [
    p.with_suffix(".h").relative_to(CORE).as_posix() for p in EXTRA_CDEFS
]

ffibuilder = FFI()
ffibuilder.cdef(CDEF + "\n".join(p.read_text() for p in EXTRA_CDEFS))
ffibuilder.set_source(
    "kws._core",
    "\n".join(f'#include "{h}"' for h in HEADERS),
    sources=sorted(p.relative_to(ROOT).as_posix() for p in CORE.rglob("*.c")),
    include_dirs=[CORE.relative_to(ROOT).as_posix()],
    # Same strictness as the ARM build; no FMA contraction so float code rounds the same
    # on every target.
    extra_compile_args=["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
