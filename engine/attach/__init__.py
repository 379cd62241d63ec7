"""Attach: rnnscope inside the user's own model (engine.attach.scope.attach)."""

from rnnscope.engine.attach.layer import AttachedRNN, AttachError
from rnnscope.engine.attach.scope import Scope, attach

__all__ = ["AttachError", "AttachedRNN", "Scope", "attach"]
