"""The training options of the command line, generated from TrainConfig's field metadata.

One option per config field (``--hidden-size`` for ``hidden_size``), with a help text that
gives what it does, its range or choices, and its default; ``config_from_args`` turns the
parsed options into a TrainConfig on top of the chosen task's suggested settings. Nothing
here restates a range: a new field with its Knob is a new option.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from rnnscope.engine.config import DEFAULTS, FIELD_TYPES, KNOBS, Knob, TrainConfig
from rnnscope.engine.datasets import KINDS, kind_of, read_file, store
from rnnscope.engine.tasks import TASKS, data_task, task_names

# Options named differently from their field: ``--clip THRESHOLD`` sets clip and clip_threshold.
ALIASES = {"cell": ("--model",)}
NOT_OPTIONS = frozenset({"clip", "clip_threshold"})


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _default_text(name: str, k: Knob) -> str:
    value = DEFAULTS[name]
    if value is None:
        return k.none_means
    if value == "":
        return "none"
    suggested = sorted(t for t, cls in TASKS.items() if name in cls.default_config)
    extra = f"; {', '.join(suggested)} suggest their own" if suggested else ""
    return f"{value:g}{extra}" if isinstance(value, float) else f"{value}{extra}"


def help_text(name: str) -> str:
    """What the option does, what it accepts and its default: '... in (0, 10]; default 0.001'."""
    k = KNOBS[name]
    kind = FIELD_TYPES[name]
    if k.choices is not None:
        accepts = ""  # argparse lists the choices in the metavar
    elif kind is bool or kind is str:
        accepts = ""
    else:
        accepts = f"; {'an integer' if kind is int else 'a number'} in {k.interval()}"
    live = " (live)" if k.live else ""
    if kind is bool:
        return f"{k.help}{live}; off by default"
    return f"{k.help}{accepts}; default {_default_text(name, k)}{live}"


def _or(names: tuple[str, ...]) -> str:
    """("a", "b", "c") -> "a, b or c"."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _choice(name: str, options: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text in options:
            return text
        if name == "cell" and text.lower() in ("seq2seq", "encoder-decoder"):
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a cell: Seq2Seq is a task (--task {_or(task_names('seq2seq'))}), "
                "with --cell for the encoder and --decoder-cell for the decoder"
            )
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from {', '.join(options)})")

    parse.__name__ = name
    return parse


def add_config_options(p: argparse.ArgumentParser) -> None:
    """One option per TrainConfig field (and ``--clip THRESHOLD``); unset options are None."""
    group = p.add_argument_group(
        "run settings",
        "The window's Parameters. Live ones can also change between two steps in the window; "
        "a task may suggest its own defaults (those the options do not set).",
    )
    for name, k in KNOBS.items():
        if name in NOT_OPTIONS or not k.shown:
            continue
        names = (flag(name), *ALIASES.get(name, ()))
        kind = FIELD_TYPES[name]
        kw: dict[str, Any] = {"dest": name, "default": None, "help": help_text(name)}
        if k.choices is not None:
            options = k.options()
            kw.update(type=_choice(name, options), metavar="{" + ",".join(options) + "}")
        elif kind is bool:
            kw.update(action="store_true")
        else:
            kw.update(type=kind, metavar=name.upper())
        group.add_argument(*names, **kw)
    group.add_argument(
        "--data",
        default=None,
        metavar="FILE",
        help="train on your own data file: a time series (.csv, .npy, .npz), a text (.txt) or "
        "source<TAB>target pairs (.tsv); the task follows the file's kind, the session stores the file",
    )
    group.add_argument(
        "--data-kind",
        choices=KINDS,
        default=None,
        help="the kind of data in --data FILE when its suffix does not say (series, text, pairs)",
    )
    group.add_argument(
        "--clip",
        type=float,
        default=None,
        metavar="THRESHOLD",
        help=f"clip gradients by their global norm at THRESHOLD, a number in {KNOBS['clip_threshold'].interval()}; "
        "off by default (live)",
    )


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The config the options ask for: the task's suggested settings, then every option given
    (ValueError naming the field when a value is out of range)."""
    chosen = {name: getattr(args, name) for name in KNOBS if name not in NOT_OPTIONS}
    if args.clip is not None:
        chosen["clip"] = True
        chosen["clip_threshold"] = args.clip
    chosen = {k: v for k, v in chosen.items() if v is not None}
    path = getattr(args, "data", None)
    if path is not None:
        df = store.register(read_file(path))
        kind = kind_of(df.name, getattr(args, "data_kind", None))
        chosen["data"] = df.id
        chosen.setdefault("task", data_task(kind))
    elif getattr(args, "data_kind", None):
        raise ValueError("--data-kind says the kind of the --data FILE: give the file too")
    task = chosen.get("task", DEFAULTS["task"])
    return TrainConfig(**{**TASKS[task].default_config, **chosen})
