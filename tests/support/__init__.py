"""Helpers shared by tests: real components started and stopped by the tests themselves."""
