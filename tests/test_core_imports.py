"""omega_core must never depend on the screens: not on Textual, not on omega_tui.

Why: the server and the batch front end run without a terminal, and a core that pulls in Textual
pays its import time on every server start and can break on machines without a usable terminal.
Two checks, because each misses what the other catches: importing everything catches indirect
imports through third-party code; the source scan catches imports inside functions that the
import check never runs.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORE = REPO / "omega_core"
FORBIDDEN = re.compile(r"^(textual|omega_tui)(\.|$)")

_IMPORT_ALL = """
import importlib, json, pkgutil, sys
import omega_core
failed = []
for info in pkgutil.walk_packages(omega_core.__path__, "omega_core.", onerror=failed.append):
    if info.name.rsplit(".", 1)[-1] == "__main__":
        continue  # importing __main__ would run the program
    importlib.import_module(info.name)
print(json.dumps({
    "failed": failed,
    "loaded": sorted(m for m in sys.modules if m.startswith("omega_core")),
    "forbidden": sorted(
        m for m in sys.modules
        if m == "textual" or m.startswith("textual.")
        or m == "omega_tui" or m.startswith("omega_tui.")
    ),
}))
"""


def test_importing_all_of_omega_core_loads_no_textual() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, f"importing omega_core failed:\n{proc.stderr}"
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["failed"] == []
    assert "omega_core.config" in report["loaded"]  # the walk did run
    assert report["forbidden"] == [], "omega_core imported: " + ", ".join(report["forbidden"])


def _forbidden_imports(source: str, label: str) -> list[str]:
    """Import statements anywhere in the source (also inside functions), and string module names
    (``importlib.import_module("textual")``, ``__import__("omega_tui.app")``)."""
    tree = ast.parse(source, filename=label)
    found: list[str] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = [node.value]
        found += [f"{label}:{node.lineno}: {n}" for n in names if FORBIDDEN.match(n)]
    return found


def test_omega_core_source_never_imports_textual_or_omega_tui() -> None:
    sources = sorted(CORE.rglob("*.py"))
    assert sources, "no omega_core sources found"
    offenders = [
        hit
        for path in sources
        for hit in _forbidden_imports(
            path.read_text(encoding="utf-8"), str(path.relative_to(REPO))
        )
    ]
    assert offenders == [], "forbidden imports in omega_core:\n" + "\n".join(offenders)


def test_source_scan_catches_lazy_imports() -> None:
    """The scanner itself must see imports hidden in function bodies."""
    source = (
        "def show():\n    from textual.app import App\n    return App\n"
        "def tui():\n    import importlib\n    return importlib.import_module('omega_tui.app')\n"
        "def fine():\n    import textualize_not_textual, omega_tuition\n"
    )
    hits = _forbidden_imports(source, "lazy.py")
    assert hits == ["lazy.py:2: textual.app", "lazy.py:6: omega_tui.app"]
