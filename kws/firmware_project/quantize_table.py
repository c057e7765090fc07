"""The micro frontend's feature quantization as an integer table (no FPU on the board).

``kws_quantize_micro_frame_table`` (``firmware/app/feature_quantize.c``) maps a uint16
frontend value to its int8 model input by counting the thresholds it reaches.  The table
comes from the float rule itself (:func:`kws.features.quantize.quantize_values`, the mirror
of ``kws_quantize_feature``) evaluated on every uint16 value, so the integer path gives the
same bits as the float path on every board.
"""

from __future__ import annotations

import numpy as np

from kws.errors import KwsError

# firmware/app/feature_quantize.h: KWS_QUANTIZE_THRESHOLDS.
NUM_THRESHOLDS = 255


def micro_quantize_thresholds(feature_scale: float, input_scale: float, zero_point: int
                              ) -> np.ndarray:
    """uint32 thresholds: entry ``k`` is the smallest uint16 value quantized to at least
    ``k - 127`` (65536 when none is).

    Raises
    ------
    KwsError
        The float rule is not monotonic in the raw value (a negative scale), so no table
        can reproduce it.
    """
    from kws.features.quantize import quantize_values

    raw = np.arange(65536, dtype=np.uint16)
    q = quantize_values(raw, feature_scale, input_scale, zero_point).astype(np.int32)
    if np.any(np.diff(q) < 0):
        raise KwsError(f"feature quantization (feature scale {feature_scale}, input scale "
                       f"{input_scale}) is not monotonic: no integer table reproduces it")
    levels = np.arange(-127, 128, dtype=np.int32)
    thresholds = np.searchsorted(q, levels, side="left").astype(np.uint32)
    assert thresholds.size == NUM_THRESHOLDS
    return thresholds


def quantize_with_thresholds(raw: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """int8 from uint16 values by the table, as the firmware computes it."""
    counts = np.searchsorted(thresholds, np.asarray(raw, np.uint32), side="right")
    return (counts - 128).astype(np.int8)
