"""One serving process per database: a second ``python -m bot`` on the same file (an operator's
mistake, or a restart overlapping the old process) would poll the same bot, split conversations
between the two and send at twice the rate. The serving process holds an exclusive lock on a
file next to the database for as long as it runs; the operating system releases it when the
process ends in any way, SIGKILL included, so a stale lock never blocks a restart. Operator
commands (imports, ``round open``) do not take it: they are meant to run beside the bot."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from storage.database import DatabaseUnwritable


class LeaseHeld(RuntimeError):
    """Another process is serving this database."""


class ServingLease:
    def __init__(self, db_path: Path) -> None:
        self.path = db_path.with_name(db_path.name + ".lock")
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = self.path.open("a+", encoding="utf-8")
        except OSError as exc:
            # The folder is the database's: it must be writable for the -wal and -shm files too.
            raise DatabaseUnwritable(self.path, exc.strerror or str(exc), what="the lock file of the database") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise LeaseHeld(f"another Khooshe process (pid {holder}) is serving {self.path.with_suffix('')}; "
                            "stop it first (only one process may serve a database)") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
