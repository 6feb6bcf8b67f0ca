"""The thin client (issue 13, item 5): ``omega --batch`` through a running server loads only what a
client needs. A subprocess runs the CLI in-process and reports ``sys.modules`` at exit.

The first run after a config change loads the config in full (and caches what the client needs,
``client_settings``); every later run is the thin path proper, and must stay free of everything a
one-line run does not need: argparse, the config schema (dataclasses, typing, pathlib, tomllib),
OpenSSL (hashlib, hmac), the socket module, threads, the protocol's and the full client's modules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from omega_core.config import load_config
from omega_core.server.paths import ServerPaths
from tests.core.server.live_server import stop_server

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN = ("omega_core.lang", "omega_core.evaluator", "omega_core.repl", "omega_core.session", "textual",
             "multiprocess", "dill", "omega_tui.app")
NOT_ON_THE_THIN_PATH = frozenset({
    "argparse", "dataclasses", "typing", "pathlib", "tomllib", "inspect", "hashlib", "hmac", "socket", "selectors",
    "threading", "subprocess", "logging", "gettext", "uuid", "omega_core.config", "omega_core.server.protocol",
    "omega_core.server.client", "omega_core.server.client_transport", "omega_core.server.paths",
    "omega_core.server.launcher", "omega_core.server.config_report",
})
"""Exact module names (``omega_core.config`` is not ``omega_core.config_files``, which the thin path uses)."""
PROBE = """
import json, sys
from omega_tui import cli
code = cli.main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def test_batch_through_a_running_server_imports_no_language_and_no_textual(tmp_path: Path) -> None:
    config_path = tmp_path / "omega.toml"
    config_path.write_text("[server]\nidle_shutdown_s = 20\n", encoding="utf-8")
    program = tmp_path / "one.omega"
    program.write_text("(+ 1 2)\n:session list\n", encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        started = subprocess.run([sys.executable, "-m", "omega_tui.cli", "--config", str(config_path), "server", "start"],
                                 capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
        assert started.returncode == 0, started.stderr
        for run in ("first", "thin"):
            done = subprocess.run([sys.executable, "-c", PROBE, "--config", str(config_path), "--batch", "--json",
                                   str(program)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
            report = json.loads(done.stderr.splitlines()[-1])
            assert report["code"] == 0, done.stdout + done.stderr
            assert json.loads(done.stdout.splitlines()[0])["value"] == "3"
            loaded = [name for name in report["modules"] if name.startswith(FORBIDDEN)]
            assert loaded == [], f"the {run} run of the batch client imported {loaded}"
        at_start = subprocess.run([sys.executable, "-c", "import json, sys; print(json.dumps(sorted(sys.modules)))"],
                                  capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
        # What Python itself loads before any of ours (an editable install's path finder loads
        # pathlib at start-up): not the client's doing, and no cost the client could save.
        heavy = sorted(NOT_ON_THE_THIN_PATH.intersection(report["modules"]) - set(json.loads(at_start.stdout)))
        assert heavy == [], f"the thin path (settings cached) imported {heavy}"
        assert "omega_core.server.thin_client" in report["modules"]
    finally:
        config = load_config(config_path)
        stop_server(ServerPaths.for_config(config), config)


def test_embedded_batch_imports_no_http_stack_no_textual_no_server(tmp_path: Path) -> None:
    """The in-process run needs the evaluator, not the OpenAI oracle's HTTP stack nor the server."""
    program = tmp_path / "one.omega"
    program.write_text("(+ 1 2)\n", encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    done = subprocess.run([sys.executable, "-c", PROBE, "--embedded", "--batch", str(program)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    report = json.loads(done.stderr.splitlines()[-1])
    assert report["code"] == 0 and done.stdout == "=> 3\n", done.stdout + done.stderr
    heavy = ("http.client", "ssl", "email", "textual", "multiprocess", "dill", "omega_core.oracle.openai_compat",
             "omega_core.server.backend", "subprocess")
    loaded = [name for name in report["modules"] if name.startswith(heavy)]
    assert loaded == [], f"the embedded batch imported {loaded}"
