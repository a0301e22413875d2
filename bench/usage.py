#!/usr/bin/env python3
"""Usage-evidence benchmark (issue #18): how long a product's usage export takes to upload,
dry-run and apply on a 10,000-person company, through the pages as an Admin uses them.

Builds the release binary (unless --bin), loads the demo company (--scale 1: 10,000 people)
into a throwaway data directory (embedded PostgreSQL), logs in as admin1, takes the per-seat
product with the most holders, and uploads an export listing every person in the directory
(so that most rows are "in the directory but no access here" and each holder matches), then
times: the upload (stored, read, matched once for the counts), the dry-run page (read and
matched again), changing the columns, and the apply (every matched grant updated, every
absent holder marked, in one transaction).

    python3 bench/usage.py [--scale 1] [--bin target/release/portalops]

Not part of `cargo test`: timings vary with the machine; the figures go in
docs/performance.md.
"""

import argparse
import http.cookiejar
import os
import re
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect()
        )

    def send(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if method == "POST":
            # As a browser sends it: the CSRF check compares the origin too.
            headers.setdefault("Origin", self.base)
            headers.setdefault("Referer", self.base + path)
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        start = time.perf_counter()
        try:
            with self.opener.open(req, timeout=600) as r:
                status, text, loc = r.status, r.read().decode(), r.headers.get("Location")
        except urllib.error.HTTPError as e:
            status, text, loc = e.code, e.read().decode(), e.headers.get("Location")
        return (time.perf_counter() - start) * 1000, status, text, loc

    def get(self, path):
        return self.send("GET", path)

    def csrf(self, path):
        _, status, text, _ = self.get(path)
        m = re.search(r'name="csrf_token" value="([^"]+)"', text)
        if not m:
            raise SystemExit(f"no CSRF token on {path} ({status})")
        return m.group(1)

    def post(self, path, fields):
        body = urllib.parse.urlencode(fields).encode()
        return self.send("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})

    def upload(self, path, token, name, content):
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: text/csv\r\n\r\n".encode()
            + content
            + b"\r\n",
            f"--{boundary}--\r\n".encode(),
        ]
        return self.send(
            "POST", path, b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--bin", default=None)
    args = ap.parse_args()
    binary = args.bin
    if binary is None:
        subprocess.run(["cargo", "build", "--locked", "--release"], cwd=ROOT, check=True)
        binary = os.path.join(ROOT, "target", "release", "portalops")
    data = tempfile.mkdtemp(prefix="portalops-usage-bench-")
    port = free_port()
    env = dict(
        os.environ,
        PORTALOPS_DATA_DIR=data,
        PORTALOPS_BIND=f"127.0.0.1:{port}",
        PORTALOPS_PUBLIC_URL=f"http://127.0.0.1:{port}",
        PORTALOPS_LOG="warn",
        # Plain http on loopback: the session cookie must travel without TLS.
        PORTALOPS_COOKIE_SECURE="off",
    )
    server = None
    try:
        out = subprocess.run(
            [binary, "demo-data", "--scale", str(args.scale)], env=env, check=True, capture_output=True, text=True
        ).stdout
        password = re.search(r"with the password (\S+)", out).group(1)
        server = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        b = Browser(f"http://127.0.0.1:{port}")
        token = b.csrf("/login")
        _, status, _, _ = b.post("/login", {"csrf_token": token, "username": "admin1", "password": password})
        assert status == 303, status
        # The per-seat product with the most holders, from the savings page.
        _, _, page, _ = b.get("/payments/savings")
        rows = re.findall(
            r'href="/inventory/products/(\d+)">([^<]+)</a></td>\s*<td class="num">\d+</td><td class="num">(\d+)</td>',
            page,
        )
        pid, label, holders = max(rows, key=lambda r: int(r[2]))
        # Everyone in the directory, from its CSV export.
        _, status, people, _ = b.get("/directory/export.csv")
        assert status == 200, status
        lines = people.splitlines()
        header = [h.strip().lower() for h in lines[0].split(",")]
        email_at = header.index("email")
        emails = [l.split(",")[email_at] for l in lines[1:] if l.count(",") >= email_at]
        csv = ["Email,Last active (UTC),Account type"]
        for i, e in enumerate(emails):
            csv.append(f"{e},2026-{(i % 11) + 1:02d}-15,Full member")
        content = ("\n".join(csv) + "\n").encode()
        print(f"product {label} (#{pid}): {holders} holders; export of {len(emails)} rows, {len(content) // 1024} KiB")

        usage = f"/inventory/products/{pid}/usage"
        token = b.csrf(usage)
        ms_up, status, _, loc = b.upload(usage, token, "everyone.csv", content)
        assert status == 303 and "/usage/" in (loc or ""), (status, loc)
        dry = urllib.parse.urlparse(loc).path
        ms_dry, status, page, _ = b.get(dry)
        assert status == 200, status
        counts = re.search(r"<strong>(\d+)</strong> matched to a grant · <strong>(\d+)</strong> not matched · <strong>(\d+)</strong>", page)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        ms_cols, status, _, _ = b.post(
            dry + "/columns",
            {
                "csrf_token": token,
                "email_column": "Email",
                "last_active_column": "Last active (UTC)",
                "tier_column": "Account type",
                "date_format": "auto",
            },
        )
        assert status == 303, status
        ms_apply, status, _, loc = b.post(dry + "/apply", {"csrf_token": token})
        assert status == 303, status
        ms_product, status, _, _ = b.get(f"/inventory/products/{pid}?inactive=90")
        assert status == 200, status
        ms_savings, status, _, _ = b.get("/payments/savings?inactive=90")
        assert status == 200, status
        print(f"dry run: {counts.group(1)} matched, {counts.group(2)} not matched, {counts.group(3)} holders absent")
        for what, ms in [
            ("upload (store, read, match for the counts)", ms_up),
            ("dry-run page (read and match again)", ms_dry),
            ("change the columns (match again)", ms_cols),
            ("apply (update every matched grant)", ms_apply),
            ("product page, inactive for 90 days", ms_product),
            ("savings page by real use (90 days)", ms_savings),
        ]:
            print(f"{what:48s} {ms:8.0f} ms")
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        subprocess.run(["rm", "-rf", data])


if __name__ == "__main__":
    main()
