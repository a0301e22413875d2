#!/usr/bin/env python3
"""SCIM provisioning benchmark (issue #18): how long an identity provider takes to provision
a company into PortalOps through /scim/v2, the way Okta does it — for each user a lookup
(`GET /Users?filter=userName eq "…"`) and then the create (`POST /Users`) — over one
keep-alive connection, one request at a time. Then the same provider changes a tenth of them
(PATCH title) and deactivates a tenth (PATCH active false: each starts an offboarding).
With --connections N the users are split over N keep-alive connections running at once, as
providers that provision in parallel do (Entra ID, Okta with concurrency).

Builds the release binary (unless --bin), starts it on a throwaway data directory (embedded
PostgreSQL) with a few demo people, makes a scim token from the shell, and prints the wall
time, users per second and the p50/p99 latency of each kind of request.

    python3 bench/scim.py [--users 10000] [--connections 1] [--bin target/release/portalops]

Not part of `cargo test`: timings vary with the machine; the figures go in docs/performance.md.
"""

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cpu_times():
    """The machine's CPU time so far (all cores, in ticks) and the part of it stolen by the
    hypervisor for other guests: a run with much steal measured a busy host, not PortalOps."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return sum(fields), fields[7] if len(fields) > 7 else 0


def percentile(values, p):
    values = sorted(values)
    if not values:
        return 0.0
    k = min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))
    return values[k]


class Scim:
    def __init__(self, port, token):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/scim+json",
        }

    def call(self, method, path, body=None):
        start = time.perf_counter()
        self.conn.request(
            method,
            "/scim/v2" + path,
            body=None if body is None else json.dumps(body),
            headers=self.headers,
        )
        resp = self.conn.getresponse()
        data = resp.read()
        elapsed = (time.perf_counter() - start) * 1000
        if resp.status >= 300:
            raise SystemExit(f"{method} {path}: {resp.status} {data[:300]!r}")
        return elapsed, json.loads(data) if data else None


def user(i):
    name = f"bench.user{i:05d}@example.com"
    return {
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        ],
        "userName": name,
        "externalId": f"00u{i:08d}",
        "name": {"givenName": f"User{i}", "familyName": "Bench"},
        "emails": [{"value": name, "type": "work", "primary": True}],
        "title": "Engineer",
        "active": True,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": ["Engineering", "Sales", "Finance", "Support"][i % 4],
            "employeeNumber": str(100000 + i),
        },
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--bin", default=None)
    ap.add_argument("--connections", type=int, default=1)
    args = ap.parse_args()

    binary = args.bin
    if binary is None:
        subprocess.run(["cargo", "build", "--locked", "--release"], cwd=ROOT, check=True)
        binary = os.path.join(ROOT, "target", "release", "portalops")
    data = tempfile.mkdtemp(prefix="portalops-scim-bench-")
    port = free_port()
    env = dict(
        os.environ,
        PORTALOPS_DATA_DIR=data,
        PORTALOPS_BIND=f"127.0.0.1:{port}",
        PORTALOPS_PUBLIC_URL=f"http://127.0.0.1:{port}",
        PORTALOPS_LOG="warn",
    )
    server = None
    try:
        subprocess.run([binary, "demo-data", "--scale", "0.01"], env=env, check=True, capture_output=True)
        token = subprocess.run(
            [binary, "token", "create", "--user", "admin1", "--name", "bench", "--scopes", "scim:write"],
            env=env, check=True, capture_output=True, text=True,
        ).stdout.strip()
        server = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        scim = Scim(port, token)
        lookups, creates, ids = [], [], []
        failures = []

        def provision_part(part):
            client = Scim(port, token)
            try:
                for i in range(part, args.users, args.connections):
                    name = f"bench.user{i:05d}@example.com"
                    q = urllib.parse.quote(f'userName eq "{name}"')
                    ms, found = client.call("GET", f"/Users?filter={q}")
                    lookups.append(ms)
                    if found["totalResults"] != 0:
                        raise SystemExit(f"{name} already there")
                    ms, made = client.call("POST", "/Users", user(i))
                    creates.append(ms)
                    ids.append(made["id"])
            except BaseException as e:  # noqa: BLE001 - reported below
                failures.append(e)

        cpu_before = cpu_times()
        start = time.perf_counter()
        threads = [threading.Thread(target=provision_part, args=(n,)) for n in range(args.connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        provision = time.perf_counter() - start
        cpu_after = cpu_times()
        total = cpu_after[0] - cpu_before[0]
        steal = 100.0 * (cpu_after[1] - cpu_before[1]) / total if total else 0.0
        if failures:
            raise SystemExit(f"provisioning failed: {failures[0]}")

        tenth = max(1, args.users // 10)
        changes, deactivations = [], []
        for uid in ids[:tenth]:
            ms, _ = scim.call("PATCH", f"/Users/{uid}", {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Replace", "path": "title", "value": "Senior Engineer"}],
            })
            changes.append(ms)
        for uid in ids[tenth:2 * tenth]:
            ms, _ = scim.call("PATCH", f"/Users/{uid}", {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": False}}],
            })
            deactivations.append(ms)
        ms, page = scim.call("GET", "/Users?startIndex=5001&count=100")
        listing = ms

        print(f"SCIM provisioning, {args.users} users, {args.connections} connection(s), one request at a time each")
        print(f"  provisioned (lookup + create each): {provision:.1f} s, {args.users / provision:.0f} users/s")
        print(f"  CPU stolen by the hypervisor meanwhile: {steal:.1f}% (a busy host, when high)")
        for label, xs in [
            ("GET /Users?filter=userName eq", lookups),
            ("POST /Users", creates),
            ("PATCH title", changes),
            ("PATCH active false (offboarding)", deactivations),
        ]:
            print(f"  {label:36} p50 {percentile(xs, 50):6.1f} ms   p99 {percentile(xs, 99):6.1f} ms   n={len(xs)}")
        print(f"  GET /Users page at 5001 (100 of {page['totalResults']}): {listing:.1f} ms")
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
