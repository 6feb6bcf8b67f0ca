"""``--json`` names the line of the file where each form starts, through the server and embedded
(issue 13, item 2: through the server, forms on lines 1, 2, 5, 6 came back as 1, 3, 9, 11)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from omega_core.config import load_config
from omega_core.server.paths import ServerPaths
from tests.core.server.live_server import stop_server

REPO = Path(__file__).resolve().parents[2]
PROGRAM = "\n".join([
    "(define a 1)",            # 1
    "(define b 2)",            # 2
    "",                        # 3
    "; a comment",             # 4
    "(+ a b)",                 # 5
    "(define (f x)",           # 6
    "  ; inside",              # 7
    "  (* x 2)) (f 4)",        # 8: the second form of the entry starts here
    ":session trace 1",        # 9
    "",                        # 10
    "(car",                    # 11
    "  5)",                    # 12
    "",
])
EXPECTED = [(1, "a", None), (2, "b", None), (5, "3", None), (6, "f", None), (8, "8", None), (9, None, None),
            (11, None, "car")]


@pytest.fixture
def config_path(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "omega.toml"
    path.write_text("[server]\nidle_shutdown_s = 20\n", encoding="utf-8")
    try:
        yield path
    finally:
        config = load_config(path)
        stop_server(ServerPaths.for_config(config), config)


@pytest.mark.parametrize("where", [[], ["--embedded"]], ids=["server", "embedded"])
def test_json_lines_are_the_files(tmp_path: Path, config_path: Path, where: list[str]) -> None:
    program = tmp_path / "p.omega"
    program.write_text(PROGRAM, encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    done = subprocess.run([sys.executable, "-m", "omega_tui.cli", "--config", str(config_path), "--batch", "--json",
                           str(program), *where], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 1, done.stderr  # (car 5) fails
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    seen = [(row["line"], row.get("value"), (row["error"] or "").split(":")[0] or None) for row in rows]
    assert seen == EXPECTED
    assert "line 11" in rows[-1]["error"]  # the message names the file's line too
