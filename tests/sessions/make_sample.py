"""Write the stored sample session of the current format (run once per format version).

    python tests/sessions/make_sample.py      # -> tests/sessions/data/session_v<FORMAT>.rnnscope

The sample is small (a tiny LSTM, two branches, edits, stored and unstored frames) and is
committed: test_session_backcompat.py opens it with today's code, so a change that can no
longer read old files fails CI. Never regenerate an existing version's sample: add a new one.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE)]

from session_fixtures import tiny_config  # noqa: E402

from rnnscope.engine import Trainer  # noqa: E402
from rnnscope.sessions import FORMAT, LiveSession, RecordSettings  # noqa: E402


def make(path: Path) -> None:
    settings = RecordSettings(checkpoint_every=5, frame_every=4)
    with LiveSession.create(path, Trainer(tiny_config()), settings=settings, overwrite=True) as live:
        live.run(6)
        live.set_param("lr", 2e-3)
        live.run(6)  # main: steps 0..11, lr edit at 6
        live.rewind(3, name="alt")
        live.set_param("clip", True)
        live.run(4)  # alt: steps 3..6 of its own
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    out = HERE / "data" / f"session_v{FORMAT}.rnnscope"
    make(out)
    print(f"wrote {out} ({out.stat().st_size} bytes)")
