"""Loading a sibling bench script as a module (``bench/`` is not a package): the isolation and
restart benches reuse ``server.py``'s ``BenchServer`` this way."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parent


def load_sibling(name: str) -> ModuleType:
    """``bench/<name>.py`` as the module ``omega_bench_<name>`` (loaded once)."""
    module_name = f"omega_bench_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
