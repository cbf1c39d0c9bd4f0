"""Ed25519 against RFC 8032 and openssl; cosign tag-fallback signatures through a real registry; unsigned,
untrusted and tampered modules refused with one line and nothing stored or loaded."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinybpf.modules import ed25519, signatures
from tinybpf.modules.errors import ModuleError
from tinybpf.modules.node import Node
from tinybpf.modules.registry import Registry
from tinybpf.modules.settings import Settings

from .conftest import OBJECTS, RegistryProcess, tinybpf

MINIMAL = str(OBJECTS / "minimal-el.bpf.o")
# RFC 8032 section 7.1, test 1 and test 2
VECTORS = [
    ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
]


@pytest.mark.parametrize(("seed", "public", "message", "signature"), VECTORS)
def test_rfc8032_vectors(seed: str, public: str, message: str, signature: str) -> None:
    assert ed25519.public_key(bytes.fromhex(seed)).hex() == public
    assert ed25519.sign(bytes.fromhex(seed), bytes.fromhex(message)).hex() == signature
    assert ed25519.verify(bytes.fromhex(public), bytes.fromhex(message), bytes.fromhex(signature))


@settings(max_examples=10, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.binary(max_size=64), st.integers(0, 63))
def test_any_flipped_signature_bit_fails(seed: bytes, message: bytes, index: int) -> None:
    signature = bytearray(ed25519.sign(seed, message))
    assert ed25519.verify(ed25519.public_key(seed), message, bytes(signature))
    signature[index] ^= 1
    assert not ed25519.verify(ed25519.public_key(seed), message, bytes(signature))


def test_openssl_verifies_our_signature_and_reads_our_keys(tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    private, public = signatures.generate(str(tmp_path / "k"))
    message = tmp_path / "m"
    message.write_bytes(b"sha256:0123")
    signature = tmp_path / "sig"
    signature.write_bytes(ed25519.sign(signatures.read_key(private, "private"), b"sha256:0123"))
    result = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", public, "-rawin", "-in",
                             str(message), "-sigfile", str(signature)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    theirs = tmp_path / "theirs.key"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(theirs)], check=True)
    seed = signatures.read_key(str(theirs), "private")
    derived = subprocess.run(["openssl", "pkey", "-in", str(theirs), "-pubout"], capture_output=True, text=True,
                             check=True).stdout
    assert ed25519.read_pem(derived) == ("public", ed25519.public_key(seed))


def _signed_push(registry: RegistryProcess, tmp_path: Path, repo: str, key: str) -> str:
    ref = f"{registry.host}/{repo}:1"
    tinybpf("module", "build", MINIMAL, "-t", ref, "--name", "minimal")
    tinybpf("module", "sign", ref, "--key", key)
    return tinybpf("module", "push", "--insecure", ref).stdout.split()[1]


def test_signed_module_verifies_and_pulls(registry: RegistryProcess, home: Path, tmp_path: Path) -> None:
    private, public = signatures.generate(str(tmp_path / "release"))
    digest = _signed_push(registry, tmp_path, "signed/minimal", private)
    client = Registry(registry.host, insecure=True)
    assert signatures.signature_tag(digest) in client.tags("signed/minimal")
    tinybpf("module", "trust", public)
    out = tinybpf("module", "verify", "--insecure", f"{registry.host}/signed/minimal:1").stdout
    assert "signed by ed25519:" in out
    other = tmp_path / "other"
    other.mkdir()
    env = {"TINYBPF_MODULES_ROOT": str(other)}
    tinybpf("module", "trust", public, env=env)
    pulled = tinybpf("module", "pull", "--insecure", f"{registry.host}/signed/minimal:1", env=env)
    assert digest in pulled.stdout


def test_unsigned_untrusted_and_tampered_are_refused(registry: RegistryProcess, home: Path, tmp_path: Path) -> None:
    private, public = signatures.generate(str(tmp_path / "release"))
    _, stranger = signatures.generate(str(tmp_path / "stranger"))
    client = Registry(registry.host, insecure=True)
    ref = f"{registry.host}/unsigned/minimal:1"
    tinybpf("module", "build", MINIMAL, "-t", ref, "--name", "minimal")
    tinybpf("module", "push", "--insecure", ref)
    other = tmp_path / "other"
    other.mkdir()
    env = {"TINYBPF_MODULES_ROOT": str(other)}
    tinybpf("module", "trust", public, env=env)

    def refused(reference: str, why: str) -> None:
        result = tinybpf("module", "load", "--insecure", reference, env=env, check=False)
        assert result.returncode == 1 and why in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert tinybpf("module", "list", env=env).stdout == "", "nothing may be stored"

    refused(ref, "unsigned module")
    _signed_push(registry, tmp_path, "untrusted/minimal", str(tmp_path / "stranger.key"))
    refused(f"{registry.host}/untrusted/minimal:1", "signature check failed")
    assert stranger
    # tampered: another manifest under the tag, the good signature copied to its signature tag
    good = _signed_push(registry, tmp_path, "tampered/minimal", private)
    evil = Node(Settings.load()).store.get(ref)
    evil_manifest = evil.manifest.replace(b'"0.0.0"', b'"6.6.6"')
    for data in evil.blobs.values():
        client.push_blob("tampered/minimal", data)
    evil_digest = client.put_manifest("tampered/minimal", "1", evil_manifest)
    sig_manifest, _ = client.get_manifest("tampered/minimal", signatures.signature_tag(good))
    client.put_manifest("tampered/minimal", signatures.signature_tag(evil_digest), sig_manifest)
    refused(f"{registry.host}/tampered/minimal:1", "signature check failed")
    with pytest.raises(ModuleError, match="no trusted keys"):
        signatures.verify(good, None, {}, "x")
