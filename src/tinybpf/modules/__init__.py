"""eBPF modules: OCI artifacts holding an object, C source or a bpftrace script, pulled from any registry,
loaded, pinned and kept running by ``tinybpf daemon`` (or daemonless ``tinybpf module`` commands).

One module per concern, bottom to top: ``errors``, ``settings``; ``manifest`` (the format, bpfman and
BumbleBee images too), ``reference``, ``auth`` and ``registry`` (the OCI distribution API), ``store`` (OCI image layout on
disk), ``ed25519`` and ``signatures`` (cosign tag-fallback signatures), ``state`` (SQLite); ``pins``
(load/attach/swap under bpffs), ``script`` (bpftrace-script modules), ``mapview`` (map entries through BTF);
``node`` (what one node does, daemon or not), ``fleet`` (following a channel tag), ``metrics``, ``api``
(REST + OpenAPI), ``daemon`` (with the web UI in ``ui/``), ``client``. Importing this package loads nothing.
"""
