"""The models rnnscope trains: a sequence model and a Seq2Seq encoder-decoder.

SequenceModel: read-in (embedding for token tasks, a linear read-in for continuous
ones) -> RecurrentStack -> linear read-out, optionally tying the read-out to the
embedding (weight tying: one (V, H) matrix serves both).

Seq2SeqModel: the encoder reads the whole source; its final state (h, and c when both
sides are LSTMs; a GRU/RNN decoder takes h alone) at each sample's own last source
position initialises the decoder; the decoder starts from <SOS>. Training feeds the true
y_{t-1} with probability ``teacher_forcing`` per position and otherwise the model's own
previous prediction (scheduled sampling); greedy decoding feeds only its own.

Dropout (standard or variational) acts on every non-recurrent connection: the read-in
output, between stacked layers and before the read-out (Zaremba et al. 2014). The
variational kind draws one mask per sequence and reuses it at every timestep (Gal &
Ghahramani 2016, without the recurrent mask, which would break the equivalence with
nn.LSTM). Masks come from the trainer's own generator, never the global RNG.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from rnnscope.engine.cells import Capture
from rnnscope.engine.config import TrainConfig
from rnnscope.engine.layers import RecurrentStack
from rnnscope.engine.tasks import SOS_ID, Batch, Task


@dataclass
class RunContext:
    """Per-step settings and outputs of one forward pass."""

    gen: torch.Generator  # dropout masks (on the model's device)
    dropout: float = 0.0
    variational: bool = False
    training: bool = True
    captures: dict[str, list[Capture]] = field(default_factory=dict)
    first_inputs: dict[str, Tensor] = field(default_factory=dict)  # part -> (T, B, E) first-layer input

    def drop(self, x: Tensor) -> Tensor:
        """Dropout on a time-major (T, B, F) tensor."""
        p = self.dropout
        if not self.training or p <= 0.0:
            return x
        shape = (1, *x.shape[1:]) if self.variational else x.shape
        mask = torch.empty(shape, device=x.device, dtype=x.dtype).bernoulli_(1.0 - p, generator=self.gen)
        return x * mask.div_(1.0 - p)

    def between(self, x: Tensor, layer: int) -> Tensor:
        return self.drop(x)

    def caps(self, part: str, layers: int) -> list[Capture]:
        self.captures[part] = [Capture() for _ in range(layers)]
        return self.captures[part]


def _readout(cfg: TrainConfig, embed: nn.Embedding | None, out_size: int) -> nn.Linear:
    read_out = nn.Linear(cfg.hidden_size, out_size)
    if cfg.tie_weights:
        assert embed is not None
        read_out.weight = embed.weight  # tied: (V, H), one matrix
    return read_out


class SequenceModel(nn.Module):
    parts = ("rnn",)

    def __init__(self, cfg: TrainConfig, task: Task) -> None:
        super().__init__()
        self.kind = task.kind
        embed_size = cfg.hidden_size if cfg.tie_weights else cfg.embed_size
        self.embed: nn.Embedding | None = None
        self.read_in: nn.Linear | None = None
        if task.kind == "token":
            self.embed = nn.Embedding(task.input_size, embed_size)
        else:
            self.read_in = nn.Linear(task.input_size, embed_size)
        self.rnn = RecurrentStack(cfg.cell, embed_size, cfg.hidden_size, cfg.layers)
        self.read_out = _readout(cfg, self.embed, task.output_size)

    def stacks(self) -> dict[str, RecurrentStack]:
        return {"rnn": self.rnn}

    def forward(self, batch: Batch, ctx: RunContext) -> Tensor:
        x = batch.x.transpose(0, 1)  # (T, B) ids or (T, B, I) values
        if self.embed is not None:
            e = self.embed(x)
        else:
            assert self.read_in is not None
            e = self.read_in(x)
        e = ctx.drop(e)  # (T, B, E)
        ctx.first_inputs["rnn"] = e
        out, _, _ = self.rnn(e, between=ctx.between, captures=ctx.caps("rnn", self.rnn.layers))
        return self.read_out(ctx.drop(out)).transpose(0, 1)  # (B, T, O)


class Seq2SeqModel(nn.Module):
    parts = ("encoder", "decoder")

    def __init__(self, cfg: TrainConfig, task: Task) -> None:
        super().__init__()
        tgt_vocab = task.output_size
        embed_size = cfg.hidden_size if cfg.tie_weights else cfg.embed_size
        self.src_embed = nn.Embedding(task.input_size, cfg.embed_size)
        self.tgt_embed = nn.Embedding(tgt_vocab, embed_size)
        self.encoder = RecurrentStack(cfg.cell, cfg.embed_size, cfg.hidden_size, cfg.layers)
        self.decoder = RecurrentStack(cfg.cells["decoder"], embed_size, cfg.hidden_size, cfg.layers)
        self.read_out = _readout(cfg, self.tgt_embed, tgt_vocab)

    def stacks(self) -> dict[str, RecurrentStack]:
        return {"encoder": self.encoder, "decoder": self.decoder}

    def encode(self, batch: Batch, ctx: RunContext) -> tuple[Tensor, Tensor | None]:
        """Final encoder state at each sample's last source position: h (L, B, H), c or None."""
        assert batch.src_len is not None
        e = ctx.drop(self.src_embed(batch.x.t()))  # (S, B, E)
        ctx.first_inputs["encoder"] = e
        _, hs, cs = self.encoder(e, between=ctx.between, captures=ctx.caps("encoder", self.encoder.layers))
        last = (batch.src_len - 1).clamp(min=0)  # (B,)
        cols = torch.arange(last.shape[0], device=last.device)
        h0 = torch.stack([h[last, cols] for h in hs])  # (L, B, H)
        c0 = None
        if self.encoder.cell == "lstm" and self.decoder.cell == "lstm":
            c0 = torch.stack([c[last, cols] for c in cs if c is not None])
        return h0, c0

    def decode(self, dec_in: Tensor, h0: Tensor, c0: Tensor | None, ctx: RunContext) -> Tensor:
        """Decoder over given input ids (B, U) -> logits (B, U, V)."""
        e = ctx.drop(self.tgt_embed(dec_in.t()))  # (U, B, E)
        ctx.first_inputs["decoder"] = e
        out, _, _ = self.decoder(
            e, h0, c0, between=ctx.between, captures=ctx.caps("decoder", self.decoder.layers)
        )
        return self.read_out(ctx.drop(out)).transpose(0, 1)

    def forward(self, batch: Batch, ctx: RunContext, dec_in: Tensor | None = None) -> Tensor:
        h0, c0 = self.encode(batch, ctx)
        if dec_in is None:
            dec_in = teacher_forced_inputs(batch.y)
        return self.decode(dec_in, h0, c0, ctx)

    @torch.no_grad()
    def greedy(self, batch: Batch, ctx: RunContext, steps: int, forced: Tensor | None = None) -> Tensor:
        """Autoregressive decoding (B, steps) of argmax ids. Where ``forced`` (B, steps) bool is
        True the true previous token is fed instead (scheduled sampling); None: never."""
        quiet = RunContext(gen=ctx.gen, dropout=ctx.dropout, variational=ctx.variational, training=False)
        h, c = self.encode(batch, quiet)
        B = batch.x.shape[0]
        prev = torch.full((B,), SOS_ID, dtype=torch.long, device=batch.x.device)
        preds = []
        for t in range(steps):
            if forced is not None and t > 0:
                prev = torch.where(forced[:, t], batch.y[:, t - 1], prev)
            e = self.tgt_embed(prev).unsqueeze(0)  # (1, B, E)
            out, hs, cs = self.decoder(e, h, c)
            h = torch.stack([x[-1] for x in hs])
            c = torch.stack([x[-1] for x in cs if x is not None]) if self.decoder.cell == "lstm" else None
            prev = self.read_out(out[0]).argmax(-1)
            preds.append(prev)
        return torch.stack(preds, dim=1)


def teacher_forced_inputs(y: Tensor) -> Tensor:
    """[SOS, y_0 .. y_{U-2}] for targets y (B, U)."""
    sos = torch.full_like(y[:, :1], SOS_ID)
    return torch.cat([sos, y[:, :-1]], dim=1)


def build_model(cfg: TrainConfig, task: Task) -> SequenceModel | Seq2SeqModel:
    if task.kind == "seq2seq":
        return Seq2SeqModel(cfg, task)
    return SequenceModel(cfg, task)


def param_count(module: nn.Module) -> int:
    """Distinct parameters (a tied matrix counts once)."""
    return sum(p.numel() for p in module.parameters())
