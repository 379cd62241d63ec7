"""Fixtures of the sessions tests (helpers live in session_fixtures.py)."""

from session_fixtures import recorded, tiny_trainer

__all__ = ["recorded", "tiny_trainer"]
