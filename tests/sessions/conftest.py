"""Fixtures of the sessions tests (helpers live in session_fixtures.py).

This folder has no ``__init__.py``: one without a ``tests/__init__.py`` would shadow the real
``sessions`` package, so helpers live in ``session_fixtures.py`` and the test files are named
``test_session_*.py`` (no basename clashes with other test folders). ``data/.gitignore``
un-ignores the committed sample ``session_v1.rnnscope`` (the root .gitignore ignores
``*.rnnscope``); regenerate it only for a new file format: ``python tests/sessions/make_sample.py``.
"""

from session_fixtures import recorded, tiny_trainer

__all__ = ["recorded", "tiny_trainer"]
