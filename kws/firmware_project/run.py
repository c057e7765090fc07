"""Run a built project under QEMU: clips over the UART, model inputs, instruction counts."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kws import protocol
from kws.errors import KwsError
from kws.firmware_project.build import build_project
from kws.firmware_project.layout import load_project

if TYPE_CHECKING:
    from kws.firmware_project.qemu import QemuSession


def _qemu_machine(cfg: dict[str, Any]) -> str:
    machine = cfg.get("qemu_machine")
    if not machine:
        raise KwsError(f"board {cfg['board']} is not emulated: flash it with `kws flash` and "
                       "talk to it over its serial port")
    return str(machine)


def _run_elf(cfg: dict[str, Any], elf: Path, uart_input: bytes, timeout: float,
             icount: int | None = None) -> list[protocol.Frame]:
    from kws.firmware_project.qemu import run_qemu

    result = run_qemu(elf, timeout=timeout, uart_input=uart_input, icount=icount,
                      machine=_qemu_machine(cfg), serial_index=int(cfg.get("qemu_serial", 0)),
                      input_after_output=True)
    parser = protocol.FrameParser()
    frames = parser.feed(result.uart)
    errors = [protocol.decode_error(f.payload) for f in frames if f.type == protocol.ERROR]
    if errors:
        raise KwsError(f"{elf}: firmware reported {errors[0][1]!r} (code {errors[0][0]})")
    if result.exit_code != 0:
        raise KwsError(f"{elf}: firmware exited with status {result.exit_code}: "
                       f"{result.stdout[-1000:]}")
    if parser.dropped:
        raise KwsError(f"{elf}: {parser.dropped} corrupt frames from the firmware")
    return frames


def _built_elf(pdir: Path, cfg: dict[str, Any]) -> Path:
    """The firmware image QEMU runs for the project (KwsError when it is not built)."""
    elf = pdir / cfg.get("emulator_elf", cfg["elf"])
    if not elf.is_file():
        raise KwsError(f"{elf}: not built yet (run `kws firmware build {pdir}`)")
    return elf


def start_project_qemu(project_dir: str | os.PathLike, port: int | None = None
                       ) -> QemuSession:
    """The built project's firmware running under QEMU with its UART on a local TCP port
    (:class:`kws.firmware_project.qemu.QemuSession`: connect to ``session.url``)."""
    from kws.firmware_project.qemu import QemuSession

    pdir = Path(project_dir)
    cfg = load_project(pdir)
    elf = _built_elf(pdir, cfg)
    machine = _qemu_machine(cfg)
    return QemuSession(elf, machine=machine, serial_index=int(cfg.get("qemu_serial", 0)),
                       port=port)


@dataclass
class RunResult:
    """What the firmware sent for one clip."""

    info: protocol.Info
    scores: list[protocol.Scores]
    detections: list[protocol.Detection]
    features: list[protocol.Features]


def run_project(project_dir: str | os.PathLike, audio: np.ndarray, *, features: bool = False,
                chunk: int = protocol.AUDIO_CHUNK_SAMPLES, timeout: float | None = None
                ) -> RunResult:
    """Stream int16 ``audio`` to the built firmware under QEMU over its UART; collect results."""
    pdir = Path(project_dir)
    cfg = load_project(pdir)
    if cfg["frontend_kind"] == "none":
        raise KwsError(f"{pdir}: a model-only project has no frontend to stream audio into "
                       "(deploy the model with its model.json or --frontend micro|mfcc)")
    elf = _built_elf(pdir, cfg)
    x = np.asarray(audio)
    if x.dtype != np.int16 or x.ndim != 1 or x.size == 0:
        raise KwsError(f"audio must be non-empty 1-D int16, not {x.dtype} {list(x.shape)}")
    flags = protocol.OPTION_SEND_SCORES | (protocol.OPTION_SEND_FEATURES if features else 0)
    stream = protocol.encode_frame(protocol.SET_OPTIONS, bytes([flags]), 0)
    stream += b"".join(protocol.audio_frames(x, chunk, seq=1))
    stream += protocol.encode_frame(protocol.STOP, b"", 0)
    if timeout is None:
        timeout = 120.0 + 20.0 * len(x) / 16000.0
    frames = _run_elf(cfg, elf, stream, timeout)
    infos = [protocol.decode_info(f.payload) for f in frames if f.type == protocol.INFO]
    if not infos:
        raise KwsError(f"{elf}: firmware sent no INFO frame")
    check_info(infos[0], cfg, elf)
    return RunResult(
        info=infos[0],
        scores=[protocol.decode_scores(f.payload) for f in frames if f.type == protocol.SCORES],
        detections=[protocol.decode_detection(f.payload) for f in frames
                    if f.type == protocol.DETECTION],
        features=[protocol.decode_features(f.payload) for f in frames
                  if f.type == protocol.FEATURES],
    )


def check_info(info: protocol.Info, cfg: dict[str, Any], source: str | Path) -> None:
    """KwsError when the INFO from ``source`` (an ELF, a port) names another model or
    frontend than ``project.json``."""
    if info.model_id != cfg["model_id"] or info.frontend_hash != cfg["frontend_hash"]:
        raise KwsError(f"{source}: the firmware holds another model/frontend than "
                       "project.json (rebuild it, or flash the project's firmware)")


def run_tensors(project_dir: str | os.PathLike, inputs: list[np.ndarray],
                timeout: float | None = None) -> list[np.ndarray]:
    """Model outputs for int8 inputs sent as TENSOR frames to the firmware under QEMU."""
    pdir = Path(project_dir)
    cfg = load_project(pdir)
    elf = pdir / cfg.get("emulator_elf", cfg["elf"])
    size = int(np.prod(cfg["input_shape"]))
    parts = []
    for i, x in enumerate(inputs):
        a = np.asarray(x)
        if a.dtype != np.int8 or a.size != size:
            raise KwsError(f"input {i}: expected {size} int8 values, got {a.size} {a.dtype}")
        parts.append(protocol.encode_frame(protocol.TENSOR, protocol.tensor_payload(a), i))
    parts.append(protocol.encode_frame(protocol.STOP, b"", len(inputs)))
    if timeout is None:
        timeout = 120.0 + 0.05 * len(inputs) * (1 + cfg["macs"] / 1e6)
    frames = _run_elf(cfg, elf, b"".join(parts), timeout)
    outputs = [np.frombuffer(f.payload, dtype=np.int8).reshape(cfg["output_shape"]).copy()
               for f in frames if f.type == protocol.OUTPUT]
    if len(outputs) != len(inputs):
        raise KwsError(f"{elf}: {len(outputs)} outputs for {len(inputs)} inputs")
    return outputs


def bench_project(project_dir: str | os.PathLike, timeout: float = 300.0) -> dict[str, Any]:
    """Instructions per inference and per MAC: ``make bench``, run under ``qemu -icount``."""
    pdir = Path(project_dir)
    cfg = load_project(pdir)
    if cfg.get("emulator_elf", cfg["elf"]) != cfg["elf"]:
        raise KwsError(f"board {cfg['board']} does not count instructions under QEMU: "
                       "benchmark the model on qemu-mps2-an386")
    build_project(pdir, "bench")
    frames = _run_elf(cfg, pdir / cfg["bench_elf"], b"", timeout, icount=0)
    bench = [protocol.decode_bench(f.payload) for f in frames if f.type == protocol.BENCH]
    if not bench:
        raise KwsError(f"{pdir}: the bench firmware sent no BENCH frame")
    b = bench[0]
    if b.instructions_per_tick == 0:
        raise KwsError(f"board {cfg['board']} does not count instructions")
    per_inference = b.ticks * b.instructions_per_tick / b.invocations
    return {
        "instructions_per_inference": int(round(per_inference)),
        "macs": int(b.macs),
        "instructions_per_mac": round(per_inference / b.macs, 4) if b.macs else None,
        "invocations": int(b.invocations),
        "ticks": int(b.ticks),
    }
