"""Teaching demos: presets that make each claim of the lesson (DESIGN.md) happen in real runs.

    from rnnscope.engine.demos import DEMOS, get_demo, run_demo
    demo = get_demo("vanishing")          # ValueError naming the known demos otherwise
    demo.runs                             # {"RNN": TrainConfig, "LSTM": TrainConfig}
    demo.explanation_for("ko")            # the explanation in Korean
    result = run_demo(demo, steps=30)     # headless: trainers, records, breakpoint hits
    ok, message = result.check()          # the claim, tested on the records

Qt-free. The GUI (File > Demos, ``python main.py --demo NAME``) builds its panels from
``demo.layout`` and its breakpoints from ``demo.breakpoint_set()``.
"""

from __future__ import annotations

from rnnscope.engine.demos.base import PANELS, Demo, DemoResult, Suggestion, run_demo
from rnnscope.engine.demos.catalog import all_demos

__all__ = ["DEFAULT_DEMO", "DEMOS", "PANELS", "Demo", "DemoResult", "Suggestion", "get_demo", "run_demo"]

DEMOS: dict[str, Demo] = {d.name: d for d in all_demos()}
DEFAULT_DEMO = "lstm-copy"  # what ``python main.py`` opens: an LSTM on the copy task


def get_demo(name: str) -> Demo:
    """The demo called ``name``; ValueError naming the known demos otherwise."""
    try:
        return DEMOS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown demo {name!r}; demos: {', '.join(DEMOS)}") from None
