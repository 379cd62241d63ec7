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
    from engine.demos import DEFAULT_DEMO, get_demo

    try:
        demo = get_demo(getattr(args, "demo", None) or DEFAULT_DEMO)
    except ValueError as exc:
        sys.stderr.write(f"rnnscope: error: {exc}\n")
        return 2
    from engine import native

    try:
        native.mode()
        native.prepare_in_background()  # compiles on a first run; training waits for it only if it must
    except ValueError as exc:  # a bad RNNSCOPE_KERNELS
        sys.stderr.write(f"rnnscope: error: {exc}\n")
        return 2
    session = getattr(args, "session", None)
    if session is not None and not Path(session).is_file():
        sys.stderr.write(f"rnnscope: error: {session}: no such session file\n")
        return 2

    app = make_app()
    from gui import settings
    from gui.main_window import MainWindow

    settings.prune_unsaved()
    win = MainWindow(interactive=not screenshot, restore_layout=not screenshot)
    if session is not None:
        win.open_path(session)
    else:
        win.start_demo(demo)
    freeze_startup_heap()
    if screenshot:
        return take_screenshot(
            app, win, screenshot, int(getattr(args, "steps", 200) or 0), from_session=session is not None
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


def take_screenshot(
    app: Any, win: Any, path: str, steps: int, *, from_session: bool = False, timeout: float = 600.0
) -> int:
    """Train ``steps`` steps (or load the session), show the last one and save the window as PNG."""
    c = win.controller
    win.controller.worker.pause_on_hit = False  # a picture of N steps: breakpoints only mark
    win.resize(*SCREENSHOT_SIZE)
    win.show()
    code = 0
    try:
        if from_session:
            ok = _wait(
                app, win, lambda: c.mode == "replay" and c.record is not None and not c.busy_text, timeout
            )
        else:
            ok = _wait(app, win, lambda: c.mode == "live", timeout)
            if ok and steps > 0:
                c.run_until(steps)
                ok = _wait(app, win, lambda: c.steps >= steps and not c.playing, timeout)
                c.go_live()
                ok = ok and _wait(
                    app, win, lambda: c.record is not None and c.record.has_frame and not c.busy_text, 60
                )
        if not ok:
            sys.stderr.write(
                f"rnnscope: error: timed out preparing the screenshot ({win.errors[-1:] or 'no error'})\n"
            )
            code = 1
        cfg = c.config
        if cfg is not None:
            win.cursor.set(max(0, cfg.seq_len // 2))
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
            print(f"wrote {out} ({c.steps} steps, step {c.shown_step} shown)")
    finally:
        win.close()
    return code
