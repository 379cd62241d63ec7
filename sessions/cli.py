"""Headless helpers behind ``main.py info`` and ``main.py export`` (main.py does the parsing).

``info(path)`` is a human-readable report: format, size, config, recording settings,
branches (with their steps and edits), counts of stored frames and checkpoints.

``export_step(path, step, fmt, out_path)`` writes every array of one step's record
(regenerating the frame if it was not stored) through :mod:`sessions.export`, which documents
the NPZ keys and the CSV layout (the window's File > Export writes the same files).

Both raise SessionError for a bad session file and write nothing in that case.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any

from rnnscope.sessions import datasets, ownership
from rnnscope.sessions.errors import SessionError
from rnnscope.sessions.export import FORMATS, write_record
from rnnscope.sessions.session import Session


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def info(path: str | os.PathLike[str]) -> str:
    """A report on a session file (SessionError if it is not one)."""
    with Session.open(path) as s:
        st = s.stats()
        meta = st["meta"]
        created = json.loads(meta.get("created", "0"))
        lines = [
            f"session   {s.path}",
            f"format    {s.format} (rnnscope)   size {_mb(st['bytes'])}",
            f"created   {_dt.datetime.fromtimestamp(created).isoformat(timespec='seconds')}",
            f"stored    {st['steps']} step summaries, {st['frames']} full frames, "
            f"{st['checkpoints']} checkpoints, {st['events']} timeline events",
        ]
        settings = json.loads(meta.get("settings", "{}"))
        if settings:
            lines.append("recording " + ", ".join(f"{k}={v}" for k, v in settings.items()))
        lines.append(f"kernels   {s.kernels} (the CPU recurrence loops the file was recorded with)")
        writer = ownership.writer_state(s)
        if writer is not None:
            what = (
                "recording now"
                if writer.live
                else "ended without closing the file (killed?)"
                if writer.gone
                else "closed"
            )
            lines.append(f"writer    process {writer.pid}: {what}")
        for df in s.data_files:
            lines.append(f"data      {df.name}, {df.size:,} bytes, {df.id} (stored in the session)")
        names = {str(b.id): b.name for b in s.branches()}
        for bid, facts in (s.meta_value(datasets.FACTS_KEY) or {}).items():
            shown = ", ".join(f"{k} {v}" for k, v in facts.items() if k != "file")
            lines.append(f"          run {names.get(bid, bid)}: {shown}")
        branches = s.branches()
        root = branches[0]
        if s.external:
            lines += external_report(root.config["external"])
        else:
            lines.append("config")
            lines += [f"  {k} = {v}" for k, v in root.config.items()]
        head = s.branch.id
        lines.append(f"branches  ({len(branches)}; * = last used)")
        by_id = {b.id: b for b in branches}
        for b in branches:
            n = s.length(b.id)
            origin = "root" if b.parent is None else f"from {by_id[b.parent].name} at step {b.fork_step}"
            mark = "*" if b.id == head else " "
            lines.append(f" {mark}{b.id:>3} {b.name:<16} steps 0..{n - 1} ({n})  {origin}")
            if n:
                last = s.summary(n - 1, branch=b.id)
                metric = "" if s.external else f", {last.metric_name} {last.metric:.6g}"
                lines.append(f"       last step {n - 1}: loss {last.loss:.6g}{metric}")
            for ev in s.timeline(branch=b.id):
                if ev.kind == "edit" and ev.branch == b.id:
                    lines.append(f"       edit at step {ev.step}: {ev.name} {ev.old!r} -> {ev.new!r}")
        if s.external:  # nothing is replayed: where it was recorded is all there is to say
            from rnnscope.engine import numerics

            lines.append("recorded on")
            lines += [f"    {line}" for line in numerics.describe(s.numerics[0].fingerprint)]
        else:
            lines += numerics_report(s, by_id)
        return "\n".join(lines)


def external_report(ext: dict[str, Any]) -> list[str]:
    """The attached run's model, as ``info`` prints it."""
    lines = [
        f"attached  your {ext.get('model')} (optimizer {ext.get('optimizer')}), recorded from your own "
        f"training loop: frames every {ext.get('probe_every')} steps, no rewind (its steps cannot be re-run)"
    ]
    for m in ext.get("modules", []):
        bits = f"{m['cell']} {m['input_size']}->{m['hidden_size']}, {m['num_layers']} layer(s)"
        if m.get("nonlinearity") == "relu":
            bits += ", relu"
        if m.get("bidirectional"):
            bits += ", bidirectional"
        lines.append(f"  {m['path']}: {bits}")
    for path, why in (ext.get("skipped") or {}).items():
        lines.append(f"  {path}: not attached ({why})")
    return lines


def here_fingerprint(s: Session) -> dict[str, Any]:
    """The fingerprint a regeneration of ``s`` would run under in this process, without
    compiling or loading the C++ kernels to find out (a first build takes seconds)."""
    from rnnscope.engine import native, numerics

    kernels = "torch" if s.kernels == "torch" else native.planned_variant()
    return numerics.fingerprint(kernels=kernels, rev=s.revision)


def numerics_report(s: Session, by_id: dict[int, Any]) -> list[str]:
    """Which machine kinds recorded the file, this one, and whether replay here is bit for bit."""
    from rnnscope.engine import numerics

    lines = ["recorded on"]
    for e in s.numerics:
        name = by_id[e.branch].name if e.branch in by_id else str(e.branch)
        lines.append(f"  branch {name} from step {e.step}:")
        lines += [f"    {line}" for line in numerics.describe(e.fingerprint)]
        if e.fingerprint.get("revision") == numerics.LEGACY_REVISION and len(e.fingerprint) <= 2:
            lines.append("    (written before rnnscope recorded fingerprints: the rest is unknown)")
    here = here_fingerprint(s)
    lines.append("this machine")
    lines += [f"    {line}" for line in numerics.describe(here)]
    diffs = sorted({d for e in s.numerics for d in numerics.differences(e.fingerprint, here)})
    if diffs:
        lines.append("replay    regenerated frames may differ from the recorded run in the last bits, which")
        lines.append(
            "          grow with the steps replayed; the panels and the warning say by how much. Differs:"
        )
        lines += [f"          - {d}" for d in diffs]
    else:
        lines.append("replay    same numerics: regenerated frames are bit for bit the recorded ones")
    return lines


def export_step(
    path: str | os.PathLike[str],
    step: int,
    fmt: str,
    out_path: str | os.PathLike[str],
    *,
    branch: int | str | None = None,
) -> Path:
    """Write step ``step``'s arrays as ``fmt`` (npz | csv) to ``out_path``; returns the path written."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    out = Path(out_path)
    with Session.open(path, branch=branch) as s:
        n = len(s)
        if not 0 <= step < n:
            raise SessionError(s.path, f"has no step {step} on branch {s.branch.name!r} (steps 0..{n - 1})")
        rec = s.record(step)
        if s.external and not rec.has_frame:
            near = sorted(sorted(s.framed_steps(), key=lambda k: abs(k - step))[:2])
            raise SessionError(
                s.path,
                f"has no frame of step {step}: a run of your own loop stores frames only at its probed steps "
                f"(nearest: {', '.join(map(str, near)) or 'none'})",
            )
    return write_record(rec, out, fmt)
