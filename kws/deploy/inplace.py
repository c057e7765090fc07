"""In-place kernel variants: which lowered ops may write their output over their input.

- DEPTHWISE_CONV_2D with depth multiplier 1 (any filter, stride, padding):
  ``kws_depthwise_conv_2d_inplace`` over the same ``KwsDepthwiseConv2DParams``; its scratch
  is one channel's int16 plane with a spare row (stored transposed for 3x3 stride-1 filters)
  plus the int32 accumulators of one output row or column.
- Pointwise CONV_2D (1x1, stride 1, no padding): ``kws_conv_2d_pointwise_inplace`` runs the
  ordinary ``kws_conv_2d`` over blocks of pixels staged in scratch (see
  firmware/core/kernels/conv_2d_inplace.h for the overlap argument), so both share one
  inner loop.

The memory planner (:func:`kws.deploy.planner.select_in_place`) decides which candidates
actually run in place; the compiler then swaps in the variant built here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Pixels per staged block of the pointwise variant: kws_conv_2d's group size
# (KWS_CONV_2D_PIXELS), so every call runs full groups and staging stays small.
POINTWISE_BLOCK_PIXELS = 4
_ALIGN = 16  # the planner's scratch alignment; kernels expect word-aligned areas


@dataclass
class InPlaceVariant:
    """How to call an op's in-place kernel.

    Attributes
    ----------
    function, struct, fields
        Kernel function, its params struct type and the struct's fields (the compiler's
        scratch marker, optionally ``+ offset``, stands for the op's scratch area).
    scratch_bytes
        Working memory the variant needs in the arena while the op runs.
    structs
        Params structs the main one points to, emitted first: (name suffix, struct type,
        fields); referenced from ``fields`` as ``&op<N>_<suffix>``.
    """

    function: str
    struct: str
    fields: dict[str, Any]
    scratch_bytes: int
    structs: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)


def _align(n: int) -> int:
    return -(-n // _ALIGN) * _ALIGN


def in_place_variant(kind: str, fields: dict[str, Any], scratch_bytes: int, op_index: int,
                     scratch_marker: str) -> InPlaceVariant | None:
    """The in-place variant of a lowered CONV_2D / DEPTHWISE_CONV_2D, or ``None``.

    Parameters
    ----------
    kind
        The op kind.
    fields
        The params fields the compiler built for the out-of-place kernel.
    scratch_bytes
        The out-of-place kernel's scratch size.
    op_index
        The op's index (names the extra structs).
    scratch_marker
        The compiler's field value for "this op's scratch area".
    """
    if kind == "DEPTHWISE_CONV_2D":
        if fields["depth_multiplier"] != 1:
            return None
        plane = (fields["plane_height"] + 1) * fields["plane_width"]
        # KWS_DEPTHWISE_CONV_2D_INPLACE_SCRATCH_BYTES
        scratch = -(-2 * plane // 4) * 4 + 4 * max(fields["output_height"],
                                                   fields["output_width"])
        # Always the plane path: the out-of-place kernel's direct-path arrays (if the
        # compiler chose that path) are not used.
        plane_fields = {**fields, "scratch": scratch_marker}
        for key in ("filter_hwc", "folded_bias"):
            if key in plane_fields:
                plane_fields[key] = None
        return InPlaceVariant("kws_depthwise_conv_2d_inplace", "KwsDepthwiseConv2DParams",
                              plane_fields, scratch)
    if kind != "CONV_2D":
        return None
    pointwise = (
        fields["filter_height"] == fields["filter_width"] == 1
        and fields["stride_height"] == fields["stride_width"] == 1
        and fields["padding_top"] == fields["padding_left"] == 0
        and fields["output_height"] == fields["input_height"]
        and fields["output_width"] == fields["input_width"]
    )
    if not pointwise:
        return None
    num_pixels = fields["output_height"] * fields["output_width"]
    block = min(POINTWISE_BLOCK_PIXELS, num_pixels)
    tail = num_pixels % block
    staging = _align(block * fields["input_depth"])
    conv_scratch = f"{scratch_marker}+{staging}"

    def image(pixels: int) -> dict[str, Any]:
        return {**fields, "input_height": 1, "input_width": pixels,
                "output_height": 1, "output_width": pixels, "scratch": conv_scratch}

    structs = [("block_params", "KwsConv2DParams", image(block))]
    if tail:
        structs.append(("tail_params", "KwsConv2DParams", image(tail)))
    main = {
        "block": f"&op{op_index}_block_params",
        "tail": f"&op{op_index}_tail_params" if tail else None,
        "num_pixels": num_pixels, "block_pixels": block,
        "input_depth": fields["input_depth"], "output_depth": fields["output_depth"],
        "staging": scratch_marker,
    }
    return InPlaceVariant("kws_conv_2d_pointwise_inplace", "KwsConv2DInPlaceParams", main,
                          staging + scratch_bytes, structs)
