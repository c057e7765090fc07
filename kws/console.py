"""Rich consoles for the CLI that do not wrap what goes to a file or a pipe."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

# Width of a console writing to a file or pipe: wide enough that no line or table is
# squeezed to the 80 columns rich assumes when it cannot ask a terminal.
UNWRAPPED_WIDTH = 10_000


def make_console(*, stderr: bool = False, **options: Any) -> Console:
    """A :class:`rich.console.Console` on stdout (or ``stderr``); on a terminal it wraps at
    the terminal's width, on a file or pipe it wraps nothing.  ``options`` go to
    :class:`~rich.console.Console`."""
    from rich.console import Console

    console = Console(stderr=stderr, **options)
    if console.is_terminal:
        return console
    return Console(stderr=stderr, width=UNWRAPPED_WIDTH, soft_wrap=True, **options)


def section(console: Console, title: str) -> None:
    """A heading: a rule across a terminal, one plain line in a file or pipe."""
    if console.is_terminal:
        console.rule(f"[bold]{title}")
    else:
        console.print(f"== {title} ==")
