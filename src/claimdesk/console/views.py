"""The staff console's pages. For now the landing page only; the work queue, desk and dashboard follow."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from claimdesk.rules.statuses import TicketStatus
from claimdesk.web.deps import StaffPage, web_router
from claimdesk.web.render import render

router = web_router(tags=["console"])


@router.get("/console")
async def console_home(request: Request, identity: StaffPage) -> Response:
    """The console's start page."""
    return render(request, "console/index.html", {"staff": identity, "statuses": [s.value for s in TicketStatus]})
