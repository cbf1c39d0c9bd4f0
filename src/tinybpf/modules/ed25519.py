"""Ed25519 (RFC 8032) in pure Python, and its PEM key files (PKCS#8 / SubjectPublicKeyInfo, as openssl writes).

Only what module signatures need: key generation from a seed, sign, verify. Points use extended
twisted-Edwards coordinates; one verification costs a few milliseconds, which a pull or a fleet
swap does once per module (``benchmarks/modules.py`` measures it). Not constant-time: signing happens on
a build machine, verification handles public data only.
"""
from __future__ import annotations

import base64
import hashlib
import os

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
_Point = tuple[int, int, int, int]
_PRIVATE_DER = bytes.fromhex("302e020100300506032b657004220420")
_PUBLIC_DER = bytes.fromhex("302a300506032b6570032100")


def _add(p: _Point, q: _Point) -> _Point:
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % _P
    b = (y1 + x1) * (y2 + x2) % _P
    c = 2 * t1 * t2 * _D % _P
    d = 2 * z1 * z2 % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return e * f % _P, g * h % _P, f * g % _P, e * h % _P


def _multiply(scalar: int, point: _Point) -> _Point:
    result: _Point = (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _recover_x(y: int, sign: int) -> int:
    if y >= _P:
        raise ValueError("point y out of range")
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    if x2 == 0:
        if sign:
            raise ValueError("invalid point")
        return 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        raise ValueError("invalid point")
    return _P - x if (x & 1) != sign else x


_GY = 4 * pow(5, _P - 2, _P) % _P
_GX = _recover_x(_GY, 0)
_G: _Point = (_GX, _GY, 1, _GX * _GY % _P)


def _encode(point: _Point) -> bytes:
    x, y, z, _ = point
    inverse = pow(z, _P - 2, _P)
    x, y = x * inverse % _P, y * inverse % _P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _decode(data: bytes) -> _Point:
    value = int.from_bytes(data, "little")
    y = value & ((1 << 255) - 1)
    x = _recover_x(y, value >> 255)
    return x, y, 1, x * y % _P


def _equal(p: _Point, q: _Point) -> bool:
    return (p[0] * q[2] - q[0] * p[2]) % _P == 0 and (p[1] * q[2] - q[1] * p[2]) % _P == 0


def _expand(seed: bytes) -> tuple[int, bytes]:
    digest = hashlib.sha512(seed).digest()
    scalar = int.from_bytes(digest[:32], "little")
    scalar &= (1 << 254) - 8
    scalar |= 1 << 254
    return scalar, digest[32:]


def _hash_int(*parts: bytes) -> int:
    return int.from_bytes(hashlib.sha512(b"".join(parts)).digest(), "little") % _L


def public_key(seed: bytes) -> bytes:
    return _encode(_multiply(_expand(seed)[0], _G))


def sign(seed: bytes, message: bytes) -> bytes:
    scalar, prefix = _expand(seed)
    public = _encode(_multiply(scalar, _G))
    r = _hash_int(prefix, message)
    encoded_r = _encode(_multiply(r, _G))
    s = (r + _hash_int(encoded_r, public, message) * scalar) % _L
    return encoded_r + s.to_bytes(32, "little")


def verify(public: bytes, message: bytes, signature: bytes) -> bool:
    if len(public) != 32 or len(signature) != 64:
        return False
    try:
        a, r = _decode(public), _decode(signature[:32])
    except ValueError:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= _L:
        return False
    k = _hash_int(signature[:32], public, message)
    return _equal(_multiply(s, _G), _add(r, _multiply(k, a)))


def generate_seed() -> bytes:
    return os.urandom(32)


# ----- PEM files -------------------------------------------------------------------------------------


def _pem(label: str, der: bytes) -> str:
    body = base64.b64encode(der).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----", ""])


def private_pem(seed: bytes) -> str:
    return _pem("PRIVATE KEY", _PRIVATE_DER + seed)


def public_pem(public: bytes) -> str:
    return _pem("PUBLIC KEY", _PUBLIC_DER + public)


def read_pem(text: str) -> tuple[str, bytes]:
    """("private", seed) or ("public", key) from an Ed25519 PEM file's text."""
    lines = [line.strip() for line in text.strip().splitlines()]
    if len(lines) < 3 or not lines[0].startswith("-----BEGIN "):
        raise ValueError("not a PEM file")
    der = base64.b64decode("".join(lines[1:-1]))
    if der.startswith(_PRIVATE_DER) and len(der) == len(_PRIVATE_DER) + 32:
        return "private", der[len(_PRIVATE_DER):]
    if der.startswith(_PUBLIC_DER) and len(der) == len(_PUBLIC_DER) + 32:
        return "public", der[len(_PUBLIC_DER):]
    raise ValueError("not an Ed25519 key")
