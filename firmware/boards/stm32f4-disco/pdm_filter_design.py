"""Design of the FIR stage of pdm_filter.c (run: ``python pdm_filter_design.py``).

The PDM -> PCM chain is CIC (order 5, decimate 32: 1.024 MHz -> 32 kHz) followed by this
FIR (decimate 2: 32 kHz -> 16 kHz).  The FIR is a weighted least-squares linear-phase
low-pass whose passband is the inverse of the CIC's sinc^5 droop, so the cascade is flat
to 7 kHz; its stopband (from 8.5 kHz) removes what the decimation by 2 would alias.
Printing the table lets ``tests/test_boards.py`` check that the C constants are exactly
what this design yields.
"""

from __future__ import annotations

import numpy as np

PDM_RATE = 1_024_000
CIC_ORDER = 5
CIC_DECIMATION = 32
FIR_RATE = PDM_RATE // CIC_DECIMATION  # 32 kHz
FIR_TAPS = 79  # odd: type-I linear phase, group delay 39 samples at 32 kHz
COEFF_FRAC_BITS = 20
PASS_HZ = 7000.0
STOP_HZ = 8500.0
STOP_WEIGHT = 30.0


def cic_response(f_hz: np.ndarray) -> np.ndarray:
    """Magnitude of the normalised CIC (gain 1 at DC) at frequencies ``f_hz``."""
    x = np.pi * np.asarray(f_hz, dtype=np.float64) / PDM_RATE
    num = np.sin(CIC_DECIMATION * x)
    den = CIC_DECIMATION * np.sin(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        h = np.where(den == 0, 1.0, num / np.where(den == 0, 1.0, den))
    return np.abs(h) ** CIC_ORDER


def design_fir() -> np.ndarray:
    """Float taps: weighted least squares on a dense grid over the cosine basis."""
    half = FIR_TAPS // 2
    f_pass = np.linspace(0.0, PASS_HZ, 400)
    f_stop = np.linspace(STOP_HZ, FIR_RATE / 2, 400)
    f = np.concatenate([f_pass, f_stop])
    desired = np.concatenate([1.0 / cic_response(f_pass), np.zeros_like(f_stop)])
    weight = np.concatenate([np.ones_like(f_pass), np.full_like(f_stop, STOP_WEIGHT)])
    w = 2 * np.pi * f / FIR_RATE
    # H(w) = a0 + sum_k 2 a_k cos(k w) for the symmetric taps h[half -+ k] = a_k.
    basis = np.cos(np.outer(w, np.arange(half + 1)))
    basis[:, 1:] *= 2.0
    a, *_ = np.linalg.lstsq(basis * weight[:, None], desired * weight, rcond=None)
    return np.concatenate([a[:0:-1], a])


def fixed_point_taps() -> np.ndarray:
    """The taps as int32 in Q20, the constants of pdm_filter.c.

    The rounding error of the sum goes into the centre tap, so the DC gain is exactly 1.
    """
    h = design_fir()
    taps = np.round(h / h.sum() * (1 << COEFF_FRAC_BITS)).astype(np.int64)
    taps[FIR_TAPS // 2] += (1 << COEFF_FRAC_BITS) - int(taps.sum())
    return taps.astype(np.int32)


if __name__ == "__main__":
    taps = fixed_point_taps()
    for i in range(0, len(taps), 8):
        print("    " + " ".join(f"{int(t)}," for t in taps[i:i + 8]))
