"""Helper process for the fault tests: records a tiny LSTM run into argv[1].

    python tests/sessions/record_script.py PATH STEPS COMMIT_INTERVAL

Prints ``committed <n>`` whenever the recorder has committed up to step n-1 and
``done`` at the end; the tests kill it (SIGKILL) or read the file while it runs.
"""

from __future__ import annotations

import sys

from session_fixtures import tiny_config

from rnnscope.engine import Trainer
from rnnscope.sessions import LiveSession, RecordSettings


def main() -> None:
    path, steps, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    settings = RecordSettings(checkpoint_every=10, frame_every=5, commit_interval=interval)
    live = LiveSession.create(path, Trainer(tiny_config()), settings=settings, overwrite=True)
    last = -1
    for _ in range(steps):
        live.step()
        done = live.recorder.committed_step(0)
        if done != last:
            last = done
            print(f"committed {done + 1}", flush=True)
    live.close()
    print("done", flush=True)


if __name__ == "__main__":
    main()
