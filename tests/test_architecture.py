"""Architecture rules of DESIGN.md, checked on the source:

- dependencies point one way, gui -> sessions -> engine: engine and sessions never import
  Qt, pyqtgraph or gui (neither at import time nor anywhere in their source), and engine
  never imports sessions;
- nothing is ever unpickled from a file: no pickle (or its relatives), torch.load only with
  weights_only=True, numpy.load never with allow_pickle=True.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUI_ROOTS = frozenset(
    {"PySide6", "PySide2", "shiboken6", "shiboken2", "PyQt5", "PyQt6", "qtpy", "pyqtgraph", "gui"}
)
PICKLE_ROOTS = frozenset({"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "shelve", "joblib"})


def py_files(*names: str) -> list[Path]:
    out: list[Path] = []
    for name in names:
        p = ROOT / name
        if p.is_file():
            out.append(p)
        elif p.is_dir():
            out.extend(sorted(q for q in p.rglob("*.py") if "__pycache__" not in q.parts))
    return out


PACKAGES = ("engine", "sessions", "gui", "cli")  # installed as rnnscope.engine ... (rnnscope/ links them)
TOP_LEVEL_NAMES = frozenset({*PACKAGES, "main"})


def module_name(path: Path, root: Path = ROOT) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if root == ROOT and parts and parts[0] in PACKAGES:
        parts.insert(0, "rnnscope")
    return ".".join(parts)


def layer(module: str) -> str:
    """The layer a module belongs to: ``rnnscope.gui.x`` -> ``gui``; other modules their root."""
    parts = module.split(".")
    return parts[1] if parts[0] == "rnnscope" and len(parts) > 1 else parts[0]


def imported_modules(path: Path, tree: ast.AST | None = None, root: Path = ROOT) -> Iterator[tuple[str, int]]:
    """Absolute names of every module the file imports (anywhere: top level, functions,
    TYPE_CHECKING blocks, importlib.import_module("...") / __import__("...") literals)."""
    if tree is None:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    if not path.is_relative_to(root):
        root = path.parent.parent
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                mod = ".".join([*base, node.module] if node.module else base)
            else:
                mod = node.module or ""
            yield mod, node.lineno
            for alias in node.names:  # "from x import y" may import the module x.y
                yield f"{mod}.{alias.name}", node.lineno
        elif isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            if name in ("import_module", "__import__") and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    yield arg.value, node.lineno


def roots(path: Path) -> set[tuple[str, int]]:
    return {(layer(m), line) for m, line in imported_modules(path) if m}


# --- one-way dependencies -------------------------------------------------------------------------


def test_engine_and_sessions_load_no_qt_at_import_time() -> None:
    """Import every engine and sessions module in a fresh interpreter: no Qt, pyqtgraph or
    gui module may end up in sys.modules."""
    mods = sorted(module_name(p) for p in py_files("engine", "sessions"))
    assert "rnnscope.engine.trainer" in mods and "rnnscope.sessions" in mods
    code = (
        "import importlib, json, sys\n"
        f"for m in {mods!r}:\n"
        "    importlib.import_module(m)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {sorted(GUI_ROOTS)!r} or m.startswith('rnnscope.gui'))\n"
        "print(json.dumps(bad))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded == [], f"engine/sessions pulled in GUI modules: {loaded}"


@pytest.mark.parametrize("package", ["engine", "sessions"])
def test_no_gui_import_in_source(package: str) -> None:
    files = py_files(package)
    assert files
    bad = [
        f"{p.relative_to(ROOT)}:{line} imports {r}" for p in files for r, line in roots(p) if r in GUI_ROOTS
    ]
    assert not bad, "\n".join(bad)


def test_engine_does_not_import_sessions() -> None:
    bad = [
        f"{p.relative_to(ROOT)}:{line} imports {r}"
        for p in py_files("engine")
        for r, line in roots(p)
        if r in ("sessions", "main", "cli")
    ]
    assert not bad, "\n".join(bad)


def test_sessions_does_not_import_the_app() -> None:
    bad = [
        f"{p.relative_to(ROOT)}:{line} imports {r}"
        for p in py_files("sessions")
        for r, line in roots(p)
        if r in ("main", "cli", "gui")
    ]
    assert not bad, "\n".join(bad)


# --- never unpickle --------------------------------------------------------------------------------


def _is_true(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def unsafe_loads(path: Path, source: str | None = None) -> list[str]:
    """pickle-family imports, torch.load without weights_only=True, numpy.load with
    allow_pickle set (anything but a literal False)."""
    text = path.read_text(encoding="utf-8") if source is None else source
    tree = ast.parse(text, filename=str(path))
    problems = [
        f"{path.name}:{line} imports {r}"
        for m, line in imported_modules(path, tree)
        if (r := m.split(".")[0]) in PICKLE_ROOTS
    ]
    # names bound to torch / numpy and to their load functions
    torch_names, numpy_names, torch_load, numpy_load = {"torch"}, {"numpy"}, set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "torch":
                    torch_names.add(a.asname or "torch")
                elif a.name == "numpy":
                    numpy_names.add(a.asname or "numpy")
        elif isinstance(node, ast.ImportFrom) and node.module in ("torch", "numpy") and not node.level:
            for a in node.names:
                if a.name == "load":
                    (torch_load if node.module == "torch" else numpy_load).add(a.asname or "load")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        kind = None
        if isinstance(f, ast.Attribute) and f.attr == "load" and isinstance(f.value, ast.Name):
            kind = "torch" if f.value.id in torch_names else "numpy" if f.value.id in numpy_names else None
        elif isinstance(f, ast.Attribute) and f.attr == "load" and isinstance(f.value, ast.Attribute):
            kind = "torch" if f.value.attr == "serialization" else None
        elif isinstance(f, ast.Name):
            kind = "torch" if f.id in torch_load else "numpy" if f.id in numpy_load else None
        if isinstance(f, ast.Attribute) and f.attr in ("read_pickle", "from_pickle"):
            problems.append(f"{path.name}:{node.lineno} calls {f.attr}")
        kws = {k.arg: k.value for k in node.keywords if k.arg}
        if kind == "torch" and not ("weights_only" in kws and _is_true(kws["weights_only"])):
            problems.append(f"{path.name}:{node.lineno} torch.load without weights_only=True")
        if kind == "numpy" and "allow_pickle" in kws:
            v = kws["allow_pickle"]
            if not (isinstance(v, ast.Constant) and v.value is False):
                problems.append(f"{path.name}:{node.lineno} numpy load with allow_pickle")
    return problems


def test_nothing_unpickles() -> None:
    files = py_files("engine", "sessions", "gui", "main.py", "cli")
    assert any(p.name == "main.py" for p in files)
    bad = [msg for p in files for msg in unsafe_loads(p)]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ("import pickle\n", True),
        ("from pickle import loads\n", True),
        ("import torch\nx = torch.load('a')\n", True),
        ("import torch\nx = torch.load('a', weights_only=False)\n", True),
        ("import torch as T\nx = T.load('a', map_location='cpu')\n", True),
        ("from torch import load\nx = load('a')\n", True),
        ("import numpy as np\nx = np.load('a', allow_pickle=True)\n", True),
        ("import importlib\nm = importlib.import_module('pickle')\n", True),
        ("import torch\nx = torch.load('a', weights_only=True, map_location='cpu')\n", False),
        ("import numpy as np\nx = np.load('a')\ny = np.load('b', allow_pickle=False)\n", False),
        ("import json\nx = json.load(open('a'))\n", False),
    ],
)
def test_unpickle_detector_itself(source: str, flagged: bool, tmp_path: Path) -> None:
    """The checker above must catch what it claims to (else its pass means nothing)."""
    path = tmp_path / "snippet.py"
    path.write_text(source)
    assert bool(unsafe_loads(path)) is flagged


def test_gui_import_detector_itself(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    f = pkg / "mod.py"
    f.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from PySide6 import QtCore\n"
        "def later():\n    import pyqtgraph as pg\n"
        "import importlib\nimportlib.import_module('rnnscope.gui.views')\n"
        "from ..shiboken6 import x\n"
    )
    found = {layer(m) for m, _ in imported_modules(f, ast.parse(f.read_text()))}
    assert {"PySide6", "pyqtgraph", "gui", "shiboken6"} <= found


# --- packaging: nothing squats a generic top-level name ------------------------------------------


def test_no_source_imports_a_top_level_engine_sessions_gui_cli_or_main() -> None:
    """Every import of the project goes through the rnnscope package: a bare ``import engine``
    would work from a checkout (its root is on sys.path) and fail, or load someone else's
    ``engine``, once installed."""
    files = py_files(*PACKAGES, "main.py", "tests", "benchmarks", "examples")
    assert len(files) > 100
    bad = [
        f"{p.relative_to(ROOT)}:{line} imports {m}"
        for p in files
        for m, line in imported_modules(p)
        if m.split(".")[0] in TOP_LEVEL_NAMES
    ]
    assert not bad, "\n".join(bad)


def test_rnnscope_links_the_top_level_folders() -> None:
    for name in PACKAGES:
        link = ROOT / "rnnscope" / name
        assert link.is_dir() and link.resolve() == (ROOT / name).resolve(), name


@pytest.mark.slow
def test_the_wheel_installs_only_the_rnnscope_package(tmp_path: Path) -> None:
    """Build the wheel from a copy of the tracked files: its top level is rnnscope/ and its
    dist-info, nothing else; the shipped text and the C++ sources are inside."""
    import shutil
    import zipfile

    src = tmp_path / "src"
    tracked = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60)
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, tracked):
        source, target = ROOT / name, src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(source.readlink())
        elif source.is_file():  # (a file deleted but not yet committed is skipped)
            shutil.copy2(source, target)
    out = tmp_path / "dist"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (wheel,) = out.glob("rnnscope-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"rnnscope", wheel.name.split("-py")[0] + ".dist-info"}
    for needed in (
        "rnnscope/__init__.py",
        "rnnscope/engine/trainer.py",
        "rnnscope/sessions/session.py",
        "rnnscope/gui/shell/app.py",
        "rnnscope/cli/main.py",
        "rnnscope/engine/data/coriolanus.txt",
        "rnnscope/engine/native/recurrence.cpp",
    ):
        assert needed in names, needed
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "rnnscope = rnnscope.cli.main:main" in zipfile.ZipFile(wheel).read(entry).decode()


# --- mypy covers every module that imports no Qt ---------------------------------------------------


def runtime_imports(path: Path) -> set[str]:
    """Modules ``path`` imports when it runs (not those under ``if TYPE_CHECKING:``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = [ast.Pass()]
    return {m for m, _ in imported_modules(path, tree) if m}


def test_mypy_checks_every_module_that_imports_no_qt() -> None:
    import tomllib

    files = {p: module_name(p) for p in py_files("gui")}
    imports = {module_name(p): runtime_imports(p) for p in files}
    qt: set[str] = set()
    changed = True
    while changed:  # a module is Qt if it imports Qt, or a gui module that does
        changed = False
        for mod, deps in imports.items():
            if mod not in qt and any(
                d.split(".")[0] in GUI_ROOTS - {"gui"} or any(d == q or d.startswith(q + ".") for q in qt)
                for d in deps
            ):
                qt.add(mod)
                changed = True
    qt_free = {p for p, mod in files.items() if mod not in qt}
    # the application model is Qt-free but for its one QObject adapter and the main-thread post
    model = {p.name for p in (ROOT / "gui" / "model").glob("*.py")}
    qt_model = model - {p.name for p in qt_free if p.parent.name == "model"}
    assert {"app.py", "run_files.py", "demos.py", "timeline.py", "jobs.py"} <= model
    assert qt_model == {"controller.py", "main_thread.py"}, f"gui/model modules that import Qt: {qt_model}"
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["files"]
    checked = {(ROOT / f).resolve() for f in config}
    missing = []
    for p in qt_free:
        rel = p.relative_to(ROOT)
        via = (ROOT / "rnnscope" / rel).resolve()
        if not any(via == c or c in via.parents for c in checked) and p.read_text().count("\n") > 15:
            missing.append(str(rel))
    assert not missing, f"Qt-free modules mypy does not check (add them to [tool.mypy] files): {missing}"
