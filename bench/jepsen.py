"""Jepsen-style crash run (issue "Trust", Numbers): 4 clients on own and shared sessions, 10 kill -9s of
the backend and 2 of the supervisor at random moments, inputs of up to 5,000 events each; after every
kill each client resends its last request with the original id. Prints what was acknowledged and any
violation (an acknowledged input applied twice or not at all, a reply that is not the original, an
error other than a documented ``locked`` refusal).

    PYTHONPATH=$PWD python bench/jepsen.py            # the full size (a few minutes on 2 cores)
    PYTHONPATH=$PWD python bench/jepsen.py --quick    # the CI size (seconds)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.core.server.jepsen import run_jepsen  # noqa: E402
from tests.core.server.live_server import make_server  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the short CI size")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    size = (dict(clients=4, inputs=10, backend_kills=3, supervisor_kills=1, max_forms=5) if args.quick
            else dict(clients=4, inputs=30, backend_kills=10, supervisor_kills=2, max_forms=2500))
    with tempfile.TemporaryDirectory(prefix="omega-jepsen-") as base:
        server = make_server(Path(base) / "srv")
        server.start()
        try:
            report = run_jepsen(server, seed=args.seed, **size)
        finally:
            server.cleanup()
    print(f"inputs sent           {report.inputs}")
    print(f"acknowledged          {report.acknowledged}")
    print(f"refused (locked)      {report.refused_locked}")
    print(f"backend kill -9s      {report.backend_kills}")
    print(f"supervisor kill -9s   {report.supervisor_kills}")
    print(f"wall time             {report.seconds:.1f} s")
    print(f"violations            {len(report.problems)}")
    for problem in report.problems[:20]:
        print(f"  {problem}")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
