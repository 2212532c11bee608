"""The console's demo data: every status over weeks, replies, notes, stored evidence with thumbnails, one failure."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from claimdesk.console import dashboard
from claimdesk.db import Database
from claimdesk.demo import CONSOLE_TICKETS, seed, seed_console
from claimdesk.files.storage import LocalStorage
from claimdesk.models import EvidenceFile, HistoryEntry, Message, Ticket, utcnow
from claimdesk.rules.statuses import TicketStatus


def test_seed_console(db: Database, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "files")
    with db.transaction() as session:
        seed(session)
        assert seed_console(session, storage) == CONSOLE_TICKETS
    with db.transaction() as session:
        assert seed_console(session, storage) == 0  # safe to run again
    with db.session() as session:
        statuses = dict(session.execute(sa.select(Ticket.status, sa.func.count()).group_by(Ticket.status)).all())
        assert set(statuses) == {s.value for s in TicketStatus}
        oldest = session.scalar(sa.select(sa.func.min(Ticket.created_at)))
        assert oldest is not None
        assert utcnow() - oldest > dt.timedelta(weeks=6)
        notes = session.scalar(sa.select(sa.func.count()).where(Message.internal.is_(True)))
        replies = session.scalar(
            sa.select(sa.func.count()).where(Message.internal.is_(False), Message.by_type == "staff")
        )
        assert notes
        assert replies
        files = session.scalars(sa.select(EvidenceFile)).all()
        assert [f.state for f in files].count("failed") == 1
        for file in files:
            if file.state == "stored":
                assert file.thumbnail_key is not None
                assert storage.exists(file.thumbnail_key)
                assert storage.exists(file.storage_key or "")
        # Every ticket's last status entry is its status: the dashboard's backlog agrees with the tickets.
        for ticket in session.scalars(sa.select(Ticket)):
            last = session.scalars(
                sa.select(HistoryEntry.status)
                .where(HistoryEntry.ticket_id == ticket.id, HistoryEntry.action != "assigned")
                .order_by(HistoryEntry.at.desc(), HistoryEntry.id.desc())
                .limit(1)
            ).one()
            assert last == ticket.status
        assert dashboard.needs_rollup(session)
    with db.transaction() as session:
        assert dashboard.prepare(session) > 50  # eight weeks of days and more
    with db.session() as session:
        board = dashboard.dashboard(session, dashboard.parse_range(None, None))
        assert board.opened_total >= CONSOLE_TICKETS - 4
        assert len([w for w in board.weeks if any(s.values[board.weeks.index(w)] for s in board.opened)]) >= 6
        assert board.first_reply.count > 0
        assert sum(board.outcomes.values()) > 0
        assert board.top_products
