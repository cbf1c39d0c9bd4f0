"""Load a BPF object the way libbpf does: ``ObjectSpec`` in, live maps, programs and links out.

    obj = Object.open("prog.bpf.o")      # parsed, nothing in the kernel yet
    obj.rodata.threshold = 100            # globals are readable/writable before load (a skeleton's rodata)
    obj.load()                            # BTF, maps, CO-RE, relocations, BPF_PROG_LOAD
    obj.attach()                          # by section name: tracepoint/..., raw_tp/..., uprobe/..., ...
    print(obj.maps["counts"].dump(), obj.bss.hits)
    obj.close()                           # or ``with Object.load_file(...) as obj``

Loading follows libbpf's order: the object's BTF (fixed up by the spec reader, sanitized here if the
kernel rejects a kind), then maps (reusing a pinned map of the same shape for ``LIBBPF_PIN_BY_NAME``),
global data filled in and ``.rodata``/``.kconfig`` created BPF_F_RDONLY_PROG and frozen (so the verifier
prunes branches their ``const volatile`` values rule out), then each program with its CO-RE relocations
resolved against the kernel's BTF, map and extern references patched, and func_info/line_info given
to the kernel so a verifier error points at the C line. What a load keeps after the process exits is
what :meth:`Object.pin_programs`, :meth:`Object.pin_program` and :meth:`Object.pin_maps` pin (bpftool's
``prog load``/``loadall``/``pinmaps``); everything else goes with :meth:`Object.close`.

The package, one module per concern: ``object`` (the ``Object``), ``globals`` (global variables as values),
``kconfig`` (the ``.kconfig`` map), ``btf_load`` (loading the object's BTF), ``errors``.
"""
from __future__ import annotations

from .btf_load import load_btf
from .errors import ObjectError
from .globals import GlobalData, decode_value, encode_value
from .kconfig import kconfig_bytes
from .object import PIN_ROOT, Object, load_object

__all__ = ["PIN_ROOT", "GlobalData", "Object", "ObjectError", "decode_value", "encode_value", "kconfig_bytes",
           "load_btf", "load_object"]
