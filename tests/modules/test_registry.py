"""The registry client against real Debian docker-registry processes (open and htpasswd-bcrypt), with skopeo
and buildah as the independent clients."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tinybpf.modules import manifest
from tinybpf.modules.auth import Credentials
from tinybpf.modules.errors import ModuleError, RegistryError
from tinybpf.modules.node import Node
from tinybpf.modules.reference import Reference
from tinybpf.modules.registry import Registry
from tinybpf.modules.settings import Settings

from .conftest import OBJECTS, RegistryProcess, free_port, start_registry, tinybpf

MINIMAL = str(OBJECTS / "minimal-el.bpf.o")


def _image(version: str = "1.0") -> manifest.Image:
    return manifest.build(MINIMAL, name="minimal", version=version)


def test_build_is_deterministic_and_names_programs() -> None:
    first, second = _image(), _image()
    assert first.manifest == second.manifest and first.digest == second.digest
    assert _image("2.0").digest != first.digest
    parsed = first.parsed()
    assert parsed["artifactType"] == manifest.ARTIFACT_TYPE
    module = manifest.read_module(first.manifest, lambda d: first.blobs[d["digest"]], "t")
    assert [(p.name, p.type) for p in module.config.programs] == [("count_openat", "tracepoint")]
    assert "counter" in module.config.maps and module.config.arches == ("bpfel",)


def test_c_source_module_says_tinybpf_cc_is_missing() -> None:
    with pytest.raises(ModuleError, match="need `tinybpf cc`, which is not built yet"):
        manifest.build(str(OBJECTS / "minimal.bpf.c"))


def test_push_pull_dedup_tags_delete(registry: RegistryProcess) -> None:
    client = Registry(registry.host, insecure=True)
    image = _image()
    digest, sent = client.push("mods/minimal", "1.0", image)
    assert digest == image.digest and sent == 2
    assert client.push("mods/minimal", "1.0", image) == (digest, 0)  # HEAD dedup: nothing uploaded again
    pulled = client.pull("mods/minimal", "1.0")
    assert pulled.manifest == image.manifest and dict(pulled.blobs) == dict(image.blobs)
    client.put_manifest("mods/minimal", "stable", pulled.manifest)
    assert client.tags("mods/minimal") == ["1.0", "stable"]
    assert "mods/minimal" in client.catalog()
    client.delete_manifest("mods/minimal", digest)
    with pytest.raises(RegistryError) as info:
        client.pull("mods/minimal", "1.0")
    assert info.value.status == 404
    client.close()


def test_basic_auth_registry(auth_registry: RegistryProcess) -> None:
    anonymous = Registry(auth_registry.host, insecure=True)
    with pytest.raises(RegistryError, match="401") as info:
        anonymous.push("mods/minimal", "1.0", _image())
    assert info.value.status == 401
    wrong = Registry(auth_registry.host, insecure=True, credentials=Credentials("alice", "nope"))
    with pytest.raises(RegistryError, match="401"):
        wrong.tags("mods/minimal")
    client = Registry(auth_registry.host, insecure=True, credentials=Credentials("alice", "s3cret"))
    digest, _ = client.push("mods/minimal", "1.0", _image())
    assert client.pull("mods/minimal", "1.0").digest == digest


def test_digest_mismatch_is_refused_and_nothing_stored(tmp_path: Path, home: Path) -> None:
    registry = start_registry(tmp_path / "reg")
    try:
        client = Registry(registry.host, insecure=True)
        image = _image()
        client.push("mods/minimal", "1.0", image)
        payload = next(d for d, data in image.blobs.items() if data[:4] == b"\x7fELF")
        stored = next((tmp_path / "reg" / "data").rglob(f"blobs/sha256/*/{payload.split(':')[1]}/data"))
        stored.write_bytes(stored.read_bytes().replace(b"GPL", b"BSD"))
        node = Node(Settings.load())
        with pytest.raises(ModuleError, match="digest mismatch"):
            node.pull(f"{registry.host}/mods/minimal:1.0", insecure=True, verify=False)
        assert node.store.names() == []
    finally:
        registry.stop()


def test_registry_down_is_one_line(home: Path) -> None:
    result = tinybpf("module", "pull", "--insecure", "--no-verify", f"127.0.0.1:{free_port()}/mods/x:1", check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "unreachable" in result.stderr and "Traceback" not in result.stderr


def test_wrong_media_type_and_malformed_manifest(registry: RegistryProcess, home: Path) -> None:
    client = Registry(registry.host, insecure=True)
    layer = b"not a module"
    config = b"{}"
    bogus = manifest.canonical_json({"schemaVersion": 2, "mediaType": manifest.OCI_MANIFEST,
                                     "config": manifest.descriptor("application/vnd.example.config+json", config),
                                     "layers": [manifest.descriptor("text/plain", layer)]})
    client.push("mods/bogus", "1", manifest.Image(bogus, {manifest.sha256_digest(layer): layer,
                                                          manifest.sha256_digest(config): config}))
    result = tinybpf("module", "pull", "--insecure", "--no-verify", f"{registry.host}/mods/bogus:1", check=False)
    assert result.returncode == 1 and "wrong media type" in result.stderr and result.stderr.count("\n") == 1
    with pytest.raises(ModuleError, match="malformed JSON"):
        manifest.read_module(b"{nope", lambda d: b"", "t")
    with pytest.raises(ModuleError, match="malformed manifest"):
        manifest.read_module(b'{"schemaVersion":2}', lambda d: b"", "t")


def test_registry_500_mid_upload_leaves_no_tag(tmp_path: Path) -> None:
    """A registry whose storage fills up answers 500 to the blob PUT; the push fails in one line, no tag."""
    storage = tmp_path / "reg" / "data"
    storage.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(storage)], check=True)
    try:
        registry = start_registry(tmp_path / "reg")
        try:
            client = Registry(registry.host, insecure=True)
            big = manifest.Image(_image().manifest, {**_image().blobs, "x": b"\0" * 200_000})
            with pytest.raises(RegistryError) as info:
                client.push("mods/big", "1", big)
            assert info.value.status >= 500 or info.value.status == 0
            with pytest.raises(RegistryError):
                client.get_manifest("mods/big", "1")
        finally:
            registry.stop()
    finally:
        subprocess.run(["umount", str(storage)], check=True)


def test_full_disk_in_store_is_one_line_nothing_named(registry: RegistryProcess, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "small"
    root.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(root)], check=True)
    try:
        monkeypatch.setenv("TINYBPF_MODULES_ROOT", str(root))
        client = Registry(registry.host, insecure=True)
        payload = b"\0" * 1_000_000
        image = manifest.assemble(manifest.ModuleConfig("big", "1", "bpftrace"), payload, "big.bt")
        client.push("mods/bigbt", "1", image)
        node = Node(Settings.load())
        with pytest.raises(ModuleError, match="disk full, nothing stored"):
            node.pull(f"{registry.host}/mods/bigbt:1", insecure=True, verify=False)
        assert node.store.names() == []
        node.close()
    finally:
        subprocess.run(["umount", "-l", str(root)], check=True)


def test_cli_push_pull_and_skopeo_reads_it(registry: RegistryProcess, home: Path, tmp_path: Path) -> None:
    ref = f"{registry.host}/mods/cli:1.0"
    tinybpf("module", "build", MINIMAL, "-t", ref, "--name", "cli")
    pushed = tinybpf("module", "push", "--insecure", ref).stdout.split()
    digest = pushed[1]
    assert tinybpf("module", "list", "--insecure", f"{registry.host}/mods/cli").stdout.split() == ["1.0"]
    if shutil.which("skopeo") is None:
        pytest.skip("skopeo is not installed")
    inspected = json.loads(subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                                          capture_output=True, check=True).stdout)
    assert inspected["artifactType"] == manifest.ARTIFACT_TYPE
    copy = subprocess.run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{ref}",
                           f"oci:{tmp_path / 'copy'}:cli"], capture_output=True, text=True)
    assert copy.returncode == 0, copy.stderr
    index = json.loads((tmp_path / "copy" / "index.json").read_text())
    assert index["manifests"][0]["digest"] == digest


def test_export_import_offline_and_skopeo_reads_the_archive(registry: RegistryProcess, home: Path,
                                                            tmp_path: Path) -> None:
    tinybpf("module", "build", MINIMAL, "-t", "board/minimal:1", "--name", "minimal")
    archive = tmp_path / "modules.tar"
    tinybpf("module", "export", str(archive), "board/minimal:1")
    other = tmp_path / "other-node"
    other.mkdir()
    out = tinybpf("module", "import", str(archive), env={"TINYBPF_MODULES_ROOT": str(other)}).stdout
    assert "board/minimal:1" in out
    listed = tinybpf("module", "list", env={"TINYBPF_MODULES_ROOT": str(other)}).stdout
    assert listed.split()[1] == _image_digest("board/minimal:1")
    if shutil.which("skopeo") is not None:
        inspected = subprocess.run(["skopeo", "inspect", "--raw", f"oci-archive:{archive}:board/minimal:1"],
                                   capture_output=True, text=True)
        assert inspected.returncode == 0, inspected.stderr


def _image_digest(name: str) -> str:
    return Node(Settings.load()).store.resolve(name) or ""


def test_bpfman_image_built_by_buildah_pulls_and_reads(registry: RegistryProcess, home: Path, tmp_path: Path) -> None:
    if shutil.which("buildah") is None:
        pytest.skip("buildah is not installed")
    buildah = ["buildah", "--root", str(tmp_path / "root"), "--runroot", str(tmp_path / "run"),
               "--storage-driver", "vfs"]
    container = subprocess.run([*buildah, "from", "scratch"], capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run([*buildah, "copy", container, MINIMAL, "/minimal.bpf.o"], check=True, capture_output=True)
    subprocess.run([*buildah, "config", "--label", 'io.ebpf.programs={"count_openat":"tracepoint"}',
                    "--label", 'io.ebpf.maps={"counter":"array"}', container], check=True, capture_output=True)
    subprocess.run([*buildah, "commit", "-q", container, "bpfman-minimal"], check=True, capture_output=True)
    ref = f"{registry.host}/bpfman/minimal:1"
    subprocess.run([*buildah, "push", "--tls-verify=false", "bpfman-minimal", f"docker://{ref}"], check=True,
                   capture_output=True)
    node = Node(Settings.load())
    module = node.pull(ref, insecure=True, verify=False)
    assert module.source_format == "bpfman"
    assert module.payload == Path(MINIMAL).read_bytes()
    assert [p.name for p in module.config.programs] == ["count_openat"]


def test_bumblebee_image_pulls_and_reads(registry: RegistryProcess, home: Path) -> None:
    payload = Path(MINIMAL).read_bytes()
    config = manifest.canonical_json({"info": "counts openat", "platform": "linux"})
    body = manifest.canonical_json({"schemaVersion": 2, "mediaType": manifest.OCI_MANIFEST,
                                    "config": manifest.descriptor(manifest.BUMBLEBEE_CONFIG, config),
                                    "layers": [manifest.descriptor(manifest.BUMBLEBEE_PROGRAM, payload)]})
    client = Registry(registry.host, insecure=True)
    client.push("bee/minimal", "1", manifest.Image(body, {manifest.sha256_digest(payload): payload,
                                                          manifest.sha256_digest(config): config}))
    module = Node(Settings.load()).pull(f"{registry.host}/bee/minimal:1", insecure=True, verify=False)
    assert module.source_format == "bumblebee" and module.payload == payload and module.name == "minimal"


def test_reference_parsing() -> None:
    ref = Reference.parse("127.0.0.1:5000/a/b:1.0")
    assert (ref.registry, ref.repository, ref.tag) == ("127.0.0.1:5000", "a/b", "1.0")
    assert Reference.parse("b", "reg.example:443").registry == "reg.example:443"
    with pytest.raises(ModuleError, match="names no registry"):
        Reference.parse("b:1")
    with pytest.raises(ModuleError, match="not a valid repository"):
        Reference.parse("localhost/Bad Name:1")


def test_one_object_per_byte_order_makes_an_index(registry: RegistryProcess, home: Path, tmp_path: Path) -> None:
    ref = f"{registry.host}/mods/both:1"
    tinybpf("module", "build", MINIMAL, str(OBJECTS / "minimal-eb.bpf.o"), "-t", ref, "--name", "both")
    tinybpf("module", "push", "--insecure", ref)
    index = json.loads(Registry(registry.host, insecure=True).get_manifest("mods/both", "1")[0])
    assert index["mediaType"] == manifest.OCI_INDEX
    assert sorted(m["platform"]["architecture"] for m in index["manifests"]) == ["bpfeb", "bpfel"]
    other = tmp_path / "other"
    other.mkdir()
    env = {"TINYBPF_MODULES_ROOT": str(other)}
    tinybpf("module", "pull", "--insecure", "--no-verify", ref, env=env)
    inspected = json.loads(tinybpf("module", "inspect", ref, env=env).stdout)
    assert inspected["config"]["arches"] == [manifest.host_arch()]
    archive = tmp_path / "both.tar"
    tinybpf("module", "export", str(archive), ref, env=env)
    third = tmp_path / "third"
    third.mkdir()
    tinybpf("module", "import", str(archive), env={"TINYBPF_MODULES_ROOT": str(third)})
    assert ref in tinybpf("module", "list", env={"TINYBPF_MODULES_ROOT": str(third)}).stdout
    with pytest.raises(ModuleError, match="one object per byte order"):
        manifest.index([_image(), _image("2")])


def test_mirror_serves_a_registry_that_is_down(registry: RegistryProcess, home: Path) -> None:
    down = f"127.0.0.1:{free_port()}"
    (home / "config.json").write_text(json.dumps({"default_registry": down, "mirrors": {down: [registry.host]},
                                                  "insecure": [down, registry.host]}))
    Registry(registry.host, insecure=True).push("mirrored/minimal", "1", _image())
    module = Node(Settings.load()).pull("mirrored/minimal:1", verify=False)
    assert module.name == "minimal"
    assert f"{down}/mirrored/minimal:1" in tinybpf("module", "list").stdout
    assert "from " + registry.host in tinybpf("module", "logs").stdout


def test_bearer_token_auth_registry(tmp_path: Path, home: Path) -> None:
    """docker-registry in token mode: the client follows the Bearer challenge to the token service with Basic
    credentials, then pushes and pulls with the scoped token the registry verifies."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    from .token_service import TokenService

    service = TokenService(tmp_path, "alice", "s3cret")
    registry = start_registry(tmp_path / "reg", auth=service.registry_auth())
    try:
        anonymous = Registry(registry.host, insecure=True)
        with pytest.raises(RegistryError) as info:
            anonymous.tags("tok/minimal")
        assert info.value.status == 401
        client = Registry(registry.host, insecure=True, credentials=Credentials("alice", "s3cret"))
        digest, _ = client.push("tok/minimal", "1", _image())
        assert client.pull("tok/minimal", "1").digest == digest and service.issued >= 2
        wrong = Registry(registry.host, insecure=True, credentials=Credentials("alice", "nope"))
        with pytest.raises(RegistryError, match="token service"):
            wrong.tags("tok/minimal")
    finally:
        registry.stop()
        service.stop()


def test_build_checks_the_script_and_the_name(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.bt"
    bad.write_text("tracepoint:syscalls:sys_enter_openat { @x = count( }\n")
    result = tinybpf("module", "build", str(bad), "-t", "local/bad:1", check=False)
    assert result.returncode == 1 and f"{bad}:1:" in result.stderr and result.stderr.count("\n") == 1
    result = tinybpf("module", "build", MINIMAL, "-t", "local/Bad Name:1", check=False)
    assert result.returncode == 1 and "not a valid repository name" in result.stderr
    assert tinybpf("module", "list").stdout == ""


def test_module_names_are_one_path_component(home: Path) -> None:
    tinybpf("module", "build", MINIMAL, "-t", "local/minimal:1")
    result = tinybpf("module", "load", "local/minimal:1", "--name", "../../etc", check=False)
    assert result.returncode == 1 and "not a valid module name" in result.stderr
    with pytest.raises(ModuleError, match="not a valid module name"):
        Node(Settings.load()).log_path("../x")
