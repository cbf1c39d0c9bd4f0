"""eBPF modules: OCI artifacts holding an object, C source or a bpftrace script, pulled from any registry,
loaded, pinned and kept running by ``tinybpf daemon`` (or daemonless ``tinybpf module`` commands).

One module per concern, bottom to top: ``errors``, ``manifest`` (the format), ``auth`` and ``registry``
(the OCI distribution API), ``store`` (OCI image layout on disk), ``signatures``, ``state`` (SQLite),
``runner`` (load/attach/pin/adopt), ``metrics``, ``api`` (REST + OpenAPI), ``daemon``, ``fleet``.
Importing this package loads nothing.
"""
