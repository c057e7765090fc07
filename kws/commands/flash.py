"""``kws flash``: write firmware to a real board with st-flash, openocd, dfu-util, the STM32
ROM serial bootloader (kws's own AN3155 client) or bossac."""

from __future__ import annotations

import argparse

from kws.commands._args import add_command

HELP = """Flash a firmware (a kws deploy project directory, an .elf or a .bin) onto a board.
--dry-run prints the exact commands without needing the tools or the board."""


def flashable_boards() -> list[str]:
    """Boards of the registry (``firmware/boards``) that a flash tool writes to."""
    from kws.boards import board_names, get_board

    return [name for name in board_names() if get_board(name).flash.get("tools")]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "flash", run, "flash firmware onto a real board", HELP)
    p.add_argument("firmware", metavar="DIR_OR_FILE",
                   help="kws deploy project directory, firmware .elf or .bin")
    p.add_argument("--board", help=f"{' or '.join(flashable_boards())} (default: the "
                   "project's board)")
    p.add_argument("--tool", choices=["st-flash", "openocd", "dfu-util", "serial", "bossac"],
                   help="flash tool (default: the board's first: st-flash / bossac)")
    p.add_argument("--port", help="serial port for --tool serial / bossac (default: detected "
                                  "by USB id)")
    p.add_argument("--baud", type=int, default=None,
                   help="baud rate of the STM32 ROM bootloader (--tool serial; default: the "
                        "board's, 1200 on the Discovery whose C49 slows PA9)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the commands that would run, run nothing")


def run(args: argparse.Namespace) -> int:
    from kws.flash import plan_flash, run_plan

    plan = plan_flash(args.firmware, args.board, args.tool, args.port, dry_run=args.dry_run,
                      baud=args.baud)
    run_plan(plan, dry_run=args.dry_run)
    return 0
