"""Where kws finds the firmware's C sources, in a source checkout and in an installed copy.

A checkout (and the editable install of one) has ``firmware/`` beside the ``kws`` package; a
wheel carries a copy of it inside the package as ``kws/_firmware`` (setup.py's build step puts
it there), because ``kws deploy``, ``kws listen`` and the config-struct description need the C
sources at run time.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from kws.errors import KwsError

PACKAGE_DIR = Path(__file__).resolve().parent
# The folder name of the copy inside an installed package (setup.py writes the same name).
PACKAGED_FIRMWARE = "_firmware"
# A file every complete firmware tree has: the C core's config-struct description.
_MARKER = Path("core") / "config_structs.json"


@lru_cache(maxsize=1)
def firmware_dir() -> Path:
    """The firmware source tree (``app/``, ``core/``, ``boards/``) this kws runs with.

    Returns
    -------
    Path
        ``firmware/`` of the source checkout when kws runs from one, else the copy inside the
        installed package (``kws/_firmware``).

    Raises
    ------
    KwsError
        When neither holds the firmware sources (a broken or partial install).
    """
    for candidate in (PACKAGE_DIR.parent / "firmware", PACKAGE_DIR / PACKAGED_FIRMWARE):
        if (candidate / _MARKER).is_file():
            return candidate
    raise KwsError(f"{PACKAGE_DIR}: the firmware C sources are missing from this install "
                   f"(no {PACKAGED_FIRMWARE}/ in the package, no firmware/ beside it); "
                   "reinstall kws from a wheel or a source checkout")

