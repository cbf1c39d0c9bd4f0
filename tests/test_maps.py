"""Every common map type, for real: create, update, lookup, delete, iterate, batch, per-CPU, pin."""
from __future__ import annotations

import ctypes
import ipaddress
import os
import threading
import uuid
from collections.abc import Iterator

import pytest

from tinybpf.errors import BPFError, TinyBPFError
from tinybpf.kernel.bpffs import ensure_bpffs
from tinybpf.kernel.constants import MapType, UpdateFlags
from tinybpf.kernel.sysinfo import num_possible_cpus
from tinybpf.maps import Map, list_map_ids

pytestmark = pytest.mark.kernel

HASH_LIKE = [MapType.HASH, MapType.LRU_HASH, MapType.PERCPU_HASH, MapType.LRU_PERCPU_HASH]


@pytest.fixture
def pin_dir() -> Iterator[str]:
    path = os.path.join(ensure_bpffs(), f"tinybpf-test-{uuid.uuid4().hex[:8]}")
    os.mkdir(path)
    yield path
    for name in os.listdir(path):
        os.unlink(os.path.join(path, name))
    os.rmdir(path)


def _per_cpu(m: Map, value: int) -> object:
    return [value] * num_possible_cpus() if m.percpu else value


@pytest.mark.parametrize("kind", HASH_LIKE)
def test_hash_maps_behave_like_dicts(kind: MapType) -> None:
    with Map.create(kind, key=int, value=int, key_size=4, value_size=8, max_entries=64, name="h") as m:
        m[1] = _per_cpu(m, 10)
        m[2] = _per_cpu(m, 20)
        assert m[1] == _per_cpu(m, 10)
        assert 2 in m and 3 not in m
        assert sorted(m.keys()) == [1, 2]
        assert dict(m.items()) == {1: _per_cpu(m, 10), 2: _per_cpu(m, 20)}
        del m[1]
        with pytest.raises(KeyError):
            m[1]
        with pytest.raises(KeyError):
            del m[1]
        assert m.get(1, "absent") == "absent"
        assert len(m) == 1


def test_per_cpu_values_are_one_per_possible_cpu() -> None:
    cpus = num_possible_cpus()
    with Map.create(MapType.PERCPU_ARRAY, value="=I", max_entries=4) as m:
        m[0] = list(range(100, 100 + cpus))
        assert m[0] == list(range(100, 100 + cpus))
        m[1] = 7  # one value is written to every CPU
        assert m[1] == [7] * cpus


@pytest.mark.parametrize("kind", [MapType.ARRAY, MapType.PERCPU_ARRAY])
def test_arrays_have_every_index_and_refuse_delete(kind: MapType) -> None:
    with Map.create(kind, value=int, value_size=8, max_entries=8) as m:
        assert len(m) == 8
        assert list(m.keys()) == list(range(8))
        m[3] = _per_cpu(m, 33)
        assert dict(m.items())[3] == _per_cpu(m, 33)
        with pytest.raises(BPFError, match="BPF_MAP_DELETE_ELEM failed: EINVAL"):
            del m[3]
        with pytest.raises(KeyError):
            m[8]


@pytest.mark.parametrize("kind", [MapType.HASH, MapType.PERCPU_HASH, MapType.ARRAY, MapType.LRU_HASH])
def test_batch_update_dump_and_delete(kind: MapType) -> None:
    n = 5000
    room = 4 * n if kind == MapType.LRU_HASH else n  # LRU maps may evict before they are full
    with Map.create(kind, key=int, value=int, key_size=4, value_size=8, max_entries=room) as m:
        assert m.update_batch((i, _per_cpu(m, i * 3)) for i in range(n)) == n
        seen = {}
        for keys, values in m.lookup_batches(chunk=777):
            assert len(keys) <= 777 or kind != MapType.ARRAY
            seen.update(zip(keys, values))
        assert seen == {i: _per_cpu(m, i * 3) for i in range(n)}
        if kind != MapType.ARRAY:
            assert m.delete_batch(range(0, n, 2)) == n // 2
            assert sorted(m.keys()) == list(range(1, n, 2))
            drained = dict(m.items())
            assert len(drained) == n // 2


def test_lookup_and_delete_batch_drains_the_map() -> None:
    with Map.create(MapType.HASH, key=int, value=int, key_size=4, value_size=4, max_entries=100) as m:
        m.update_batch((i, i) for i in range(100))
        drained = {}
        for keys, values in m.lookup_batches(delete=True):
            drained.update(zip(keys, values))
        assert drained == {i: i for i in range(100)}
        assert list(m.keys()) == []


def test_iteration_survives_concurrent_deletion() -> None:
    with Map.create(MapType.HASH, key=int, value=int, key_size=4, value_size=4, max_entries=2000) as m:
        m.update_batch((i, i) for i in range(2000))
        seen = []
        for k in m:
            seen.append(k)
            if len(seen) % 3 == 0:
                try:
                    del m[k]  # delete the cursor key: the kernel restarts from the first key
                except KeyError:
                    pass
        assert len(seen) == len(set(seen)) == 2000


def test_iteration_with_deletes_from_another_thread() -> None:
    with Map.create(MapType.HASH, key=int, value=int, key_size=4, value_size=4, max_entries=5000) as m:
        m.update_batch((i, i) for i in range(5000))

        def deleter() -> None:
            for i in range(0, 5000, 2):
                m.get(i) is not None and m.delete_batch([i])

        worker = threading.Thread(target=deleter)
        worker.start()
        keys = list(m.keys())
        worker.join()
        assert len(keys) == len(set(keys))
        assert set(range(1, 5000, 2)) <= set(keys)


def test_lru_hash_evicts_instead_of_failing() -> None:
    with Map.create(MapType.LRU_HASH, key=int, value=int, key_size=4, value_size=4, max_entries=64) as m:
        for i in range(1000):
            m[i] = i
        assert 0 < len(m) <= 64


def test_full_hash_map_says_so() -> None:
    with Map.create(MapType.HASH, key=int, value=int, key_size=4, value_size=4, max_entries=2) as m:
        m[1] = 1
        m[2] = 2
        with pytest.raises(BPFError, match=r"E2BIG.*full"):
            m[3] = 3
        with pytest.raises(BPFError, match="EEXIST"):
            m.update(1, 5, UpdateFlags.NOEXIST)


def test_lpm_trie_longest_prefix_match() -> None:
    with Map.create(MapType.LPM_TRIE, key_size=8, value=int, value_size=4, max_entries=16) as m:
        m[(8, ipaddress.ip_address("10.0.0.0"))] = 8
        m[(24, ipaddress.ip_address("10.1.2.0"))] = 24
        assert m[(32, ipaddress.ip_address("10.1.2.3"))] == 24
        assert m[(32, ipaddress.ip_address("10.9.9.9"))] == 8
        with pytest.raises(KeyError):
            m[(32, ipaddress.ip_address("11.0.0.1"))]
        assert sorted(p for p, _ in m) == [8, 24]
        del m[(8, ipaddress.ip_address("10.0.0.0"))]
        assert list(m.keys()) == [(24, bytes([10, 1, 2, 0]))]


@pytest.mark.parametrize(("kind", "order"), [(MapType.QUEUE, [1, 2, 3]), (MapType.STACK, [3, 2, 1])])
def test_queue_and_stack(kind: MapType, order: list) -> None:  # type: ignore[type-arg]
    with Map.create(kind, value=int, value_size=8, max_entries=3) as m:
        for v in (1, 2, 3):
            m.push(v)
        with pytest.raises(BPFError, match="E2BIG"):
            m.push(4)
        assert m.peek() == order[0]
        assert [m.pop() for _ in range(3)] == order
        with pytest.raises(IndexError):
            m.pop()


def test_ring_buffer_map_is_created_with_page_multiple_size() -> None:
    with Map.create(MapType.RINGBUF, max_entries=1 << 16) as m:
        assert m.info.type == MapType.RINGBUF and m.max_entries == 1 << 16
    with pytest.raises(BPFError, match="BPF_MAP_CREATE failed: EINVAL"):
        Map.create(MapType.RINGBUF, max_entries=1000)


def test_perf_event_array_defaults_to_one_slot_per_cpu() -> None:
    with Map.create(MapType.PERF_EVENT_ARRAY) as m:
        assert m.max_entries == num_possible_cpus()
        assert m.key_size == m.value_size == 4
        with pytest.raises(BPFError):
            m[0] = 0  # fd 0 is not a perf event


def test_stack_trace_map_lookups() -> None:
    with Map.create(MapType.STACK_TRACE, max_entries=32) as m:
        assert m.value_size == 127 * 8
        with pytest.raises(KeyError):
            m[5]
        assert list(m.keys()) == []


def test_prog_array_holds_programs_by_fd_and_returns_ids() -> None:
    from tinybpf.kernel.constants import ProgType
    from tinybpf.programs import Program

    with Map.create(MapType.PROG_ARRAY, max_entries=4) as m, \
            Program.load(ProgType.SOCKET_FILTER, bytes.fromhex("b700000000000000" "9500000000000000")) as p:
        m[1] = p
        assert m[1] == p.info().id
        del m[1]
        with pytest.raises(KeyError):
            m[1]


@pytest.mark.parametrize("kind", [MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS])
def test_map_in_map(kind: MapType) -> None:
    with Map.create(MapType.ARRAY, value=int, value_size=4, max_entries=2) as inner, \
            Map.create(kind, key=int, key_size=4, max_entries=4, inner_map=inner) as outer:
        outer[0] = inner
        assert outer[0] == inner.info.id
        with pytest.raises(BPFError):
            outer[1] = 12345  # not a map fd


def test_typed_keys_and_values() -> None:
    class Pair(ctypes.Structure):
        _fields_ = [("a", ctypes.c_uint32), ("b", ctypes.c_uint64)]

    with Map.create(MapType.HASH, key="=II", value=Pair, max_entries=8) as m:
        assert (m.key_size, m.value_size) == (8, 16)
        m[(1, 2)] = Pair(3, 4)
        got = m[(1, 2)]
        assert isinstance(got, Pair) and (got.a, got.b) == (3, 4)
        m[bytes(8)] = bytes(16)  # raw bytes always work
        assert m[(0, 0)].b == 0
        with pytest.raises(TinyBPFError, match="expected 8 bytes"):
            m[b"short"] = bytes(16)


def test_pin_reopen_and_unpin(pin_dir: str) -> None:
    path = os.path.join(pin_dir, "counts")
    with Map.create(MapType.HASH, key=int, value=int, key_size=4, value_size=8, max_entries=4, name="pinned") as m:
        m[7] = 70
        m.pin(path)
        map_id = m.info.id
    with Map.from_pin(path, key=int, value=int) as again:
        assert again.info.id == map_id and again.name == "pinned"
        assert again[7] == 70
    Map.unpin(path)
    assert not os.path.exists(path)


def test_pin_outside_bpffs_is_explained(tmp_path: object) -> None:
    with Map.create(MapType.ARRAY, value_size=4, max_entries=1) as m, pytest.raises(BPFError, match="bpffs"):
        m.pin(os.path.join(str(tmp_path), "x"))


def test_freeze_makes_the_map_read_only_for_user_space() -> None:
    with Map.create(MapType.ARRAY, value=int, value_size=4, max_entries=1) as m:
        m[0] = 5
        m.freeze()
        assert m[0] == 5
        with pytest.raises(BPFError, match="EPERM"):
            m[0] = 6


def test_info_and_listing() -> None:
    with Map.create(MapType.LRU_PERCPU_HASH, key_size=4, value_size=12, max_entries=9, name="infomap") as m:
        info = m.info
        assert (info.type, info.name, info.key_size, info.value_size, info.max_entries) == (
            MapType.LRU_PERCPU_HASH, "infomap", 4, 12, 9)
        assert info.id in list_map_ids()
        assert Map.from_id(info.id).name == "infomap"


def test_bad_parameters_give_a_clear_error() -> None:
    with pytest.raises(BPFError) as exc:
        Map.create(MapType.ARRAY, key_size=8, value_size=4, max_entries=1, name="bad")
    text = str(exc.value)
    assert "EINVAL" in text and "array map 'bad'" in text and "key 8 B" in text and "hint:" in text
    with pytest.raises(TinyBPFError, match="max_entries"):
        Map.create(MapType.HASH, key_size=4, value_size=4)
    with pytest.raises(TinyBPFError, match="inner_map"):
        Map.create(MapType.ARRAY_OF_MAPS, max_entries=1)


EVERY_TYPE = [
    (MapType.HASH, {"key_size": 4, "value_size": 8, "max_entries": 4}),
    (MapType.ARRAY, {"value_size": 8, "max_entries": 4}),
    (MapType.PERCPU_HASH, {"key_size": 4, "value_size": 8, "max_entries": 4}),
    (MapType.PERCPU_ARRAY, {"value_size": 8, "max_entries": 4}),
    (MapType.LRU_HASH, {"key_size": 4, "value_size": 8, "max_entries": 4}),
    (MapType.LRU_PERCPU_HASH, {"key_size": 4, "value_size": 8, "max_entries": 4}),
    (MapType.LPM_TRIE, {"key_size": 8, "value_size": 8, "max_entries": 4}),
    (MapType.QUEUE, {"value_size": 8, "max_entries": 4}),
    (MapType.STACK, {"value_size": 8, "max_entries": 4}),
    (MapType.RINGBUF, {"max_entries": 4096}),
    (MapType.PERF_EVENT_ARRAY, {}),
    (MapType.STACK_TRACE, {"max_entries": 4}),
    (MapType.PROG_ARRAY, {"max_entries": 4}),
]


@pytest.mark.parametrize(("kind", "shape"), EVERY_TYPE, ids=[k.name.lower() for k, _ in EVERY_TYPE])
def test_every_map_type_pins_and_reopens(kind: MapType, shape: dict, pin_dir: str) -> None:  # type: ignore[type-arg]
    path = os.path.join(pin_dir, kind.name.lower())
    with Map.create(kind, name="pin_" + kind.name.lower()[:10], **shape) as m:
        m.pin(path)
        with Map.from_pin(path) as again:
            assert again.info == m.info


def test_maps_of_maps_pin_and_reopen(pin_dir: str) -> None:
    with Map.create(MapType.ARRAY, value_size=4, max_entries=1) as inner:
        for kind in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
            path = os.path.join(pin_dir, kind.name.lower())
            with Map.create(kind, key_size=4, max_entries=2, inner_map=inner) as outer:
                outer.pin(path)
                with Map.from_pin(path) as again:
                    assert again.info == outer.info
