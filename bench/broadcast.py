"""Sustained broadcast delivery rate: one broadcast to 10,000 firms from Khooshe running as a
subprocess (`python -m bot`, KHOOSHE_SEND_RATE=29) against the fake Bot API server enforcing
30 messages/second (429 beyond). No faults, no kills: this measures the pace.

    .venv/bin/python -m bench.broadcast                 # 10,000 recipients (≈ 6 min)
    .venv/bin/python -m bench.broadcast --firms 2000    # quicker
    .venv/bin/python -m bench.broadcast --firms 2000 --latency-ms 200,400   # a slow Bot API

Prints msg/s (target ≥ 28.5), the 429 count after the first second (target 0) and the bot's peak
RSS (psutil, sampled every 20–250 ms over its whole life).
"""

from __future__ import annotations

import argparse
import asyncio
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
    parser.add_argument("--rate-limit", type=int, default=30, help="the fake server's messages/second")
    parser.add_argument("--latency-ms", default="", help="LOW,HIGH: the fake server adds a round trip drawn"
                        " from this range to every request (default none)")
    args = parser.parse_args()
    latency = None
    if args.latency_ms:
        low, high = (float(x) / 1000 for x in args.latency_ms.split(","))
        latency = (low, high)
    print(f"broadcast to {args.firms} firms: bot as a subprocess (python -m bot), send rate {args.rate}/s, "
          f"fake server limit {args.rate_limit}/s, latency {args.latency_ms or 'none'} ms", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        result = asyncio.run(run_drill(Path(folder), firms=args.firms, rate=args.rate, kills=0, blocked_share=0.0,
                                       error_rate=0.0, rate_limit=args.rate_limit, verbose=True, latency=latency))
    # Without latency the pace itself is the target; with it, the issue's: within 10% of the rate.
    target = 28.5 if latency is None else 0.9 * args.rate
    ok_rate = "ok" if result.rate >= target else "BELOW TARGET"
    ok_429 = "ok" if result.count_429_after_first_second == 0 else "NOT ZERO"
    print(f"delivered {result.firms - len(result.missing)} of {result.firms} in {result.seconds:.1f} s, "
          f"duplicates {result.duplicates}, final state {result.state}")
    print(f"rate: {result.rate:.2f} msg/s (target >= {target:.1f}: {ok_rate})")
    print(f"429s: {result.count_429} in all, {result.count_429_after_first_second} after the first second (target 0: {ok_429})")
    print(f"peak RSS of the bot process: {result.peak_rss_mb:.1f} MB")


if __name__ == "__main__":
    main()
