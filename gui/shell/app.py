"""run_gui(args): what ``python main.py [session] [--demo NAME] [--screenshot PNG --steps N]
[--threads N]`` does: a QApplication, the main window with a demo or a session, and, with
--screenshot, an offscreen run of N steps saved as a PNG of the whole window."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

SCREENSHOT_SIZE = (1600, 1000)


def _apply_dark_palette(app: Any) -> None:
    from PySide6.QtGui import QColor, QPalette

    app.setStyle("Fusion")
    p = QPalette()
    base, window, text = QColor("#16181d"), QColor("#202329"), QColor("#d0d0d0")
    for role, colour in (
        (QPalette.ColorRole.Window, window),
        (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, base),
        (QPalette.ColorRole.AlternateBase, window),
        (QPalette.ColorRole.ToolTipBase, window),
        (QPalette.ColorRole.ToolTipText, text),
        (QPalette.ColorRole.Text, text),
        (QPalette.ColorRole.Button, QColor("#2a2e35")),
        (QPalette.ColorRole.ButtonText, text),
        (QPalette.ColorRole.Highlight, QColor("#0072B2")),
        (QPalette.ColorRole.HighlightedText, QColor("#ffffff")),
    ):
        p.setColor(role, colour)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#6b7079"))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#6b7079"))
    app.setPalette(p)


_QUIET = ("propagateSizeHints",)  # the offscreen platform's harmless complaint


def _on_qt_message(_mode: Any, _context: Any, message: str) -> None:
    if not any(q in message for q in _QUIET):
        sys.stderr.write(message + "\n")


def make_app() -> Any:
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    qInstallMessageHandler(_on_qt_message)
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("rnnscope")
        app.setOrganizationName("rnnscope")
        _apply_dark_palette(app)
    return app


def freeze_startup_heap() -> None:
    """Move every object alive now (modules of torch, numpy, Qt, pyqtgraph, the window's items)
    out of the cyclic garbage collector's reach. Without it a full collection walks them all
    and, holding the GIL, stalls both the event loop and training (measured: ~200-250 ms)."""
    import gc

    gc.collect()
    gc.freeze()


def run_gui(args: Any) -> int:
    screenshot = getattr(args, "screenshot", None)
    if screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    threads = getattr(args, "threads", None)
    if threads:
        import torch

        torch.set_num_threads(int(threads))
    from rnnscope.engine.demos import DEFAULT_DEMO, get_demo

    try:
        demo = get_demo(getattr(args, "demo", None) or DEFAULT_DEMO)
    except ValueError as exc:
        sys.stderr.write(f"rnnscope: error: {exc}\n")
        return 2
    session = getattr(args, "session", None)
    if session is not None and not Path(session).is_file():
        sys.stderr.write(f"rnnscope: error: {session}: no such session file\n")
        return 2
    follow = bool(getattr(args, "follow", False))
    if follow and session is None:
        sys.stderr.write("rnnscope: error: --follow needs the session file to follow\n")
        return 2
    from rnnscope.engine import native

    try:
        native.mode()
    except ValueError as exc:  # a bad RNNSCOPE_KERNELS
        sys.stderr.write(f"rnnscope: error: {exc}\n")
        return 2

    app = make_app()
    from rnnscope.gui.shell import settings
    from rnnscope.gui.shell.main_window import MainWindow

    # Only once Qt and every window module are imported: the kernels' thread imports torch's
    # extension tools, and importing alongside PySide6's start-up (shiboken bootstrapping its
    # signature support) failed now and then with "Problem importing shibokensupport: cannot
    # import name 'mapping'" (seen once in CI, in the window a test started).
    native.prepare_in_background()  # compiles on a first run; training waits for it only if it must

    settings.prune_unsaved()
    win = MainWindow(interactive=not screenshot, restore_layout=not screenshot)
    if session is not None:
        win.open_path(session, follow=follow)
    else:
        win.start_demo(demo)
    freeze_startup_heap()
    if screenshot:
        steps = getattr(args, "steps", None)
        return take_screenshot(
            app,
            win,
            screenshot,
            (0 if session is not None else demo.steps_hint) if steps is None else int(steps),
            from_session=session is not None,
            timeout=float(getattr(args, "timeout", None) or SCREENSHOT_TIMEOUT),
        )
    win.show()
    return int(app.exec())


def _wait(app: Any, win: Any, done: Any, timeout: float) -> bool:
    """Run the event loop until ``done()`` (checked every 20 ms) or ``timeout`` seconds."""
    from PySide6.QtCore import QEventLoop, QTimer

    if done():
        return True
    loop = QEventLoop()
    end = time.monotonic() + timeout
    check = QTimer()
    check.setInterval(20)
    check.timeout.connect(lambda: (done() or time.monotonic() > end) and loop.quit())
    check.start()
    loop.exec()
    check.stop()
    return bool(done())


def screenshot_timestep(c: Any) -> int:
    """Where a screenshot puts the timestep cursor: in the middle of the positions the probe
    sample's loss counts (the copy task's recall region), else in the middle of the sequence."""
    import numpy as np

    rec = c.record
    probe = rec.probe if rec is not None else None
    if probe is not None and probe.mask is not None:
        counted = np.flatnonzero(np.asarray(probe.mask).reshape(-1))
        if counted.size:
            offset = list(rec.part_slices.values())[-1].start  # Seq2Seq: the decoder's time
            return int(offset + counted[counted.size // 2])
    cfg = c.config
    return max(0, cfg.seq_len // 2) if cfg is not None else 0


SCREENSHOT_TIMEOUT = 600.0  # s; --timeout changes it


def _progress(c: Any) -> str:
    """How far the session got, for a screenshot that gave up."""
    reader = c.reader
    runs = c.demos.runs() if c.demos.demo is not None else {}
    if runs and reader is not None:  # the run in training: its own count (the file's may lag a step)
        counts = {label: c.steps if b == c.live_branch_id else reader.length(b) for label, b in runs.items()}
        return ", ".join(f"{label}: {n} steps" for label, n in counts.items())
    return f"{c.steps} steps"


def _fail(what: str, c: Any, win: Any, timeout: float) -> None:
    errors = [e for e in win.errors if e]
    why = f"; the last error: {errors[-1]}" if errors else "; no error was reported"
    sys.stderr.write(
        f"rnnscope: error: gave up after {timeout:g} s waiting for {what} (trained so far: "
        f"{_progress(c)}{why}). A slower machine may need a longer --timeout.\n"
    )


def take_screenshot(
    app: Any,
    win: Any,
    path: str,
    steps: int,
    *,
    from_session: bool = False,
    timeout: float = SCREENSHOT_TIMEOUT,
) -> int:
    """Train ``steps`` steps (or load the session), show the last one and save the window as PNG.

    A demo with several runs trains every run to ``steps`` (the comparison it teaches needs all
    of them), shows its first run and also saves ``<name>-compare.png``: the compare window with
    its first and last runs side by side on the demo's first panel."""
    c = win.controller
    win.controller.worker.pause_on_hit = False  # a picture of N steps: breakpoints only mark
    win.resize(*SCREENSHOT_SIZE)
    win.show()
    code = 0
    try:
        if from_session:  # (a followed file: until it has ``steps`` steps)
            ok = _wait(
                app,
                win,
                lambda: (
                    c.mode in ("replay", "follow")
                    and c.record is not None
                    and not c.busy_text
                    and (c.mode == "replay" or c.steps >= steps)
                ),
                timeout,
            )
            if not ok:
                _fail("the session to open", c, win, timeout)
        else:
            ok = _wait(
                app, win, lambda: c.mode == "live" and (c.demos.demo is not None or not c.busy_text), timeout
            )
            if not ok:
                _fail("the run to start", c, win, timeout)
            elif steps > 0:
                ok = _train_all(app, win, steps, timeout)
        if ok:
            first = next(iter(c.demos.runs()), None)
            if first is not None and len(c.demos.runs()) > 1:
                _wait(app, win, lambda: not c.busy_text, timeout)
                c.demos.show_run(first)
                ok = _wait(
                    app, win, lambda: c.demos.run_of(c.branch_id) == first and c.record is not None, timeout
                )
            ok = ok and _wait(
                app, win, lambda: c.record is not None and c.record.has_frame and not c.busy_text, 60
            )
            if not ok:
                _fail("the shown step's frame", c, win, timeout)
        if not ok:
            code = 1
        win.cursor.set(screenshot_timestep(c))
        win.status.clearMessage()
        for _ in range(5):
            app.processEvents()
            win._on_tick()
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not win.grab().save(str(out), "PNG"):
            sys.stderr.write(f"rnnscope: error: could not write {out}\n")
            code = 1
        else:
            shown = "no step" if c.shown_step is None else f"step {c.shown_step}"
            print(f"wrote {out} ({_progress(c)}; {shown} shown)")
        if (
            ok
            and len(c.demos.runs()) > 1
            and c.path is not None
            and not _compare_shot(app, win, out, timeout)
        ):
            code = 1
    finally:
        win.close()
    return code


def _train_all(app: Any, win: Any, steps: int, timeout: float) -> bool:
    """Train the run (every run of a demo) to ``steps`` steps."""
    c = win.controller
    runs = c.demos.runs()
    if len(runs) > 1:
        c.demos.train_runs(steps)

        def done() -> bool:
            reader = c.reader
            return (
                reader is not None
                and all(reader.length(b) >= steps for b in runs.values())
                and not c.playing
                and not c.demos.training
            )

        ok = _wait(app, win, done, timeout)
        if not ok:
            _fail(f"every run to reach {steps} steps", c, win, timeout)
        return ok
    c.run_until(steps)
    ok = _wait(app, win, lambda: c.steps >= steps and not c.playing, timeout)
    if not ok:
        _fail(f"{steps} steps of training", c, win, timeout)
        return False
    c.go_live()
    return True


def _compare_shot(app: Any, win: Any, out: Path, timeout: float) -> str:
    """Save the compare window of the demo's first and last runs beside ``out``; its path, or
    "" when it could not be made."""
    from rnnscope.gui.compare import CompareSource
    from rnnscope.gui.compare.window import PANELS
    from rnnscope.gui.panels import DOCK_OF_DEMO_NAME

    c = win.controller
    runs = list(c.demos.runs().items())
    (la, ba), (lb, bb) = runs[0], runs[-1]
    layout = c.demos.demo.layout if c.demos.demo is not None else ("gradient_flow",)
    panel = next(
        (DOCK_OF_DEMO_NAME[p] for p in layout if DOCK_OF_DEMO_NAME.get(p) in PANELS), "gradient_flow"
    )
    cw = win.open_compare(CompareSource(c.path, ba, la), CompareSource(c.path, bb, lb), panel=panel)
    cw.resize(*SCREENSHOT_SIZE)
    try:
        if not _wait(app, cw, lambda: cw.ready and not cw._opening, timeout):
            _fail("the compare window", c, win, timeout)
            return ""
        cw.set_step(cw.steps - 1)
        _wait(app, cw, lambda: cw.ready, 60)
        cw.cursor.set(screenshot_timestep(c))
        for _ in range(5):
            app.processEvents()
        target = out.with_name(f"{out.stem}-compare{out.suffix or '.png'}")
        if not cw.grab().save(str(target), "PNG"):
            sys.stderr.write(f"rnnscope: error: could not write {target}\n")
            return ""
        print(f"wrote {target} ({la} against {lb}, {panel}, step {cw.step})")
        return str(target)
    finally:
        cw.close()
