"""Old against new cold starts of the terminal app, taking turns (the machine is shared: figures
measured minutes apart are not comparable, figures measured in turns are).

Each round starts the app once from each source tree, exactly as ``bench/tui.py``'s start part does
(same child process, same server with 1,000 sessions on disk), and the table gives each tree's
medians and the ratio new/old.

    python bench/tui_ab.py OLD_TREE NEW_TREE [ROUNDS]   # e.g. a `git worktree` of the old commit

A tree is a directory holding ``omega_tui`` and ``omega_core`` (put on the child's PYTHONPATH).
Compile both first (``python -m compileall -q TREE``) if PYTHONDONTWRITEBYTECODE is set.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tui  # noqa: E402 - bench/tui.py: its child process, sessions and tear-down

SESSIONS = 1_000


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    trees = [str(Path(tree).resolve()) for tree in argv[:2]]
    rounds = int(argv[2]) if len(argv) == 3 else 12
    # the app keeps its parsed CSS in the user's cache dir (omega_tui.css_cache): the children use
    # a temporary one, written by each tree's first start, as a user's second start finds it
    from omega_core.config import load_config
    from omega_core.server.client import OmegaClient

    base = Path(tempfile.mkdtemp(prefix="oab-", dir="/tmp"))  # short: the socket path lives here
    env = dict(os.environ, OMEGA_SESSION_DIR=str(base / "s"), OMEGA_RUNTIME_DIR=str(base / "r"),
               OMEGA_CONFIG=str(base / "omega.toml"), XDG_CACHE_HOME=str(base / "cache"))
    (base / "omega.toml").write_text("[server]\nidle_shutdown_s = 30\n", encoding="utf-8")
    saved = {key: os.environ.get(key) for key in ("OMEGA_SESSION_DIR", "OMEGA_RUNTIME_DIR", "OMEGA_CONFIG")}
    os.environ.update({key: env[key] for key in saved})
    client = OmegaClient(load_config(), name="bench", config_path=env["OMEGA_CONFIG"])
    starts = {tree: tui.Starts() for tree in trees}
    try:
        client.connect()
        client.execute('(define (f n) (* n 2)) (f 21) (display "hi")', "current")
        tui.add_sessions(base / "s" / "sessions", SESSIONS)
        client.list_sessions()  # summarized once, as a running server has them
        for tree in trees:  # not counted: the first start of a tree writes its CSS cache
            tui._start_app(dict(env, PYTHONPATH=tree), base, 0.0, tui.Starts())
        for _ in range(rounds):
            for tree in trees:
                tui._start_app(dict(env, PYTHONPATH=tree), base, 0.0, starts[tree])
    except tui.Failed as problem:
        print(f"FAIL: {problem}", file=sys.stderr)
        return 1
    finally:
        tui._tear_down([client], saved, base)
    old, new = (starts[tree] for tree in trees)
    print(f"TUI cold start with {SESSIONS:,} sessions, {rounds} rounds in turns (medians; p99 = slowest of {rounds})")
    print(f"{'':44s} {'old':>9s} {'new':>9s}  new/old")
    for label, old_values, new_values in (("start to an input taking keys (first paint)", old.paint, new.paint),
                                          ("start to the session loaded", old.shown, new.shown),
                                          ("start to the Sessions pane filled", old.listed, new.listed),
                                          ("  process CPU to the first paint", old.paint_cpu, new.paint_cpu),
                                          ("  process CPU to the session loaded", old.shown_cpu, new.shown_cpu)):
        old_median, new_median = statistics.median(old_values), statistics.median(new_values)
        print(f"{label:44s} {old_median * 1000:7.0f}ms {new_median * 1000:7.0f}ms  {new_median / old_median:5.2f}x"
              f"   (p99 {max(old_values) * 1000:.0f} -> {max(new_values) * 1000:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
