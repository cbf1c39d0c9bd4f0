#!/usr/bin/env python3
"""Map access speed: single-element update+lookup, and a batch dump of a 1,000,000-entry hash map
beside `bpftool map dump` of the same map, timed in the same run.

    sudo python3 benchmarks/maps.py [--entries 1000000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import time

from tinybpf.kernel.constants import MapType
from tinybpf.maps import Map


def single_ops(m: Map, count: int) -> float:
    start = time.perf_counter()
    for i in range(count):
        m[i & 1023] = i
        m[i & 1023]
    return count / (time.perf_counter() - start)


def batch_dump(m: Map) -> tuple:  # type: ignore[type-arg]
    start = time.perf_counter()
    n = sum(len(keys) for keys, _ in m.lookup_batches())
    return time.perf_counter() - start, n


def bpftool_dump(map_id: int, json_output: bool) -> float:
    cmd = ["bpftool"] + (["-j"] if json_output else []) + ["map", "dump", "id", str(map_id)]
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    with Map.create(MapType.HASH, key=int, value=int, key_size=4, value_size=8, max_entries=args.entries,
                    name="bench") as m:
        rate = single_ops(m, 200_000)
        print(f"single element: {rate:,.0f} update+lookup pairs/s ({1e6 / rate:.2f} us per pair)")
        start = time.perf_counter()
        chunk = 100_000
        for base in range(0, args.entries, chunk):
            m.update_batch((i, i * 7) for i in range(base, min(base + chunk, args.entries)))
        print(f"batch fill: {args.entries:,} entries in {time.perf_counter() - start:.2f} s")

        ours = [batch_dump(m) for _ in range(args.repeat)]
        assert all(n == args.entries for _, n in ours), "batch dump missed entries"
        t_ours = statistics.median(t for t, _ in ours)
        start = time.perf_counter()
        as_dict = m.dump()
        t_dict = time.perf_counter() - start
        assert len(as_dict) == args.entries
        print(f"tinybpf batch dump: {t_ours:.3f} s ({args.entries / t_ours:,.0f} entries/s); "
              f"as a dict: {t_dict:.3f} s")
        if not shutil.which("bpftool"):
            print("bpftool not found: install it (apt-get install bpftool) for the comparison")
            return
        map_id = m.info.id
        for json_output in (False, True):
            t_ref = statistics.median(bpftool_dump(map_id, json_output) for _ in range(args.repeat))
            label = "bpftool -j map dump" if json_output else "bpftool map dump"
            print(f"{label}: {t_ref:.3f} s -> tinybpf is {t_ref / t_ours:.1f}x faster "
                  f"({t_ref / t_dict:.1f}x including the dict)")


if __name__ == "__main__":
    main()
