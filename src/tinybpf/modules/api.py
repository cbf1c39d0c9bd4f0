"""The daemon's JSON REST API: routes, their OpenAPI 3 description, and the mapping of errors to statuses.

Every route is one ``Node`` call; ``ROUTES`` is the single table both the dispatcher and ``/openapi.json``
read, so the document cannot drift from what is served.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any, Callable

from ..errors import TinyBPFError, VerifierError
from .errors import ModuleError, RegistryError
from .node import Node


@dataclasses.dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    summary: str
    call: Callable[[Node, dict[str, str], dict[str, Any]], Any]
    changes: bool = False

    @property
    def regex(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.pattern) + "$")


def _pull_options(body: dict[str, Any]) -> dict[str, Any]:
    return {"insecure": bool(body.get("insecure")), "verify": body.get("verify", True), "keys": ()}


def _load(node: Node, _: dict[str, str], body: dict[str, Any]) -> Any:
    record = node.load(str(body["reference"]), name=str(body.get("name", "")), params=body.get("params", {}),
                       attach=bool(body.get("attach")), targets=body.get("targets", {}), pull=_pull_options(body))
    return record.to_dict()


def _pull(node: Node, _: dict[str, str], body: dict[str, Any]) -> Any:
    module = node.pull(str(body["reference"]), **_pull_options(body))
    return {"reference": body["reference"], "digest": module.digest, "format": module.source_format}


def _module(node: Node, p: dict[str, str], _: dict[str, Any]) -> Any:
    return next((m for m in node.ps() if m["name"] == p["name"]), None) or _missing(f"module {p['name']}")


def _missing(what: str) -> Any:
    raise LookupError(f"no {what}")


def _unload(node: Node, p: dict[str, str], _: dict[str, Any]) -> Any:
    node.unload(p["name"])
    return {"ok": True}


def _programs(node: Node, _: dict[str, str], __: dict[str, Any]) -> Any:
    from ..programs import Program, list_program_ids

    found = []
    for prog_id in list_program_ids():
        try:
            with Program.from_id(prog_id) as prog:
                info = prog.info()
        except (OSError, TinyBPFError):
            continue
        found.append({"id": info.id, "name": info.name, "type": info.type_name, "tag": info.tag,
                      "run_cnt": info.run_cnt, "run_time_ns": info.run_time_ns})
    return found


def _map_entries(node: Node, p: dict[str, str], q: dict[str, Any]) -> Any:
    return node.map_view(p["name"], p["map"]).entries(int(q["limit"]) if "limit" in q else None)


def _map_update(node: Node, p: dict[str, str], body: dict[str, Any]) -> Any:
    node.map_view(p["name"], p["map"]).update(body["key"], body["value"])
    node.state.audit("map update", f"{p['name']}/{p['map']}", result=f"key {body['key']!r}", who=node.who)
    return {"ok": True}


def _map_delete(node: Node, p: dict[str, str], body: dict[str, Any]) -> Any:
    node.map_view(p["name"], p["map"]).delete(body["key"])
    node.state.audit("map delete", f"{p['name']}/{p['map']}", result=f"key {body['key']!r}", who=node.who)
    return {"ok": True}


ROUTES = (
    Route("GET", "/v1/modules", "Modules on this node, with their programs, maps and links",
          lambda n, p, b: n.ps()),
    Route("POST", "/v1/modules", "Load a module (pulling it first when needed); body: reference, name, attach, "
          "targets, params, insecure, verify", _load, True),
    Route("GET", "/v1/modules/{name}", "One module", _module),
    Route("DELETE", "/v1/modules/{name}", "Detach and unload a module", _unload, True),
    Route("POST", "/v1/modules/{name}/attach", "Attach a loaded module; body: targets",
          lambda n, p, b: n.attach(p["name"], b.get("targets", {})).to_dict(), True),
    Route("POST", "/v1/modules/{name}/detach", "Detach a module's links",
          lambda n, p, b: {"links": n.detach(p["name"])}, True),
    Route("GET", "/v1/modules/{name}/logs", "What a script module printed (last lines; query: lines)",
          lambda n, p, b: n.log_tail(p["name"], int(b.get("lines", 100)))),
    Route("GET", "/v1/modules/{name}/maps", "A module's maps",
          lambda n, p, b: sorted(n.maps(p["name"]))),
    Route("GET", "/v1/modules/{name}/maps/{map}", "A map's entries, decoded through BTF (query: limit)",
          _map_entries),
    Route("PUT", "/v1/modules/{name}/maps/{map}", "Update an entry; body: key, value", _map_update, True),
    Route("DELETE", "/v1/modules/{name}/maps/{map}", "Delete an entry; body: key", _map_delete, True),
    Route("POST", "/v1/pull", "Pull (and verify) a module into the store; body: reference, insecure, verify",
          _pull, True),
    Route("GET", "/v1/images", "Images in the store",
          lambda n, p, b: [{"reference": r, "digest": d} for r, d in n.store.names()]),
    Route("GET", "/v1/programs", "Every BPF program in the kernel (also those other tools loaded)", _programs),
    Route("POST", "/v1/programs/adopt", "Adopt programs another tool pinned; body: name, path",
          lambda n, p, b: n.adopt_pinned(str(b["name"]), str(b["path"])).to_dict(), True),
    Route("GET", "/v1/audit", "The audit log", lambda n, p, b: n.state.audit_log(int(b.get("limit", 100)))),
    Route("GET", "/v1/state", "The desired state (as `module save` prints it)", lambda n, p, b: n.save()),
)


def dispatch(node: Node, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    """(HTTP status, JSON value) for one request."""
    for route in ROUTES:
        if route.method != method:
            continue
        match = route.regex.match(path)
        if match is None:
            continue
        try:
            return 200, route.call(node, match.groupdict(), body)
        except KeyError as exc:
            return 400, {"error": f"the request body lacks {exc}"}
        except LookupError as exc:
            return 404, {"error": str(exc).strip("'\"")}
        except VerifierError as exc:
            return 422, {"error": str(exc), "verifier_log": exc.log}
        except RegistryError as exc:
            return 502, {"error": str(exc)}
        except (ModuleError, TinyBPFError, ValueError, TypeError) as exc:
            return 400, {"error": str(exc)}
    known = any(r.regex.match(path) for r in ROUTES)
    return (405, {"error": f"{method} not allowed on {path}"}) if known else (404, {"error": f"no route {path}"})


def changes_state(method: str, path: str) -> bool:
    return any(r.changes and r.method == method and r.regex.match(path) for r in ROUTES)


def openapi(version: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for route in ROUTES:
        params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                  for n in re.findall(r"\{(\w+)\}", route.pattern)]
        operation: dict[str, Any] = {"summary": route.summary, "parameters": params,
                                     "responses": {"200": {"description": "JSON result"},
                                                   "400": {"description": "bad request, one-line error"},
                                                   "401": {"description": "no or wrong bearer token"}}}
        if route.method in ("POST", "PUT", "DELETE"):
            operation["requestBody"] = {"content": {"application/json": {"schema": {"type": "object"}}}}
        paths.setdefault(route.pattern, {})[route.method.lower()] = operation
    for path, summary, kind in (("/metrics", "Prometheus metrics", "text/plain"),
                                ("/v1/follow", "The channel this node follows: digest, health, rejected digests",
                                 "application/json"),
                                ("/v1/events", "State changes as server-sent events", "text/event-stream"),
                                ("/v1/modules/{name}/maps/{map}/events", "Ring buffer records as server-sent events",
                                 "text/event-stream")):
        paths[path] = {"get": {"summary": summary, "responses": {"200": {"description": summary,
                                                                          "content": {kind: {}}}}}}
    return {"openapi": "3.0.3", "info": {"title": "tinybpf daemon", "version": version}, "paths": paths,
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}]}

