"""Build hooks: compiles the firmware C core (firmware/core) into the `kws._core` extension, and
copies firmware/ into the built package as kws/_firmware (kws.paths.firmware_dir), since
`kws deploy` and `kws listen` need the C sources at run time."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

# Build outputs that a checkout's firmware/ may hold; never shipped.
_FIRMWARE_IGNORE = shutil.ignore_patterns("*.o", "*.elf", "*.bin", "*.so", "*.map", "*.pyc",
                                          "__pycache__", "build")


class BuildPyWithFirmware(build_py):
    """build_py that also puts firmware/ into the built package as kws/_firmware."""

    def run(self) -> None:
        super().run()
        # An editable install runs kws from the checkout, whose firmware/ kws finds itself:
        # nothing to copy, and nothing may be written into the source tree.
        if getattr(self, "editable_mode", False):
            return
        source = Path(__file__).resolve().parent / "firmware"
        target = Path(self.build_lib) / "kws" / "_firmware"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target, ignore=_FIRMWARE_IGNORE)


setup(cffi_modules=["kws/_core_build.py:ffibuilder"], cmdclass={"build_py": BuildPyWithFirmware})
