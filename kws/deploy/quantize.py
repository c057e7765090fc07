"""Host-side quantization arithmetic (TFLM's, in double precision).

The C kernels only see int32 multipliers and shifts; everything that needs floating point
happens here, once, at compile time.
"""

from __future__ import annotations

import math

import numpy as np

INT8_MIN, INT8_MAX = -128, 127


def _round_half_away(x: float) -> int:
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def quantize_multiplier(real_multiplier: float) -> tuple[int, int]:
    """TFLM ``QuantizeMultiplier``: ``real = M * 2^(shift - 31)`` with ``M`` a Q31 int32.

    Parameters
    ----------
    real_multiplier
        A non-negative double.

    Returns
    -------
    (multiplier, shift)
        ``multiplier`` in ``[2^30, 2^31)`` (or 0) and the power-of-two exponent.
    """
    if real_multiplier == 0.0:
        return 0, 0
    q, shift = math.frexp(real_multiplier)
    q_fixed = _round_half_away(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q_fixed, shift


def per_channel_multipliers(
    input_scale: float, weight_scales: np.ndarray, output_scale: float, channels: int
) -> tuple[np.ndarray, np.ndarray]:
    """Multipliers/shifts for conv-like ops: ``in_scale * w_scale[c] / out_scale`` (double)."""
    scales = np.broadcast_to(np.asarray(weight_scales, np.float32), (channels,))
    pairs = [
        quantize_multiplier(float(np.float64(input_scale) * np.float64(s)) / float(output_scale))
        for s in scales
    ]
    return (np.array([p[0] for p in pairs], np.int64), np.array([p[1] for p in pairs], np.int64))


def activation_range(activation: int, scale: float, zero_point: int) -> tuple[int, int]:
    """TFLM ``CalculateActivationRangeQuantized`` for int8 (NONE 0, RELU 1, RELU6 3).

    ``f / scale`` is a float32 division, rounded half away from zero.
    """

    def quantize(f: float) -> int:
        return zero_point + _round_half_away(float(np.float32(f) / np.float32(scale)))

    if activation == 0:
        return INT8_MIN, INT8_MAX
    if activation == 1:
        return max(INT8_MIN, quantize(0.0)), INT8_MAX
    if activation == 3:
        return max(INT8_MIN, quantize(0.0)), min(INT8_MAX, quantize(6.0))
    raise ValueError(f"unsupported fused activation {activation}")


def mean_multiplier(input_scale: float, output_scale: float, count: int) -> tuple[int, int]:
    """TFLM's int8 MEAN multiplier with ``1/count`` folded in (reference_integer_ops::Mean)."""
    multiplier, shift = quantize_multiplier(float(input_scale) / float(output_scale))
    # 63 - clz64(count) == floor(log2(count)).
    sh = min(count.bit_length() - 1, 32, 31 + shift)
    return (multiplier << sh) // count, shift - sh


def softmax_params(beta: float, input_scale: float) -> tuple[int, int, int]:
    """TFLM ``PreprocessSoftmaxScaling`` and ``CalculateInputRadius`` with 5 integer bits.

    Returns
    -------
    (input_multiplier, input_left_shift, diff_min)
    """
    scaled_diff_integer_bits = 5
    real = min(float(beta) * float(input_scale) * float(1 << (31 - scaled_diff_integer_bits)),
               float((1 << 31) - 1))
    # TFLM's QuantizeMultiplierGreaterThanOne refuses (aborts on) anything not above one.
    if real <= 1.0:
        raise ValueError(f"softmax input multiplier {real:.3g} is not above one "
                         "(tflite-micro refuses this model too)")
    multiplier, left_shift = quantize_multiplier(real)
    max_input_rescaled = (
        1.0 * ((1 << scaled_diff_integer_bits) - 1)
        * float(1 << (31 - scaled_diff_integer_bits)) / float(1 << left_shift)
    )
    return multiplier, left_shift, -int(math.floor(max_input_rescaled))
