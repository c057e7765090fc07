"""Firmware tooling: the ARM toolchain, the QEMU runner and C emitters for baked tables.

- :mod:`kws.firmware.toolchain`: ``build_elf``, ``size_of``, tool discovery;
- :mod:`kws.firmware.qemu`: ``run_qemu`` on the emulated Cortex-M4F (``mps2-an386``);
- :mod:`kws.firmware.emit_c`: ``emit_array``, ``emit_micro_frontend_config`` (and the MFCC
  counterpart) writing ``static const`` tables and config initializers.

Modules import nothing heavy, so the CLI can use them freely.
"""
