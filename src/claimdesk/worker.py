"""The background worker. (The job runner arrives with the evidence files issue.)"""

from __future__ import annotations

import threading

from .config import Settings
from .db import Database


class EmbeddedWorker:
    """Runs the worker loop in a thread of the API process."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._stop = threading.Event()

    def start(self) -> None:
        pass

    def stop(self) -> None:
        self._stop.set()


def run_forever(db: Database, settings: Settings) -> None:
    threading.Event().wait()
