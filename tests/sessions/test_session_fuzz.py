"""A damaged session file never hangs a reader, never crashes the CLI with a traceback, and never
passes off different data as the recorded data (issue 10).

A small recorded session is damaged 60 ways (seeded): random bytes flipped, a page zeroed, the
file cut short. Each damaged copy is read in a child process with a time limit, as a user would
(``main.py info`` and every step's record), and what it read is held against the intact file.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from session_fixtures import tiny_config

from rnnscope.engine import Trainer
from rnnscope.sessions import LiveSession, RecordSettings

REPO = Path(__file__).resolve().parents[2]
STEPS = 10
PAGE = 4096
CASES = 60
PER_FILE_S = 20.0  # a damaged file's reads; an intact file's take ~0.5 s
LIMIT_S = 150.0  # the whole child

READ_ALL = r"""
import contextlib, hashlib, io, json, signal, sys, traceback, warnings
import numpy as np
from rnnscope.cli.main import main
from rnnscope.sessions import Session, SessionError
from rnnscope.engine.record import FRAME_FIELDS
warnings.simplefilter("ignore")
import torch
torch.set_num_threads(2)  # as the recording (threads are part of the numerics fingerprint)

def digest(rec):
    m = hashlib.sha256()
    for v in (rec.step, rec.loss, rec.metric, rec.grad_norm, rec.grad_norm_clipped, rec.lr):
        m.update(repr(v).encode())
    for name, p in rec.parts.items():
        arrays = [p.h_grad_norm, p.c_grad_norm] + [getattr(p, f) for f in FRAME_FIELDS]
        arrays += [p.gates[g] for g in sorted(p.gates or {})]
        for a in arrays:
            m.update(b"-" if a is None else np.ascontiguousarray(a).tobytes())
    return m.hexdigest()

class Hang(Exception):
    pass

def on_alarm(*_):
    raise Hang()

signal.signal(signal.SIGALRM, on_alarm)
steps, limit = int(sys.argv[1]), int(sys.argv[2])
results = {}
for path in sys.argv[3:]:
    out = {}
    signal.alarm(limit)  # a read that never ends is a failure of its own, not a stuck test
    try:
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                code = main(["info", path])
            out["info"] = [code, err.getvalue()]
        except Hang:
            raise
        except BaseException:
            out["info"] = ["traceback", traceback.format_exc()]
        try:
            s = Session.open(path)
        except SessionError as exc:
            out["open"] = str(exc)
        else:
            for k in range(steps):
                try:
                    rec = s.record(k, branch=0)
                    out[str(k)] = digest(rec) + ("|flagged: " + rec.provenance if rec.provenance else "")
                except (SessionError, IndexError) as exc:
                    out[str(k)] = "error: " + str(exc)
            s.close()
    except Hang:
        out["hang"] = True
    except BaseException:
        out["crash"] = traceback.format_exc()
    finally:
        signal.alarm(0)
    results[path] = out
print(json.dumps(results))
"""


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "RNNSCOPE_KERNELS": "torch", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=LIMIT_S, cwd=REPO, env=env
    )


def _read(*paths: Path) -> dict[str, dict[str, object]]:
    """What ``main.py info`` and reading every step give for each file, in one child process."""
    proc = _run(["-c", READ_ALL, str(STEPS), str(int(PER_FILE_S)), *map(str, paths)])
    assert proc.returncode == 0, f"the reader crashed:\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def intact(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("fuzz") / "intact.rnnscope"
    tr = Trainer(tiny_config())
    tr.kernels = "torch"
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # the reader child's count
    try:
        with LiveSession.create(path, tr, settings=RecordSettings(checkpoint_every=4, frame_every=3)) as live:
            live.run(STEPS)
    finally:
        torch.set_num_threads(threads)
    for suffix in ("-wal", "-shm"):
        assert not Path(f"{path}{suffix}").exists()
    got = _read(path)[str(path)]
    return path, {k: str(v) for k, v in got.items() if k.isdigit()}


def damage(src: Path, dst: Path, case: int) -> str:
    rng = random.Random(case)
    data = bytearray(src.read_bytes())
    kind = ("flip", "zero-page", "truncate")[case % 3]
    if kind == "flip":
        for _ in range(rng.randint(1, 16)):
            i = rng.randrange(100, len(data))  # past the header check: into the pages
            data[i] ^= 1 << rng.randrange(8)
    elif kind == "zero-page":
        page = rng.randrange(1, len(data) // PAGE)
        data[page * PAGE : (page + 1) * PAGE] = bytes(PAGE)
    else:
        del data[rng.randrange(PAGE, len(data)) :]
    dst.write_bytes(bytes(data))
    return kind


@pytest.mark.slow
def test_damaged_files_give_a_clear_error_or_the_recorded_data(
    intact: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    src, reference = intact
    assert len(reference) == STEPS and all(
        "|" not in v and not v.startswith("error") for v in reference.values()
    )
    kinds = {}
    for case in range(CASES):
        bad = tmp_path / f"case{case}.rnnscope"
        kinds[str(bad)] = (case, damage(src, bad, case))
    outcomes: dict[str, int] = {}
    for path, got in _read(*map(Path, kinds)).items():
        case, kind = kinds[path]
        assert "hang" not in got, f"case {case} ({kind}): a read did not end within {PER_FILE_S} s"
        assert "crash" not in got, (case, kind, got.get("crash"))
        code, err = got["info"]  # the CLI: a report or one line naming the file, never a traceback
        assert code in (0, 2), (case, kind, code, err)
        if code == 2:
            assert err.startswith("rnnscope: ") and path in err and err.count("\n") == 1, (case, err)
        if "open" in got:
            assert path in got["open"]
            outcomes["refused at open"] = outcomes.get("refused at open", 0) + 1
            continue
        for k in map(str, range(STEPS)):
            value = str(got[k])
            if value.startswith("error: "):
                assert path in value or "step" in value, (case, k, value)
                outcomes["clear error"] = outcomes.get("clear error", 0) + 1
            elif value.split("|")[0] == reference[k]:
                outcomes["same data"] = outcomes.get("same data", 0) + 1
            else:  # different data is only allowed where the record says it is not the recorded one
                assert "|flagged: " in value, f"case {case} ({kind}): step {k} read different data"
                outcomes["flagged as deviating"] = outcomes.get("flagged as deviating", 0) + 1
    assert outcomes.get("refused at open", 0) + outcomes.get("clear error", 0) > 0, outcomes
    print(json.dumps(outcomes))


def test_the_reader_is_deterministic(intact: tuple[Path, dict[str, str]]) -> None:
    """A second read of the intact file gives the same digests (otherwise the fuzz test above
    could not tell damage from noise), and reading leaves the file as it was."""
    path, reference = intact
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    got = _read(path)[str(path)]
    assert {k: v for k, v in got.items() if k.isdigit()} == reference
    assert got["info"][0] == 0
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
