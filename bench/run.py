#!/usr/bin/env python3
"""PortalOps page benchmark (issue #7).

Builds the release binary, loads the default demo company into a throwaway data directory,
starts the server, logs in as an Admin and as a Product Administrator, and measures each key
page with wrk at 1 and 32 connections: requests/s, p50 and p99 latency (the median of
--repeat runs), and the SQL statements the page runs (X-Query-Count). Then a login storm:
successful sign-ins at full speed (argon2id each) from 16 connections while the storm pages
are measured again at 32 connections, against their quiet p99. Also the server's peak
resident memory (VmHWM of the PortalOps process; the embedded PostgreSQL is separate) and
the time from start to the first healthy answer on an existing database. Prints one table
and writes JSON.

    python3 bench/run.py [--scale 1] [--seconds 5] [--repeat 1] [--only savings]
                         [--no-storm] [--json target/bench.json]

Needs wrk (`apt-get install wrk`) and PostgreSQL's server binaries. Not part of `cargo test`:
timings vary with the machine; the budgets are in docs/performance.md.
"""

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "portalops")
PORT = 8077
BASE = f"http://127.0.0.1:{PORT}"

PAGES = [
    ("dashboard", "/"),
    ("inventory list", "/inventory"),
    ("inventory search", "/inventory?q=slack"),
    ("service detail", "/inventory/services/2"),
    ("directory list", "/directory"),
    ("directory search", "/directory?q=rossi"),
    ("person detail", "/directory/500"),
    ("payment register", "/payments"),
    ("printable register", "/payments/print"),
    ("savings", "/payments/savings"),
    ("calendar", "/calendar"),
    ("my tasks", "/tasks"),
    ("workflow detail", "/workflows/10"),
    ("audit log", "/audit"),
    ("audit log, deep page", "/audit?before=20000"),
    ("audit log search", "/audit?q=gmail"),
    ("person history", "/directory/500/history"),
    ("product history", "/inventory/products/2/history"),
    ("service history", "/inventory/services/2/history"),
]


def run(cmd, env=None, **kw):
    return subprocess.run(cmd, env=env, check=True, text=True, capture_output=True, **kw)


def wait_healthy(timeout=30.0):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            with urllib.request.urlopen(BASE + "/healthz", timeout=1) as r:
                if r.status == 200:
                    return time.monotonic() - start
        except OSError:
            time.sleep(0.01)
    raise SystemExit("server did not become healthy")


def login(username, password):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(BASE + "/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode(
        {"csrf_token": token, "username": username, "password": password}
    ).encode()
    opener.open(BASE + "/login", body).read()
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    req = urllib.request.Request(BASE + "/", headers={"Cookie": cookie})
    with urllib.request.urlopen(req) as r:
        if "/login" in r.url:
            raise SystemExit(f"login as {username} failed")
    return cookie


# Pages measured again during the login storm (Admin), one of each kind.
STORM_PAGES = ["dashboard", "inventory list", "directory search", "person detail",
               "payment register", "audit log"]


def login_form():
    """A CSRF token and the pre-login session cookie it belongs to, for the storm."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(BASE + "/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return token, "; ".join(f"{c.name}={c.value}" for c in jar)


def queries(path, cookie):
    req = urllib.request.Request(BASE + path, headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, int(r.headers.get("X-Query-Count", "-1"))
    except urllib.error.HTTPError as e:
        return e.code, int(e.headers.get("X-Query-Count", "-1"))


def to_ms(v):
    n, unit = re.match(r"([\d.]+)(us|ms|s)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk_cmd(path, cookie, connections, seconds, extra=()):
    threads = min(2, connections)
    return ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
            "-H", f"Cookie: {cookie}", *extra, BASE + path]


def parse_wrk(out):
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    timeouts = re.search(r"timeout (\d+)", out)
    done, duration = re.search(r"(\d+) requests in ([\d.]+)s", out).groups()
    errors = int(non2xx.group(1)) if non2xx else 0
    return {
        "rps": rps,
        "ok_rps": (int(done) - errors) / float(duration),
        "p50_ms": to_ms(lat.get("50", "0us")),
        "p99_ms": to_ms(lat.get("99", "0us")),
        "errors": errors,
        "timeouts": int(timeouts.group(1)) if timeouts else 0,
    }


def wrk(path, cookie, connections, seconds, repeat=1):
    """The median run (by p99) of `repeat` runs."""
    runs = [parse_wrk(run(wrk_cmd(path, cookie, connections, seconds)).stdout)
            for _ in range(repeat)]
    runs.sort(key=lambda r: r["p99_ms"])
    return runs[len(runs) // 2]


def storm(admin_cookie, results, seconds, password):
    """Each storm page at 32 connections while 16 connections sign in as service1."""
    token, cookie = login_form()
    body = urllib.parse.urlencode(
        {"csrf_token": token, "username": "service1", "password": password})
    env = dict(os.environ, PORTALOPS_LOGIN_BODY=body, PORTALOPS_LOGIN_COOKIE=cookie)
    quiet = {r["page"]: r for r in results["pages"] if r["role"] == "Admin" and "c32" in r}
    rows = []
    for name, path in PAGES:
        if name not in STORM_PAGES or name not in quiet:
            continue
        logins = subprocess.Popen(
            wrk_cmd("/login", cookie, 16, seconds, ["-s", os.path.join(ROOT, "bench", "login.lua")]),
            env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(0.5)  # the storm is running before the page is measured
        page = parse_wrk(run(wrk_cmd(path, admin_cookie, 32, max(1, seconds - 1))).stdout)
        login = parse_wrk(logins.communicate()[0])
        q99 = quiet[name]["c32"]["p99_ms"]
        row = {"page": name, "quiet_p99_ms": q99, "storm": page, "logins": login,
               "ratio": page["p99_ms"] / q99 if q99 else None}
        rows.append(row)
        print(f"storm {name:<22} p99 {page['p99_ms']:>6.1f} ms (quiet {q99:.1f}, "
              f"x{row['ratio']:.2f}) · {page['rps']:.0f} req/s · signed in {login['ok_rps']:.1f}/s, "
              f"turned away (429) {login['errors']}, timed out {login['timeouts']}", flush=True)
    results["login_storm"] = rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="1")
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--json", default=os.path.join(ROOT, "target", "bench.json"))
    ap.add_argument("--only", default="",
                    help="measure only pages whose name contains one of these (comma-separated)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per figure (median by p99)")
    ap.add_argument("--no-storm", action="store_true", help="skip the login storm")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk")
    subprocess.run(["cargo", "build", "--release", "--locked"], cwd=ROOT, check=True)
    data = tempfile.mkdtemp(prefix="portalops-bench-")
    env = dict(os.environ, PORTALOPS_DATA_DIR=data, PORTALOPS_BIND=f"127.0.0.1:{PORT}",
               PORTALOPS_COOKIE_SECURE="false", PORTALOPS_SCHEDULER="false",
               RUST_LOG="warn", PORTALOPS_LOG="warn")
    server = None
    try:
        out = run([BIN, "demo-data", "--scale", args.scale], env=env).stdout
        password = re.search(r"with the password (\S+)", out).group(1)
        loaded = float(re.search(r"loaded in ([\d.]+) s", out).group(1))
        # A first start creates nothing new; the second measures start on an existing database.
        for attempt in range(2):
            server = subprocess.Popen([BIN, "serve"], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
            healthy = wait_healthy()
            if attempt == 0:
                server.terminate()
                server.wait(timeout=30)
        results = {"scale": args.scale, "demo_load_s": loaded, "start_to_healthy_s": healthy,
                   "pages": []}
        for role, user in [("Admin", "admin1"), ("Product Administrator", "product1")]:
            cookie = login(user, password)
            for name, path in PAGES:
                if args.only and not any(o in name for o in args.only.split(",")):
                    continue
                status, q = queries(path, cookie)
                row = {"role": role, "page": name, "path": path, "status": status, "queries": q}
                if status == 200:
                    row["c1"] = wrk(path, cookie, 1, args.seconds, args.repeat)
                    row["c32"] = wrk(path, cookie, 32, args.seconds, args.repeat)
                results["pages"].append(row)
                c1, c32 = row.get("c1"), row.get("c32")
                if c1:
                    print(f"{role[:5]:<5} {name:<22} q={q:<3} "
                          f"c1 {c1['rps']:>7.0f}/s p50 {c1['p50_ms']:>6.1f} p99 {c1['p99_ms']:>6.1f} | "
                          f"c32 {c32['rps']:>7.0f}/s p50 {c32['p50_ms']:>6.1f} p99 {c32['p99_ms']:>6.1f}"
                          f"{'  ERRORS ' + str(c32['errors']) if c32['errors'] else ''}", flush=True)
                else:
                    print(f"{role[:5]:<5} {name:<22} status {status} (not allowed for this role)",
                          flush=True)
        if not args.no_storm:
            storm(login("admin1", password), results, max(3, args.seconds), password)
        with open(f"/proc/{server.pid}/status") as f:
            hwm = re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1)
        results["server_peak_rss_mb"] = int(hwm) / 1024
        print(f"demo load {loaded:.1f} s · start to healthy {healthy * 1000:.0f} ms · "
              f"server peak RSS {results['server_peak_rss_mb']:.0f} MB")
        os.makedirs(os.path.dirname(args.json), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
        print(f"JSON: {args.json}")
    finally:
        if server and server.poll() is None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
