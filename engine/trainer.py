"""Trainer: one instrumented optimizer step at a time, fully resumable.

    tr = Trainer(TrainConfig(cell="lstm", task="copy", hidden_size=64, seq_len=50))
    rec = tr.step()             # -> StepRecord (numpy only)
    tr.set_param("lr", 1e-3)    # live edit from the next step; ValueError and no change if bad
    state = tr.state_dict(); tr.load_state_dict(state)

Determinism: the trainer owns three generators (init, data, dropout) and never touches
the global RNG, so two trainers in one process (a live run and a frame regeneration)
do not disturb each other, and on the CPU the same config and seed give bit-identical
records. A step whose loss or gradient is NaN/Inf is recorded with where it appeared,
and its update is skipped (like a mixed-precision GradScaler), so the weights stay usable.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from rnnscope.engine import native, numerics
from rnnscope.engine.config import LIVE_FIELDS, TrainConfig
from rnnscope.engine.device import resolve_device
from rnnscope.engine.diagnostics import gradient_norm, locate_nonfinite
from rnnscope.engine.frames import part_record
from rnnscope.engine.models import RunContext, Seq2SeqModel, SequenceModel, build_model, teacher_forced_inputs
from rnnscope.engine.record import NonFinite, PartRecord, ProbeSample, StepRecord
from rnnscope.engine.tasks import SOS_ID, Batch, make_task
from rnnscope.engine.weights import ImportPlan, apply_import, plan_import, read_weights

STATE_FORMAT = 1


@dataclass(frozen=True)
class Edit:
    """A live change: effective from optimizer step ``step`` on."""

    step: int
    name: str
    old: Any
    new: Any


def _np(x: Tensor) -> Any:
    return x.detach().cpu().numpy()


def _sub_batch(batch: Batch, b: int) -> Batch:
    def one(t: Tensor | None) -> Tensor | None:
        return None if t is None else t[b : b + 1]

    return Batch(
        x=batch.x[b : b + 1],
        y=batch.y[b : b + 1],
        mask=batch.mask[b : b + 1],
        src_len=one(batch.src_len),
        tgt_len=one(batch.tgt_len),
    )


class Trainer:
    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.device = resolve_device(config.device)
        self.task = make_task(config)
        init_gen = torch.Generator().manual_seed(config.seed)
        with torch.random.fork_rng(devices=[]):  # module constructors draw from the global RNG
            self.model: SequenceModel | Seq2SeqModel = build_model(config, self.task)
        self._init_parameters(init_gen)
        self.model.to(self.device)
        self._data_gen = torch.Generator().manual_seed(config.seed + 1)
        self._drop_gen = torch.Generator(device=self.device).manual_seed(config.seed + 2)
        self.optimizer = self._make_optimizer(config)
        self.step_count = 0
        self.inspect_cursor = 0  # the next batch of the data in order (TrainConfig.inspect)
        # The CPU loops this trainer's steps run on (engine.native): None follows RNNSCOPE_KERNELS;
        # "torch" or "auto" pins them. A session replays with the loops it was recorded with.
        self.kernels: str | None = None
        # The numerics revision its steps compute with (engine.numerics): a session replays
        # with the revision it was recorded with, as with the loops.
        self.numerics: int = numerics.REVISION

    # -- construction ------------------------------------------------------
    @torch.no_grad()
    def _init_parameters(self, gen: torch.Generator) -> None:
        cfg = self.config
        for module in self.model.modules():
            if isinstance(module, nn.Embedding):
                module.weight.normal_(0.0, 1.0, generator=gen)
            elif isinstance(module, nn.Linear):
                bound = 1.0 / math.sqrt(module.in_features)
                module.weight.uniform_(-bound, bound, generator=gen)
                if module.bias is not None:
                    module.bias.uniform_(-bound, bound, generator=gen)
        if cfg.tie_weights:  # the tied matrix was drawn as an embedding; scale it for a read-out
            for module in self.model.modules():
                if isinstance(module, nn.Embedding):
                    module.weight.mul_(1.0 / math.sqrt(cfg.hidden_size))
        for stack in self.model.stacks().values():
            stack.reset_parameters(gen, init=cfg.init, init_scale=cfg.init_scale, forget_bias=cfg.forget_bias)

    def _make_optimizer(self, cfg: TrainConfig) -> torch.optim.Optimizer:
        params = list(self.model.parameters())
        if cfg.optimizer == "sgd":
            return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum)
        return torch.optim.Adam(params, lr=cfg.lr)

    @classmethod
    def from_state_dict(cls, state: dict[str, Any], device: str | None = None) -> Trainer:
        """A trainer restored from ``state_dict()``; ``device`` overrides the recorded one
        (e.g. a session recorded on CUDA, replayed on a CPU-only machine)."""
        cfg = TrainConfig.from_dict(dict(state["config"]))
        if device is not None:
            cfg = cfg.with_changes(device=device)
        tr = cls(cfg)
        tr.load_state_dict(state)
        return tr

    # -- info --------------------------------------------------------------
    @property
    def parts(self) -> tuple[str, ...]:
        return self.model.parts

    def param_count(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def recurrent_param_count(self) -> int:
        return sum(p.numel() for s in self.model.stacks().values() for p in s.parameters())

    def will_probe(self, step: int | None = None) -> bool:
        n = self.step_count if step is None else step
        every = self.config.probe_every
        return every > 0 and n % every == 0

    # -- live edits --------------------------------------------------------
    def set_param(self, name: str, value: Any) -> Edit:
        """Change a live setting from the next step on. Structural settings (cell, sizes,
        task, init ...) need a new run and are refused here, as is any invalid value."""
        if name not in LIVE_FIELDS:
            known = {f for f in self.config.to_dict()}
            if name in known:
                raise ValueError(
                    f"{name} is structural: it needs a new run (live settings: {', '.join(sorted(LIVE_FIELDS))})"
                )
            raise ValueError(f"unknown setting {name!r}")
        old = getattr(self.config, name)
        new_config = self.config.with_changes(**{name: value})  # validates; raises before any change
        self.config = new_config
        new = getattr(new_config, name)
        if name == "optimizer" and new != old:
            self.optimizer = self._make_optimizer(new_config)
        elif name in ("lr", "momentum"):
            for group in self.optimizer.param_groups:
                if name in group:
                    group[name] = new
        return Edit(self.step_count, name, old, new)

    # -- the step ----------------------------------------------------------
    def step(self, probe: bool | None = None) -> StepRecord:
        """One optimizer step. ``probe``: True/False forces a full frame on or off; None
        follows ``config.probe_every``. Probing never changes what training does."""
        with self._loops():
            return self._step(probe)

    @contextmanager
    def _loops(self) -> Iterator[None]:
        """The loops and numerics revision this trainer's steps run under."""
        with ExitStack() as stack:
            if self.kernels is not None:
                stack.enter_context(native.forced(self.kernels))
            stack.enter_context(numerics.pinned(self.numerics))
            yield

    def fingerprint(self) -> dict[str, Any]:
        """What decides the bits of this trainer's steps here (``engine.numerics.fingerprint``)."""
        return numerics.fingerprint(kernels=self.loops(), device=str(self.device), rev=self.numerics)

    def loops(self) -> str:
        """The loops this trainer's recurrences run on: ``engine.native.variant()`` under its
        ``kernels`` pin on the CPU (loading the C++ kernels if needed), "torch" on CUDA."""
        if self.device.type != "cpu":
            return "torch"
        with self._loops():
            return native.variant()

    def _step(self, probe: bool | None) -> StepRecord:
        t0 = time.perf_counter()
        cfg = self.config
        do_probe = self.will_probe() if probe is None else probe
        b = cfg.probe_index
        if cfg.inspect:  # the data in order, one batch after the other; no update below
            batch = self.task.ordered_batch(self.inspect_cursor, cfg.batch_size).to(self.device)
        else:
            batch = self.task.sample(self._data_gen, cfg.batch_size).to(self.device)
        self.model.train()
        ctx = RunContext(self._drop_gen, cfg.dropout, cfg.variational_dropout, training=True)
        extras: dict[str, float] = {}
        if isinstance(self.model, Seq2SeqModel):
            dec_in = teacher_forced_inputs(batch.y)
            if cfg.teacher_forcing < 1.0:
                forced = torch.rand(batch.y.shape, generator=self._data_gen) < cfg.teacher_forcing
                forced = forced.to(self.device)
                own = self.model.greedy(batch, ctx, batch.y.shape[1], forced)
                own_in = torch.cat([torch.full_like(own[:, :1], SOS_ID), own[:, :-1]], dim=1)
                dec_in = torch.where(forced, dec_in, own_in)
                extras["teacher_forced_fraction"] = float(forced.float().mean())
            out = self.model(batch, ctx, dec_in)
        else:
            out = self.model(batch, ctx)
        loss = self.task.loss(out, batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()

        params = [p for p in self.model.parameters() if p.grad is not None]
        grads = [p.grad for p in params if p.grad is not None]
        total = gradient_norm(grads)
        clipped = total
        if cfg.clip:
            torch.nn.utils.clip_grads_with_norm_(params, cfg.clip_threshold, total)
            clipped = total * torch.clamp(cfg.clip_threshold / (total + 1e-6), max=1.0)
        loss_v, norm_v, clipped_v = (
            float(v) for v in torch.stack([loss.detach().double(), total.double(), clipped.double()]).cpu()
        )
        # Everything the record shows is taken before the update: the frame pairs this
        # step's states with the weights that produced them.
        with torch.no_grad():
            metric = self.task.metric(out.detach(), batch, loss_v)
            extras.update(self.task.extra_metrics(out.detach(), batch))
            parts = self._parts(ctx, batch, b if do_probe else None)
            sample = self._probe_sample(batch, out, ctx, b) if do_probe else None
        nonfinite = None
        if not (math.isfinite(loss_v) and math.isfinite(norm_v)):
            nonfinite = locate_nonfinite(
                ctx.captures,
                loss.detach(),
                [(n, p.grad) for n, p in self.model.named_parameters()],
                list(self.model.named_parameters()),
            )
            if nonfinite is None:  # every element finite, but the global norm overflowed
                where = "loss" if not math.isfinite(loss_v) else "gradient"
                nonfinite = NonFinite(where, detail="global gradient norm overflowed (elements finite)")
            extras["update_skipped"] = 1.0
        elif cfg.inspect:
            extras["inspected"] = float(self.inspect_cursor)  # the batch of the data in order
        else:
            self.optimizer.step()
        if cfg.inspect:
            self.inspect_cursor += 1
        step = self.step_count
        self.step_count += 1
        return StepRecord(
            step=step,
            loss=loss_v,
            metric=float(metric),
            metric_name=self.task.metric_name,
            grad_norm=norm_v,
            grad_norm_clipped=clipped_v,
            lr=float(cfg.lr),
            clip_threshold=float(cfg.clip_threshold) if cfg.clip else None,
            parts=parts,
            probe_index=b,
            probe=sample,
            nonfinite=nonfinite,
            step_time=time.perf_counter() - t0,
            extras=extras,
        )

    def _parts(self, ctx: RunContext, batch: Batch, b: int | None) -> dict[str, PartRecord]:
        stacks = self.model.stacks()
        if not isinstance(self.model, Seq2SeqModel):
            return {"rnn": part_record(stacks["rnn"], ctx.captures["rnn"], None, b)}
        assert batch.src_len is not None and batch.tgt_len is not None
        S, _U = batch.x.shape[1], batch.y.shape[1]
        src_valid = torch.arange(S, device=self.device)[:, None] < batch.src_len[None, :]  # (S, B)
        tgt_valid = batch.mask.t()  # (U, B)
        return {
            "encoder": part_record(
                stacks["encoder"],
                ctx.captures["encoder"],
                src_valid,
                b,
                None if b is None else int(batch.src_len[b]),
            ),
            "decoder": part_record(
                stacks["decoder"],
                ctx.captures["decoder"],
                tgt_valid,
                b,
                None if b is None else int(batch.tgt_len[b]),
            ),
        }

    def _probe_sample(self, batch: Batch, out: Tensor, ctx: RunContext, b: int) -> ProbeSample:
        preds = self.task.predictions(out.detach())
        first = next(iter(ctx.first_inputs.values()))  # (T, B, E)
        sample = ProbeSample(
            input=_np(batch.x[b]),
            target=_np(batch.y[b]),
            prediction=_np(preds[b]),
            mask=_np(batch.mask[b]),
            embedded=_np(first[:, b]).astype("float32"),
        )
        if isinstance(self.model, Seq2SeqModel):
            one = _sub_batch(batch, b)
            quiet = RunContext(self._drop_gen, training=False)
            sample.free_running = _np(self.model.greedy(one, quiet, batch.y.shape[1])[0])
        return sample

    # -- evaluation ----------------------------------------------------------
    def evaluate(self) -> tuple[float, float]:
        """(loss, metric) on the task's fixed validation batches, without dropout.

        Seq2Seq models are evaluated as they are used: greedy autoregressive decoding from
        <SOS>, each step fed the model's own previous output (no teacher forcing). The
        metric (exact match) compares those greedy outputs with the targets; the loss is the
        cross-entropy of the logits along that greedy path."""
        self.model.eval()
        losses, metrics = [], []
        with torch.no_grad(), self._loops():
            for vb in self.task.validation_batches(self.config.batch_size):
                batch = vb.to(self.device)
                ctx = RunContext(self._drop_gen, training=False)
                if isinstance(self.model, Seq2SeqModel):
                    preds = self.model.greedy(batch, ctx, batch.y.shape[1])
                    out = self.model(batch, ctx, dec_in=teacher_forced_inputs(preds))
                    scored = torch.nn.functional.one_hot(preds, out.shape[-1]).to(out.dtype)
                else:
                    out = self.model(batch, ctx)
                    scored = out
                loss = float(self.task.loss(out, batch))
                losses.append(loss)
                metrics.append(self.task.metric(scored, batch, loss))
        self.model.train()
        mean_loss = sum(losses) / len(losses)
        if self.task.metric_name == "perplexity":
            return mean_loss, math.exp(min(mean_loss, 700.0))
        return mean_loss, sum(metrics) / len(metrics)

    # -- weights of your own ------------------------------------------------------
    def import_weights(self, path: str | os.PathLike[str]) -> ImportPlan:
        """Load a PyTorch state_dict or .safetensors file into this run's model (engine.weights:
        the recurrent stack, and the embedding and read-out where names and shapes fit);
        DataError naming the key and the shapes where it does not fit, nothing changed then.
        The optimizer starts afresh."""
        weights = read_weights(path)
        plan = plan_import(self.model, weights, Path(path).name)
        apply_import(self.model, weights, plan)
        self.optimizer = self._make_optimizer(self.config)
        return plan

    # -- state ---------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue bit-identically: config, step, model, optimizer,
        RNG states (data cursor and dropout). Tensors are detached CPU copies."""

        def cpu(tree: Any) -> Any:
            if isinstance(tree, Tensor):
                return tree.detach().to("cpu", copy=True)
            if isinstance(tree, dict):
                return {k: cpu(v) for k, v in tree.items()}
            if isinstance(tree, list):
                return [cpu(v) for v in tree]
            if isinstance(tree, tuple):
                return tuple(cpu(v) for v in tree)
            return tree

        return {
            "format": STATE_FORMAT,
            "config": self.config.to_dict(),
            "step": self.step_count,
            "inspect_cursor": self.inspect_cursor,
            "model": cpu(dict(self.model.state_dict())),
            "optimizer": cpu(self.optimizer.state_dict()),
            "rng": {
                "data": self._data_gen.get_state(),
                "dropout": self._drop_gen.get_state().cpu(),
                "dropout_device": self.device.type,
            },
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state from ``state_dict()``. The structural settings must match this
        trainer's (a different cell or size needs a new Trainer: ``from_state_dict``)."""
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"unsupported trainer state format {state.get('format')!r}")
        cfg = TrainConfig.from_dict(dict(state["config"]))
        mine, theirs = self.config.to_dict(), cfg.to_dict()
        structural = [k for k in mine if k not in LIVE_FIELDS and k != "device" and mine[k] != theirs[k]]
        if structural:
            raise ValueError(f"state has different structural settings: {', '.join(structural)}")
        self.config = cfg.with_changes(device=self.config.device)
        self.model.load_state_dict(state["model"])
        self.optimizer = self._make_optimizer(self.config)
        self.optimizer.load_state_dict(state["optimizer"])
        rng = state["rng"]
        self._data_gen.set_state(rng["data"])
        if rng.get("dropout_device") == self.device.type:
            self._drop_gen.set_state(rng["dropout"].to(self._drop_gen.get_state().device))
        else:  # a CUDA generator state cannot drive a CPU generator: reseed deterministically
            self._drop_gen.manual_seed(self.config.seed + 2 + int(state["step"]))
        self.step_count = int(state["step"])
        self.inspect_cursor = int(state.get("inspect_cursor", 0))
