"""The conv kernels' compile-time fast paths, checked against TFLM's arithmetic.

``KwsConv2DParams.channel_terms`` folds the output zero point into the rounding term of
``kws_requantize_fast`` and replaces the clamp by one saturation; the compiler emits it only
under the bounds it proves (|acc| < 2^30, right shift in [1, 22], full int8 activation
range). ``filter_widened`` stores each filter word pre-widened (SXTB16 halves). Both are
pure integer identities, checked here exhaustively over random values on the host; the
kernels that use them are checked bit for bit against tflite-micro in test_compiler.py,
test_inplace.py and test_engines.py.
"""

from __future__ import annotations

import numpy as np

from kws.deploy.ops import conv_2d


def _tflm_requantize(acc: int, mult: int, shift: int, offset: int) -> int:
    """TFLM MultiplyByQuantizedMultiplier (double rounding) + offset + int8 clamp."""
    ab = acc * mult  # shift <= -1: no left shift
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    total = ab + nudge
    srdhm = abs(total) // (1 << 31) * (1 if total >= 0 else -1)  # C truncation
    exponent = -shift
    mask = (1 << exponent) - 1
    remainder = srdhm & mask
    threshold = (mask >> 1) + (1 if srdhm < 0 else 0)
    value = (srdhm >> exponent) + (1 if remainder > threshold else 0) + offset
    return max(-128, min(127, value))


def _folded_requantize(acc: int, mult: int, rounding: int, right: int) -> int:
    """conv_group_full_fast on the M4: SMMULR(2 acc, M), folded rounding, ASR, SSAT."""
    v = ((2 * acc) * mult + (1 << 31)) >> 32
    total = v + rounding + (v >> 31)
    assert -(1 << 31) <= total < (1 << 31)  # the int32 sum cannot overflow
    return max(-128, min(127, total >> right))


def test_channel_terms_equal_tflm_requantization() -> None:
    rng = np.random.default_rng(3)
    checked = 0
    for right in range(1, 23):
        for _ in range(60):
            mult = int(rng.integers(1 << 30, 1 << 31))
            offset = int(rng.integers(-128, 128))
            rounding = (1 << (right - 1)) + (offset << right)
            accs = [int(a) for a in rng.integers(-(1 << 30) + 1, 1 << 30, 20)]
            # Values near the rounding boundaries of this multiplier and shift.
            step = max(1, (1 << (right + 31)) // mult)
            accs += [k * step // 2 + d for k in range(-6, 7) for d in (-1, 0, 1)]
            for acc in accs:
                assert _folded_requantize(acc, mult, rounding, right) == _tflm_requantize(
                    acc, mult, -right, offset), (acc, mult, right, offset)
                checked += 1
    assert checked > 50_000


class _Recorder:
    """Stands in for the compiler's weight table: returns the array it was given."""

    def add(self, name: str, ctype: str, values: np.ndarray) -> np.ndarray:
        return np.asarray(values)


def test_channel_terms_only_when_proven() -> None:
    w = _Recorder()
    folded = np.array([5, -7])
    mult = np.array([1 << 30, 0])
    fields = (folded, mult)
    ok = conv_2d._channel_terms(w, "t", 1, *fields, np.array([-3, -9]), -128, -128, 127)
    assert ok is not None
    assert ok.tolist() == [[5, 1 << 30, 4 + (-128 << 3), 3], [-7, 0, -128 << 1, 1]]
    # Not proven: slow requantization, a narrower activation, a right shift over 22.
    assert conv_2d._channel_terms(w, "t", 0, *fields, np.array([-3, -9]), 0, -128, 127) is None
    assert conv_2d._channel_terms(w, "t", 1, *fields, np.array([-3, -9]), 0, 0, 127) is None
    assert conv_2d._channel_terms(w, "t", 1, *fields, np.array([-3, -23]), 0, -128,
                                   127) is None


def _sxtb16(word: int, ror: int) -> tuple[int, int]:
    b = [((word >> (8 * k)) & 0xFF) for k in range(4)]
    b = [v - 256 if v >= 128 else v for v in b]
    return (b[0], b[2]) if ror == 0 else (b[1], b[3])


def test_widened_filter_is_sxtb16_of_packed_words() -> None:
    rng = np.random.default_rng(4)
    rows = rng.integers(-128, 128, (7, 13))
    words = conv_2d._pack_int8_words(rows)
    widened = conv_2d._pack_widened_words(rows)
    assert widened.shape == (7, 4, 2)
    for r in range(7):
        for g in range(4):
            for half, ror in ((0, 0), (1, 8)):
                lo, hi = _sxtb16(int(words[r, g]) & 0xFFFFFFFF, ror)
                got = int(widened[r, g, half]) & 0xFFFFFFFF
                assert got == ((lo & 0xFFFF) | ((hi & 0xFFFF) << 16))
