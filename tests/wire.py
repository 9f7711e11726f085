"""What the connections send to PostgreSQL, read from libpq's protocol trace.

Django's captured queries show the SQL a cursor was given, and note BEGIN and COMMIT for
every atomic block whether psycopg sent them or not; the trace shows the messages that reached
the server. A round trip is one simple-protocol ``Query`` message (which may hold several
statements, as the tenant settings and the query they guard do) or one extended-protocol
``Sync``.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any

import psycopg
from django.db import connections
from django.db.backends.signals import connection_created


class Wire:
    def __init__(self) -> None:
        self._files: list[tuple[str, IO[bytes]]] = []

    def trace(self, alias: str, raw: Any) -> None:
        file = tempfile.TemporaryFile()
        raw.pgconn.trace(file.fileno())
        raw.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        self._files.append((alias, file))

    def messages(self) -> dict[str, list[str]]:
        """Alias -> the Query texts and Syncs it sent, in order ("<sync>" for a Sync)."""
        sent: dict[str, list[str]] = defaultdict(list)
        for alias, file in self._files:
            file.seek(0)
            for line in file.read().decode(errors="replace").splitlines():
                parts = line.split("\t", 3)
                if len(parts) < 3 or parts[0] != "F":
                    continue
                if parts[2] == "Query":
                    sent[alias].append(parts[3].strip()[1:-1])
                elif parts[2] == "Sync":
                    sent[alias].append("<sync>")
        return dict(sent)

    def round_trips(self, alias: str | None = None) -> int:
        messages = self.messages()
        if alias is not None:
            return len(messages.get(alias, []))
        return sum(len(texts) for texts in messages.values())


@contextmanager
def traced(aliases: Iterable[str] | None = None) -> Iterator[Wire]:
    """Trace the connections of ``aliases`` (default: all) inside the block, those already
    open and those opened in it."""
    names = set(aliases) if aliases is not None else set(connections)
    wire = Wire()
    traced_raw: list[Any] = []

    def start(connection: Any) -> None:
        raw = connection.connection
        if connection.alias in names and raw is not None and not raw.closed:
            wire.trace(connection.alias, raw)
            traced_raw.append(raw)

    def on_created(sender: Any, connection: Any, **_: Any) -> None:
        start(connection)

    for alias in names:
        start(connections[alias])
    connection_created.connect(on_created)
    try:
        yield wire
    finally:
        connection_created.disconnect(on_created)
        for raw in traced_raw:
            if not raw.closed:
                raw.pgconn.untrace()
