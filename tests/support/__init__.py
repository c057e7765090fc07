"""Helpers shared by tests (importable as ``support`` since pytest puts ``tests/`` on the path)."""
