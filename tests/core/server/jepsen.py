"""A Jepsen-style run: clients on their own and on a shared session while the backend and the
supervisor are killed with -9 at random moments. Each client's ``OmegaClient`` resends what was in
flight under its original id after every kill (and starts a new server when the supervisor is gone).

Checked at the end, from the session logs on disk:
  * every acknowledged input is in its session's log exactly once (applied once, never twice),
  * every reply is the original one (its last line is the input's own result),
  * an input refused with ``locked`` (the shared session held by another client) is not in any log,
  * no client saw any other error.
Used by ``test_jepsen.py`` (a few kills, CI) and ``bench/jepsen.py`` (the issue's full size).
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from omega_core.server import launcher
from omega_core.server.client import OmegaClient, ServerError

from tests.core.server.live_server import LiveServer, descendants, wait_gone


@dataclass
class ClientOutcome:
    acknowledged: list[tuple[str, str, str]] = field(default_factory=list)
    """(session, code, reply output) of each acknowledged input."""
    refused: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class JepsenReport:
    inputs: int
    acknowledged: int
    refused_locked: int
    backend_kills: int
    supervisor_kills: int
    seconds: float
    problems: list[str]


def _code(client: int, number: int, extra_forms: int) -> tuple[str, list[str]]:
    """An input unique in the run, and the lines of its reply (one per form)."""
    extras = " ".join(["(+ 1 1)"] * extra_forms)
    code = f"{extras} (define c{client}n{number} {number}) (* {number} 3)".strip()
    return code, ["=> 2"] * extra_forms + [f"=> c{client}n{number}", f"=> {number * 3}"]


def is_own_reply(output: str, expected: list[str]) -> bool:
    """``output`` answers the input whose form results are ``expected``: all of them, or (the
    server was stopping: a running command is interrupted and answered, ARCHITECTURE.md section 3)
    the first ones and then the interrupted form's error."""
    lines = output.splitlines()
    if lines == expected:
        return True
    return (bool(lines) and lines[-1].startswith("error: interrupted:")
            and lines[:-1] == expected[:len(lines) - 1])


def _run_client(server: LiveServer, client: int, session: str, inputs: int, max_forms: int, seed: int,
                outcome: ClientOutcome, kills_done: threading.Event) -> None:
    """Send at least ``inputs`` inputs, and go on until every planned kill has happened."""
    rng = random.Random(seed)
    omega = OmegaClient(server.config, config_path=str(server.config_path), name=f"jepsen-{client}",
                        autostart=True, connect_timeout_s=60)
    try:
        number = -1
        while True:
            number += 1
            if number >= inputs and kills_done.is_set():
                break
            code, expected = _code(client, number, rng.randint(0, max_forms))
            try:
                reply = omega.execute(code, session)
            except ServerError as problem:
                if str(problem.code) == "locked":
                    outcome.refused.append((session, code))
                    time.sleep(0.01)
                    continue
                outcome.errors.append(f"client {client} input {number}: {problem.code}: {problem.message}")
                continue
            except Exception as problem:  # noqa: BLE001 - reported, the run goes on
                outcome.errors.append(f"client {client} input {number}: {type(problem).__name__}: {problem}")
                continue
            outcome.acknowledged.append((session, code, reply.output))
            if not is_own_reply(reply.output, expected):
                outcome.errors.append(f"client {client} input {number}: reply {reply.output[-200:]!r} is not its own")
    finally:
        omega.close()


def _killer(server: LiveServer, backend_kills: int, supervisor_kills: int, seed: int, done: threading.Event,
            counts: list[int]) -> None:
    try:
        _kill_as_planned(server, backend_kills, supervisor_kills, seed, counts)
    finally:
        done.set()


def _kill_as_planned(server: LiveServer, backend_kills: int, supervisor_kills: int, seed: int,
                     counts: list[int]) -> None:
    rng = random.Random(seed)
    plan = ["backend"] * backend_kills + ["supervisor"] * supervisor_kills
    rng.shuffle(plan)
    deadline = time.monotonic() + 120
    for target in plan:
        time.sleep(rng.uniform(0.2, 0.8))
        supervisor = launcher.server_pid(server.paths)
        while supervisor is None or not descendants(supervisor):  # wait for a server to kill
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
            supervisor = launcher.server_pid(server.paths)
        server.seen.add(supervisor)
        if target == "supervisor":
            backends = descendants(supervisor)
            server.seen |= backends
            os.kill(supervisor, signal.SIGKILL)
            wait_gone(supervisor, 10)
            counts[1] += 1
            continue
        backends = descendants(supervisor)
        server.seen |= backends
        for pid in backends:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        counts[0] += 1


def _log_codes(sessions_dir: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for log in sessions_dir.glob("*.jsonl"):
        codes = []
        for line in log.read_bytes().split(b"\n"):
            if line.strip():
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("type") == "input":
                    codes.append(str(event.get("code")))
        found[log.name[: -len(".jsonl")]] = codes
    return found


def run_jepsen(server: LiveServer, clients: int = 4, inputs: int = 20, backend_kills: int = 10,
               supervisor_kills: int = 2, max_forms: int = 20, seed: int = 1) -> JepsenReport:
    """Run the scenario against ``server`` (started); half the clients share one session."""
    began = time.monotonic()
    outcomes = [ClientOutcome() for _ in range(clients)]
    sessions = [f"own{client}" if client < (clients + 1) // 2 else "shared" for client in range(clients)]
    done = threading.Event()
    threads = [threading.Thread(target=_run_client, args=(server, client, sessions[client], inputs, max_forms,
                                                          seed * 100 + client, outcomes[client], done))
               for client in range(clients)]
    counts = [0, 0]
    killer = threading.Thread(target=_killer, args=(server, backend_kills, supervisor_kills, seed, done, counts))
    for thread in threads:
        thread.start()
    killer.start()
    killer.join()
    for thread in threads:
        thread.join()
    supervisor = launcher.server_pid(server.paths)
    if supervisor is not None:
        server.supervisor_pid = supervisor
        server.seen.add(supervisor)
        server.remember_pids()
    problems = [error for outcome in outcomes for error in outcome.errors]
    logged = _log_codes(server.sessions_dir)
    for outcome in outcomes:
        for session, code, _ in outcome.acknowledged:
            times = logged.get(session, []).count(code)
            if times != 1:
                problems.append(f"acknowledged input in {session} is in the log {times} times: {code[-60:]!r}")
        for session, code in outcome.refused:
            times = logged.get(session, []).count(code)
            if times != 0:
                problems.append(f"input refused as locked in {session} is in the log {times} times: {code[-60:]!r}")
    return JepsenReport(
        inputs=sum(len(o.acknowledged) + len(o.refused) + len(o.errors) for o in outcomes),
        acknowledged=sum(len(outcome.acknowledged) for outcome in outcomes),
        refused_locked=sum(len(outcome.refused) for outcome in outcomes),
        backend_kills=counts[0], supervisor_kills=counts[1], seconds=time.monotonic() - began, problems=problems,
    )
