"""``/metrics`` in the Prometheus text exposition format (version 0.0.4).

Per program: run count and run time from BPF stats (the daemon holds BPF_ENABLE_STATS while it runs).
Per map: entries and capacity (fill level). Map contents by BumbleBee's naming convention: a map named
``counter_X`` becomes counter ``tinybpf_X_total``, ``gauge_X`` gauge ``tinybpf_X``, ``hist_X`` a gauge per
bucket; struct keys become labels (one per member), scalar keys the label ``key``.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .mapview import MapView

_NAME = re.compile(r"[^a-zA-Z0-9_]")
_PREFIXES = {"counter_": "counter", "gauge_": "gauge", "hist_": "gauge"}


def metric_name(text: str) -> str:
    cleaned = _NAME.sub("_", text)
    return cleaned if not cleaned[:1].isdigit() else "_" + cleaned


def _escape(value: Any) -> str:
    return str(value).replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _labels(labels: dict[str, Any]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{metric_name(k)}="{_escape(v)}"' for k, v in labels.items()) + "}"


class Exposition:
    """Collects samples grouped by metric family, each family with one HELP and TYPE line."""

    def __init__(self) -> None:
        self._families: dict[str, tuple[str, str, list[str]]] = {}

    def add(self, name: str, kind: str, help_text: str, labels: dict[str, Any], value: float) -> None:
        family = self._families.setdefault(name, (kind, help_text, []))
        family[2].append(f"{name}{_labels(labels)} {value}")

    def text(self) -> str:
        lines = []
        for name, (kind, help_text, samples) in self._families.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *samples]
        return "\n".join(lines) + "\n"


def _key_labels(key: Any) -> dict[str, Any]:
    if isinstance(key, dict):
        return {k: v for k, v in key.items() if not isinstance(v, (dict, list))}
    return {"key": key}


def _number(value: Any) -> float:
    if isinstance(value, list):  # per-CPU: the sum, as BumbleBee reports it
        return float(sum(_number(v) for v in value))
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict) and value:
        return _number(next(iter(value.values())))
    return float("nan")


def collect(modules: Iterable[tuple[str, dict[str, str], dict[str, MapView]]], out: Exposition) -> None:
    """Samples for each (module name, {program: pin path}, maps)."""
    from ..maps import ARRAY_TYPES
    from ..programs import Program

    for module, programs, maps in modules:
        for program, path in programs.items():
            with Program.from_pin(path) as prog:
                info = prog.info()
            labels = {"module": module, "program": program, "id": info.id}
            out.add("tinybpf_program_run_count_total", "counter", "Times the program ran (BPF stats).", labels,
                    info.run_cnt)
            out.add("tinybpf_program_run_time_seconds_total", "counter", "Time the program ran (BPF stats).",
                    labels, info.run_time_ns / 1e9)
        for name, view in maps.items():
            _map_samples(module, name, view, out, ARRAY_TYPES)


def _map_samples(module: str, name: str, view: MapView, out: Exposition, array_types: Any) -> None:
    with view.open() as m:
        capacity = m.max_entries
        kind = m.type
    labels = {"module": module, "map": name}
    out.add("tinybpf_map_capacity", "gauge", "max_entries of the map.", labels, capacity)
    prefix = next((p for p in _PREFIXES if name.startswith(p)), None)
    if kind in array_types and prefix is None:
        out.add("tinybpf_map_entries", "gauge", "Entries in the map (arrays are always full).", labels, capacity)
        return
    try:
        entries = view.entries()
    except Exception:  # a map type without keys (ringbuf, queue...): fill level unknown
        return
    out.add("tinybpf_map_entries", "gauge", "Entries in the map (arrays are always full).", labels,
            capacity if kind in array_types else len(entries))
    if prefix is None:
        return
    metric = metric_name(f"tinybpf_{name[len(prefix):]}")
    family = _PREFIXES[prefix]
    if family == "counter":
        metric += "_total"
    help_text = f"Map {name} of module {module}."
    for entry in entries:
        sample = {"module": module, **_key_labels(entry["key"])}
        out.add(metric, family, help_text, sample, _number(entry["value"]))


def collect_script(module: str, printed: dict[str, Any], out: Exposition) -> None:
    """A script's maps, as it last printed them: ``tinybpf_script_map{module, map, key}``; histograms one
    sample per bucket (``min``/``max`` labels)."""
    help_text = "The last printed value of a bpftrace-script module's map."
    for name, value in printed.items():
        base = {"module": module, "map": name}
        if isinstance(value, (int, float)):
            out.add("tinybpf_script_map", "gauge", help_text, base, value)
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, (int, float)):
                    out.add("tinybpf_script_map", "gauge", help_text, {**base, "key": key}, item)
                elif isinstance(item, list):
                    _buckets(out, {**base, "key": key}, item)
        elif isinstance(value, list):
            _buckets(out, base, value)


def _buckets(out: Exposition, labels: dict[str, Any], buckets: list[Any]) -> None:
    for bucket in buckets:
        if isinstance(bucket, dict) and "count" in bucket:
            where = {k: bucket[k] for k in ("min", "max") if k in bucket}
            out.add("tinybpf_script_hist_bucket", "gauge", "Buckets of a bpftrace-script module's histogram.",
                    {**labels, **where}, bucket["count"])
