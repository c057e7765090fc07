"""Board registry: every ``firmware/boards/<name>/board.json`` describes one target.

A board directory holds the board API implementation (``firmware/core/board_api.h``:
``board_init``, ``board_uart_write``/``board_uart_read``/``board_uart_read_nonblocking``,
``board_uart_rx_overruns``, ``board_clock_hz``, ``board_log``, ``board_exit``,
``board_ticks``; its ``board.h`` defines the board's constants and includes it; optionally
``board_mic.h``: ``int board_mic_start(void)``, ``int board_mic_read(int16_t* samples,
size_t n)`` (16 kHz mono, -1 on a timeout) and ``board_mic_overruns``), startup code, a
linker script and ``board.json``.  ``kws deploy`` copies the directory into a generated project and
writes the project Makefile from these keys; ``kws flash`` reads ``flash``.

``board.json`` keys (JSON object):

``name`` (str, required)
    Must equal the directory name.
``description`` (str)
    One line for ``kws deploy --help`` / error messages.
``cpu`` (list of str, required)
    Compiler CPU flags, e.g. ``["-mcpu=cortex-m4", "-mthumb"]``.
``float_abi`` (``"hard"`` | ``"softfp"`` | ``"soft"``, required)
    ``-mfloat-abi``; with ``"hard"``/``"softfp"`` the key ``fpu`` (e.g. ``"fpv4-sp-d16"``)
    gives ``-mfpu``.
``package`` (``"make"`` | ``"arduino-library"``)
    What ``kws deploy`` writes: a project that ``make`` builds (the default), or an Arduino
    library whose sketch the Arduino IDE / arduino-cli builds with the board's own core
    (which then supplies startup code and linking: ``sources`` and ``linker_script`` stay
    empty; ``cpu``/``float_abi`` still say how the library's C compiles, and kws only
    packages and flashes the firmware).
``sources`` (list of str, required for ``make`` unless ``common`` supplies the C files)
    Board C files, relative to the board directory.
``linker_script`` (str, required for ``make``)
    Relative to the board directory.
``common`` (list of str)
    Parts shared between boards, folders under ``firmware/boards/common/`` (e.g.
    ``"cortex_m"``: exception handlers, RAM set-up, ``memcpy``/``memset``): every C file in
    them is a board source and each is an include directory.  ``kws deploy`` copies them to
    ``board/common/<part>`` in the project.
``include_dirs`` (list of str)
    Relative to the board directory (``"."`` for the directory itself, where ``board.h`` is).
``defines`` (object str -> str/int/null)
    Extra ``-D`` flags (``null``: bare ``-DNAME``).
``ldflags`` (list of str)
    Extra linker flags (``-nostdlib -Wl,--gc-sections -lgcc`` are always used).
``has_mic`` (bool)
    The board provides ``board_mic.h``; the app then reads the microphone instead of
    AUDIO frames from the UART (unless built with ``KWS_APP_AUDIO_SOURCE=KWS_AUDIO_UART``).
``clock_hz`` (int)
    Core clock; converts ``board_ticks`` to seconds together with ``tick_hz``.
``tick_hz`` (int)
    Rate of ``board_ticks`` (defaults to ``clock_hz``).
``flash_bytes``, ``ram_bytes`` (int)
    Part limits: the linker script enforces them, ``kws deploy`` checks its memory plan
    against them before anything is built (0: unknown, not checked).
``stack_bytes`` (int)
    Main stack reserved by the link (``-Wl,--defsym=_stack_size=N``); 0 keeps the linker
    script's own default.
``uart`` (object)
    ``{"baud": 115200, "transport": "qemu" | "serial" | "usb-cdc"}``; optional
    ``port_hint`` and ``usb_ids`` (``{"vid:pid": "what it is"}``: how ``kws flash`` and the
    device link find the port).
``emulator`` (object, optional)
    ``{"qemu_machine": "mps2-an386"}`` when the board runs under ``qemu-system-arm``.  A
    real board QEMU can also run adds an emulator variant of its image:
    ``"linker_script"`` (the emulator-only link, relative to the board directory),
    ``"defines"`` (extra ``-D`` flags of that build, as ``defines``) and ``"serial_index"``
    (which of QEMU's serial ports is the console UART; default 0).
``flash`` (object)
    ``{"tools": ["st-flash", "openocd", ...], "address": "0x08000000",
    "format": "bin" | "hex" | "elf"}``; an empty tool list means nothing to flash
    (emulated board); optional ``"serial_baud"`` (default baud of ``--tool serial``),
    ``"bootloader_usb_ids"`` (the port the bootloader comes back on) and ``"bin_vectors"``
    (``{"flash_end": ..., "ram": [lo, hi]}``: a ``.bin``'s vector table must point there).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kws.errors import KwsError
from kws.paths import firmware_dir

BOARDS_DIR = firmware_dir() / "boards"
# The emulated board: what kws builds for when no board is named (engine, tests, benchmarks).
DEFAULT_BOARD = "qemu-mps2-an386"
_FLOAT_ABIS = ("hard", "softfp", "soft")
PACKAGES = ("make", "arduino-library")


@dataclass(frozen=True)
class Board:
    """One parsed ``board.json`` (see the module docstring for the keys)."""

    name: str
    directory: Path
    description: str
    cpu: tuple[str, ...]
    float_abi: str
    fpu: str | None
    sources: tuple[str, ...]
    linker_script: str
    package: str = "make"
    common: tuple[str, ...] = ()
    include_dirs: tuple[str, ...] = (".",)
    defines: dict[str, Any] = field(default_factory=dict)
    ldflags: tuple[str, ...] = ()
    has_mic: bool = False
    clock_hz: int = 0
    tick_hz: int = 0
    flash_bytes: int = 0
    ram_bytes: int = 0
    stack_bytes: int = 0
    uart: dict[str, Any] = field(default_factory=dict)
    emulator: dict[str, Any] = field(default_factory=dict)
    flash: dict[str, Any] = field(default_factory=dict)

    @property
    def qemu_machine(self) -> str | None:
        """QEMU machine name when the board is emulated, else ``None``."""
        machine = self.emulator.get("qemu_machine")
        return str(machine) if machine else None

    @property
    def qemu_serial_index(self) -> int:
        """Which QEMU serial port is the console UART (``-serial`` order, from 0)."""
        return int(self.emulator.get("serial_index", 0))

    @property
    def emulator_linker_script(self) -> str | None:
        """Linker script of the emulator variant, when the real image needs one."""
        script = self.emulator.get("linker_script")
        return str(script) if script else None

    def emulator_define_flags(self) -> list[str]:
        """``-D`` flags of the emulator variant (``emulator.defines``)."""
        defines = self.emulator.get("defines", {})
        return [f"-D{k}" if v is None else f"-D{k}={v}" for k, v in defines.items()]

    def cflags(self, float_abi: str | None = None) -> list[str]:
        """CPU and float-ABI compiler flags (``float_abi`` overrides the board's own)."""
        abi = float_abi or self.float_abi
        if abi not in _FLOAT_ABIS:
            raise KwsError(f"float_abi must be one of {', '.join(_FLOAT_ABIS)}, not {abi!r}")
        flags = list(self.cpu) + [f"-mfloat-abi={abi}"]
        if abi != "soft" and self.fpu:
            flags.append(f"-mfpu={self.fpu}")
        return flags

    def define_flags(self) -> list[str]:
        """``-D`` flags from ``defines``."""
        return [f"-D{k}" if v is None else f"-D{k}={v}" for k, v in self.defines.items()]

    def common_paths(self) -> list[Path]:
        """Absolute paths of the shared parts (``firmware/boards/common/<part>``)."""
        return [self.directory.parent / "common" / part for part in self.common]

    def source_paths(self) -> list[Path]:
        """Absolute paths of the board's C files, its shared parts' included."""
        shared = [c for part in self.common_paths() for c in sorted(part.glob("*.c"))]
        return [self.directory / s for s in self.sources] + shared

    def include_paths(self) -> list[Path]:
        """Absolute paths of the board's include directories, its shared parts' included."""
        own = [self.directory if d in (".", "") else self.directory / d
               for d in self.include_dirs]
        return own + self.common_paths()

    def linker_script_path(self) -> Path:
        """Absolute path of the linker script (KwsError for a board kws does not link)."""
        if not self.linker_script:
            raise KwsError(f"board {self.name!r} is linked by its {self.package} tooling, "
                           "not by kws")
        return self.directory / self.linker_script


def _require(data: dict[str, Any], key: str, kind: type | tuple[type, ...], path: Path) -> Any:
    if key not in data:
        raise KwsError(f"{path}: missing required key {key!r}")
    value = data[key]
    if not isinstance(value, kind):
        raise KwsError(f"{path}: key {key!r} has the wrong type ({type(value).__name__})")
    return value


def _str_list(data: dict[str, Any], key: str, path: Path, default: list[str]) -> tuple[str, ...]:
    value = data.get(key, default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise KwsError(f"{path}: key {key!r} must be a list of strings")
    return tuple(value)


def _build_files(data: dict[str, Any], p: Path) -> tuple[str, tuple[str, ...], str,
                                                        tuple[str, ...]]:
    """``package``, ``sources``, ``linker_script`` and ``common``, checked against the disk."""
    directory = p.parent
    package = data.get("package", "make")
    if package not in PACKAGES:
        raise KwsError(f"{p}: package must be one of {', '.join(PACKAGES)}, not {package!r}")
    sources = _str_list(data, "sources", p, [])
    linker = ""
    common = _str_list(data, "common", p, [])
    if package == "make":
        if not sources and not common:
            raise KwsError(f"{p}: missing required key 'sources' (board C files)")
        linker = _require(data, "linker_script", str, p)
    emulator = data.get("emulator")
    emulator_script = emulator.get("linker_script") if isinstance(emulator, dict) else None
    for rel in (*sources, *(f for f in (linker, emulator_script) if f)):
        if not (directory / rel).is_file():
            raise KwsError(f"{p}: listed file {rel!r} does not exist in {directory}")
    for part in common:
        if not (directory.parent / "common" / part).is_dir():
            raise KwsError(f"{p}: shared part {part!r} is not a folder of "
                           f"{directory.parent / 'common'}")
    return package, sources, linker, common


def load_board_file(path: str | Path) -> Board:
    """Parse and check one ``board.json``.

    Raises
    ------
    KwsError
        Unreadable JSON, a missing/mistyped key, or a listed file that does not exist.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise KwsError(f"{p}: no such board descriptor") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KwsError(f"{p}: not a readable JSON board descriptor ({exc})") from None
    if not isinstance(data, dict):
        raise KwsError(f"{p}: a board descriptor must be a JSON object")
    directory = p.parent
    name = _require(data, "name", str, p)
    if name != directory.name:
        raise KwsError(f"{p}: name {name!r} does not match its directory {directory.name!r}")
    float_abi = _require(data, "float_abi", str, p)
    if float_abi not in _FLOAT_ABIS:
        raise KwsError(f"{p}: float_abi must be one of {', '.join(_FLOAT_ABIS)}, not {float_abi!r}")
    cpu = _str_list(data, "cpu", p, [])
    if not cpu:
        raise KwsError(f"{p}: missing required key 'cpu' (compiler CPU flags)")
    package, sources, linker, common = _build_files(data, p)
    defines = data.get("defines", {})
    if not isinstance(defines, dict):
        raise KwsError(f"{p}: key 'defines' must be an object")
    objects = {}
    for key in ("uart", "emulator", "flash"):
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise KwsError(f"{p}: key {key!r} must be an object")
        objects[key] = value
    if package == "arduino-library" and not objects["flash"].get("tools"):
        raise KwsError(f"{p}: an {package} board needs a 'flash' object with its tools "
                       "(kws flashes what the Arduino tooling builds)")
    clock = int(data.get("clock_hz", 0))
    return Board(
        name=name,
        directory=directory,
        description=str(data.get("description", "")),
        cpu=cpu,
        float_abi=float_abi,
        fpu=data.get("fpu"),
        sources=sources,
        linker_script=linker,
        package=package,
        common=common,
        include_dirs=_str_list(data, "include_dirs", p, ["."]),
        defines=dict(defines),
        ldflags=_str_list(data, "ldflags", p, []),
        has_mic=bool(data.get("has_mic", False)),
        clock_hz=clock,
        tick_hz=int(data.get("tick_hz", clock)),
        flash_bytes=int(data.get("flash_bytes", 0)),
        ram_bytes=int(data.get("ram_bytes", 0)),
        stack_bytes=int(data.get("stack_bytes", 0)),
        uart=objects["uart"],
        emulator=objects["emulator"],
        flash=objects["flash"],
    )


def board_names(boards_dir: Path = BOARDS_DIR) -> list[str]:
    """Names of every board directory that has a ``board.json``."""
    return sorted(p.parent.name for p in boards_dir.glob("*/board.json"))


def get_board(name: str, boards_dir: Path = BOARDS_DIR) -> Board:
    """The board called ``name`` (KwsError listing the known boards when there is none)."""
    path = boards_dir / name / "board.json"
    if not path.is_file():
        known = ", ".join(board_names(boards_dir)) or "none"
        raise KwsError(f"unknown board {name!r} (no {path}; known boards: {known})")
    return load_board_file(path)
