"""Subcommands of the ``kws`` CLI (see :mod:`kws.cli`)."""
