"""The node's desired and actual state in SQLite: which module runs at which digest, attached where, and the
audit log of every change. Each change is one transaction, so a daemon killed mid-way loses nothing
that was committed and never leaves a half-written row; WAL mode lets the CLI read while the daemon writes.
"""
from __future__ import annotations

import dataclasses
import getpass
import json
import os
import sqlite3
import time
from typing import Any, Optional

from .errors import ModuleError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS modules (
    name TEXT PRIMARY KEY, reference TEXT NOT NULL, digest TEXT NOT NULL, previous TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL, status TEXT NOT NULL, attach TEXT NOT NULL DEFAULT '{}', params TEXT NOT NULL DEFAULT '{}',
    pin_dir TEXT NOT NULL DEFAULT '', pid INTEGER NOT NULL DEFAULT 0, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL,
    subject TEXT NOT NULL, digest TEXT NOT NULL, result TEXT NOT NULL);
"""


@dataclasses.dataclass(frozen=True)
class ModuleRecord:
    """One module's row: ``status`` is ``loaded`` (programs pinned), ``attached`` (links pinned too) or
    ``running`` (a script's tracer, process ``pid``, script file ``pin_dir``)."""

    name: str
    reference: str
    digest: str
    kind: str
    status: str
    attach: dict[str, str] = dataclasses.field(default_factory=dict)
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    pin_dir: str = ""
    previous: str = ""
    pid: int = 0
    updated: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class State:
    def __init__(self, path: str) -> None:
        self.path = path
        try:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ModuleError(f"state database {path}: {exc}", "check the state directory") from None

    def close(self) -> None:
        self._db.close()

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise ModuleError(f"state database {self.path}: {exc}") from None

    def modules(self) -> list[ModuleRecord]:
        rows = self._run("SELECT name, reference, digest, kind, status, attach, params, pin_dir, previous, pid, updated "
                         "FROM modules ORDER BY name")
        return [_record(row) for row in rows]

    def module(self, name: str) -> Optional[ModuleRecord]:
        return next((m for m in self.modules() if m.name == name), None)

    def put(self, record: ModuleRecord) -> None:
        self._run("INSERT OR REPLACE INTO modules (name, reference, digest, previous, kind, status, attach, params, "
                  "pin_dir, pid, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  (record.name, record.reference, record.digest, record.previous, record.kind, record.status,
                   json.dumps(record.attach, sort_keys=True), json.dumps(record.params, sort_keys=True),
                   record.pin_dir, record.pid, time.time()))

    def remove(self, name: str) -> None:
        self._run("DELETE FROM modules WHERE name = ?", (name,))

    def audit(self, action: str, subject: str, digest: str = "", result: str = "ok", who: str = "") -> None:
        self._run("INSERT INTO audit (ts, who, action, subject, digest, result) VALUES (?, ?, ?, ?, ?, ?)",
                  (time.time(), who or _whoami(), action, subject, digest, result))

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._run("SELECT id, ts, who, action, subject, digest, result FROM audit ORDER BY id DESC LIMIT ?",
                         (limit,))
        keys = ("id", "ts", "who", "action", "subject", "digest", "result")
        return [dict(zip(keys, row)) for row in reversed(rows)]


def _record(row: tuple[Any, ...]) -> ModuleRecord:
    name, reference, digest, kind, status, attach, params, pin_dir, previous, pid, updated = row
    return ModuleRecord(name, reference, digest, kind, status, json.loads(attach), json.loads(params), pin_dir,
                        previous, pid, updated)


def _whoami() -> str:
    try:
        return f"{getpass.getuser()}(uid {os.getuid()})"
    except (KeyError, OSError):
        return f"uid {os.getuid()}"
