"""Errors that the CLI reports as one clear line."""


class KwsError(Exception):
    """A user-facing error: the CLI prints ``kws: error: <message>`` and exits non-zero."""
