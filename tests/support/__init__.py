"""Helpers shared by tests (importable as ``support``: pytest puts ``tests/`` on the path):
builders, references and real components the tests start and stop themselves."""
