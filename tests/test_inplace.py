"""In-place kernel variants and the planner's aliasing.

Pointwise CONV_2D and DEPTHWISE_CONV_2D (multiplier 1) may write their output over their
input (``OpDef.in_place`` in kws/deploy/ops/, firmware/core/kernels/*_inplace.c). Small Keras
models put those ops in the middle of a chain, so the planner runs them in place; the native
build must equal the tflite-micro interpreter bit for bit on random inputs. The planner
tests check that no two live tensors ever share bytes except an in-place op's input and
output.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support.int8_models import (
    biased_layers,
    chain_model,
    check_case_on_random_inputs,
    convert,
    random_ds_cnn,
)
from support.m4_batch import check_cases_on_m4, needs_m4

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

NUM_INPUTS = 150


def _cases() -> dict:
    """name -> (model builder, ops expected in place as (kind, function) in order).

    Each chain starts with an op reading the caller's input and ends with one writing the
    caller's output (neither can be in place); the ops between can.
    """
    from keras import layers

    conv, dw, dense = biased_layers()

    dw_fn, pw_fn = "kws_depthwise_conv_2d_inplace", "kws_conv_2d_pointwise_inplace"
    dw_op, pw_op = ("DEPTHWISE_CONV_2D", dw_fn), ("CONV_2D", pw_fn)
    return {
        # DS-CNN block: 3x3 SAME stride 1, then pointwise with fewer / more channels
        # (increasing / decreasing pixel order), 10 x 8 = 80 pixels (whole blocks).
        "dw3x3_same_pw_shrink_grow": (
            lambda: chain_model((10, 8, 3), conv(12, 3, padding="same"),
                                dw(3, padding="same", activation="relu"),
                                conv(8, 1, activation="relu"), conv(20, 1),
                                layers.AveragePooling2D(2)),
            [dw_op, pw_op, pw_op]),
        # Strided and VALID depthwise (output smaller than input), even and odd filters,
        # ReLU6; 6 x 5 = 30 pixels leave a 2-pixel tail block for the pointwise.
        "dw_strided_valid_pw_tail": (
            lambda: chain_model((19, 11, 2), conv(9, 3, padding="same"),
                                dw(3, strides=2, padding="same"), layers.ReLU(max_value=6.0),
                                dw((5, 2), padding="valid"),
                                conv(9, 1, activation="relu"), conv(4, 3)),
            [dw_op, dw_op, pw_op]),
        # Odd sizes: 4x3 depthwise SAME on a 3 x 1 map (pointwise image smaller than a
        # block), 3 channels to 7 (decreasing order, no tail), no bias.
        "tiny_map_pointwise_grow": (
            lambda: chain_model((6, 2, 3), conv(3, (3, 2), strides=2, padding="same"),
                                dw((4, 3), padding="same"),
                                layers.Conv2D(7, 1, use_bias=False), layers.Flatten(),
                                dense(5)),
            [dw_op, pw_op]),
        # The M4 fast paths' edges: 3x3 depthwise with an odd number of rows (the last
        # row alone), SAME and VALID; pointwise over 45 and 21 pixels (1-pixel tail
        # groups) with 24 and 8 input channels (groups % 4 = 2, and fewer than 4 groups)
        # and with 16 (whole steps of four groups).
        "dw3x3_odd_rows_pw_lead_tail": (
            lambda: chain_model((9, 5, 3), conv(24, 3, padding="same"),
                                dw(3, padding="same"), conv(16, 1, activation="relu"),
                                conv(8, 1), dw(3, padding="valid", activation="relu"),
                                conv(4, 1), layers.Flatten(), dense(3)),
            [dw_op, pw_op, pw_op, dw_op, pw_op]),
        # A depthwise column longer than the M4 fast plane's (36 rows: the general column
        # path), then a pointwise filter too large to store widened (96 x 96 int8).
        "tall_dw_unwidened_pw": (
            lambda: chain_model((36, 3, 4), conv(96, 3, padding="same"),
                                dw(3, padding="same", activation="relu"), conv(96, 1),
                                conv(6, 1), layers.Flatten(), dense(3)),
            [dw_op, pw_op, pw_op]),
    }


CASES = ["dw3x3_same_pw_shrink_grow", "dw_strided_valid_pw_tail", "tiny_map_pointwise_grow",
         "dw3x3_odd_rows_pw_lead_tail", "tall_dw_unwidened_pw"]


@pytest.fixture(scope="module")
def chain_models(tmp_path_factory) -> dict[str, tuple[Path, list]]:
    import keras

    root = tmp_path_factory.mktemp("inplace")
    built = {}
    for i, (name, (builder, expected)) in enumerate(_cases().items()):
        keras.utils.set_random_seed(20 + i)
        model = builder()
        rng = np.random.default_rng(i)
        rep = rng.normal(0.0, 1.0, (16, *model.input_shape[1:])).astype(np.float32)
        path = root / f"{name}.tflite"
        path.write_bytes(convert(model, rep))
        built[name] = (path, expected)
    assert sorted(built) == sorted(CASES)
    return built


def _tensor_lives(path: Path, compiled) -> list[tuple[int, int, int, int, int]]:
    """(tensor, first op, last op, offset, end) for every arena tensor and scratch area:
    from the op that writes it to the last op that reads it."""
    from kws.deploy import load_graph

    graph = load_graph(path)
    rows = {r["tensor"]: r for r in compiled.plan if r["storage"] == "arena"}
    lives = []
    for t, r in rows.items():
        if t < 0:  # scratch of op -t - 1
            first = last = -t - 1
        else:
            writers = [op.index for op in graph.ops if t in op.outputs]
            readers = [op.index for op in graph.ops if t in op.inputs[:1]]
            first, last = min(writers), max(readers + writers)
        lives.append((t, first, last, r["offset"], r["offset"] + r["bytes"]))
    return lives


def _assert_only_declared_overlaps(path: Path, compiled) -> int:
    """No two tensors live at the same op share a byte, except the input and output of an
    op the plan runs in place, or a RESHAPE's input and output. Returns the pairs seen."""
    from kws.deploy import load_graph

    graph = load_graph(path)
    allowed = set()
    for op, row in zip(graph.ops, compiled.ops, strict=True):
        if row["in_place"]:
            allowed.add((op.inputs[0], op.outputs[0]))
            allowed.add((op.outputs[0], op.inputs[0]))
    lives = _tensor_lives(path, compiled)
    shared = 0
    for i, a in enumerate(lives):
        for b in lives[i + 1:]:
            together = a[1] <= b[2] and b[1] <= a[2]
            overlap = a[3] < b[4] and b[3] < a[4]
            if together and overlap:
                assert (a[0], b[0]) in allowed, f"live tensors {a} and {b} share bytes"
                shared += 1
    return shared


@pytest.mark.parametrize("name", CASES)
def test_in_place_variants_match_tflite_micro(chain_models, tmp_path, name: str) -> None:
    from kws.deploy import compile_model

    path, expected_in_place = chain_models[name]
    compiled = compile_model(path, tmp_path)
    got_in_place = [(o["kind"], o["function"]) for o in compiled.ops
                    if o["in_place"] and o["kind"] != "RESHAPE"]
    assert got_in_place == expected_in_place
    # The generated C calls the in-place kernels with one buffer.
    source = Path(compiled.files["source"]).read_text()
    for o in compiled.ops:
        if o["in_place"] and o["kind"] != "RESHAPE":
            assert f"{o['function']}(&op{o['index']}_params, arena.bytes" in source
    assert _assert_only_declared_overlaps(path, compiled) >= len(expected_in_place)

    from kws.deploy import load_graph

    shape = load_graph(path).tensor(load_graph(path).input).shape
    check_case_on_random_inputs(name, path, shape, NUM_INPUTS)


@needs_m4
def test_in_place_chains_on_the_m4_match_tflite_micro(chain_models, tmp_path) -> None:
    """The chains again on the Cortex-M4 paths (the in-place kernels' DSP code), all in one
    firmware image under QEMU."""
    check_cases_on_m4({name: chain_models[name][0] for name in CASES}, NUM_INPUTS, tmp_path)


# --- the planner on its own ---------------------------------------------------------------


def test_planner_chain_runs_in_place() -> None:
    from kws.deploy.planner import plan_memory, select_in_place

    # input 0 -> op0 -> 1 -> op1 (in place) -> 2 -> op2 (in place) -> 3 -> op3 -> output 4
    op_io = [("CONV_2D", [0, -1], 1), ("DEPTHWISE_CONV_2D", [1, -2], 2),
             ("CONV_2D", [2, -3], 3), ("FULLY_CONNECTED", [3], 4)]
    sizes = {0: 100, 1: 800, 2: 800, 3: 600, 4: 10, -1: 40, -2: 64, -3: 32}
    chosen = select_in_place(op_io, sizes, 0, 4, {1, 2, 3})
    assert chosen == {1, 2}  # op 3 writes the caller's output
    plan = plan_memory(4, op_io, sizes, 0, 4, chosen)
    assert plan.in_place_ops == {1, 2}
    assert plan.location(1) == plan.location(2) == plan.location(3)
    shared = plan.buffers[plan.tensor_buffer[1]]
    assert shared.size == 800 and shared.first == 0 and shared.last == 3
    assert plan.arena_bytes == 800 + 64  # one activation + the largest scratch
    for s in (-1, -2, -3):
        _, offset = plan.location(s)
        assert offset >= 800


def test_planner_refuses_unsafe_in_place() -> None:
    from kws.deploy.planner import plan_memory, select_in_place

    # Tensor 1 feeds op1 and, later, op3 (a branch): op1 must not overwrite it.
    op_io = [("CONV_2D", [0], 1), ("DEPTHWISE_CONV_2D", [1], 2),
             ("CONV_2D", [2], 3), ("CONV_2D", [1], 5), ("CONV_2D", [3], 4)]
    sizes = {t: 64 for t in range(6)}
    # op 3 is tensor 1's last reader, so it may overwrite it; op 1 may not.
    assert select_in_place(op_io, sizes, 0, 4, {0, 1, 2, 3, 4}) == {2, 3}
    with pytest.raises(ValueError, match="op 1 cannot run in place: op 3 still reads"):
        plan_memory(5, op_io, sizes, 0, 4, {1})
    with pytest.raises(ValueError, match="caller's"):
        plan_memory(5, op_io, sizes, 0, 4, {0})
    with pytest.raises(ValueError, match="model output"):
        plan_memory(5, op_io, sizes, 0, 4, {4})
    # A RESHAPE alias read later also keeps the input alive.
    op_io = [("CONV_2D", [0], 1), ("DEPTHWISE_CONV_2D", [1], 2), ("RESHAPE", [1], 3),
             ("FULLY_CONNECTED", [3], 4)]
    sizes = {t: 64 for t in range(5)}
    assert select_in_place(op_io, sizes, 0, 4, {1}) == set()


def test_ds_cnn_s_ram_below_half_of_tflm_arena(tmp_path) -> None:
    """DS-CNN-S: every block in place, model RAM (arena + input + output) under half of
    the tflite-micro interpreter's arena for the same model."""
    from kws.deploy import compile_model, memory_plan_report

    model, rep = random_ds_cnn("s", calibration=16, batch_norm=False)
    path = tmp_path / "ds_cnn_s.tflite"
    path.write_bytes(convert(model, rep))
    compiled = compile_model(path, tmp_path / "c")
    kinds = [(o["kind"], o["in_place"]) for o in compiled.ops]
    assert kinds[1:9] == [("DEPTHWISE_CONV_2D", True), ("CONV_2D", True)] * 4
    assert _assert_only_declared_overlaps(path, compiled) >= 8
    activation = 25 * 5 * 64
    largest_scratch = max(o["scratch_bytes"] for o in compiled.ops)
    assert compiled.arena_bytes <= activation + largest_scratch + 16
    report = memory_plan_report(compiled)
    assert "op 1 DEPTHWISE_CONV_2D (kws_depthwise_conv_2d_inplace)" in report

    code = ("from tflite_micro.python.tflite_micro import runtime\n"
            f"runtime.Interpreter.from_file({str(path)!r}).print_allocations()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    line = [x for x in (proc.stdout + proc.stderr).splitlines()
            if "Arena allocation total" in x]
    assert line, proc.stderr[-2000:]
    tflm_arena = int(line[0].split("total")[1].split()[0])
    model_ram = compiled.arena_bytes + compiled.input_size + compiled.output_size
    assert model_ram < tflm_arena / 2, (model_ram, tflm_arena)
