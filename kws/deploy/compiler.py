"""Ahead-of-time compiler: int8 ``.tflite`` -> plain C over the kernels in firmware/core.

The generated module is three files (for ``name="model"``):

- ``model.h``: shapes, quantization, arena size and ``void kws_model_invoke(const int8_t*
  input, int8_t* output)``;
- ``model.c``: every op's parameters as ``static const`` structs, the static arena and the
  straight-line invoke function;
- ``model_weights.c`` / ``model_weights.h``: weights, biases, multipliers as const arrays.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kws.deploy import quantize as q
from kws.deploy.graph import Graph, Op, Tensor, load_graph
from kws.deploy.inplace import in_place_variant
from kws.deploy.planner import MemoryPlan, plan_memory, select_in_place
from kws.errors import KwsError

_ACTIVATION_NAMES = {0: "NONE", 1: "RELU", 3: "RELU6"}
SCRATCH = "@scratch"  # field value replaced by the op's scratch area in the arena


def scratch_id(op_index: int) -> int:
    """Pseudo tensor index of an op's scratch buffer in the memory plan."""
    return -(op_index + 1)


@dataclass
class Call:
    """One kernel call of the invoke function."""

    op: Op
    function: str  # kernel function name
    struct: str  # params struct type ("" for reshape)
    fields: dict[str, Any]  # scalar fields and array references (by symbol)
    macs: int
    input: int
    output: int
    scratch_bytes: int = 0  # working memory in the arena, live during this op only
    in_place: bool = False  # writes its output over its input: function(&params, data)
    # Params structs the main one points to, emitted before it: (name suffix, type, fields).
    structs: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class CompiledModel:
    """The result of :func:`compile_model`.

    Attributes
    ----------
    name
        C identifier prefix: the invoke function is ``kws_<name>_invoke``.
    files
        Generated files: ``header``, ``source``, ``weights_source``, ``weights_header``,
        ``info`` (JSON summary).
    input_shape, output_shape
        Model tensor shapes (batch 1).
    input_scale, input_zero_point, output_scale, output_zero_point
        Quantization of the model input and output.
    arena_bytes
        Size of the static activation arena (input and output buffers are the caller's).
    macs
        Multiply-accumulates per inference.
    weight_bytes
        Bytes of const data: weights, biases, multipliers and shifts.
    plan
        The memory plan, one row per activation tensor (see :func:`memory_plan_report`).
    ops
        One row per op: kind, kernel function, MACs, input and output tensor.
    """

    name: str
    tflite_path: str
    files: dict[str, str]
    input_shape: list[int]
    output_shape: list[int]
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    arena_bytes: int
    macs: int
    weight_bytes: int
    plan: list[dict[str, Any]] = field(default_factory=list)
    ops: list[dict[str, Any]] = field(default_factory=list)

    @property
    def input_size(self) -> int:
        return int(np.prod(self.input_shape))

    @property
    def output_size(self) -> int:
        return int(np.prod(self.output_shape))

    @property
    def num_labels(self) -> int:
        return int(self.output_shape[-1])

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Weights:
    """Collects const arrays, deduplicated by content."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.arrays: list[tuple[str, str, np.ndarray]] = []  # (symbol, ctype, values)
        self._by_content: dict[tuple[str, bytes], str] = {}

    def add(self, label: str, ctype: str, values: np.ndarray) -> str:
        dtype = {"int8_t": np.int8, "int32_t": np.int32}[ctype]
        info = np.iinfo(dtype)
        values = np.asarray(values).reshape(-1)
        if values.size and (values.min() < info.min or values.max() > info.max):
            raise KwsError(f"{label}: a value does not fit {ctype}")
        values = values.astype(dtype)
        key = (ctype, values.tobytes())
        if key in self._by_content:
            return self._by_content[key]
        symbol = f"{self.prefix}_{label}"
        self.arrays.append((symbol, ctype, values))
        self._by_content[key] = symbol
        return symbol

    @property
    def nbytes(self) -> int:
        return sum(v.nbytes for _, _, v in self.arrays)


def _c_identifier(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise KwsError(f"model name {name!r} is not a C identifier")
    return name


def _same_padding(in_size: int, k: int, stride: int, out_size: int, padding: str) -> int:
    if padding != "SAME":
        return 0
    total = max(0, (out_size - 1) * stride + k - in_size)
    return total // 2


_FAST_REQUANTIZE_LIMIT = 2**30  # |accumulator| bound for kws_requantize_fast


def _pack_int8_words(rows: np.ndarray) -> np.ndarray:
    """int8 ``[n][k]`` -> int32 ``[n][ceil(k/4)]``: value ``4j + i`` in bits ``8i..8i+7``
    of word ``j``, rows zero-padded (the kernels' SXTB16 layout, independent of endianness)."""
    rows = np.asarray(rows, np.int64).reshape(rows.shape[0], -1)
    k4 = -(-rows.shape[1] // 4) * 4
    padded = np.zeros((rows.shape[0], k4), np.int64)
    padded[:, : rows.shape[1]] = rows
    b = (padded & 0xFF).reshape(rows.shape[0], -1, 4)
    words = b[..., 0] | (b[..., 1] << 8) | (b[..., 2] << 16) | (b[..., 3] << 24)
    return np.where(words >= 2**31, words - 2**32, words)


# Largest int8 conv filter the compiler stores pre-widened (KwsConv2DParams.filter_widened):
# each costs its size again in flash, which large models (DS-CNN-M/L) cannot spare.
_WIDEN_FILTER_MAX_BYTES = 8 * 1024


def _pack_widened_words(rows: np.ndarray) -> np.ndarray:
    """int8 ``[n][k]`` -> int32 ``[n][ceil(k/4)][2]``: per group of four taps the words
    (tap 0, tap 2) and (tap 1, tap 3), int16 halves low first -- SXTB16 of the
    :func:`_pack_int8_words` word and of its ROR #8."""
    rows = np.asarray(rows, np.int64).reshape(rows.shape[0], -1)
    k4 = -(-rows.shape[1] // 4) * 4
    padded = np.zeros((rows.shape[0], k4), np.int64)
    padded[:, : rows.shape[1]] = rows
    g = padded.reshape(rows.shape[0], -1, 4)
    even = _pack_int16_pairs(np.stack([g[..., 0], g[..., 2]], axis=-1))
    odd = _pack_int16_pairs(np.stack([g[..., 1], g[..., 3]], axis=-1))
    return np.stack([even, odd], axis=-1)


def _pack_int16_pairs(pairs: np.ndarray) -> np.ndarray:
    """int16 ``[..., 2]`` -> int32 words, element 0 in the low half (SMLAD operands)."""
    p = np.asarray(pairs, np.int64)
    words = (p[..., 0] & 0xFFFF) | ((p[..., 1] & 0xFFFF) << 16)
    return np.where(words >= 2**31, words - 2**32, words)


def _requantize_fields(w: _Weights, tag: str, mult: np.ndarray, shift: np.ndarray,
                       acc_bound: int) -> dict[str, Any]:
    """Multiplier, shift and the fast-path rounding terms of a per-channel requantization.

    ``kws_requantize_fast`` is exact when every channel shifts right (or has multiplier 0)
    and ``|acc| <= acc_bound < 2^30`` (see firmware/core/kernels/quantize.h).
    """
    mult = np.asarray(mult, np.int64)
    shift = np.asarray(shift, np.int64)
    right = np.maximum(-shift, 0)
    rounding = np.where((shift <= -1), np.left_shift(1, np.maximum(right - 1, 0)), 0)
    fast = bool(np.all((shift <= -1) | (mult == 0)) and acc_bound < _FAST_REQUANTIZE_LIMIT)
    return {
        "output_multiplier": w.add(f"{tag}_multiplier", "int32_t", mult),
        "output_shift": w.add(f"{tag}_shift", "int32_t", shift),
        "output_rounding": w.add(f"{tag}_rounding", "int32_t", rounding),
        "fast_requantize": int(fast),
    }


def _channel_terms(w: _Weights, tag: str, fast: int, folded: np.ndarray, mult: np.ndarray,
                   shift: np.ndarray, output_offset: int, act_min: int,
                   act_max: int) -> str | None:
    """KwsConv2DParams.channel_terms, or ``None`` where the folded form is not proven exact.

    Per channel ``(folded bias, multiplier, rounding + (output_offset << right_shift),
    right_shift)``. With ``kws_requantize_fast`` exact (``fast``: ``|acc| < 2^30``, so
    ``|v| <= 2^30`` after SMMULR) and ``right_shift >= 1``, adding ``output_offset *
    2^right_shift`` before the arithmetic shift adds exactly ``output_offset`` after it;
    the sum ``|v| + 2^(r-1) + 128 * 2^r + 1`` stays below 2^31 for ``r <= 22``. A full int8
    activation range makes the clamp one saturation.
    """
    right = -np.asarray(shift, np.int64)
    mult = np.asarray(mult, np.int64)
    if not fast or act_min != -128 or act_max != 127 or np.any(right > 22):
        return None
    active = mult != 0  # multiplier 0: v = 0, rounding 0 (any right shift >= 0 works)
    right = np.where(active, right, 1)
    rounding = np.where(active, np.left_shift(1, right - 1), 0) + (output_offset << right)
    if np.any(right < 1):
        return None
    terms = np.stack([np.asarray(folded, np.int64), mult, rounding, right], axis=1)
    return w.add(f"{tag}_channel_terms", "int32_t", terms)


def _lower_conv(graph: Graph, op: Op, w: _Weights, depthwise: bool) -> Call:
    inp, out = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    filt = graph.tensor(op.inputs[1])
    bias_t = graph.tensor(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
    o = op.options
    _, ih, iw, ic = inp.shape
    _, oh, ow, oc = out.shape
    kh, kw = filt.shape[1], filt.shape[2]
    filter_data = filt.data.astype(np.int64)
    bias = (bias_t.data.astype(np.int64).reshape(-1) if bias_t is not None
            else np.zeros(oc, np.int64))
    mult, shift = q.per_channel_multipliers(inp.scale, filt.scales, out.scale, oc)
    act_min, act_max = q.activation_range(o["activation"], out.scale, out.zero_point)
    tag = f"op{op.index}"
    fields: dict[str, Any] = {
        "input_height": ih, "input_width": iw, "input_depth": ic,
        "output_height": oh, "output_width": ow, "output_depth": oc,
    }
    if depthwise:
        fields["depth_multiplier"] = oc // ic
    fields.update({
        "filter_height": kh, "filter_width": kw,
        "stride_height": o["stride_h"], "stride_width": o["stride_w"],
        "padding_top": _same_padding(ih, kh, o["stride_h"], oh, o["padding"]),
        "padding_left": _same_padding(iw, kw, o["stride_w"], ow, o["padding"]),
        "input_offset": -inp.zero_point, "output_offset": out.zero_point,
        "activation_min": act_min, "activation_max": act_max,
    })
    macs = oh * ow * oc * kh * kw * (1 if depthwise else ic)
    if depthwise:
        # Per output channel, each filter row as int16 tap pairs (odd widths end with a
        # zero tap): one SMLAD per pair over the kernel's widened input plane, whose values
        # already carry the input offset, so the plain bias applies and padding reads 0.
        taps = filter_data.reshape(kh, kw, oc).transpose(2, 0, 1)  # [oc][kh][kw]
        pairs = -(-kw // 2)
        padded = np.zeros((oc, kh, 2 * pairs), np.int64)
        padded[:, :, :kw] = taps
        acc_bound = int(np.max(np.abs(bias) + 255 * np.abs(taps).reshape(oc, -1).sum(axis=1)))
        # The plane holds every tap any output reads (KWS_DEPTHWISE_CONV_2D_SCRATCH_BYTES).
        plane_h = (oh - 1) * o["stride_h"] + kh
        plane_w = (ow - 1) * o["stride_w"] + 2 * pairs
        scratch = -(-2 * plane_h * plane_w // 4) * 4 + 4 * oh * ow
        # The plane path pays off when many channels share one small plane; for a few
        # wide channels (micro_speech: 1 channel x 8) it would cost more RAM than the input
        # itself, so those use the direct kernel with the offset folded into the bias.
        use_plane = scratch <= inp.size // 2
        folded = bias + (-inp.zero_point) * taps.reshape(oc, -1).sum(axis=1)
        fields.update({
            "plane_height": plane_h, "plane_width": plane_w, "filter_pairs": pairs,
            "filter": w.add(f"{tag}_filter", "int32_t",
                            _pack_int16_pairs(padded.reshape(oc, kh, pairs, 2))),
            "bias": w.add(f"{tag}_bias", "int32_t", bias),
            "filter_hwc": (None if use_plane
                           else w.add(f"{tag}_filter_hwc", "int8_t", filt.data)),
            "folded_bias": (None if use_plane
                            else w.add(f"{tag}_folded_bias", "int32_t", folded)),
            **_requantize_fields(w, tag, mult, shift, acc_bound),
            "scratch": SCRATCH if use_plane else None,
        })
        if not use_plane:
            scratch = 0
        return Call(op, "kws_depthwise_conv_2d", "KwsDepthwiseConv2DParams", fields, macs,
                    inp.index, out.index, scratch)
    # Fold the input offset into the bias: sum over every tap of each output channel.
    rows = filter_data.reshape(oc, -1)
    folded = bias + (-inp.zero_point) * rows.sum(axis=1)
    acc_bound = int(np.max(np.abs(folded) + 128 * np.abs(rows).sum(axis=1)))
    patch_size = -(-rows.shape[1] // 4) * 4
    pointwise = kh == kw == 1 and fields["padding_top"] == fields["padding_left"] == 0
    requantize = _requantize_fields(w, tag, mult, shift, acc_bound)
    # Pre-widened filters double the filter's flash; small ones (DS-CNN-S) only.
    widened = rows.size <= _WIDEN_FILTER_MAX_BYTES
    fields.update({
        "patch_size": patch_size,
        "filter": w.add(f"{tag}_filter", "int32_t",
                        _pack_widened_words(rows) if widened else _pack_int8_words(rows)),
        "filter_widened": int(widened),
        "folded_bias": w.add(f"{tag}_folded_bias", "int32_t", folded),
        **requantize,
        "channel_terms": _channel_terms(w, tag, requantize["fast_requantize"], folded, mult,
                                        shift, out.zero_point, act_min, act_max),
        "scratch": SCRATCH,
    })
    # KWS_CONV_2D_SCRATCH_BYTES: 4 pixels widened to int16, plus an int8 im2col patch.
    scratch = 4 * 2 * patch_size + (0 if pointwise else patch_size)
    return Call(op, "kws_conv_2d", "KwsConv2DParams", fields, macs, inp.index, out.index,
                scratch)


def _lower(graph: Graph, op: Op, w: _Weights) -> Call:
    inp, out = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    tag = f"op{op.index}"
    if op.kind == "CONV_2D":
        return _lower_conv(graph, op, w, depthwise=False)
    if op.kind == "DEPTHWISE_CONV_2D":
        return _lower_conv(graph, op, w, depthwise=True)
    if op.kind == "AVERAGE_POOL_2D":
        o = op.options
        _, ih, iw, c = inp.shape
        _, oh, ow, _ = out.shape
        kh, kw = o["filter_h"], o["filter_w"]
        act_min, act_max = q.activation_range(o["activation"], out.scale, out.zero_point)
        fields = {
            "input_height": ih, "input_width": iw, "depth": c,
            "output_height": oh, "output_width": ow,
            "filter_height": kh, "filter_width": kw,
            "stride_height": o["stride_h"], "stride_width": o["stride_w"],
            "padding_top": _same_padding(ih, kh, o["stride_h"], oh, o["padding"]),
            "padding_left": _same_padding(iw, kw, o["stride_w"], ow, o["padding"]),
            "activation_min": act_min, "activation_max": act_max,
        }
        return Call(op, "kws_average_pool_2d", "KwsAveragePool2DParams", fields, 0,
                    inp.index, out.index)
    if op.kind == "MEAN":
        _, ih, iw, c = inp.shape
        mult, shift = q.mean_multiplier(inp.scale, out.scale, ih * iw)
        fields = {
            "input_height": ih, "input_width": iw, "depth": c,
            "input_zero_point": inp.zero_point, "output_zero_point": out.zero_point,
            "multiplier": mult, "shift": shift,
        }
        return Call(op, "kws_mean", "KwsMeanParams", fields, 0, inp.index, out.index)
    if op.kind == "FULLY_CONNECTED":
        weights = graph.tensor(op.inputs[1])
        bias_t = graph.tensor(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
        out_c, in_c = weights.shape
        bias = (bias_t.data.astype(np.int64).reshape(-1) if bias_t is not None
                else np.zeros(out_c, np.int64))
        folded = bias + (-inp.zero_point) * weights.data.astype(np.int64).sum(axis=1)
        per_channel = weights.scales.size > 1
        n = out_c if per_channel else 1
        mult, shift = q.per_channel_multipliers(inp.scale, weights.scales[:n], out.scale, n)
        act_min, act_max = q.activation_range(op.options["activation"], out.scale,
                                              out.zero_point)
        fields = {
            "batches": inp.size // in_c, "input_depth": in_c, "output_depth": out_c,
            "output_offset": out.zero_point,
            "activation_min": act_min, "activation_max": act_max,
            "weights": w.add(f"{tag}_weights", "int8_t", weights.data),
            "folded_bias": w.add(f"{tag}_folded_bias", "int32_t", folded),
            "output_multiplier": w.add(f"{tag}_multiplier", "int32_t", mult),
            "output_shift": w.add(f"{tag}_shift", "int32_t", shift),
            "per_channel": int(per_channel),
        }
        return Call(op, "kws_fully_connected", "KwsFullyConnectedParams", fields,
                    inp.size // in_c * out_c * in_c, inp.index, out.index)
    if op.kind == "SOFTMAX":
        depth = inp.shape[-1]
        try:
            mult, left_shift, diff_min = q.softmax_params(op.options.get("beta", 1.0), inp.scale)
        except ValueError as exc:
            raise KwsError(f"{graph.path}: {op.label()}: {exc}") from exc
        fields = {
            "rows": inp.size // depth, "depth": depth, "input_multiplier": mult,
            "input_left_shift": left_shift, "diff_min": diff_min,
        }
        return Call(op, "kws_softmax", "KwsSoftmaxParams", fields, 0, inp.index, out.index)
    if op.kind == "RESHAPE":
        return Call(op, "kws_reshape", "", {"size": inp.size}, 0, inp.index, out.index)
    raise KwsError(f"{graph.path}: {op.label()}: op {op.kind} is not supported")


# --------------------------------------------------------------------------------------------
# C emission


def _c_value(value: Any) -> str:
    if value is None:
        return "0"
    if isinstance(value, str):
        return value
    return str(int(value))


def _format_array(symbol: str, ctype: str, values: np.ndarray, static: bool) -> str:
    per_line = 20 if ctype == "int8_t" else 8
    items = values.tolist()
    if ctype == "int32_t":
        # INT32_MIN cannot be written as a literal; spell it as an expression.
        text_items = [str(v) if v != -(2**31) else "(-2147483647 - 1)" for v in items]
    else:
        text_items = [str(v) for v in items]
    lines = [
        "  " + ", ".join(text_items[i : i + per_line]) + ","
        for i in range(0, len(text_items), per_line)
    ]
    storage = "static " if static else ""
    return f"{storage}const {ctype} {symbol}[{len(items)}] = {{\n" + "\n".join(lines) + "\n};\n"


def _tensor_expr(plan: MemoryPlan, tensor: int) -> str:
    kind, offset = plan.location(tensor)
    if kind == "input":
        return "input"
    if kind == "output":
        return "output"
    return f"arena.bytes + {offset}" if offset else "arena.bytes"


def _emit(
    graph: Graph, calls: list[Call], plan: MemoryPlan, weights: _Weights, name: str,
    out_dir: Path, source_name: str,
) -> dict[str, str]:
    up = name.upper()
    inp, out = graph.tensor(graph.input), graph.tensor(graph.output)
    macs = sum(c.macs for c in calls)
    banner = (f"/* Generated by kws.deploy from {source_name}. Do not edit: recompile the "
              "model instead. */\n")
    header = [
        banner,
        f"#ifndef KWS_{up}_H_\n#define KWS_{up}_H_\n\n#include <stdint.h>\n\n",
        f"#define KWS_{up}_INPUT_SIZE {inp.size}\n",
        f"#define KWS_{up}_INPUT_DIMS {len(inp.shape)}\n",
        f"#define KWS_{up}_INPUT_SHAPE {{{', '.join(str(d) for d in inp.shape)}}}\n",
        f"#define KWS_{up}_INPUT_SCALE {float(inp.scale)!r}f\n",
        f"#define KWS_{up}_INPUT_ZERO_POINT {inp.zero_point}\n",
        f"#define KWS_{up}_OUTPUT_SIZE {out.size}\n",
        f"#define KWS_{up}_OUTPUT_DIMS {len(out.shape)}\n",
        f"#define KWS_{up}_OUTPUT_SHAPE {{{', '.join(str(d) for d in out.shape)}}}\n",
        f"#define KWS_{up}_OUTPUT_SCALE {float(out.scale)!r}f\n",
        f"#define KWS_{up}_OUTPUT_ZERO_POINT {out.zero_point}\n",
        f"#define KWS_{up}_NUM_LABELS {out.shape[-1] if out.shape else 1}\n",
        "/* Static activation arena inside the model module (input/output excluded). */\n",
        f"#define KWS_{up}_ARENA_BYTES {plan.arena_bytes}\n",
        f"#define KWS_{up}_MACS {macs}\n",
        f"#define KWS_{up}_WEIGHT_BYTES {weights.nbytes}\n\n",
        f"/* Runs one inference. input: KWS_{up}_INPUT_SIZE int8 values (NHWC); output:\n"
        f" * KWS_{up}_OUTPUT_SIZE int8 values. The buffers must not overlap. Not reentrant:\n"
        " * the arena is static. */\n",
        f"void kws_{name}_invoke(const int8_t* input, int8_t* output);\n\n",
        f"#endif /* KWS_{up}_H_ */\n",
    ]
    weights_header = [banner, f"#ifndef KWS_{up}_WEIGHTS_H_\n#define KWS_{up}_WEIGHTS_H_\n\n",
                      "#include <stdint.h>\n\n"]
    weights_source = [banner, f'#include "{name}_weights.h"\n\n']
    for symbol, ctype, values in weights.arrays:
        weights_header.append(f"extern const {ctype} {symbol}[{values.size}];\n")
        weights_source.append(_format_array(symbol, ctype, values, static=False) + "\n")
    weights_header.append(f"\n#endif /* KWS_{up}_WEIGHTS_H_ */\n")

    source = [banner, f'#include "{name}.h"\n\n#include "kernels/kernels.h"\n',
              f'#include "{name}_weights.h"\n\n',
              "/* Build with -DKWS_PROFILE_OPS and provide these two functions to time each op\n"
              " * (the argument is the op index in the .tflite). */\n"
              "#if defined(KWS_PROFILE_OPS)\n"
              "void kws_profile_op_begin(int op_index);\n"
              "void kws_profile_op_end(int op_index);\n"
              "#define KWS_OP_BEGIN(i) kws_profile_op_begin(i)\n"
              "#define KWS_OP_END(i) kws_profile_op_end(i)\n"
              "#else\n#define KWS_OP_BEGIN(i) ((void)0)\n#define KWS_OP_END(i) ((void)0)\n"
              "#endif\n\n"]
    if plan.arena_bytes:
        source.append(
            "/* One static arena for every intermediate tensor (offsets from the memory\n"
            " * plan; tensors whose lifetimes do not overlap share bytes). The union keeps\n"
            " * it word-aligned in portable C99. */\n"
            f"static union {{\n  int32_t align;\n  int8_t bytes[{plan.arena_bytes}];\n}} arena;\n\n"
        )
    def field_value(call: Call, value: Any) -> Any:
        # SCRATCH, or SCRATCH + "+<bytes>" for a part of the op's scratch area.
        if isinstance(value, str) and value.startswith(SCRATCH):
            base = _tensor_expr(plan, scratch_id(call.op.index))
            extra = value[len(SCRATCH):]
            return f"{base} {extra[0]} {extra[1:]}" if extra else base
        return value

    body = []
    for call in calls:
        src, dst = _tensor_expr(plan, call.input), _tensor_expr(plan, call.output)
        comment = (f"  /* op {call.op.index}: {call.op.kind}"
                   + (f" {_ACTIVATION_NAMES.get(call.op.options.get('activation', 0), '')}"
                      if "activation" in call.op.options else "")
                   + f", '{graph.tensor(call.output).name}' */\n").replace("*/'", "'")
        if call.op.kind == "RESHAPE":
            if call.op.index in plan.copy_ops:
                body.append(comment + f"  kws_reshape({src}, {dst}, {call.fields['size']});\n")
            else:
                body.append(comment.replace(" */", " (in place) */"))
            continue
        params = f"op{call.op.index}_params"
        lines = []
        for suffix, struct, struct_fields in [*call.structs,
                                              ("params", call.struct, call.fields)]:
            lines.append(f"static const {struct} op{call.op.index}_{suffix} = {{\n")
            for key, value in struct_fields.items():
                lines.append(f"    .{key} = {_c_value(field_value(call, value))},\n")
            lines.append("};\n\n")
        source.append("".join(lines))
        if call.in_place:
            comment = comment.replace(" */", " (in place) */")
            args = dst
        else:
            args = f"{src}, {dst}"
        body.append(comment + f"  KWS_OP_BEGIN({call.op.index});\n"
                    f"  {call.function}(&{params}, {args});\n"
                    f"  KWS_OP_END({call.op.index});\n")
    source.append(f"void kws_{name}_invoke(const int8_t* input, int8_t* output) {{\n")
    if not any(plan.location(c.input)[0] == "input" for c in calls):
        source.append("  (void)input;\n")
    source.append("".join(body))
    source.append("}\n")

    files = {
        "header": (out_dir / f"{name}.h", "".join(header)),
        "source": (out_dir / f"{name}.c", "".join(source)),
        "weights_header": (out_dir / f"{name}_weights.h", "".join(weights_header)),
        "weights_source": (out_dir / f"{name}_weights.c", "".join(weights_source)),
    }
    for path, text in files.values():
        _write_atomic(path, text)
    return {k: str(p) for k, (p, _) in files.items()}


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def compile_model(
    tflite_path: str | Path, out_dir: str | Path, name: str = "model"
) -> CompiledModel:
    """Compile an int8 ``.tflite`` into a C module in ``out_dir``.

    Parameters
    ----------
    tflite_path
        Fully int8-quantized model; unsupported ops or quantization raise ``KwsError``.
    out_dir
        Created if missing; gets ``<name>.h``, ``<name>.c``, ``<name>_weights.{c,h}`` and
        ``<name>.json`` (this summary).
    name
        C identifier: the entry point is ``kws_<name>_invoke`` and the macros ``KWS_<NAME>_*``.

    Returns
    -------
    CompiledModel
        Generated file paths, memory plan, MACs and weight bytes.
    """
    name = _c_identifier(name)
    graph = load_graph(tflite_path)
    weights = _Weights(f"kws_{name}")
    calls = [_lower(graph, op, weights) for op in graph.ops]
    sizes: dict[int, int] = {}
    op_io = []
    for call in calls:
        sizes[call.input] = graph.tensor(call.input).size
        sizes[call.output] = graph.tensor(call.output).size
        reads = [call.input]
        if call.scratch_bytes:
            sizes[scratch_id(call.op.index)] = call.scratch_bytes
            reads.append(scratch_id(call.op.index))
        op_io.append((call.op.kind, reads, call.output))
    # Ops whose kernel has an in-place variant write over their input when the planner
    # finds nothing reads it afterwards (kws/deploy/inplace.py).
    variants = {i: v for i, c in enumerate(calls) if (v := in_place_variant(
        c.op.kind, c.fields, c.scratch_bytes, c.op.index, SCRATCH)) is not None}
    in_place = select_in_place(op_io, sizes, graph.input, graph.output, variants)
    for i in in_place:
        v, call = variants[i], calls[i]
        call.function, call.struct, call.fields, call.structs = (v.function, v.struct,
                                                                 v.fields, v.structs)
        call.in_place, call.scratch_bytes = True, v.scratch_bytes
        sizes[scratch_id(call.op.index)] = v.scratch_bytes
        if scratch_id(call.op.index) not in op_io[i][1]:
            op_io[i][1].append(scratch_id(call.op.index))
    plan = plan_memory(len(calls), op_io, sizes, graph.input, graph.output, in_place)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KwsError(f"{out}: cannot create output directory ({exc.strerror or exc})") from exc
    files = _emit(graph, calls, plan, weights, name, out, Path(tflite_path).name)
    inp, outp = graph.tensor(graph.input), graph.tensor(graph.output)
    compiled = CompiledModel(
        name=name,
        tflite_path=str(tflite_path),
        files=files,
        input_shape=list(inp.shape),
        output_shape=list(outp.shape),
        input_scale=float(inp.scale),
        input_zero_point=inp.zero_point,
        output_scale=float(outp.scale),
        output_zero_point=outp.zero_point,
        arena_bytes=plan.arena_bytes,
        macs=sum(c.macs for c in calls),
        weight_bytes=weights.nbytes,
        plan=_plan_rows(graph, plan),
        ops=[{"index": c.op.index, "kind": c.op.kind, "function": c.function, "macs": c.macs,
              "input": graph.tensor(c.input).name, "output": graph.tensor(c.output).name,
              "in_place": c.in_place or (c.op.kind == "RESHAPE"
                                         and c.op.index not in plan.copy_ops),
              "scratch_bytes": c.scratch_bytes}
             for c in calls],
    )
    info_path = out / f"{name}.json"
    compiled.files["info"] = str(info_path)
    _write_atomic(info_path, json.dumps(compiled.to_dict(), indent=2) + "\n")
    return compiled


def _plan_rows(graph: Graph, plan: MemoryPlan) -> list[dict[str, Any]]:
    rows = []
    for t, b_index in sorted(plan.tensor_buffer.items()):
        b = plan.buffers[b_index]
        if t < 0:
            name, shape, size = f"(scratch of op {-t - 1})", [b.size], b.size
        else:
            tensor: Tensor = graph.tensor(t)
            name, shape, size = tensor.name, list(tensor.shape), tensor.size
        rows.append({
            "tensor": t, "name": name, "shape": shape,
            "bytes": size, "storage": b.kind,
            "offset": b.offset if b.kind == "arena" else None,
            "first_op": b.first, "last_op": b.last, "buffer": b_index,
        })
    return rows


def memory_plan_report(model: CompiledModel | str | Path) -> str:
    """A human-readable memory plan: per tensor storage, offset, size and lifetime.

    Parameters
    ----------
    model
        A :class:`CompiledModel` or a ``.tflite`` path (compiled into a temp directory).
    """
    if not isinstance(model, CompiledModel):
        with tempfile.TemporaryDirectory() as tmp:
            model = compile_model(model, tmp)
    lines = [f"memory plan for {model.tflite_path} (kws_{model.name}_invoke)",
             f"{'tensor':>6}  {'name':<40} {'storage':<7} {'offset':>7} {'bytes':>7}  life"]
    for r in model.plan:
        offset = "-" if r["offset"] is None else str(r["offset"])
        life = f"op {r['first_op']}..{r['last_op']}"
        lines.append(f"{r['tensor']:>6}  {r['name'][:40]:<40} {r['storage']:<7} {offset:>7} "
                     f"{r['bytes']:>7}  {life}")
    in_place = [f"op {o['index']} {o['kind']} ({o['function']})" for o in model.ops
                if o["in_place"] and o["kind"] != "RESHAPE"]
    lines.append("in place (output over input, one buffer): "
                 + (", ".join(in_place) if in_place else "none"))
    total = sum(r["bytes"] for r in model.plan if r["storage"] == "arena")
    lines.append(f"arena: {model.arena_bytes} bytes (unshared sum {total}); input "
                 f"{model.input_size} + output {model.output_size} bytes are caller buffers; "
                 f"weights {model.weight_bytes} bytes; {model.macs} MACs")
    return "\n".join(lines)
