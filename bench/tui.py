"""Speed of the terminal app (ARCHITECTURE.md section 7): cold start to first paint, and key press to
repaint in a timeline of 100,000 inputs.

* With 1,000 sessions on disk (issue 12, item 2): start to an input that takes keys (the first
  frame: the REPL input is focused then), to the session loaded, to the Sessions pane filled, and
  the app's CPU use while idle afterwards (process CPU time over wall time: 0.005 = 0.5% of a core;
  no polling: it should be close to zero).

* Cold start: a fresh ``python`` process imports the app and runs it headless at 120x40, attached
  to a real server this script starts on temporary dirs (as ``omega`` attaches to a running one).
  Measured from just before the process is spawned to the app's first frame (Textual's ``Ready``);
  "session shown" is when the session's transcript, timeline and panes are filled from the server.
  The app keeps its parsed CSS in the user's cache dir (``omega_tui.css_cache``): the first start
  ever parses it, later ones (all but the first here) load it, as a user's do.
* Key press to repaint: the app (canned client: no server) with 100,000 inputs in the Timeline
  pane (rows with folded checkpoints, a branch drawn in the gutter); each key (j/k, up/down, page up/down, g/G) is sent to the app, handled, and the
  screen is composited and rendered; the time to the frame being handed to the terminal driver is
  measured. The pane is fed from memory for this (``MemorySource``) so the figure is the pane's own
  cost; Textual then paces frames at up to 60 per second (``TEXTUAL_FPS``), which this leaves out.
  "G then data shown" fetches the last page through a worker the way the server-backed pane does.

    python bench/tui.py            # 10 cold starts (and 10 with 1,000 sessions), 400 key presses
    python bench/tui.py --quick    # 2 cold starts (1 with 1,000 sessions), 60 key presses (the smoke test)
    python bench/tui.py --quick --only enter   # one part only (start, keys, enter)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _table import Row, print_table  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CHECKPOINTS = 100_000
SIZE = (120, 40)

CHILD = r"""
import sys, time
began = float(sys.argv[1])
idle = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
import omega_tui.components.idle_cursor as idle_cursor
idle_cursor.QUIET_S = 0.5  # the cursor stops blinking after 10 s without keys; the bench waits less
from omega_tui.app import OmegaApp

class BenchApp(OmegaApp):
    def on_ready(self):  # Textual runs OmegaApp.on_ready too (every class's handler in the MRO)
        print("PAINT", time.time() - began, flush=True)
        print("PAINTCPU", time.process_time(), flush=True)  # the process's CPU: steadier than wall on a shared machine
        self._poll = self.set_interval(0.005, self._check)
        self._listed = self._shown = False

    def _check(self):
        if not self._shown and self.ready.is_set():
            self._shown = True
            print("SHOWN", time.time() - began, flush=True)
            print("SHOWNCPU", time.process_time(), flush=True)
        if not self._listed and self.main.query_one("#sessions-table").loaded:
            self._listed = True
            print("LISTED", time.time() - began, flush=True)
        if self._shown and self._listed:
            self._poll.stop()
            if idle <= 0:
                self.exit(0)
            else:
                self.set_timer(0.6, self._idle_start)  # the figures fetched after opening settle first

    def _idle_start(self):
        self._cpu0, self._wall0 = time.process_time(), time.monotonic()
        self.set_timer(idle, self._idle_end)

    def _idle_end(self):
        print("IDLE", (time.process_time() - self._cpu0) / (time.monotonic() - self._wall0), flush=True)
        self.exit(0)

BenchApp().run(headless=True, size=(%d, %d))
""" % SIZE


class Failed(Exception):
    pass


FIXTURES = REPO.parent.parent / "shared" / "fixtures" / "omegallm-sessions"


def add_sessions(sessions_dir: Path, count: int) -> None:
    """``count`` sessions ``bulk0001``... (copies of a small recorded session: log and index), made
    on disk before the server starts (through the server they would take minutes)."""
    sessions_dir.mkdir(parents=True, exist_ok=True)
    source = FIXTURES if FIXTURES.is_dir() else Path("/work/shared/fixtures/omegallm-sessions")
    log, index = (source / "squares.jsonl").read_bytes(), (source / "squares.index.json").read_bytes()
    for number in range(1, count + 1):
        (sessions_dir / f"bulk{number:04d}.jsonl").write_bytes(log)
        (sessions_dir / f"bulk{number:04d}.index.json").write_bytes(index)


@dataclass
class Starts:
    paint: list[float] = field(default_factory=list)
    """Seconds to the first frame: the REPL input is focused then and takes keys."""
    shown: list[float] = field(default_factory=list)
    """Seconds to the session loaded (transcript, timeline, access)."""
    listed: list[float] = field(default_factory=list)
    """Seconds to the Sessions pane filled."""
    idle_cpu: list[float] = field(default_factory=list)
    """CPU seconds per second while idle after the start (0.005 = 0.5% of a core)."""
    paint_cpu: list[float] = field(default_factory=list)
    """CPU seconds the app's process used to its first frame."""
    shown_cpu: list[float] = field(default_factory=list)
    """CPU seconds the app's process used to the session loaded."""


def _start_app(env: dict[str, str], base: Path, idle_s: float, into: Starts) -> None:
    """One fresh app process; its figures go into ``into``."""
    began = time.time()
    done = subprocess.run([sys.executable, "-c", CHILD, repr(began), repr(idle_s)], env=env, cwd=base,
                          capture_output=True, text=True, timeout=60 + idle_s)
    lines = dict(line.split() for line in done.stdout.splitlines() if line.startswith(("PAINT", "SHOWN", "LISTED", "IDLE")))
    if done.returncode != 0 or "PAINT" not in lines or "SHOWN" not in lines:
        raise Failed(f"the app did not start: exit {done.returncode}\n{done.stdout}\n{done.stderr[-2000:]}")
    into.paint.append(float(lines["PAINT"]))
    into.shown.append(float(lines["SHOWN"]))
    if "PAINTCPU" in lines and "SHOWNCPU" in lines:
        into.paint_cpu.append(float(lines["PAINTCPU"]))
        into.shown_cpu.append(float(lines["SHOWNCPU"]))
    if "LISTED" in lines:
        into.listed.append(float(lines["LISTED"]))
    if "IDLE" in lines:
        into.idle_cpu.append(float(lines["IDLE"]))


def _tear_down(clients: list[Any], saved: dict[str, str | None], base: Path) -> None:
    """Stop the server the bench started (through its clients), put the environment back as
    ``saved`` and remove the temporary dirs."""
    for client in clients:
        try:
            client.shutdown()
        except Exception:  # noqa: BLE001 - the server may be gone already
            pass
        client.close()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    time.sleep(0.2)
    shutil.rmtree(base, ignore_errors=True)


def cold_starts(runs: int, many_runs: int = 0, sessions: int = 1_000, idle_s: float = 0.0) -> tuple[Starts, Starts]:
    """Figures of ``runs`` fresh app processes, then (the same server, ``sessions`` sessions added
    on disk) of ``many_runs`` more, each followed by ``idle_s`` of measuring idle CPU."""
    from omega_core.config import load_config
    from omega_core.server.client import OmegaClient

    base = Path(tempfile.mkdtemp(prefix="obt-", dir="/tmp"))  # short: the socket path lives here
    env = dict(os.environ)
    env.update(OMEGA_SESSION_DIR=str(base / "s"), OMEGA_RUNTIME_DIR=str(base / "r"),
               OMEGA_CONFIG=str(base / "omega.toml"), PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])))
    (base / "omega.toml").write_text("[server]\nidle_shutdown_s = 30\n", encoding="utf-8")
    saved = {key: os.environ.get(key) for key in ("OMEGA_SESSION_DIR", "OMEGA_RUNTIME_DIR", "OMEGA_CONFIG")}
    os.environ.update({key: env[key] for key in saved})
    config = load_config()
    client = OmegaClient(config, name="bench", config_path=env["OMEGA_CONFIG"])
    plain, many = Starts(), Starts()
    try:
        client.connect()
        client.execute('(define (f n) (* n 2)) (f 21) (display "hi")', "current")  # a transcript to show
        for _ in range(runs):
            _start_app(env, base, 0.0, plain)
        if many_runs:
            add_sessions(base / "s" / "sessions", sessions)
            client.list_sessions()  # the server summarizes the new sessions once, as a running server has
            for _ in range(many_runs):
                _start_app(env, base, idle_s, many)
    finally:
        _tear_down([client], saved, base)
    return plain, many


def timeline_history(count: int) -> tuple[Any, int]:
    """A ``History`` of ``count`` inputs (each with its result; every 50th with two periodic
    checkpoints folded under it), with a goto back to the middle and 1,000 inputs on a branch from
    there; and the seq of the current point (on the branch)."""
    from omega_core.session.history import History

    history = History()
    add = history.add
    seq = 0
    middle = 0
    for number in range(count):
        add({"seq": seq, "type": "input", "code": f"(step {number})"})
        if number % 50 == 0:
            add({"seq": seq + 1, "type": "checkpoint", "reason": "periodic", "stateId": "s"})
            add({"seq": seq + 2, "type": "checkpoint", "reason": "periodic", "stateId": "s"})
            seq += 2
        add({"seq": seq + 1, "type": "result", "value": str(number)})
        seq += 2
        if number == count // 2:
            middle = seq - 1
        if number == count - 1_001:
            add({"seq": seq, "type": "checkpoint", "reason": "manual", "stateId": "s", "jumpTo": middle})
            seq += 1
    return history, seq - 500


async def key_repaints(presses: int) -> tuple[list[float], float]:
    """Seconds from key to frame for ``presses`` keys; and G-to-last-page-shown via a worker."""
    from textual import events
    from textual._wait import wait_for_idle

    from omega_core.config import Config
    from omega_tui.app import OmegaApp
    from omega_tui.canned import CannedClient
    from omega_tui.components.timeline_pane import MemorySource, TimelineView

    history, position = timeline_history(CHECKPOINTS)
    app = OmegaApp(Config(), client_factory=lambda: CannedClient(history=history, position=position), deterministic=True)
    frames: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        deadline = time.monotonic() + 20
        while not app.side_panes.filled:  # the side panes come right after the first frame
            if time.monotonic() > deadline:
                raise Failed("the app never showed its side panes")
            await pilot.pause(0.02)
        view = app.main.query_one(TimelineView)
        while not (app.ready.is_set() and view.total == CHECKPOINTS):
            if time.monotonic() > deadline:
                raise Failed("the app never showed the 100,000-input timeline")
            await pilot.pause(0.02)
        await app.workers.wait_for_complete()
        view.focus()
        await pilot.pause()
        # G through the worker path (the way pages come from the server)
        began = time.perf_counter()
        await pilot.press("G")
        while view.row(CHECKPOINTS - 1) is None:
            if time.perf_counter() - began > 10:
                raise Failed("the last page never arrived")
            await pilot.pause(0.001)
        fetched = time.perf_counter() - began
        if view.line_to_row(view.cursor)[0] != CHECKPOINTS - 1:
            raise Failed(f"G left the cursor at {view.cursor}, not {CHECKPOINTS - 1}")

        view.set_source(MemorySource(history, position))
        from omega_tui.components.timeline_preview import TimelinePreview

        app.query_one(TimelinePreview).immediate = False  # as in a real app: the preview waits for the cursor to rest
        await pilot.pause()
        original = app._display

        def display(screen, renderable):  # type: ignore[no-untyped-def]
            frames.append(time.perf_counter())
            return original(screen, renderable)

        app._display = display  # type: ignore[method-assign]
        pattern = ["g", "j", "j", "down", "k", "up", "pagedown", "pagedown", "pageup", "G", "k", "k", "pageup"]
        samples: list[float] = []
        driver = app._driver
        assert driver is not None
        for index in range(presses):
            key = pattern[index % len(pattern)]
            frames.clear()
            before = view.cursor
            started = time.perf_counter()
            event = events.Key(key, key if len(key) == 1 else None)
            event.set_sender(app)
            driver.send_message(event)
            await wait_for_idle(0)
            app.screen._on_timer_update()  # composite and render now (what the frame timer would do)
            ended = frames[-1] if frames else time.perf_counter()
            samples.append(ended - started)
            if view.cursor == before:
                raise Failed(f"key {key!r} did not move the cursor (at {before})")
            if view.current_item is None:
                raise Failed(f"row {view.cursor} was not drawn from memory")
        app._display = original  # type: ignore[method-assign]
    return samples, fetched


SETTLE_S = 0.4
"""After a command the side panes refresh within 0.3 s (timeline, metrics, sessions list); a person
types the next input later than that, so each Enter is measured once they are done."""


async def _settled(app: Any, pilot: Any) -> None:
    """Wait ``SETTLE_S`` for the last command's after-work, then until no worker runs."""
    from textual._wait import wait_for_idle

    await pilot.pause(SETTLE_S)
    deadline = time.monotonic() + 10
    while any(worker.is_running for worker in app.workers):
        if time.monotonic() > deadline:
            raise Failed("the app's workers never finished")
        await pilot.pause(0.01)
    await wait_for_idle(0)


async def enter_to_result(runs: int, scrollback: int) -> tuple[list[float], list[float]]:
    """Seconds from Enter on ``(+ 1 2)`` to the frame that shows its result, against a real server
    (temp dirs), with ``scrollback`` lines already in the REPL log; and the CPU seconds the app's
    UI thread spent meanwhile (steadier than wall time on a loaded machine: the app's own cost)."""
    from textual import events

    from omega_core.config import load_config
    from omega_core.server.client import OmegaClient
    from omega_tui.app import OmegaApp
    from omega_tui.components.repl_pane import ReplInput, ReplPane

    base = Path(tempfile.mkdtemp(prefix="obe-", dir="/tmp"))
    config_path = base / "omega.toml"
    config_path.write_text(f"session_dir = \"{base / 's'}\"\n[server]\nidle_shutdown_s = 30\n", encoding="utf-8")
    saved = {key: os.environ.get(key) for key in ("OMEGA_RUNTIME_DIR", "OMEGA_SESSION_DIR")}
    os.environ.update(OMEGA_RUNTIME_DIR=str(base / "r"), OMEGA_SESSION_DIR=str(base / "s"))
    config = load_config(config_path)
    clients: list[OmegaClient] = []

    def factory() -> OmegaClient:
        clients.append(OmegaClient(config, name="bench tui", config_path=str(config_path), connect_timeout_s=30))
        return clients[-1]

    samples: list[float] = []
    cpu: list[float] = []
    import omega_tui.components.idle_cursor as idle_cursor

    idle_cursor.QUIET_S = 0.3  # the cursor stops blinking 10 s after the last key; the bench types none
    app = OmegaApp(config, client_factory=factory)  # as a person runs it (not the snapshots' deterministic mode)
    try:
        async with app.run_test(size=SIZE) as pilot:
            deadline = time.monotonic() + 30
            while not app.ready.is_set():
                if time.monotonic() > deadline:
                    raise Failed("the session never opened")
                await pilot.pause(0.02)
            repl = app.main.query_one(ReplPane)
            for index in range(scrollback):
                repl.show_notice(f"scrollback line {index}")
            await pilot.pause()
            log = repl.log_view
            painted: list[tuple[float, float]] = []
            """When the frame that shows the result was handed to the terminal driver (wall, UI thread CPU)."""
            wanted = [0]  # entries the log must hold for the frame to show the result
            shown = asyncio.Event()
            original = app._display

            def display(screen, renderable):  # type: ignore[no-untyped-def]
                at = time.perf_counter()
                end_in_view = len(log.lines) - 1 < log.scroll_offset.y + log.scrollable_content_region.height
                if not shown.is_set() and len(repl.entries) >= wanted[0] and end_in_view:
                    painted.append((at, time.thread_time()))
                    shown.set()
                return original(screen, renderable)

            app._display = display  # type: ignore[method-assign]
            repl_input = app.main.query_one(ReplInput)
            driver = app._driver
            assert driver is not None
            for _ in range(runs):
                await _settled(app, pilot)  # a person types the next input after the last one's side panes updated
                repl_input.load_text("(+ 1 2)")
                repl_input.move_cursor(repl_input.document.end)
                await pilot.pause(0.01)
                wanted[0] = len(repl.entries) + 2  # the input and its result
                painted.clear()
                shown.clear()
                started, cpu_before = time.perf_counter(), time.thread_time()
                event = events.Key("enter", None)
                event.set_sender(app)
                driver.send_message(event)
                # the first frame Textual itself paints with the result in the log and in view (its
                # frame timer, as in use: this includes any wait for the next frame); waited for on
                # an event, not by polling, so the bench takes no time from the app it measures
                try:
                    await asyncio.wait_for(shown.wait(), 10)
                except TimeoutError:
                    raise Failed("no result painted within 10 s") from None
                samples.append(painted[0][0] - started)
                cpu.append(painted[0][1] - cpu_before)
            app._display = original  # type: ignore[method-assign]
    finally:
        _tear_down(clients, saved, base)
    return samples, cpu


PARTS = ("start", "keys", "enter")


def compile_as_installed() -> None:
    """Write the app's bytecode caches first, as ``pip install`` does: with
    ``PYTHONDONTWRITEBYTECODE`` set and no caches, every start compiled ``omega_tui`` and
    ``omega_core`` again (about 30 ms of the first paint that a user's start does not pay)."""
    import compileall

    for package in ("omega_core", "omega_tui"):
        compileall.compile_dir(REPO / package, quiet=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions (smoke test)")
    parser.add_argument("--only", choices=PARTS, action="append",
                        help="measure only this part (start, keys or enter; may be repeated)")
    args = parser.parse_args(argv)
    parts = set(args.only or PARTS)
    starts = 2 if args.quick else 10
    presses = 60 if args.quick else 400
    scrollback = 10_000 if args.quick else 100_000
    rows: list[Row] = []
    try:
        if "start" in parts:
            compile_as_installed()
            plain, many = cold_starts(starts, many_runs=1 if args.quick else starts, idle_s=1.0 if args.quick else 10.0)
            rows += [
                Row("cold start to first paint (120x40, server attached)", plain.paint, target=1.0, show_p99=True),
                Row("cold start to session shown (transcript, panes)", plain.shown),
                Row("1,000 sessions: start to an input taking keys (first paint)", many.paint, target=0.3, show_p99=True),
                Row("1,000 sessions: start to the session loaded", many.shown, target=0.6, show_p99=True),
                Row("1,000 sessions: start to the Sessions pane filled", many.listed),
                Row("1,000 sessions: idle CPU, s per s (5 ms = 0.5% of a core)", many.idle_cpu, target=0.005),
            ]
        if "keys" in parts:
            keys, fetched = asyncio.run(key_repaints(presses))
            rows += [
                Row(f"key to repaint, {CHECKPOINTS:,}-input timeline (a branch)", keys, target=0.016, show_p99=True),
                Row("G then last page shown (fetched in a worker)", value=fetched),
            ]
        if "enter" in parts:
            enters, enters_cpu = asyncio.run(enter_to_result(20 if args.quick else 100, 0))
            enters_long, enters_long_cpu = asyncio.run(enter_to_result(10 if args.quick else 50, scrollback))
            rows += [
                Row("Enter to painted result, (+ 1 2), server attached", enters, target=0.010, show_p99=True),
                Row("  its UI thread CPU (the app's own cost; steady under load)", enters_cpu, show_p99=True),
                Row(f"the same with {scrollback:,} lines of scrollback", enters_long, target=0.010, show_p99=True),
                Row("  its UI thread CPU", enters_long_cpu, show_p99=True),
            ]
    except Failed as problem:
        print(f"FAIL: {problem}", file=sys.stderr)
        return 1
    print_table(rows, title="TUI (bench/tui.py" + (" --quick" if args.quick else "") + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
