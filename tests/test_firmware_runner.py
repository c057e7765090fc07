"""The firmware tooling itself: C emitters, the ARM build, the QEMU runner, the board API."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from kws.errors import KwsError
from kws.firmware_project import emit_c
from kws.firmware_project.layout import FIRMWARE_DIR
from kws.firmware_project.toolchain import build_elf, have_arm_tools, size_of

ARM_MISSING = "needs arm-none-eabi-gcc and qemu-system-arm (apt-get install gcc-arm-none-eabi " \
    "libnewlib-arm-none-eabi qemu-system-arm)"
needs_arm = pytest.mark.skipif(not have_arm_tools(), reason=ARM_MISSING)
needs_host_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs host gcc")
BOARD_CHECK = FIRMWARE_DIR / "tests" / "board_check.c"


# --- C emitters (host gcc compiles the emitted tables back and prints them) -------------

def _compile_and_print(tmp_path: Path, definitions: str, printer: str) -> str:
    src = tmp_path / "emit.c"
    src.write_text(
        "#include <stdint.h>\n#include <stdio.h>\n#include <string.h>\n"
        "typedef struct { int16_t real; int16_t imag; } KwsComplexInt16;\n"
        + definitions
        + "\nint main(void) {\n"
        + printer
        + "\nreturn 0; }\n"
    )
    exe = tmp_path / "emit"
    subprocess.run(
        ["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-Wmissing-braces", str(src), "-o",
         str(exe)],
        check=True,
        capture_output=True,
    )
    return subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout


@needs_host_gcc
def test_emit_array_round_trips_every_type(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    arrays = {
        "a_i8": np.array([-128, 127, 0, -1], np.int8),
        "a_u16": np.array([0, 65535, 1, 300], np.uint16),
        "a_i32": np.array([-(2**31), 2**31 - 1, 0, -5], np.int32),
        "a_u32": np.array([0, 2**32 - 1, 17], np.uint32),
        "a_i64": np.array([-(2**63), 2**63 - 1, 3], np.int64),
        "a_i16_2d": rng.integers(-32768, 32768, (3, 5)).astype(np.int16),
    }
    special = np.array(
        [0.0, -0.0, 1e-45, -1.17549435e-38, 3.4028235e38, -3.4028235e38, np.pi, 1 / 3],
        np.float32,
    )
    floats = np.concatenate([special, rng.standard_normal(200).astype(np.float32) * 1e3])
    random_bits = rng.integers(0, 2**32, 400, dtype=np.uint64).astype(np.uint32)
    floats = np.concatenate([floats, random_bits.view(np.float32)])
    floats = floats[np.isfinite(floats)]
    arrays["a_f32"] = floats
    definitions = "".join(emit_c.emit_array(name, a) for name, a in arrays.items())
    definitions += emit_c.emit_array("a_cpx", np.array([[1, -2], [32767, -32768]], np.int16),
                                     "KwsComplexInt16")
    printer = []
    for name, a in arrays.items():
        n = a.size
        if a.dtype == np.float32:
            printer.append(
                f"for (unsigned i = 0; i < {n}; ++i) {{ uint32_t u; memcpy(&u, &{name}[i], 4); "
                f'printf("%u\\n", u); }}'
            )
        else:
            flat = f"((const {emit_c._DEFAULT_CTYPE[a.dtype]}*){name})"
            printer.append(
                f'for (unsigned i = 0; i < {n}; ++i) printf("%lld\\n", (long long){flat}[i]);'
            )
    printer.append('for (int i = 0; i < 2; ++i) printf("%d %d\\n", a_cpx[i].real, a_cpx[i].imag);')
    out = _compile_and_print(tmp_path, definitions, "\n".join(printer)).split("\n")
    pos = 0
    for a in arrays.values():
        got = out[pos : pos + a.size]
        pos += a.size
        if a.dtype == np.float32:
            assert np.array_equal(np.array(got, np.uint64).astype(np.uint32), a.view(np.uint32))
        else:
            assert [int(v) for v in got] == a.reshape(-1).astype(np.int64).tolist()
    assert out[pos : pos + 2] == ["1 -2", "32767 -32768"]


def test_emit_array_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="non-finite"):
        emit_c.emit_array("x", np.array([1.0, np.nan], np.float32))
    with pytest.raises(ValueError, match="do not fit"):
        emit_c.emit_array("x", np.array([40000], np.int32), "int16_t")
    with pytest.raises(ValueError, match="empty"):
        emit_c.emit_array("x", np.zeros(0, np.int16))
    with pytest.raises(ValueError, match="not a C identifier"):
        emit_c.emit_array("1x", np.zeros(3, np.int16))
    with pytest.raises(ValueError, match="float32"):
        emit_c.emit_array("x", np.zeros(3, np.float64), "float")


def test_emitted_micro_config_names_every_table() -> None:
    from kws.features.micro import MicroFrontendConfig, tables_for

    t = tables_for(MicroFrontendConfig())
    text = emit_c.emit_micro_frontend_config(t, "kws_frontend")
    assert "const KwsMicroFrontendConfig kws_frontend = {" in text
    assert ".fft_size = 512" in text and ".start_index = 5" in text and ".end_index = 241" in text
    assert text.count("static const int16_t kws_frontend_") == 7
    cap = emit_c.micro_frontend_capacity([t])
    assert cap == {"KWS_MAX_WINDOW_SIZE": 480, "KWS_MAX_FFT_SIZE": 512, "KWS_MAX_CHANNELS": 40}


# --- toolchain ---------------------------------------------------------------------------

def test_missing_tool_names_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    from kws.firmware_project import qemu, toolchain

    monkeypatch.setattr(toolchain.shutil, "which", lambda name: None)
    with pytest.raises(KwsError, match="apt-get install gcc-arm-none-eabi"):
        toolchain.arm_gcc()
    with pytest.raises(KwsError, match="apt-get install qemu-system-arm"):
        toolchain.qemu_system_arm()
    with pytest.raises(KwsError, match="qemu-system-arm"):
        qemu.qemu_command("x.elf", "semi.txt", "uart.sock")


def test_unknown_board_is_a_clear_error(tmp_path: Path) -> None:
    from kws.firmware_project.toolchain import compile_flags

    with pytest.raises(KwsError, match="unknown board 'nope'.*qemu-mps2-an386"):
        compile_flags(board="nope")


@pytest.mark.arm
@needs_arm
def test_build_errors_and_memory_overruns_fail_cleanly(tmp_path: Path) -> None:
    warn = tmp_path / "warn.c"
    warn.write_text("int main(void) { int unused; return 0; }\n")
    out = tmp_path / "warn.elf"
    with pytest.raises(KwsError, match="unused"):
        build_elf([warn], [], out)
    assert not out.exists() and list(tmp_path.glob("*.tmp")) == []

    too_big = {
        "RAM": "#include <stdint.h>\nvolatile uint8_t big[300 * 1024];\n"
               "int main(void) { big[7] = 1; return big[7]; }\n",
        "FLASH": "#include <stdint.h>\nconst uint8_t table[1100 * 1024] = {1};\n"
                 "int main(void) { return ((const volatile uint8_t*)table)[5]; }\n",
    }
    for region, source in too_big.items():
        big = tmp_path / f"{region.lower()}.c"
        big.write_text(source)
        with pytest.raises(KwsError, match=f"{region} overflowed"):
            build_elf([big], [], tmp_path / f"{region.lower()}.elf")

    ok = tmp_path / "ok.c"
    ok.write_text("int main(void) { return 0; }\n")
    elf = build_elf([ok], [], tmp_path / "ok.elf", float_abi="soft", opt="-Os")
    size = size_of(elf)
    assert 0 < size.text < 8192 and size.stack == 16 * 1024 and size.ram >= size.stack
    with pytest.raises(KwsError, match="RAM overflowed"):
        build_elf([ok], [], tmp_path / "stack.elf", stack_size=257 * 1024)
    with pytest.raises(KwsError, match="float_abi"):
        build_elf([ok], [], tmp_path / "x.elf", float_abi="softfp")


# --- QEMU runner and board API ------------------------------------------------------------

@pytest.fixture(scope="module", params=["hard", "soft"])
def board_check_elf(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    if not have_arm_tools():
        pytest.skip(ARM_MISSING)
    out = tmp_path_factory.mktemp(f"board_check_{request.param}") / "board_check.elf"
    return build_elf([BOARD_CHECK], [], out, float_abi=request.param), request.param


@pytest.mark.arm
def test_uart_round_trip_and_exit_codes(board_check_elf) -> None:
    from kws.firmware_project.qemu import run_qemu

    elf, _ = board_check_elf
    payload = bytes(range(256))[::-1][:200] + b"\x00\n\r\xff"
    code, stdout, uart = run_qemu(elf, 20, b"e" + struct.pack("<H", len(payload)) + payload)
    assert code == 0 and stdout == ""
    assert uart == f"{len(payload)}:".encode() + payload[::-1]
    for status in (0, 1, 7, 200, 255):
        assert run_qemu(elf, 20, bytes([ord("x"), status])).exit_code == status


@pytest.mark.arm
def test_semihosting_formatting(board_check_elf) -> None:
    from kws.firmware_project.qemu import run_qemu

    elf, _ = board_check_elf
    code, stdout, uart = run_qemu(elf, 20, b"f")
    assert code == 0 and uart == b""
    expected = ["0", "7", "-7", "2147483647", "-2147483648", "1000000"]
    for v in (0, 9, 10, 4294967295, 305419896):
        expected += [str(v), f"{v:08x}"]
    expected.append("beef")
    assert stdout.splitlines() == expected


@pytest.mark.arm
def test_float_arithmetic_matches_numpy(board_check_elf) -> None:
    from kws.firmware_project.qemu import run_qemu

    elf, abi = board_check_elf
    code, stdout, _ = run_qemu(elf, 20, b"p")
    assert code == 0, stdout  # a hard-float build faults here if the FPU was not enabled
    a, b, k = np.float32(1.1), np.float32(3.3), np.float32(-12345)
    expected = np.array([a * b, a / b, a + b, a - b, k * a], np.float32).view(np.uint32)
    assert [int(v, 16) for v in stdout.split()] == expected.tolist(), abi


@pytest.mark.arm
def test_fault_is_reported_not_hung(board_check_elf) -> None:
    from kws.firmware_project.qemu import run_qemu

    elf, _ = board_check_elf
    code, stdout, _ = run_qemu(elf, 20, b"u")
    assert code == 101 and stdout.startswith("HardFault CFSR=00010000"), stdout


def _qemu_pids_for(elf: Path) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if str(elf).encode() in cmdline:
                pids.append(int(entry.name))
    return pids


@pytest.mark.arm
def test_timeout_kills_qemu_and_keeps_partial_output(board_check_elf) -> None:
    from kws.firmware_project.qemu import QemuTimeout, run_qemu

    elf, _ = board_check_elf
    with pytest.raises(QemuTimeout, match="did not exit within 1.5 s") as info:
        run_qemu(elf, 1.5, b"h")
    assert info.value.uart == b"" and info.value.stdout == ""
    assert _qemu_pids_for(elf) == []
    with pytest.raises(KwsError, match="no such firmware ELF"):
        run_qemu(elf.with_name("missing.elf"))


@pytest.mark.arm
def test_ticks_count_instructions_under_icount(board_check_elf) -> None:
    from kws.firmware_project.qemu import run_qemu

    elf, _ = board_check_elf
    n = 200_000
    runs = []
    for _ in range(2):
        code, stdout, _ = run_qemu(elf, 30, b"t" + struct.pack("<I", n), icount=0)
        assert code == 0, stdout
        tag, before, after = stdout.split()
        assert tag == "t"
        runs.append((int(before), int(after)))
    # -icount makes virtual time deterministic once the UART input has arrived (before
    # that the firmware polls for as long as the host takes to send).  The loop starts at
    # an arbitrary phase of a 40-instruction tick, so counts may differ by one tick.
    assert abs((runs[0][1] - runs[0][0]) - (runs[1][1] - runs[1][0])) <= 1
    before, after = runs[0]
    instructions = (after - before) * 40
    # The volatile busy loop costs a handful of instructions per iteration.
    assert 3 * n <= instructions <= 12 * n, instructions


@pytest.mark.arm
@needs_arm
def test_board_files_build_without_libc_symbols(tmp_path: Path) -> None:
    """The linked image uses only the board's own memcpy/memset, never newlib."""
    elf = build_elf([BOARD_CHECK], [], tmp_path / "b.elf", map_file=True)
    map_text = Path(f"{elf}.map").read_text()
    assert "libc.a" not in map_text and "libc_nano.a" not in map_text
    assert os.path.getsize(elf) > 0
