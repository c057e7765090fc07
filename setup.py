"""Build hook: compiles the firmware C core (firmware/core) into the `kws._core` extension."""

from setuptools import setup

setup(cffi_modules=["kws/_core_build.py:ffibuilder"])
