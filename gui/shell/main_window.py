"""MainWindow: docks the panels, owns the actions, menus and the ~30 Hz redraw timer.

The timer is the only place where training output reaches the views: each tick takes
the steps the worker finished (``controller.poll``), and the panels that are visible
redraw from the newest one. Training speed and redraw speed are thus independent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QTabBar,
    QToolBar,
    QWidget,
)

from rnnscope.engine.demos import DEMOS, Demo
from rnnscope.gui.compare import CompareSource, CompareWindow
from rnnscope.gui.compare.dialog import CompareDialog
from rnnscope.gui.export import snapshot
from rnnscope.gui.export.teaching import TeachingExport
from rnnscope.gui.model.controller import RunController
from rnnscope.gui.panels import DOCK_OF_DEMO_NAME, DOCKS, DockContext
from rnnscope.gui.shell import gc_guard, settings
from rnnscope.gui.shell.cursor import TimeCursor
from rnnscope.gui.shell.data_dialog import DataRunDialog
from rnnscope.gui.shell.properties import PropertiesDialog
from rnnscope.gui.shell.status import StatusBar
from rnnscope.gui.shell.transport import TransportBar
from rnnscope.sessions.export import write_record
from rnnscope.sessions.weights_export import write_step_weights

REDRAW_MS = 33
# engine.demos panel ids -> this window's docks (the first one found is raised; others ignored)
DOCK_SPECS = {d.name: d for d in DOCKS}
SESSION_FILTER = "rnnscope sessions (*.rnnscope);;All files (*)"


class MainWindow(QMainWindow):
    def __init__(
        self,
        *,
        interactive: bool = True,
        controller: RunController | None = None,
        restore_layout: bool = True,
    ) -> None:
        super().__init__()
        gc_guard.install()  # Qt objects must never be freed by a collection on a worker thread
        self.interactive = interactive  # False: no modal dialogs (tests, screenshots)
        self.errors: list[str] = []
        self.controller = controller or RunController(self)
        self.cursor = TimeCursor(self)
        self.resize(1600, 1000)
        self.setDockNestingEnabled(True)
        self.actions_by_name: dict[str, QAction] = {}
        self.compare_windows: list[CompareWindow] = []
        self.teaching = TeachingExport(self)
        self._make_actions()

        c = self.controller
        ctx = DockContext(c, self.cursor, lambda text: self.confirm(text))
        self.panels: dict[str, QWidget] = {d.name: d.make(ctx) for d in DOCKS}
        self.docks: dict[str, QDockWidget] = {}
        for name, panel in self.panels.items():
            dock = QDockWidget(DOCK_SPECS[name].title, self)
            dock.setObjectName(f"dock-{name}")
            dock.setWidget(panel)
            dock.setFeatures(
                QDockWidget.DockWidgetFeature.DockWidgetMovable
                | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                | QDockWidget.DockWidgetFeature.DockWidgetClosable
            )
            self.docks[name] = dock
        self.transport = TransportBar(c, self.actions_by_name)
        self.transport_bar = QToolBar("Transport", self)
        self.transport_bar.setObjectName("toolbar-transport")
        self.transport_bar.addWidget(self.transport)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.transport_bar)
        self.status = StatusBar(c, self)
        self.setStatusBar(self.status)
        self._default_layout()
        self._default_state = self.saveState()
        self._make_menus()
        self._sized = False
        if restore_layout:
            self._restore_layout()

        self.transport.seek_requested.connect(self._on_seek)
        self.transport.branch.activated.connect(self._on_branch_chosen)
        for signal in (c.session_changed, c.config_changed, c.playing_changed):
            signal.connect(self._update_state)
        c.run_changed.connect(self._update_state)
        c.error.connect(self.show_error)
        c.message.connect(lambda text: self.status.showMessage(text, 8000))
        c.breakpoint_hit.connect(self._on_breakpoint_hit)
        c.breakpoints_changed.connect(self._update_pause_nan)
        self._next_redraw = 0.0
        self._redraw_started = 0.0
        self.redraw_costs: list[float] = []  # seconds per redraw, paints included (recent ones)
        self.redraw_cpu: list[float] = []  # CPU seconds of the GUI thread in those redraws
        self._redraw_cpu0 = 0.0
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self._on_tick)
        self.timer.start()
        self._update_state()

    # ================================================================ layout
    def _default_layout(self) -> None:
        """Each dock where its registry entry places it (gui/panels/__init__.py: DOCKS)."""
        d = self.docks
        areas = {
            "left": Qt.DockWidgetArea.LeftDockWidgetArea,
            "right": Qt.DockWidgetArea.RightDockWidgetArea,
            "bottom": Qt.DockWidgetArea.BottomDockWidgetArea,
        }
        for dock in d.values():
            dock.setFloating(False)
            dock.show()
        for spec in DOCKS:
            place, dock = spec.place, d[spec.name]
            if place.how == "split":
                orientation = (
                    Qt.Orientation.Horizontal
                    if place.orientation == "horizontal"
                    else Qt.Orientation.Vertical
                )
                self.splitDockWidget(d[place.of], dock, orientation)
            elif place.how == "tab":
                self.tabifyDockWidget(d[place.of], dock)
            else:
                self.addDockWidget(areas[place.how], dock)
        for spec in DOCKS:
            if spec.raised:
                d[spec.name].raise_()
            if spec.hidden:
                d[spec.name].hide()  # shown by the View menu, or by a demo whose layout names it
        self._size_docks()

    def _size_docks(self) -> None:
        """Default proportions for the window's current size (applied again once it is shown)."""
        d = self.docks
        w, h = max(self.width(), 800), max(self.height(), 600)
        widths = [int(w * f) for f in (0.19, 0.23, 0.29, 0.29)]  # the left tabs' names fit whole
        self.resizeDocks(
            [d["params"], d["gradient_flow"], d["gates"], d["health"]], widths, Qt.Orientation.Horizontal
        )
        self.resizeDocks(
            [d["gradient_flow"], d["states"]], [int(h * 0.52), int(h * 0.48)], Qt.Orientation.Vertical
        )
        self.resizeDocks([d["gates"], d["sample"]], [int(h * 0.66), int(h * 0.34)], Qt.Orientation.Vertical)

    def childEvent(self, event: Any) -> None:
        """Dock tabs show their whole names (Qt elides them mid-word: "Paramet…"); a tab bar
        too narrow for them scrolls instead. QMainWindow makes a tab bar whenever docks are
        tabified, so each is set up as it arrives."""
        super().childEvent(event)
        if event.type() == QEvent.Type.ChildAdded and isinstance(event.child(), QTabBar):
            bar = event.child()
            bar.setElideMode(Qt.TextElideMode.ElideNone)
            bar.setUsesScrollButtons(True)

    def _restore_layout(self) -> None:
        geometry, state = settings.load_layout()
        if geometry is not None:
            self.restoreGeometry(geometry)
        self._sized = state is not None and self.restoreState(state)

    def reset_layout(self) -> None:
        self.restoreState(self._default_state)
        self._size_docks()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if not self._sized:  # first start: proportions for the real window size
            self._sized = True
            self._size_docks()

    # ================================================================ actions
    def _action(
        self, key: str, text: str, slot: Callable[..., Any], shortcut: Any = None, tip: str = ""
    ) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        a.setToolTip(tip or text)
        a.triggered.connect(slot)
        self.addAction(a)
        self.actions_by_name[key] = a
        return a

    def _make_actions(self) -> None:
        a = self._action
        a("play", "▶ Play", self.toggle_play, Qt.Key.Key_Space, "play / pause training (Space)")
        a("step", "Step", lambda: self.controller.step(), Qt.Key.Key_Right, "one optimizer step (→)")
        a(
            "live",
            "Live",
            lambda: self.controller.go_live(),
            Qt.Key.Key_End,
            "show the newest step again (End)",
        )
        a(
            "continue",
            "Continue from here",
            self.continue_from_here,
            "Ctrl+B",
            "keep steps up to the shown one and train on a new branch",
        )
        a(
            "reset",
            "Reset",
            self.reset_run,
            "Ctrl+R",
            "fresh weights with the current settings (a new run in this session)",
        )
        a("t_prev", "Timestep cursor ←", lambda: self.cursor.move(-1), "Shift+Left")
        a("t_next", "Timestep cursor →", lambda: self.cursor.move(1), "Shift+Right")
        a("new", "&New run", self.new_run, QKeySequence.StandardKey.New)
        a(
            "new_from_data",
            "New run from &data…",
            self.data_run_dialog,
            "Ctrl+Shift+N",
            "train on your own time series (CSV, NumPy), text or TSV pairs; the session stores the file",
        )
        a("open", "&Open…", self.open_dialog, QKeySequence.StandardKey.Open)
        a("save_as", "Save &As…", self.save_as_dialog, QKeySequence.StandardKey.SaveAs)
        a("export_png", "Window as PNG…", lambda: self.teaching.png_dialog(self))
        a("export_npz", "Shown step as NPZ…", lambda: self.export_data_dialog("npz"))
        a("export_csv", "Shown step as CSV…", lambda: self.export_data_dialog("csv"))
        a(
            "export_weights",
            "Weights of the shown step (PyTorch)…",
            self.export_weights_dialog,
            None,
            "state_dict files an nn.RNN/LSTM/GRU loads with strict=True, and the whole model",
        )
        a(
            "properties",
            "&Properties…",
            self.properties_dialog,
            "Ctrl+I",
            "the session file: config, branches, and the machine kinds that recorded it",
        )
        a("quit", "&Quit", self.close, QKeySequence.StandardKey.Quit)
        a("reset_layout", "Reset layout", self.reset_layout)
        a("compare", "&Compare runs…", self.compare_dialog, "Ctrl+K", "two branches or files side by side")
        nan = a("pause_nan", "Pause on NaN/Inf", self._on_pause_nan)
        nan.setCheckable(True)
        nan.setChecked(True)

    def _make_menus(self) -> None:
        m = self.menuBar()
        act = self.actions_by_name
        file_menu = m.addMenu("&File")
        file_menu.addAction(act["new"])
        file_menu.addAction(act["new_from_data"])
        self.demos_menu = file_menu.addMenu("&Demos")
        self.demo_actions: dict[str, QAction] = {}
        for demo in DEMOS.values():
            da = self.demos_menu.addAction(demo.title)
            da.setToolTip(f"{demo.name}: {len(demo.runs)} run(s), {', '.join(demo.runs)}")
            da.triggered.connect(lambda _=False, d=demo: self.choose_demo(d))
            self.demo_actions[demo.name] = da
        self.demos_menu.aboutToShow.connect(self._title_demos)
        file_menu.addAction(act["open"])
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addAction(act["save_as"])
        exp = file_menu.addMenu("&Export")
        exp.addAction(act["export_png"])
        panels = exp.addMenu("Panel as PNG")
        for name, dock in self.docks.items():
            pa = panels.addAction(dock.windowTitle() + "…")
            pa.triggered.connect(lambda _=False, n=name: self.teaching.png_dialog(self.panels[n]))
        exp.addAction(act["export_npz"])
        exp.addAction(act["export_csv"])
        exp.addAction(act["export_weights"])
        self.teaching.add_to_menu(exp)
        file_menu.addAction(act["properties"])
        file_menu.addSeparator()
        file_menu.addAction(act["quit"])
        run = m.addMenu("&Run")
        for key in ("play", "step", "live", "continue", "reset", "t_prev", "t_next"):
            run.addAction(act[key])
        run.addSeparator()
        run.addAction(act["pause_nan"])
        view = m.addMenu("&View")
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addAction(self.transport_bar.toggleViewAction())
        view.addSeparator()
        view.addAction(act["compare"])
        view.addAction(act["reset_layout"])

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = settings.recent_files()
        if not files:
            self.recent_menu.addAction("(none)").setEnabled(False)
        for f in files:
            ra = self.recent_menu.addAction(f)
            ra.triggered.connect(lambda _=False, p=f: self.open_path(p))

    # ================================================================ commands
    def toggle_play(self) -> None:
        if self.controller.playing:
            self.controller.pause()
        else:
            self.controller.play()

    def continue_from_here(self) -> None:
        c = self.controller
        step = c.shown_step
        if step is None:
            return
        c.files.continue_from(step)

    def reset_run(self) -> None:
        if self.confirm(
            "Start again from step 0 with fresh weights and the current settings?\nThe current run stays in the session."
        ):
            self.controller.files.reset()

    def _leave_current_run(self, what: str) -> bool:
        """Ask before leaving a run that has steps but no saved file (it stays among the
        unsaved runs in File > Open's folder, until pruned)."""
        c = self.controller
        if not (c.unsaved and c.steps > 0):
            return True
        return self.confirm(
            f"{what}?\nThe current run is not saved: it stays in the unsaved-runs folder for a while "
            "(File > Save As keeps it)."
        )

    def new_run(self) -> None:
        cfg = self.controller.config
        if cfg is not None and self._leave_current_run("Start a new run"):
            self.controller.files.new_run(cfg)

    def data_run_dialog(self, path: str | None = None) -> DataRunDialog:
        """File > New run from data…: the run starts when the dialog is accepted (and the
        current unsaved run may be left). Returns the dialog (tests drive it)."""
        dialog = DataRunDialog(self.controller, self, path)

        def start() -> None:
            cfg = dialog.config()
            if cfg is not None and self._leave_current_run("Start a run on your data"):
                self.controller.files.new_run(cfg, weights=dialog.weights)

        dialog.accepted.connect(start)
        if self.interactive:
            dialog.open()
        return dialog

    def choose_demo(self, demo: Demo) -> None:
        """File > Demos: start ``demo`` (after asking, when the current run is unsaved)."""
        if self._leave_current_run(f"Start the demo “{demo.title_for(self._language())}”"):
            self.start_demo(demo)

    def start_demo(self, demo: Demo) -> None:
        """A fresh session with the demo's runs and breakpoints; its layout and explanation shown."""
        self.controller.demos.start(demo)
        self.apply_demo_layout(demo)
        self.status.showMessage(f"demo: {demo.title_for(self._language())}", 15000)

    def apply_demo_layout(self, demo: Demo) -> None:
        """Show the docks the demo names and raise the first; ids this window lacks are ignored."""
        docks = [self.docks.get(DOCK_OF_DEMO_NAME.get(p, p)) for p in demo.layout]
        found = [d for d in docks if d is not None]
        for dock in reversed(found):
            dock.show()
            dock.raise_()
        self.docks["explanation"].show()
        self.docks["explanation"].raise_()

    def _language(self) -> str:
        return str(getattr(self.panels["explanation"], "lang", "en"))

    def _title_demos(self) -> None:
        lang = self._language()
        for name, action in self.demo_actions.items():
            action.setText(DEMOS[name].title_for(lang))

    def open_path(self, path: str | Path, *, follow: bool = False) -> None:
        """Show a session file; a run of the user's own loop (or with ``follow``) is followed live."""
        self.controller.files.open(path, follow=follow)

    def open_dialog(self) -> None:
        start = (
            str(Path(settings.recent_files()[0]).parent)
            if settings.recent_files()
            else str(settings.unsaved_dir())
        )
        path, _ = QFileDialog.getOpenFileName(self, "Open session", start, SESSION_FILTER)
        if path:
            self.open_path(path)

    def save_as_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save session as", str(Path.home() / "run.rnnscope"), SESSION_FILTER
        )
        if path:
            if not path.endswith(".rnnscope"):
                path += ".rnnscope"
            self.controller.files.save_as(path)

    def export_png(self, widget: QWidget, path: str | Path, size: tuple[int, int] | None = None) -> bool:
        ok = snapshot.save_png(widget, path, size)
        if ok:
            self.status.showMessage(f"wrote {path}", 5000)
        else:
            self.show_error(f"could not write {path}")
        return ok

    def properties_dialog(self) -> PropertiesDialog:
        path = self.controller.path
        dlg = PropertiesDialog(Path(path) if path is not None else None, self)
        dlg.show()
        return dlg

    def export_data_dialog(self, fmt: str) -> None:
        rec = self.controller.record
        if rec is None:
            self.show_error("no step to export yet")
            return
        default = str(Path.home() / f"step{rec.step}.{fmt}")
        path, _ = QFileDialog.getSaveFileName(
            self, f"Export step as {fmt.upper()}", default, f"{fmt.upper()} (*.{fmt})"
        )
        if path:
            self.export_data(fmt, path)

    def export_weights_dialog(self) -> None:
        rec = self.controller.record
        if rec is None:
            self.show_error("no step to export yet")
            return
        default = str(Path.home() / f"weights.step{rec.step}")
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export weights", default, "PyTorch state_dict (*.pt);;safetensors (*.safetensors)"
        )
        if path:
            fmt = "safetensors" if "safetensors" in chosen else "state_dict"
            self.export_weights(
                Path(path).with_suffix("") if Path(path).suffix in (".pt", ".safetensors") else path, fmt
            )

    def export_weights(
        self, base: str | Path, fmt: str = "state_dict", on_done: Callable[[list[Path]], None] | None = None
    ) -> None:
        """The weights the shown step ran with (at its start), written on the loader thread."""
        c, rec = self.controller, self.controller.record
        reader = c.reader
        if rec is None or reader is None:
            self.show_error("no step to export yet")
            return
        branch, step = c.branch_id, rec.step

        def work() -> list[Path]:
            reader.wait_for(step, branch=branch, timeout=10.0)  # steps not committed yet
            return write_step_weights(reader, step, base, fmt, branch=branch)

        def done(files: list[Path] | None, exc: BaseException | None) -> None:
            if exc is not None or files is None:
                self.show_error(f"export failed: {exc}")
                return
            self.status.showMessage(
                f"wrote the weights of step {step}: {', '.join(f.name for f in files)}", 8000
            )
            if on_done is not None:
                on_done(files)

        c.background(work, done, busy=f"exporting the weights of step {step}")

    def export_data(self, fmt: str, path: str | Path, on_done: Callable[[Path], None] | None = None) -> None:
        """Write the shown step's arrays on the loader thread (a progress bar shows meanwhile)."""
        rec = self.controller.record
        if rec is None:
            self.show_error("no step to export yet")
            return
        target = Path(path)

        def done(_: Any, exc: BaseException | None) -> None:
            if exc is not None:
                self.show_error(f"export failed: {exc}")
                return
            self.status.showMessage(f"wrote step {rec.step} to {target}", 5000)
            if on_done is not None:
                on_done(target)

        self.controller.background(
            lambda: write_record(rec, target, fmt), done, busy=f"exporting step {rec.step} as {fmt.upper()}"
        )

    def compare_dialog(self) -> None:
        c = self.controller
        dialog = CompareDialog(c.path, c.branch_id if c.path is not None else None, self)
        if dialog.exec() and (pair := dialog.sources()) is not None:
            self.open_compare(*pair)

    def open_compare(self, a: CompareSource, b: CompareSource, panel: str = "gradient_flow") -> CompareWindow:
        """A compare window for two runs (see gui.compare.CompareSource); closed with this window.
        A run this window is training is followed there as it grows."""
        win = CompareWindow(a, b, self, panel=panel, live=self.controller)
        win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.compare_windows.append(win)
        win.closed.connect(lambda: self.compare_windows.remove(win) if win in self.compare_windows else None)
        win.show()
        return win

    # ================================================================ dialogs
    def confirm(self, text: str) -> bool:
        if not self.interactive:
            return True
        answer = QMessageBox.question(self, "rnnscope", text)
        return answer == QMessageBox.StandardButton.Yes

    def show_error(self, text: str) -> None:
        self.errors.append(text)
        self.status.showMessage("⚠ " + text, 15000)
        if self.interactive:
            box = QMessageBox(QMessageBox.Icon.Warning, "rnnscope", text, QMessageBox.StandardButton.Ok, self)
            box.setModal(False)
            box.show()

    # ================================================================ updates
    def _on_tick(self) -> None:
        """Take the finished steps and let the views redraw. A redraw that cost d seconds is
        followed by at least 4 d of rest, so the GUI never takes more than ~1/5 of the time
        (and of the GIL) from training, however slow the machine."""
        now = time.perf_counter()
        if now < self._next_redraw:
            return
        shown = self.controller.shown_step
        cpu = time.thread_time()
        self.controller.poll()
        self.transport.update_position()
        self.status.update_fields()
        if self.controller.shown_step != shown:  # the views changed: time it, paints included
            self._redraw_started = now
            self._redraw_cpu0 = cpu
            QTimer.singleShot(0, self._on_redraw_done)

    def _on_redraw_done(self) -> None:
        """Runs once the redraw's paint events are through (a zero timer queues behind them)."""
        cost = time.perf_counter() - self._redraw_started
        self.redraw_costs.append(cost)
        self.redraw_cpu.append(time.thread_time() - self._redraw_cpu0)
        del self.redraw_costs[:-1000], self.redraw_cpu[:-1000]
        self._next_redraw = self._redraw_started + max(REDRAW_MS / 1000, min(5 * cost, 1.0))

    def _on_seek(self, step: int) -> None:
        self.controller.seek(step)

    def _on_branch_chosen(self, index: int) -> None:
        bid = self.transport.branch.itemData(index)
        if bid is not None and bid != self.controller.branch_id:
            self.controller.files.view_branch(bid)

    def _on_pause_nan(self, on: bool) -> None:
        for bp in self.controller.watch.breakpoints:
            if bp.kind == "nonfinite" and bp.enabled != bool(on):
                self.controller.watch.change(bp.id, enabled=bool(on))

    def _update_pause_nan(self) -> None:
        on = any(b.kind == "nonfinite" and b.enabled for b in self.controller.watch.breakpoints)
        action = self.actions_by_name["pause_nan"]
        if action.isChecked() != on:
            action.blockSignals(True)
            action.setChecked(on)
            action.blockSignals(False)

    def _on_breakpoint_hit(self, hits: list[Any]) -> None:
        """Training paused on ``hits``: say which and where, and put the timestep cursor there."""
        first = hits[0]
        self.status.showMessage("⛔ breakpoint: " + "; ".join(f"{h.name} — {h.message}" for h in hits), 30000)
        if first.timestep is not None:
            self.cursor.set(int(first.timestep))
        self.docks["breakpoints"].show()
        self.docks["breakpoints"].raise_()

    def _update_state(self) -> None:
        c = self.controller
        self.actions_by_name["play"].setText("❚❚ Pause" if c.playing else "▶ Play")
        cfg = c.config
        name = Path(c.path).name if c.path is not None else "no session"
        what = f" — {cfg.cell}/{cfg.task}, H={cfg.hidden_size}, L={cfg.layers}" if cfg is not None else ""
        followed = c.mode == "follow"
        if followed and cfg is None and c.shape is not None:
            parts = ", ".join(f"{p.name} ({p.cell.upper()} H={p.hidden} L={p.layers})" for p in c.shape.parts)
            what = f" — your training loop: {parts}"
        self.setWindowTitle(f"rnnscope — {name}{' (unsaved)' if c.unsaved else ''}{what}")
        for key in ("continue", "reset", "save_as"):  # a followed run is another process's
            self.actions_by_name[key].setEnabled(not followed)
        self.transport.update_views(c.follower.views if followed else [], c.follower.view)
        try:
            branches = c.files.branches()
        except Exception:  # the file is being moved (Save As): try again on the next change
            branches = []
        self.transport.update_branches(branches, c.branch_id)
        self.transport.update_position()
        self.status.update_fields()

    # ================================================================ closing
    def closeEvent(self, event: QCloseEvent) -> None:
        self.timer.stop()
        self.teaching.cancel_all()
        for win in list(self.compare_windows):
            win.close()
        settings.save_layout(self.saveGeometry(), self.saveState())
        self.controller.close()
        super().closeEvent(event)
