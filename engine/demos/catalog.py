"""The demos: configs chosen (and measured on a CPU) so each effect shows within a few dozen
to a few hundred steps. See texts.py for what each one teaches."""

from __future__ import annotations

from rnnscope.engine.breakpoints import Breakpoint
from rnnscope.engine.config import TrainConfig
from rnnscope.engine.demos import checks
from rnnscope.engine.demos.base import Demo, Suggestion
from rnnscope.engine.demos.texts import EXPLANATIONS, TITLES
from rnnscope.engine.tasks.series_file import shipped_data


def _nonfinite() -> Breakpoint:
    return Breakpoint("nonfinite", id="nonfinite")


def _demo(name: str, **kwargs: object) -> Demo:
    title, title_ko = TITLES[name]
    return Demo(name=name, title=title, title_ko=title_ko, explanation=EXPLANATIONS[name], **kwargs)  # type: ignore[arg-type]


def lstm_copy() -> Demo:
    """The default demo (``python main.py``): an LSTM that visibly learns within ~200 steps."""
    cfg = TrainConfig(
        cell="lstm",
        task="copy",
        hidden_size=64,
        seq_len=14,
        delay=4,
        batch_size=32,
        seed=0,
        device="auto",
        optimizer="adam",
        lr=1e-2,
        forget_bias=1.0,
        probe_every=1,
    )
    return _demo(
        "lstm-copy",
        runs={"LSTM": cfg},
        layout=("gates", "health", "gradient_flow", "sample"),
        steps_hint=200,
        breakpoints=(_nonfinite(),),
        checker=checks.check_lstm_copy,
        suggestions=(
            Suggestion(
                "lr",
                1e-3,
                {
                    "en": "Lower the learning rate to 0.001 (live): learning slows down.",
                    "ko": "학습률을 0.001로 낮춰 보세요(실시간): 학습이 느려집니다.",
                },
            ),
            Suggestion(
                "delay",
                8,
                {
                    "en": "Lengthen the delay to 8 (new run): the gradient must travel farther back.",
                    "ko": "지연을 8로 늘려 보세요(새 실행): 기울기가 더 멀리 거슬러 가야 합니다.",
                },
            ),
        ),
    )


def vanishing() -> Demo:
    base = TrainConfig(
        cell="rnn",
        task="copy",
        hidden_size=32,
        seq_len=60,
        delay=40,
        batch_size=16,
        seed=0,
        device="auto",
        optimizer="adam",
        lr=1e-3,
        probe_every=5,
    )
    return _demo(
        "vanishing",
        runs={"RNN": base, "LSTM": base.with_changes(cell="lstm", forget_bias=1.0)},
        layout=("gradient_flow", "health", "jacobian"),
        steps_hint=100,
        breakpoints=(
            _nonfinite(),
            Breakpoint("grad_ratio_below", threshold=1e-8, enabled=False, id="ratio"),
        ),
        suggestions=(
            Suggestion(
                "init_scale",
                0.7,
                {
                    "en": "Shrink the RNN's W_hh (new run): it vanishes faster.",
                    "ko": "RNN의 W_hh를 줄여 보세요(새 실행): 더 빨리 소실됩니다.",
                },
                run="RNN",
            ),
        ),
        checker=checks.check_vanishing,
    )


def exploding() -> Demo:
    cfg = TrainConfig(
        cell="rnn",
        task="sine",
        hidden_size=32,
        seq_len=50,
        batch_size=32,
        seed=0,
        device="auto",
        optimizer="sgd",
        lr=0.1,
        init="orthogonal",
        init_scale=2.0,
        clip=False,
        clip_threshold=1.0,
        probe_every=1,
    )
    return _demo(
        "exploding",
        runs={"RNN": cfg},
        layout=("health", "gradient_flow", "singular_values"),
        steps_hint=60,
        breakpoints=(
            _nonfinite(),
            Breakpoint("grad_norm_above", threshold=1e6, enabled=False, id="big-norm"),
        ),
        suggestions=(
            Suggestion(
                "clip",
                True,
                {
                    "en": "Rewind to step 0, turn clipping on (threshold 1) and continue: it trains.",
                    "ko": "0번째 스텝으로 되감고 클리핑(임계값 1)을 켠 뒤 계속하세요: 학습됩니다.",
                },
                rewind_to=0,
            ),
        ),
        checker=checks.check_exploding,
    )


def init_scale() -> Demo:
    base = TrainConfig(
        cell="rnn",
        task="adding",
        hidden_size=32,
        seq_len=40,
        batch_size=16,
        seed=0,
        device="auto",
        optimizer="adam",
        lr=1e-3,
        init="orthogonal",
        probe_every=1,
    )
    return _demo(
        "init-scale",
        runs={f"init_scale {s:g}": base.with_changes(init_scale=s) for s in (0.5, 1.0, 2.0)},
        layout=("singular_values", "gradient_flow", "jacobian"),
        steps_hint=50,
        breakpoints=(_nonfinite(),),
        suggestions=(
            Suggestion(
                "init_scale",
                3.0,
                {
                    "en": "Try 3 (new run): the gradient grows ~x1.35 per step back.",
                    "ko": "3으로 해 보세요(새 실행): 기울기가 스텝당 약 ×1.35씩 커집니다.",
                },
            ),
        ),
        checker=checks.check_init_scale,
    )


def highway() -> Demo:
    base = TrainConfig(
        cell="lstm",
        task="copy",
        hidden_size=32,
        seq_len=60,
        delay=40,
        batch_size=16,
        seed=0,
        device="auto",
        optimizer="adam",
        lr=1e-3,
        probe_every=5,
    )
    return _demo(
        "highway",
        runs={f"forget bias {b:g}": base.with_changes(forget_bias=b) for b in (0.0, 1.0, 2.0)},
        layout=("gradient_flow", "gates", "states"),
        steps_hint=60,
        breakpoints=(
            _nonfinite(),
            Breakpoint("forget_gate_below", threshold=0.6, enabled=False, id="forget"),
        ),
        suggestions=(
            Suggestion(
                "forget_bias",
                4.0,
                {
                    "en": "Try forget bias 4 (new run): f starts at 0.98.",
                    "ko": "망각 편향 4로 해 보세요(새 실행): f가 0.98에서 시작합니다.",
                },
            ),
        ),
        checker=checks.check_highway,
    )


def gru_vs_lstm() -> Demo:
    base = TrainConfig(
        cell="gru",
        task="adding",
        hidden_size=64,
        seq_len=30,
        batch_size=32,
        seed=0,
        device="auto",
        optimizer="adam",
        lr=3e-3,
        probe_every=10,
    )
    return _demo(
        "gru-vs-lstm",
        runs={"GRU": base, "LSTM": base.with_changes(cell="lstm", forget_bias=1.0)},
        layout=("compare", "health", "gates"),
        steps_hint=400,
        breakpoints=(_nonfinite(),),
        checker=checks.check_gru_vs_lstm,
    )


def seq2seq() -> Demo:
    base = TrainConfig(
        cell="lstm",
        task="reverse",
        hidden_size=64,
        embed_size=16,
        seq_len=8,
        batch_size=32,
        seed=0,
        device="auto",
        optimizer="adam",
        lr=3e-3,
        probe_every=1,
    )
    return _demo(
        "seq2seq",
        runs={f"teacher forcing {p:g}": base.with_changes(teacher_forcing=p) for p in (1.0, 0.5, 0.0)},
        layout=("sample", "health", "gradient_flow"),
        steps_hint=200,
        breakpoints=(_nonfinite(),),
        suggestions=(
            Suggestion(
                "teacher_forcing",
                0.5,
                {
                    "en": "Lower teacher forcing on the p = 1.0 run (live).",
                    "ko": "p = 1.0 실행의 교사 강요 비율을 낮춰 보세요(실시간).",
                },
                run="teacher forcing 1",
            ),
        ),
        checker=checks.check_seq2seq,
    )


def language_model() -> Demo:
    base = TrainConfig(
        cell="lstm",
        task="charlm",
        layers=2,
        hidden_size=128,
        embed_size=128,
        seq_len=64,
        batch_size=32,
        seed=0,
        device="auto",
        optimizer="adam",
        lr=3e-3,
        probe_every=20,
    )
    return _demo(
        "language-model",
        runs={
            "no dropout": base,
            "dropout 0.3": base.with_changes(dropout=0.3),
            "variational 0.3": base.with_changes(dropout=0.3, variational_dropout=True),
            "tied weights": base.with_changes(tie_weights=True),
        },
        layout=("compare", "health", "sample"),
        steps_hint=400,
        breakpoints=(_nonfinite(),),
        checker=checks.check_language_model,
    )


def sunspots() -> Demo:
    """Real data (engine/data/sunspots.csv, 1700-2008): forecast next year's sunspot number."""
    data = shipped_data("sunspots.csv")
    base = TrainConfig(
        cell="rnn",
        task="series",
        data=data,
        time_column="YEAR",
        horizon=1,
        seq_len=40,
        hidden_size=32,
        batch_size=32,
        seed=0,
        device="auto",
        optimizer="adam",
        lr=3e-3,
        probe_every=5,
    )
    return _demo(
        "sunspots",
        runs={"RNN": base, "LSTM": base.with_changes(cell="lstm", forget_bias=1.0)},
        layout=("compare", "health", "sample", "gradient_flow"),
        steps_hint=300,
        breakpoints=(_nonfinite(),),
        suggestions=(
            Suggestion(
                "seq_len",
                11,
                {
                    "en": "Shorten the window to 11 years, one cycle (new run): less history to forecast from.",
                    "ko": "창을 한 주기인 11년으로 줄여 보세요(새 실행): 예측에 쓸 과거가 줄어듭니다.",
                },
                run="LSTM",
            ),
        ),
        checker=checks.check_sunspots,
    )


def all_demos() -> list[Demo]:
    return [
        lstm_copy(),
        vanishing(),
        exploding(),
        init_scale(),
        highway(),
        gru_vs_lstm(),
        seq2seq(),
        language_model(),
        sunspots(),
    ]
