"""The broadcast drill: a broadcast to N firms from a subprocess bot (`python -m bot`) against the
strict fake Bot API server enforcing a rate limit, with blocked users, transient 5xx errors and
SIGKILLs at random moments; then it checks every reachable firm got the notice at most once, and
that only those whose send was answered 502 or was on the wire at a kill lack it (either may have
reached the firm, so the bot marks such a row uncertain and never resends it; its report counts them).

    .venv/bin/python -m bench.broadcast_drill              # the issue's drill: 10,000 firms at 29/s (≈ 6 min)
    .venv/bin/python -m bench.broadcast_drill --firms 600 --rate 150 --kills 3
    .venv/bin/python -m bench.broadcast_drill --firms 600 --rate 150 --kills 3 --latency-ms 60,60

The test suite runs it scaled down (tests/e2e/test_broadcast_e2e.py). ``bench/broadcast.py`` uses
the same machinery (tests/support/broadcast_drill.py) without faults to measure the sustained rate, 429s and peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.broadcast_drill import run_drill  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--firms", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=29.0, help="KHOOSHE_SEND_RATE")
    parser.add_argument("--rate-limit", type=int, default=None, help="the fake server's limit (default: 30 at 29/s)")
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", default="", help="LOW,HIGH ms per request; the kills then come"
                        " while sends are on the wire")
    args = parser.parse_args()
    latency = tuple(float(x) / 1000 for x in args.latency_ms.split(",")) if args.latency_ms else None
    with tempfile.TemporaryDirectory() as folder:
        print(f"broadcast drill: {args.firms} firms, 2% blocked, 1% transient 5xx, {args.kills} SIGKILLs, "
              f"send rate {args.rate}/s, fake server limit {args.rate_limit or max(30, round(args.rate * 30 / 29))}/s",
              flush=True)
        result = asyncio.run(run_drill(Path(folder), firms=args.firms, rate=args.rate, kills=args.kills,
                                       seed=args.seed, rate_limit=args.rate_limit, verbose=True,
                                       latency=latency))
    reachable = result.firms - result.blocked
    once = not result.missing and result.duplicates == 0
    on_wire = {chat for _, _, chats in result.extra["cut"] for chat in chats}
    expected = on_wire | set(result.extra["chats_5xx"])
    unexplained = sorted(set(result.missing) - expected)
    print(json.dumps({k: v for k, v in result.__dict__.items() if k not in ("log_tail", "missing")}, ensure_ascii=False,
                     indent=1, default=str))
    print(f"every reachable firm ({reachable}) got the notice exactly once: {'yes' if once else 'no'}"
          f" (missing {len(result.missing)}, duplicates {result.duplicates} after {result.kills} kills"
          f" at {result.extra['kill_points']} notices; per kill {result.duplicates_per_kill})")
    print(f"blocked: {result.blocked}, reported as blocked: {result.blocked_reported}")
    print(f"on the wire at the kills: {[len(chats) for _, _, chats in result.extra['cut']]}"
          f" (sends the server held: {[held for held, _, _ in result.extra['cut']]});"
          f" answered 502: {len(result.extra['chats_5xx'])}")
    print(f"without the notice: {len(result.missing)} (of them neither on the wire at a kill nor answered 502:"
          f" {len(unexplained)}), uncertain: {len(result.extra['uncertain_chats'])} rows, reported"
          f" {result.uncertain_reported}, expected {len(expected)}")
    print(f"delivery rate {result.rate:.2f} msg/s over {result.seconds:.0f} s; 429s {result.count_429}"
          f" ({result.count_429_after_first_second} after the first second); 5xx injected {result.count_5xx};"
          f" peak RSS {result.peak_rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
