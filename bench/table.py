#!/usr/bin/env python3
"""Prints a bench/run.py JSON result as the Markdown tables of docs/performance.md.

    python3 bench/table.py [target/bench.json]
"""

import json
import sys

BUDGET_MS = 50.0
SEARCH_BUDGET_MS = 30.0


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "target/bench.json"
    with open(path) as f:
        r = json.load(f)
    print("| role | page | q | c1 req/s | c1 p50 | c1 p99 | c32 req/s | c32 p50 | c32 p99 | budget |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|---|")
    for p in r["pages"]:
        role = "Admin" if p["role"] == "Admin" else "Product Admin"
        if "c1" not in p:
            continue
        c1, c32 = p["c1"], p["c32"]
        budget = SEARCH_BUDGET_MS if "search" in p["page"] else BUDGET_MS
        verdict = "met" if c32["p99_ms"] <= budget else f"**missed** (≤ {budget:.0f})"
        print(f"| {role} | {p['page']} | {p['queries']} | {c1['rps']:.0f} | {c1['p50_ms']:.1f} | "
              f"{c1['p99_ms']:.1f} | {c32['rps']:.0f} | {c32['p50_ms']:.1f} | {c32['p99_ms']:.1f} | {verdict} |")
    storm = r.get("login_storm")
    if storm:
        print()
        print("| page (Admin, 32 connections) | quiet p99 | p99 during the storm | × | req/s during | sign-ins/s | 429s | client timeouts |")
        print("|---|--:|--:|--:|--:|--:|--:|--:|")
        for s in storm:
            print(f"| {s['page']} | {s['quiet_p99_ms']:.1f} | {s['storm']['p99_ms']:.1f} | "
                  f"{s['ratio']:.2f} | {s['storm']['rps']:.0f} | {s['logins']['ok_rps']:.1f} | "
                  f"{s['logins']['errors']} | {s['logins']['timeouts']} |")
    print()
    print(f"Demo load {r['demo_load_s']:.1f} s · start to first healthy answer "
          f"{r['start_to_healthy_s'] * 1000:.0f} ms · PortalOps peak RSS "
          f"{r['server_peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
