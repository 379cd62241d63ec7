"""The Demo type, the suggestions a demo makes, and a headless runner.

A demo is a preset: one or more named runs (TrainConfigs) to compare side by side, hints for
the GUI's panel layout, an explanation in English and Korean, default breakpoints, and a
``check`` that tests the claim it teaches against real StepRecords.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rnnscope.engine.breakpoints import Breakpoint, BreakpointSet, Hit
from rnnscope.engine.config import LIVE_FIELDS, TrainConfig
from rnnscope.engine.record import StepRecord
from rnnscope.engine.trainer import Trainer

LANGUAGES = ("en", "ko")

# Panel ids a demo's ``layout`` may name, first = the one to raise. The GUI maps them onto
# its docks and ignores ids it does not have (yet).
PANELS: dict[str, str] = {
    "gradient_flow": "||dL/dh_t|| (and ||dL/dc_t||) over timesteps and layers, per step",
    "health": "loss, metric, gradient norm before/after clipping with the threshold, NaN markers",
    "gates": "gate activations of the probe sample (LSTM i f g o, GRU r z n)",
    "states": "h_t and c_t of the probe sample",
    "singular_values": "singular values of W_hh per layer, with the line at 1",
    "jacobian": "per-step recurrence gain (||dh_t/dh_{t-1}||; LSTM: joint (h, c)) and tanh' saturation",
    "sample": "the probe sample: input, target, prediction (Seq2Seq: teacher-forced and free-running)",
    "compare": "the demo's runs side by side: parameter counts, step time, metric, validation",
}

RecordsByRun = Mapping[str, Sequence[StepRecord]]
TrainersByRun = Mapping[str, Trainer]
Check = Callable[["Demo", RecordsByRun, "TrainersByRun | None"], tuple[bool, str]]


@dataclass(frozen=True)
class Suggestion:
    """'Now change one knob': set ``field`` to ``value`` on run ``run`` (None = every run),
    after rewinding to step ``rewind_to`` (None = from the current step on). A field in
    LIVE_FIELDS is a live edit (Trainer.set_param); any other field needs a new run."""

    field: str
    value: Any
    note: Mapping[str, str]  # language -> one sentence
    run: str | None = None
    rewind_to: int | None = None

    @property
    def live(self) -> bool:
        return self.field in LIVE_FIELDS


@dataclass(frozen=True)
class Demo:
    name: str  # slug: File > Demos and ``python main.py --demo NAME``
    title: str  # English title
    title_ko: str
    runs: Mapping[str, TrainConfig]  # run label -> config, in display order
    layout: tuple[str, ...]  # panel ids (PANELS), the first is raised
    explanation: Mapping[str, str]  # "en"/"ko" -> plain text, paragraphs split by blank lines
    steps_hint: int  # steps after which the effect is clearly visible
    breakpoints: tuple[Breakpoint, ...] = ()  # default watch conditions (copied per session)
    suggestions: tuple[Suggestion, ...] = ()
    checker: Check | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.runs:
            raise ValueError(f"demo {self.name} has no runs")
        for lang in LANGUAGES:
            if not self.explanation.get(lang, "").strip():
                raise ValueError(f"demo {self.name} has no {lang} explanation")
        unknown = [p for p in self.layout if p not in PANELS]
        if unknown:
            raise ValueError(f"demo {self.name}: unknown panel(s) {', '.join(unknown)}")
        for s in self.suggestions:
            if s.run is not None and s.run not in self.runs:
                raise ValueError(f"demo {self.name}: suggestion for unknown run {s.run!r}")

    def title_for(self, lang: str = "en") -> str:
        return self.title_ko if lang == "ko" else self.title

    def explanation_for(self, lang: str = "en") -> str:
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang!r}; known: {', '.join(LANGUAGES)}")
        return self.explanation[lang]

    def breakpoint_set(self) -> BreakpointSet:
        """A fresh copy of the demo's default breakpoints (edits do not touch the demo)."""
        return BreakpointSet(b.copy() for b in self.breakpoints)

    def trainers(self) -> dict[str, Trainer]:
        return {label: Trainer(cfg) for label, cfg in self.runs.items()}

    def check(self, records_by_run: RecordsByRun, trainers: TrainersByRun | None = None) -> tuple[bool, str]:
        """Test the demo's claim on real records (``records_by_run``: run label -> records in
        step order). ``trainers`` (the runs' trainers after those records) lets a check use
        what records do not hold (validation perplexity); without them such parts are
        skipped or computed from fresh models (parameter counts). (ok, message)."""
        if self.checker is None:
            return True, "nothing to check"
        missing = [r for r in self.runs if not records_by_run.get(r)]
        if missing:
            return False, f"no records for run(s): {', '.join(missing)}"
        return self.checker(self, records_by_run, trainers)


@dataclass
class DemoResult:
    demo: Demo
    trainers: dict[str, Trainer]
    records: dict[str, list[StepRecord]]
    hits: dict[str, list[Hit]]  # run -> hits (a run stops at its first hit when stop_on_hit)

    def check(self) -> tuple[bool, str]:
        return self.demo.check(self.records, self.trainers)


def run_demo(
    demo: Demo,
    steps: int | None = None,
    *,
    runs: Sequence[str] | None = None,
    stop_on_hit: bool = True,
    trainers: Mapping[str, Trainer] | None = None,
    on_record: Callable[[str, StepRecord], None] | None = None,
) -> DemoResult:
    """Run ``demo`` headless: each run (or those named in ``runs``) for ``steps`` steps
    (default ``steps_hint``), checking the demo's breakpoints on every record (forcing a
    probe frame where a breakpoint needs one) and pausing that run at its first hit."""
    n = demo.steps_hint if steps is None else steps
    labels = list(demo.runs) if runs is None else list(runs)
    for label in labels:
        if label not in demo.runs:
            raise ValueError(f"demo {demo.name} has no run {label!r}; runs: {', '.join(demo.runs)}")
    result = DemoResult(demo, {}, {}, {})
    for label in labels:
        tr = trainers[label] if trainers is not None and label in trainers else Trainer(demo.runs[label])
        bps = demo.breakpoint_set()
        force = True if bps.needs_frame else None
        result.trainers[label] = tr
        recs = result.records.setdefault(label, [])
        hits = result.hits.setdefault(label, [])
        for _ in range(n):
            rec = tr.step(probe=force)
            recs.append(rec)
            if on_record is not None:
                on_record(label, rec)
            new = bps.check(rec)
            hits.extend(new)
            if new and stop_on_hit:
                break
    return result
