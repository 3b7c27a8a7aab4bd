"""Benchmark the dashboard: how long a new filter takes, alone and with 20 people at once.

    .venv/bin/python bench/dashboard.py                 # the 2,000-customer demo
    .venv/bin/python bench/dashboard.py --customers 20000 --clients 20

Writes the demo (`nrr.datasets`, with its health inputs) to a temporary folder, starts
`nrr serve --db` on it in its own process, on a free loopback port, and measures from this
process over HTTP, as a browser would:

- a new filter: `/api/metrics` for every slice value of every filterable attribute, each
  asked once (so never from the server's cache); the median and the slowest;
- the whole page under a new filter (`/?filter=...`: every view of the dashboard);
- 20 clients at once, each asking a filter and window nobody asked before, released together:
  the median and the slowest of their response times.

Issue 22's targets are printed beside the figures (a new filter under 150 ms; a median under
1 s for 20 clients at once). Figures are printed, never asserted: they depend on the machine.
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from nrr.datasets import generate_demo, write_demo

NRR = str(Path(sys.executable).parent / "nrr")
WINDOWS = (1, 3, 6, 12, 24, 36)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(base: str, path: str, **params: object) -> tuple[float, bytes]:
    """Seconds to the last byte of the response, and its body."""
    url = f"{base}{path}?{urllib.parse.urlencode(params)}" if params else f"{base}{path}"
    began = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as response:
        body = response.read()
    return time.perf_counter() - began, body


def _start(db: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    server = subprocess.Popen(
        [NRR, "serve", "--db", str(db), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"nrr serve exited: {server.stderr.read().decode()[-400:]}")  # type: ignore[union-attr]
        try:
            _get(base, "/api/meta")
            return server, base
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("nrr serve did not answer within 300 s")


def _filters(meta: dict[str, object]) -> list[tuple[str, str]]:
    values = meta["filters"]
    assert isinstance(values, dict)
    return [(name, value) for name, found in values.items() for value in found]


def _line(label: str, seconds: list[float], target: str = "") -> None:
    median = statistics.median(seconds) * 1000
    slowest = max(seconds) * 1000
    note = f"  (target {target})" if target else ""
    print(f"  {label:<46} median {median:7.0f} ms, slowest {slowest:7.0f} ms{note}")


def _together(base: str, asks: list[dict[str, object]]) -> list[float]:
    """Every ask in its own thread, all released at once; each one's response time."""
    gate = threading.Barrier(len(asks))
    times: list[float] = [0.0] * len(asks)

    def client(i: int) -> None:
        gate.wait()
        times[i], _ = _get(base, "/api/metrics", **asks[i])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(asks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()
    import json

    with tempfile.TemporaryDirectory(prefix="nrr-bench-dashboard-") as tmp:
        paths = write_demo(generate_demo(seed=7, customers=args.customers), tmp)
        db = next(p for p in paths.values() if p.suffix == ".duckdb")
        began = time.perf_counter()
        server, base = _start(db)
        ready = time.perf_counter() - began
        try:
            print(
                f"python {sys.version.split()[0]}, {os.cpu_count()} cores; the demo with "
                f"{args.customers:,} customers; nrr serve answered after {ready:.1f} s"
            )
            meta = json.loads(_get(base, "/api/meta")[1])
            end = meta["months"][-1] if isinstance(meta.get("months"), list) else None
            pairs = _filters(meta)
            if not pairs:
                raise SystemExit("the demo has no filterable attribute")
            common = {"end": end} if end else {}
            alone = [
                _get(base, "/api/metrics", **common, filter=name, value=value)[0]
                for name, value in pairs
            ]
            _line(f"a new filter, /api/metrics ({len(alone)} asked)", alone, "under 150 ms")
            page = [
                _get(base, "/", **common, filter=name, value=value, window=3)[0]
                for name, value in pairs[:5]
            ]
            _line(f"a new filter, the whole page ({len(page)} asked)", page)
            # Never asked before: windows other than the ones above, for every filter value.
            fresh = itertools.product((w for w in WINDOWS if w != 12), pairs)
            asks = [
                {**common, "filter": name, "value": value, "window": window}
                for window, (name, value) in itertools.islice(fresh, args.clients)
            ]
            times = _together(base, asks)
            _line(f"{len(asks)} clients at once, each a new filter", times, "median under 1 s")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
