"""The config check of ``omega --batch`` when its settings come from the cache (the thin path's
second run onwards): the same warning as a run that read the config, and silence when they agree."""

from __future__ import annotations

from tests.tui.test_server_control import Shell, shell  # noqa: F401 - the fixture


def test_cached_settings_warn_as_the_first_run_does(shell: Shell) -> None:  # noqa: F811
    assert shell.omega("server", "start", "--config", str(shell.small)).returncode == 0
    program = shell.program("(+ 1 2)\n")
    first, cached = (shell.omega("--batch", program, "--config", str(shell.usual)) for _ in range(2))
    assert first.stdout == cached.stdout == "=> 3\n"
    assert "[language] step_budget: server 1000, here 50000000" in first.stderr
    assert cached.stderr == first.stderr
    agreeing = [shell.omega("--config", str(shell.small), "--batch", program) for _ in range(2)]
    assert [(done.returncode, done.stdout, done.stderr) for done in agreeing] == [(0, "=> 3\n", "")] * 2
