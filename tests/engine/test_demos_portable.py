"""The demo texts' claims hold on every kind of CPU, not only the one they were written on.

Each claim a text makes is checked by its demo's check (engine/demos/checks.py). Here every
demo but the language model (whose text now claims only parameter counts, which no CPU
changes) is trained to its step hint in child processes at each CPU capability this machine
can produce (tests/cpu_kinds.py), at one thread, and at the CPU's own capability with two
threads (the thread count changes the bits of a step as much as the CPU kind), and with the
torch loops instead of the C++ ones: the exploding run overflows at a different step in each
(30 to 38 here), and its check must hold in all of them. The exploding demo also continues
from step 0 with clipping on, as its text tells the reader to.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from rnnscope.engine.demos import DEMOS
from tests.cpu_kinds import native_capability, producible, run_as

CHILD = """
import json, torch
from rnnscope.engine.demos import DEMOS
from rnnscope.engine.demos.base import run_demo
from rnnscope.engine.trainer import Trainer
torch.set_num_threads({threads})
out = {{}}
for name, demo in DEMOS.items():
    if name == "language-model":
        continue
    if name == "exploding":
        tr = Trainer(demo.runs["RNN"])
        start = tr.state_dict()
        free = run_demo(demo, trainers={{"RNN": tr}}).records["RNN"]
        tr.load_state_dict(start)
        tr.set_param("clip", True)
        clipped = [tr.step() for _ in range(60)]
        out[name] = demo.check({{"RNN": [*free, *clipped]}}, {{"RNN": tr}})
    else:
        out[name] = run_demo(demo, stop_on_hit=False).check()
print(json.dumps(out))
"""


def _variants() -> list[tuple[str, int, str]]:
    kinds = [(cap, 1, "native") for cap in producible()]
    return [*kinds, (native_capability(), 2, "native"), (native_capability(), 1, "torch")]


@pytest.mark.slow
def test_every_demo_claim_holds_on_every_cpu_kind_thread_count_and_loop():
    variants = _variants()

    def run(v: tuple[str, int, str]) -> dict:
        cap, threads, loops = v
        env = {"RNNSCOPE_KERNELS": loops, "OMP_NUM_THREADS": str(threads)}
        return json.loads(run_as(cap, CHILD.format(threads=threads), env, timeout=600).splitlines()[-1])

    with ThreadPoolExecutor(max_workers=2) as pool:  # CI has two cores
        results = dict(zip(variants, pool.map(run, variants), strict=True))
    failed = [
        f"{cap} x{threads} {loops}: {name}: {msg}"
        for (cap, threads, loops), checks in results.items()
        for name, (ok, msg) in checks.items()
        if not ok
    ]
    assert not failed, "\n".join(failed)
    assert all(len(checks) == len(DEMOS) - 1 for checks in results.values())  # all but language-model
