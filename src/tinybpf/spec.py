"""Specs: plain descriptions of maps and programs, before anything touches the kernel.

The ELF object reader and the trace compiler both produce specs; ``Map.create``/``Program.load``
turn them into live kernel objects. Specs are data: inspect, copy (``dataclasses.replace``) and
rewrite them freely.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Optional

from .kernel.constants import AttachType, MapType, ProgType


@dataclasses.dataclass(frozen=True)
class MapSpec:
    """What ``BPF_MAP_CREATE`` needs, plus where to pin and what to put in the map after creation."""

    type: MapType
    key_size: int
    value_size: int
    max_entries: int
    name: str = ""
    flags: int = 0
    inner_map: Optional[MapSpec] = None
    numa_node: Optional[int] = None
    map_extra: int = 0
    pin_path: str = ""
    contents: tuple[tuple[Any, Any], ...] = ()
    freeze: bool = False
    btf_key_type_id: int = 0
    btf_value_type_id: int = 0


@dataclasses.dataclass(frozen=True)
class ProgramSpec:
    """What ``BPF_PROG_LOAD`` needs. ``instructions`` is an encoded byte string or an ``Instructions``."""

    type: ProgType
    instructions: Any
    name: str = ""
    license: str = "GPL"
    expected_attach_type: Optional[AttachType] = None
    kernel_version: int = 0
    flags: int = 0
    attach_btf_id: int = 0
    section: str = ""
