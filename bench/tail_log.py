#!/usr/bin/env python3
"""bench/tail_log.py LOG [ROUTE_SUBSTRING] — tallyd's request log cut at each
`scripts/stack starts` line (one segment per tallyd start, named by its
binary): per segment, the worker processes seen, their first request's
server time and PostgreSQL time (a new worker's first request paid the
PostgreSQL connection before the warm-up), the worker recycles, and the
server-time percentiles of the other requests. Used by docs/performance.md."""
import json
import statistics
import sys


def pct(sorted_vals, q):
    return sorted_vals[min(len(sorted_vals) - 1, int(len(sorted_vals) * q))] if sorted_vals else float("nan")


def main():
    path = sys.argv[1]
    route = sys.argv[2] if len(sys.argv) > 2 else "/metrics/"
    segs = []
    cur = None
    for line in open(path, errors="replace"):
        if not line.startswith("{"):
            continue
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if r.get("type") == "start":
            cur = {"name": r["msg"].split(" starts ")[1].split(" -c ")[0], "first": {}, "rest": [], "recycles": 0}
            segs.append(cur)
        elif cur is None:
            continue
        elif r.get("type") == "request" and route in r.get("path", ""):
            if r["pid"] not in cur["first"]:
                cur["first"][r["pid"]] = r
            else:
                cur["rest"].append(r)
        elif "recycling after" in r.get("msg", ""):
            cur["recycles"] += 1
    for s in segs:
        if not s["rest"]:
            continue
        f = [r["duration_ms"] for r in s["first"].values()]
        fdb = [r["db_ms"] for r in s["first"].values()]
        d = sorted(r["duration_ms"] for r in s["rest"])
        polls = [r["duration_ms"] for r in s["rest"] if r["db_ms"] > 0]
        print(f"{s['name']}: {len(s['rest']) + len(f)} requests, {len(f)} workers, {s['recycles']} recycles; "
              f"first request ms median {statistics.median(f):.3f} max {max(f):.3f} (db median {statistics.median(fdb):.3f}); "
              f"others p50 {pct(d, .5):.3f} p99 {pct(d, .99):.3f} p99.9 {pct(d, .999):.3f} max {d[-1]:.3f}; "
              f"{len(polls)} with a PostgreSQL query (median {statistics.median(polls) if polls else 0:.3f} ms)")


if __name__ == "__main__":
    main()
