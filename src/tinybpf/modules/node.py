"""What one node does with modules: build, push, pull (+verify), load, attach, detach, unload, save, apply,
adopt. The CLI calls it directly (daemonless) and the daemon calls it for its REST API; either way every
change is audited and committed to the state DB after the kernel objects are pinned.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Optional

from ..errors import TinyBPFError
from . import pins, script, signatures
from .errors import ModuleError, RegistryError
from .manifest import Image, Module, build, index, read_module
from .reference import Reference
from .settings import Settings
from .state import ModuleRecord, State
from .store import Store

if TYPE_CHECKING:
    from .mapview import MapView
    from .registry import Registry

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
SAVE_FORMAT = "tinybpf.modules.state.v1"


class Node:
    def __init__(self, settings: Settings, who: str = "") -> None:
        self.settings = settings
        self.store = Store(settings.store)
        self.state = State(settings.database)
        self.who = who
        self._specs: dict[str, Any] = {}

    def close(self) -> None:
        self.state.close()

    def _audit(self, action: str, subject: str, digest: str = "", result: str = "ok") -> None:
        self.state.audit(action, subject, digest, result, self.who)

    def reference(self, text: str) -> Reference:
        return Reference.parse(text, self.settings.default_registry)

    # ----- images -----

    def build(self, paths: Sequence[str], tag: str, **metadata: Any) -> str:
        """A module image from one payload, or an image index from one object per byte order."""
        Reference.parse(tag, "localhost")  # a local name must be a valid reference too, to push it later
        images = [build(path, **metadata) for path in paths]
        return self.store.put(images[0] if len(images) == 1 else index(images), [tag])

    def module(self, name: str) -> Module:
        """The module ``name`` holds (for an index: the one for this host's byte order)."""
        image = self.store.get(name).for_arch()
        return read_module(image.manifest, lambda d: image.blobs[d["digest"]], name)

    def push(self, local: str, target: str, *, insecure: bool = False) -> tuple[str, int]:
        from .registry import Registry

        ref = self.reference(target)
        image = self.store.get(local)
        registry = Registry.for_reference(ref, self.settings, insecure)
        try:
            digest, sent = registry.push(ref.repository, ref.tag, image)
            sig_name = f"{ref.registry}/{ref.repository}:{signatures.signature_tag(digest)}"
            if self.store.resolve(sig_name) or self.store.resolve(f"{local}:{signatures.signature_tag(digest)}"):
                sig = self.store.get(sig_name if self.store.resolve(sig_name) else
                                     f"{local}:{signatures.signature_tag(digest)}")
                registry.push(ref.repository, signatures.signature_tag(digest), sig)
        finally:
            registry.close()
        self.store.put(image, [str(ref)])
        self._audit("push", str(ref), digest)
        return digest, sent

    def _registries(self, ref: Reference, insecure: bool) -> list[Registry]:
        from .registry import Registry

        hosts = [*self.settings.mirrors.get(ref.registry, []), ref.registry]
        return [Registry.for_reference(Reference(h, ref.repository, ref.tag, ref.digest), self.settings, insecure)
                for h in hosts]

    def pull(self, text: str, *, insecure: bool = False, verify: bool = True, keys: Iterable[str] = ()) -> Module:
        """Fetch, check digests, verify the signature (unless told not to), then store: all or nothing."""
        ref = self.reference(text)
        image, sig, registry = self._fetch(ref, insecure)
        chosen = image.for_arch()
        module = read_module(chosen.manifest, lambda d: chosen.blobs[d["digest"]], str(ref))
        if verify:
            try:
                kid = signatures.verify(image.digest, sig, signatures.trusted_keys(self.settings.trust, keys), str(ref))
            except ModuleError:
                self._audit("pull", str(ref), image.digest, "refused: signature")
                raise
            self._audit("verify", str(ref), image.digest, f"signed by {kid}")
        if sig is not None:
            self.store.put(sig, [f"{ref.registry}/{ref.repository}:{signatures.signature_tag(image.digest)}"])
        self.store.put(image, [str(ref)] + ([] if ref.digest else [f"{ref.registry}/{ref.repository}@{image.digest}"]))
        self._audit("pull", str(ref), image.digest, f"from {registry}")
        return module

    def _fetch(self, ref: Reference, insecure: bool) -> tuple[Image, Optional[Image], str]:
        failure: Optional[RegistryError] = None
        for registry in self._registries(ref, insecure):
            try:
                image = registry.pull(ref.repository, ref.reference)
                return image, _signature(registry, ref.repository, image.digest), registry.host
            except RegistryError as exc:
                failure = failure or exc
            finally:
                registry.close()
        assert failure is not None
        raise failure

    def verify(self, text: str, *, insecure: bool = False, keys: Iterable[str] = ()) -> tuple[str, str]:
        """Check a registry module's signature without pulling it: its digest and the signer's key id."""
        from .registry import Registry

        ref = self.reference(text)
        registry = Registry.for_reference(ref, self.settings, insecure)
        try:
            digest = registry.manifest_digest(ref.repository, ref.reference) or ""
            if not digest:
                raise ModuleError(f"{ref}: no such tag", "see `tinybpf module list REGISTRY/NAME`")
            sig = _signature(registry, ref.repository, digest)
        finally:
            registry.close()
        return digest, signatures.verify(digest, sig, signatures.trusted_keys(self.settings.trust, keys), str(ref))

    def sign(self, name: str, key_path: str) -> str:
        seed = signatures.read_key(key_path, "private")
        digest = self.store.resolve(name)
        if digest is None:
            raise ModuleError(f"{name}: not in the module store", "build or pull it first")
        sig_name = f"{name.rsplit('@', 1)[0].rsplit(':', 1)[0]}:{signatures.signature_tag(digest)}"
        existing = self.store.get(sig_name) if self.store.resolve(sig_name) else None
        self.store.put(signatures.sign(digest, name, seed, existing), [sig_name])
        self._audit("sign", name, digest, signatures.key_id(signatures.ed25519.public_key(seed)))
        return digest

    # ----- running -----

    def load(self, text: str, *, name: str = "", params: Mapping[str, Any] = {}, attach: bool = False,
             targets: Mapping[str, str] = {}, pull: Optional[dict[str, Any]] = None) -> ModuleRecord:
        """Load (and optionally attach) a stored module; replaces a running version only once the new one
        loaded and attached, and leaves the old one running when it fails (verifier, missing type...)."""
        if self.store.resolve(text) is None and pull is not None:
            self.pull(text, **pull)
        module = self.module(text)
        digest = self.store.resolve(text) or ""
        name = _module_name(name or module.name)
        old = self.state.module(name)
        if old is not None and old.digest == digest:
            raise ModuleError(f"module {name} already runs {digest[:19]}...", "unload it first, or load another version")
        try:
            if module.config.kind == "bpftrace":
                record = self._start_script(module, text, name, digest)
            else:
                record = self._start_object(module, text, name, digest, params, attach, targets, old)
        except BaseException as exc:
            self._audit("load", name, digest, f"failed: {exc}")
            raise
        record = dataclasses.replace(record, previous=old.digest if old else "")
        self.state.put(record)
        if old is not None:
            self._stop(old)
        self._audit("load" if old is None else "swap", name, digest,
                    "script running" if record.pid else "verifier ok" + (", attached" if attach else ""))
        return record

    def _start_object(self, module: Module, text: str, name: str, digest: str, params: Mapping[str, Any],
                      attach: bool, targets: Mapping[str, str], old: Optional[ModuleRecord]) -> ModuleRecord:
        """Load beside ``old``; links that allow it move to the new programs in place, the rest attach anew
        before the old version goes, so the swap never leaves a gap."""
        directory = pins.version_dir(self.settings.pin_root, name, digest)
        pins.load(module, directory, {**module.config.parameters, **params})
        moved: dict[str, str] = {}
        try:
            if attach:
                if old is not None and old.kind == "object" and old.attach == dict(targets):
                    moved = pins.update_links(old.pin_dir, directory)
                pins.attach(module, directory, targets, skip=moved)
        except BaseException:
            if moved and old is not None:
                pins.revert_links(directory, old.pin_dir, moved)
            pins.remove(directory)
            raise
        return ModuleRecord(name, text, digest, module.config.kind, "attached" if attach else "loaded",
                            dict(targets), dict(params), directory)

    def _start_script(self, module: Module, text: str, name: str, digest: str) -> ModuleRecord:
        path = os.path.join(self.settings.root, "scripts", name, digest.split(":", 1)[-1][:12] + ".bt")
        source = module.payload.decode(errors="replace")
        script.check(source, f"{name}.bt")
        self.store._write(path, module.payload)
        pid = script.start(path, self.log_path(name))
        return ModuleRecord(name, text, digest, "bpftrace", "running", pin_dir=path, pid=pid)

    def log_path(self, name: str) -> str:
        return os.path.join(self.settings.root, "logs", f"{_module_name(name)}.log")

    def log_tail(self, name: str, lines: int = 100) -> list[str]:
        """The last ``lines`` a script module printed."""
        try:
            with open(self.log_path(name), errors="replace") as f:
                return f.read().splitlines()[-lines:]
        except FileNotFoundError:
            raise ModuleError(f"module {name} has no log", "only script modules write one") from None

    def _stop(self, record: ModuleRecord) -> None:
        from ..kernel import bpffs

        if record.kind == "bpftrace":
            script.stop(record.pid, record.pin_dir)
        elif record.kind == "pinned":
            bpffs.remove(record.pin_dir)
        else:
            pins.remove(record.pin_dir)

    def alive(self, record: ModuleRecord) -> bool:
        """Whether what ``record`` says runs still does (pins present, or the script's tracer alive)."""
        if record.kind == "bpftrace":
            return script.running(record.pid, record.pin_dir)
        if record.kind == "pinned":
            return bool(pins.foreign_programs(record.pin_dir))
        held = pins.pinned(record.pin_dir)
        return bool(held.programs) and (record.status != "attached" or bool(held.links))

    def _record(self, name: str) -> ModuleRecord:
        record = self.state.module(name)
        if record is None:
            raise ModuleError(f"no module named {name!r} is loaded", "see `tinybpf module ps`")
        return record

    def _object_record(self, name: str) -> ModuleRecord:
        record = self._record(name)
        if record.kind == "bpftrace":
            raise ModuleError(f"module {name} is a script: it runs attached or not at all", "unload it to stop it")
        if record.kind == "pinned":
            raise ModuleError(f"module {name} was pinned by another tool at {record.pin_dir}: tinybpf does not "
                              "know where it attaches", "attach it with the tool that loaded it")
        return record

    def adopt_pinned(self, name: str, path: str) -> ModuleRecord:
        """Take charge of programs another tool pinned (one pin or a directory): listed, kept, unloadable."""
        if self.state.module(_module_name(name)) is not None:
            raise ModuleError(f"a module named {name!r} already exists", "pick another name")
        found = pins.foreign_programs(path)
        if not found:
            raise ModuleError(f"{path}: no pinned BPF program there", "give a bpffs pin or a directory of pins")
        record = ModuleRecord(name, path, "", "pinned", "adopted", pin_dir=path)
        self.state.put(record)
        self._audit("adopt", name, result=f"{len(found)} programs pinned at {path}")
        return record

    def attach(self, name: str, targets: Mapping[str, str] = {}) -> ModuleRecord:
        record = self._object_record(name)
        module = self.module(record.digest)
        pins.detach(record.pin_dir)
        pins.attach(module, record.pin_dir, targets)
        updated = ModuleRecord(**{**record.to_dict(), "status": "attached", "attach": dict(targets)})
        self.state.put(updated)
        self._audit("attach", name, record.digest)
        return updated

    def detach(self, name: str) -> int:
        record = self._object_record(name)
        count = pins.detach(record.pin_dir)
        self.state.put(ModuleRecord(**{**record.to_dict(), "status": "loaded"}))
        self._audit("detach", name, record.digest, f"{count} links")
        return count

    def unload(self, name: str) -> None:
        record = self._record(name)
        self._stop(record)
        self.state.remove(name)
        self._audit("unload", name, record.digest)

    def ps(self) -> list[dict[str, Any]]:
        """Every module with what its pins hold right now (program ids, map and link names)."""
        from ..programs import Program

        found = []
        for record in self.state.modules():
            if record.kind == "pinned":
                adopted = {n: prog_id for n, (_, prog_id) in pins.foreign_programs(record.pin_dir).items()}
                found.append({**record.to_dict(), "programs": adopted, "maps": [], "links": []})
                continue
            held = pins.pinned(record.pin_dir) if record.kind != "bpftrace" else pins.Pinned({}, {}, {})
            programs = {}
            for prog, path in held.programs.items():
                try:
                    with Program.from_pin(path) as p:
                        programs[prog] = p.info().id
                except (OSError, TinyBPFError):
                    programs[prog] = 0
            found.append({**record.to_dict(), "programs": programs, "maps": sorted(held.maps),
                          "links": sorted(held.links)})
        return found

    # ----- desired state -----

    def save(self) -> dict[str, Any]:
        return {"format": SAVE_FORMAT, "modules": [
            {"name": r.name, "kind": r.kind, "reference": r.reference, "digest": r.digest,
             "attached": r.status == "attached", "targets": r.attach, "params": r.params}
            for r in self.state.modules()]}

    def apply(self, document: Mapping[str, Any], *, pull: Optional[dict[str, Any]] = None) -> list[str]:
        """Make the running modules what ``document`` (from ``save``) says; what changed, one line each."""
        if document.get("format") != SAVE_FORMAT:
            raise ModuleError(f"not a saved module state (format {document.get('format')!r})",
                              "make one with `tinybpf module save > FILE`")
        done = []
        wanted = {m["name"]: m for m in document.get("modules", [])}
        for record in self.state.modules():
            if record.name not in wanted:
                self.unload(record.name)
                done.append(f"unloaded {record.name}")
        for name, entry in wanted.items():
            done.extend(self._converge(name, entry, pull))
        return done

    def _converge(self, name: str, entry: Mapping[str, Any], pull: Optional[dict[str, Any]]) -> list[str]:
        record = self.state.module(name)
        if entry.get("kind") == "pinned":
            if record is not None and self.alive(record):
                return []
            if record is not None:
                self.state.remove(name)
            self._audit("apply", name, result=f"lost: the pins at {entry['reference']} are gone")
            return [f"lost {name}: another tool's pins at {entry['reference']} are gone and cannot be restored"]
        digest = entry["digest"]
        source = digest if self.store.resolve(digest) else entry["reference"]
        if record is not None and record.digest == digest and self.alive(record) and \
                (record.kind == "bpftrace" or (record.status == "attached") == bool(entry.get("attached"))):
            return []
        if record is not None:
            self._stop(record)
            self.state.remove(name)
        self.load(source, name=name, params=entry.get("params", {}), attach=bool(entry.get("attached")),
                  targets=entry.get("targets", {}), pull=pull)
        return [f"restored {name} at {digest[:19]}..."]

    def adopt(self) -> list[str]:
        """After a (re)start: keep what is still pinned, re-apply what a reboot or unmount lost."""
        lines = []
        for record in self.state.modules():
            if self.alive(record):
                held = pins.pinned(record.pin_dir)
                what = f"pid {record.pid}" if record.pid else f"{len(held.programs)} programs, {len(held.links)} links"
                lines.append(f"adopted {record.name} ({what})")
                self._audit("adopt", record.name, record.digest)
        lines.extend(self.apply(self.save()))
        return lines

    def inspect(self, name: str) -> dict[str, Any]:
        image = self.store.get(name)
        chosen = image.for_arch()
        module = read_module(chosen.manifest, lambda d: chosen.blobs[d["digest"]], name)
        return {"reference": name, "digest": image.digest, "format": module.source_format,
                "config": json.loads(module.config.to_json()), "manifest": image.parsed(),
                "payload_size": len(module.payload)}

    def maps(self, name: str) -> dict[str, MapView]:
        """The module's pinned maps, each with the BTF its object declared (for decoded entries)."""
        from ..elf.objspec import ObjectSpec
        from .mapview import MapView

        record = self._record(name)
        if record.kind in ("bpftrace", "pinned"):
            return {}
        spec = self._specs.get(record.digest)
        if spec is None:  # parsed once per digest: map reads are the daemon's hot path
            spec = ObjectSpec.from_bytes(pins.object_bytes(self.module(record.digest)), f"{name}.bpf.o")
            self._specs[record.digest] = spec
        found = {}
        for pin_name, path in pins.pinned(record.pin_dir).maps.items():
            declared = spec.maps.get(pin_name) or spec.maps.get("." + pin_name)
            found[pin_name] = MapView(pin_name, path, spec.btf, declared.btf_key_type_id if declared else 0,
                                      declared.btf_value_type_id if declared else 0)
        return found

    def map_view(self, name: str, map_name: str) -> MapView:
        views = self.maps(name)
        if map_name not in views:
            raise ModuleError(f"module {name} has no map {map_name!r}", f"it has: {', '.join(views) or 'none'}")
        return views[map_name]


def _signature(registry: Registry, repository: str, digest: str) -> Optional[Image]:
    """The cosign tag-fallback signature image of ``digest``, or None when there is none."""
    try:
        return registry.pull(repository, signatures.signature_tag(digest))
    except RegistryError as exc:
        if exc.status != 404:
            raise
        return None


def _module_name(name: str) -> str:
    """A module's name names its pin directory and log file, so it is one plain path component."""
    if not _NAME.match(name):
        raise ModuleError(f"{name!r} is not a valid module name",
                          "letters, digits, _ and - (up to 63), starting with a letter or digit; pass --name")
    return name
