"""``tinybpf module ...`` (build, push, pull, load, attach, ps, save, apply, sign...) and ``tinybpf daemon``.

Parsing and printing only: every command is one call into ``tinybpf.modules.node.Node`` (daemonless), so
it works whether or not a daemon runs; the daemon serves the same calls over REST.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tinybpf.errors import TinyBPFError


def register(sub: Any) -> None:
    _register_daemon(sub)
    module = sub.add_parser("module", help="build, distribute and run eBPF modules (OCI artifacts)")
    cmds = module.add_subparsers(dest="module_command", metavar="COMMAND")
    cmds.required = True

    p = cmds.add_parser("build", help="make a module from a .bpf.o, .bpf.c or .bt file (several .o: an index)")
    p.add_argument("payload", nargs="+", help="one file, or one object per byte order (bpfel, bpfeb)")
    p.add_argument("-t", "--tag", required=True, help="local name, e.g. localhost:5000/counter:1.0")
    p.add_argument("--name", default="")
    p.add_argument("--version", default="0.0.0")
    p.add_argument("--description", default="")
    p.add_argument("--license", default="")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="a default parameter")
    p.set_defaults(handler=_build)

    p = cmds.add_parser("push", help="push a stored module (and its signature) to a registry")
    p.add_argument("name")
    p.add_argument("target", nargs="?", help="REGISTRY/NAME:TAG (default: the local name)")
    _insecure(p)
    p.set_defaults(handler=_push)

    p = cmds.add_parser("pull", help="pull a module, check digests and signature, store it")
    p.add_argument("reference")
    _insecure(p)
    _verify_flags(p)
    p.set_defaults(handler=_pull)

    p = cmds.add_parser("tag", help="give a module in a registry another tag")
    p.add_argument("source")
    p.add_argument("tag")
    _insecure(p)
    p.set_defaults(handler=_tag)

    p = cmds.add_parser("list", help="modules in the store, or a registry repository's tags")
    p.add_argument("repository", nargs="?")
    _insecure(p)
    p.set_defaults(handler=_list)

    p = cmds.add_parser("delete", help="delete a tag's manifest from a registry")
    p.add_argument("reference")
    _insecure(p)
    p.set_defaults(handler=_delete)

    p = cmds.add_parser("inspect", help="a stored module's config and manifest as JSON")
    p.add_argument("name")
    p.set_defaults(handler=_inspect)

    p = cmds.add_parser("load", help="load a module's programs and maps, pinned under bpffs")
    p.add_argument("reference")
    p.add_argument("--name", default="")
    p.add_argument("--attach", action="store_true", help="attach too (by section, or --target)")
    _targets(p)
    _insecure(p)
    _verify_flags(p)
    p.set_defaults(handler=_load)

    p = cmds.add_parser("attach", help="attach a loaded module's programs (links pinned)")
    p.add_argument("name")
    _targets(p)
    p.set_defaults(handler=_attach)

    for command, what in (("detach", "unpin a module's links (programs stay loaded)"),
                          ("unload", "detach and unload a module")):
        p = cmds.add_parser(command, help=what)
        p.add_argument("name")
        p.set_defaults(handler=_simple, action=command)

    p = cmds.add_parser("adopt", help="take charge of programs another tool pinned (a pin or a directory)")
    p.add_argument("name")
    p.add_argument("path")
    p.set_defaults(handler=_adopt)

    p = cmds.add_parser("ps", help="what runs: modules, programs, links")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_ps)

    p = cmds.add_parser("logs", help="a script module's output, or the audit log (who changed what, digest, "
                        "verifier result)")
    p.add_argument("name", nargs="?", help="the module (default: the audit log)")
    p.add_argument("-n", type=int, default=50)
    p.set_defaults(handler=_logs)

    p = cmds.add_parser("save", help="print the desired state as JSON (restore it with apply)")
    p.set_defaults(handler=_save)
    p = cmds.add_parser("apply", help="make the running modules what a saved state says")
    p.add_argument("file", help="a file from `module save` (- for stdin)")
    _insecure(p)
    _verify_flags(p)
    p.set_defaults(handler=_apply)

    p = cmds.add_parser("follow", help="follow a channel tag: pull, verify, preflight, swap, roll back")
    p.add_argument("reference", metavar="REGISTRY/NAME:TAG")
    p.add_argument("--name", default="")
    p.add_argument("--interval", type=float, default=5.0)
    p.add_argument("--once", action="store_true", help="one look at the tag, then exit")
    _insecure(p)
    _verify_flags(p)
    p.set_defaults(handler=_follow)

    p = cmds.add_parser("export", help="write stored modules to an OCI image-layout tar")
    p.add_argument("file")
    p.add_argument("names", nargs="+")
    p.set_defaults(handler=_export)
    p = cmds.add_parser("import", help="read an OCI image-layout tar into the store")
    p.add_argument("file")
    p.set_defaults(handler=_import)

    p = cmds.add_parser("keygen", help="write an Ed25519 key pair PREFIX.key / PREFIX.pub")
    p.add_argument("prefix")
    p.set_defaults(handler=_keygen)
    p = cmds.add_parser("trust", help="add a public key to the trust store")
    p.add_argument("key")
    p.set_defaults(handler=_trust)
    p = cmds.add_parser("sign", help="sign a stored module (push it afterwards)")
    p.add_argument("name")
    p.add_argument("--key", required=True)
    p.set_defaults(handler=_sign)
    p = cmds.add_parser("verify", help="check a registry module's signature against the trust store")
    p.add_argument("reference")
    _insecure(p)
    p.add_argument("--key", action="append", default=[], help="also trust this public key")
    p.set_defaults(handler=_verify)


def _insecure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--insecure", action="store_true", help="plain HTTP (loopback test registries)")


def _verify_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-verify", action="store_true", help="do not require a trusted signature")
    p.add_argument("--key", action="append", default=[], help="also trust this public key")


def _targets(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", action="append", default=[], metavar="PROGRAM=WHERE",
                   help="attach PROGRAM there instead of its section's target")
    p.add_argument("--interface", "-i", help="for xdp/tc/socket programs")
    p.add_argument("--cgroup", help="for cgroup programs")
    p.add_argument("--param", action="append", default=[], metavar="VAR=VALUE", help="set a .rodata global")
    p.add_argument("-v", "--verbose", action="store_true", help="print the full verifier log on failure")


def _pairs(items: list[str], what: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise TinyBPFError(f"{what} {item!r} is not NAME=VALUE")
        found[key] = int(value, 0) if value.lstrip("-").isdigit() or value.startswith("0x") else value
    return found


def _node() -> Any:
    from tinybpf.modules.node import Node
    from tinybpf.modules.settings import Settings

    return Node(Settings.load())


def _daemon_client() -> Any:
    """A client of the running daemon, or None: then the command runs daemonless."""
    import socket

    from tinybpf.modules.settings import Settings

    path = Settings.load().socket
    probe = socket.socket(socket.AF_UNIX)
    try:
        probe.connect(path)
    except OSError:
        return None
    finally:
        probe.close()
    from tinybpf.modules.client import DaemonClient

    return DaemonClient(path)


def _pull_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"insecure": args.insecure, "verify": not args.no_verify, "keys": args.key}


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True) + "\n")


def _build(args: argparse.Namespace) -> int:
    digest = _node().build(args.payload, args.tag, name=args.name, version=args.version,
                           description=args.description, license=args.license,
                           parameters=_pairs(args.param, "--param"))
    print(f"{args.tag}\t{digest}")
    return 0


def _push(args: argparse.Namespace) -> int:
    digest, sent = _node().push(args.name, args.target or args.name, insecure=args.insecure)
    print(f"{args.target or args.name}\t{digest}\t{sent} blobs uploaded")
    return 0


def _pull(args: argparse.Namespace) -> int:
    client = _daemon_client()
    if client is not None and not args.key:
        answer = client.call("POST", "/v1/pull", {"reference": args.reference, "insecure": args.insecure,
                                                 "verify": not args.no_verify})
        print(f"{args.reference}\t{answer['digest']}\t{answer['format']}")
        return 0
    module = _node().pull(args.reference, **_pull_options(args))
    print(f"{args.reference}\t{module.digest}\t{module.source_format} {module.config.kind}")
    return 0


def _registry(args: argparse.Namespace, text: str) -> tuple[Any, Any]:
    from tinybpf.modules.registry import Registry

    node = _node()
    ref = node.reference(text)
    return ref, Registry.for_reference(ref, node.settings, args.insecure)


def _tag(args: argparse.Namespace) -> int:
    ref, registry = _registry(args, args.source)
    manifest, media_type = registry.get_manifest(ref.repository, ref.reference)
    digest = registry.put_manifest(ref.repository, args.tag, manifest, media_type)
    print(f"{ref.with_tag(args.tag)}\t{digest}")
    return 0


def _list(args: argparse.Namespace) -> int:
    if args.repository:
        ref, registry = _registry(args, args.repository)
        for tag in registry.tags(ref.repository):
            print(tag)
        return 0
    for name, digest in _node().store.names():
        print(f"{name}\t{digest}")
    return 0


def _delete(args: argparse.Namespace) -> int:
    ref, registry = _registry(args, args.reference)
    digest = ref.digest or registry.manifest_digest(ref.repository, ref.tag)
    if not digest:
        raise TinyBPFError(f"{args.reference}: no such tag")
    registry.delete_manifest(ref.repository, digest)
    print(f"deleted {ref.registry}/{ref.repository}@{digest}")
    return 0


def _inspect(args: argparse.Namespace) -> int:
    _print_json(_node().inspect(args.name))
    return 0


def _load(args: argparse.Namespace) -> int:
    targets = {**_pairs(args.target, "--target"),
               **{k: v for k, v in (("interface", args.interface), ("cgroup", args.cgroup)) if v}}
    params = _pairs(args.param, "--param")
    client = _daemon_client()
    if client is not None and not args.key:
        answer = client.call("POST", "/v1/modules", {
            "reference": args.reference, "name": args.name, "params": params, "attach": args.attach,
            "targets": targets, "insecure": args.insecure, "verify": not args.no_verify})
        print(f"{answer['name']}\t{answer['digest']}\t{answer['status']}\t{answer['pin_dir']}")
        return 0
    record = _node().load(args.reference, name=args.name, params=params, attach=args.attach, targets=targets,
                       pull=_pull_options(args))
    print(f"{record.name}\t{record.digest}\t{record.status}\t{record.pin_dir}")
    return 0


def _attach(args: argparse.Namespace) -> int:
    targets = {**_pairs(args.target, "--target"),
               **{k: v for k, v in (("interface", args.interface), ("cgroup", args.cgroup)) if v}}
    client = _daemon_client()
    if client is not None:
        status = client.call("POST", f"/v1/modules/{args.name}/attach", {"targets": targets})["status"]
    else:
        status = _node().attach(args.name, targets).status
    print(f"{args.name}\t{status}")
    return 0


def _simple(args: argparse.Namespace) -> int:
    client = _daemon_client()
    if client is None:
        getattr(_node(), args.action)(args.name)
    elif args.action == "detach":
        client.call("POST", f"/v1/modules/{args.name}/detach", {})
    else:
        client.call("DELETE", f"/v1/modules/{args.name}")
    print(f"{args.action}ed {args.name}" if args.action == "detach" else f"unloaded {args.name}")
    return 0


def _adopt(args: argparse.Namespace) -> int:
    client = _daemon_client()
    body = {"name": args.name, "path": args.path}
    record = client.call("POST", "/v1/programs/adopt", body) if client else _node().adopt_pinned(**body).to_dict()
    print(f"{record['name']}\t{record['status']}\t{record['pin_dir']}")
    return 0


def _ps(args: argparse.Namespace) -> int:
    client = _daemon_client()
    running = client.call("GET", "/v1/modules") if client is not None else _node().ps()
    if args.json:
        _print_json(running)
        return 0
    print("NAME\tSTATUS\tDIGEST\tPROGRAMS\tLINKS")
    for m in running:
        programs = ",".join(f"{n}#{i}" for n, i in m["programs"].items())
        print(f"{m['name']}\t{m['status']}\t{m['digest'][:19]}\t{programs}\t{len(m['links'])}")
    return 0


def _logs(args: argparse.Namespace) -> int:
    import time

    node = _node()
    if args.name:
        for line in node.log_tail(args.name, args.n):
            print(line)
        return 0
    for entry in node.state.audit_log(args.n):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(entry["ts"]))
        print(f"{stamp}\t{entry['who']}\t{entry['action']}\t{entry['subject']}\t{entry['digest'][:19]}\t"
              f"{entry['result']}")
    return 0


def _save(args: argparse.Namespace) -> int:
    _print_json(_node().save())
    return 0


def _apply(args: argparse.Namespace) -> int:
    try:
        if args.file == "-":
            text = sys.stdin.read()
        else:
            with open(args.file) as f:
                text = f.read()
        document = json.loads(text)
    except (OSError, ValueError) as exc:
        raise TinyBPFError(f"{args.file}: not a saved module state ({exc})",
                           "make one with `tinybpf module save > FILE`") from None
    for line in _node().apply(document, pull=_pull_options(args)):
        print(line)
    return 0


def _follow(args: argparse.Namespace) -> int:
    import threading

    from tinybpf.modules.fleet import Follower

    follower = Follower(_node(), args.reference, name=args.name, **_pull_options(args))
    if args.once:
        status = follower.step()
        print(f"{status.reference}\t{status.digest or '-'}\t{status.health}")
        return 0 if status.health == "healthy" else 1
    follower.run(threading.Event(), args.interval,
                 lambda s: print(f"{s.reference}\t{s.digest or '-'}\t{s.health}", flush=True))
    return 0


def _export(args: argparse.Namespace) -> int:
    count = _node().store.export(args.names, args.file)
    print(f"exported {count} images to {args.file}")
    return 0


def _import(args: argparse.Namespace) -> int:
    for name in _node().store.import_tar(args.file):
        print(f"imported {name}")
    return 0


def _keygen(args: argparse.Namespace) -> int:
    from tinybpf.modules import signatures

    try:
        private, public = signatures.generate(args.prefix)
    except FileExistsError:
        raise TinyBPFError(f"{args.prefix}.key already exists", "pick another prefix") from None
    print(f"{private}\n{public}")
    return 0


def _trust(args: argparse.Namespace) -> int:
    from tinybpf.modules import signatures

    print(f"trusted {signatures.trust(_node().settings.trust, args.key)}")
    return 0


def _sign(args: argparse.Namespace) -> int:
    digest = _node().sign(args.name, args.key)
    print(f"signed {args.name}\t{digest}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    digest, kid = _node().verify(args.reference, insecure=args.insecure, keys=args.key)
    print(f"{args.reference}\t{digest}\tsigned by {kid}")
    return 0


def _register_daemon(sub: Any) -> None:
    p = sub.add_parser("daemon", help="serve modules: REST API, events, /metrics, web UI (foreground)")
    p.add_argument("--socket", help="unix socket path (default /run/tinybpf/daemon.sock)")
    p.add_argument("--group", default="", help="group owning the socket (mode 0660)")
    p.add_argument("--tcp", default="", metavar="HOST:PORT", help="also listen on TCP (needs --token-file)")
    p.add_argument("--token-file", help="bearer token required on TCP")
    p.add_argument("--tls-cert", help="serve TCP over TLS with this certificate (PEM)")
    p.add_argument("--tls-key", help="its private key (PEM)")
    p.add_argument("--tls-client-ca", help="accept TCP clients whose certificate this CA signed (mutual TLS)")
    p.add_argument("--follow", metavar="REGISTRY/NAME:TAG", help="follow this channel tag (fleet mode)")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between looks at the tag")
    _insecure(p)
    _verify_flags(p)
    p.set_defaults(handler=_daemon)


def _daemon(args: argparse.Namespace) -> int:
    from tinybpf.modules.daemon import Daemon, read_token, tls_context
    from tinybpf.modules.settings import Settings

    tls_args = (args.tls_cert, args.tls_key, args.tls_client_ca)
    if any(tls_args) and not all(tls_args):
        raise TinyBPFError("mutual TLS needs --tls-cert, --tls-key and --tls-client-ca together")
    tls = tls_context(*tls_args) if all(tls_args) else None

    settings = Settings.load()
    if args.socket:
        settings.socket = args.socket
    follow = {"reference": args.follow, "interval": args.interval, **_pull_options(args)} if args.follow else None
    return Daemon(settings, tcp=args.tcp, token=read_token(args.token_file), group=args.group,
                  follow=follow, tls=tls).serve()
