"""Firmware projects: the Python tooling around the C sources in ``firmware/``.

``firmware/`` (top level) holds the C that runs on a board; this package generates,
builds, runs and measures projects made from it:

- :mod:`~kws.firmware_project.deploy`: ``kws deploy`` writes a project (model C, frontend
  tables, ``kws_app_config.h``, app, core, board, Makefile) or, for an Arduino board, a
  library (:mod:`~kws.firmware_project.arduino`);
- :mod:`~kws.firmware_project.templates`: the generated ``kws_app_config.h`` and Makefile;
- :mod:`~kws.firmware_project.build`: ``make`` and the flash/RAM report;
- :mod:`~kws.firmware_project.run`: a built project under QEMU (clips, tensors, bench);
- :mod:`~kws.firmware_project.engine`: the ``qemu`` engine of :mod:`kws.engines`;
- :mod:`~kws.firmware_project.toolchain`, :mod:`~kws.firmware_project.qemu`,
  :mod:`~kws.firmware_project.emit_c`: the ARM toolchain, the QEMU runner and the C
  emitters for baked tables;
- :mod:`~kws.firmware_project.layout`: where the C sources are, and ``project.json``.

The same application built for the host is :mod:`kws.host_app`.

Modules import nothing heavy at import time, so the CLI can use them freely.
"""
