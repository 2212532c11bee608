"""Finding tickets by what staff type: a number, a ticket or order id, a product code, or words.

The index (``ticket_search``) is kept by triggers in the database (migration e11c0a50f7a1), in the same
transaction as each ticket, product line and message, whichever path writes them. On SQLite, the tickets
that share a group commit are indexed together at its end, still before its COMMIT (the intake queues them,
the triggers leave them alone: migration 5c7d3e9a1b42, ``tickets.repository.index_queued``).

Here: SQLite FTS5's ``MATCH`` or PostgreSQL's ``@@`` on a ``tsvector``, each word a prefix, all words required.

Exact hits (the ticket's number, the reseller's ticket id or the order id equal to the whole text) come
first on the first page, ahead of the list in its usual order.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from claimdesk.accounts.service import Actor
from claimdesk.exceptions import ValidationFailed
from claimdesk.models import Order, Ticket
from claimdesk.rules.codes import Code
from claimdesk.rules.fields import MAX_SEARCH, as_id, is_clean_text
from claimdesk.rules.problems import Problem
from claimdesk.staff.service import StaffListQuery, StaffQuery, list_staff_tickets, parse_staff_query, staff_filtered

MAX_QUERY = MAX_SEARCH
MAX_WORDS = 8
MAX_EXACT = 10  # exact hits shown first, at most (and fewer than the page)

# Runs of letters and digits: what SQLite's unicode61 tokenizer and the migration's regexp_replace keep.
_WORD = re.compile(r"[^\W_]+")

_FTS = sa.table("ticket_search", sa.column("rowid"), sa.column("ticket_id"), sa.column("document"))


@dataclass(frozen=True)
class Search:
    text: str
    words: tuple[str, ...]

    @property
    def number(self) -> int | None:
        return as_id(self.text.lstrip("#"))


def search_problems(q: str | None) -> tuple[Search | None, list[Problem]]:
    """The search text, or what is wrong with it (at ``q``). Blank text is no search."""
    if q is None or not q.strip():
        return None, []
    text = q.strip()
    if len(text) > MAX_QUERY:
        return None, [Problem("q", Code.TOO_LONG, f"q must be at most {MAX_QUERY} characters.")]
    if not is_clean_text(text):
        return None, [Problem("q", Code.INVALID_TEXT, "q contains NUL or other control characters.")]
    words = tuple(dict.fromkeys(word.lower() for word in _WORD.findall(text)))[:MAX_WORDS]
    return Search(text, words), []


def parse_staff_search(actor: Actor, params: StaffListQuery, *, q: str | None) -> tuple[StaffQuery, Search | None]:
    """``GET /staff/tickets``'s parameters with ``q``: every mistake reported at once."""
    search, problems = search_problems(q)
    try:
        query = parse_staff_query(actor, params)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.problems + problems) from None
    if problems:
        raise ValidationFailed(problems)
    return query, search


def _fts_query(words: tuple[str, ...], *, postgresql: bool) -> str:
    # Words of letters and digits only, so nothing in them is query syntax. One letter is taken whole
    # (as a prefix it would expand to most of the index).
    if postgresql:
        return " & ".join(f"'{word}':*" if len(word) > 1 else f"'{word}'" for word in words)
    return " ".join(f'"{word}"*' if len(word) > 1 else f'"{word}"' for word in words)


def word_match(session: Session, search: Search) -> sa.ColumnElement[bool]:
    """Tickets whose document holds every word of the search (as a prefix)."""
    if not search.words:
        return sa.false()
    postgresql = session.get_bind().dialect.name == "postgresql"
    expression = _fts_query(search.words, postgresql=postgresql)
    if postgresql:
        matching = sa.select(_FTS.c.ticket_id).where(
            _FTS.c.document.op("@@")(sa.func.to_tsquery(sa.literal_column("'simple'::regconfig"), expression))
        )
    else:
        matching = sa.select(_FTS.c.rowid).where(sa.text("ticket_search MATCH :fts").bindparams(fts=expression))
    return Ticket.id.in_(matching)


def exact_match(search: Search) -> sa.ColumnElement[bool]:
    """The ticket's number, the reseller's ticket id or the order id equal to the whole search text."""
    conditions: list[sa.ColumnElement[bool]] = [
        Ticket.external_id == search.text,
        Ticket.order_id.in_(sa.select(Order.id).where(Order.external_id == search.text)),
    ]
    if search.number is not None:
        conditions.append(Ticket.id == search.number)
    return sa.or_(*conditions)


def _exact_first(session: Session, query: StaffQuery, search: Search) -> list[Ticket]:
    """The exact hits that go first: the oldest few (a new one never pushes one off between pages)."""
    if query.limit <= 1:
        return []
    select = staff_filtered(query).where(exact_match(search)).order_by(Ticket.id)
    return list(session.scalars(select.limit(min(MAX_EXACT, query.limit - 1))))


def search_staff_tickets(session: Session, query: StaffQuery, search: Search) -> tuple[list[Ticket], str | None]:
    """A page of the tickets the search finds, in the query's order, with exact hits first on the first page.

    Later pages continue the list of the others: the exact hits are left out of it on every page, so each
    ticket appears once."""
    exact = _exact_first(session, query, search)
    matching: sa.ColumnElement[bool] = sa.or_(word_match(session, search), exact_match(search))
    if exact:
        matching = sa.and_(matching, Ticket.id.not_in([t.id for t in exact]))
    if query.before is not None or query.after is not None:  # a later page
        return list_staff_tickets(session, query, matching)
    first_page = dataclasses.replace(query, limit=query.limit - len(exact))
    rest, next_cursor = list_staff_tickets(session, first_page, matching)
    return exact + rest, next_cursor


def list_or_search(session: Session, query: StaffQuery, search: Search | None) -> tuple[list[Ticket], str | None]:
    if search is None:
        return list_staff_tickets(session, query)
    return search_staff_tickets(session, query, search)
