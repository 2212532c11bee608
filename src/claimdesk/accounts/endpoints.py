"""The calling account."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from claimdesk.api.answers import Account
from claimdesk.api.deps import ResellerDep, ServicesDep
from claimdesk.api.docs import answers

from .service import get_account

router = APIRouter(tags=["account"])


@router.get(
    "/account",
    operation_id="get_account",
    response_model=None,
    responses=answers(Account, "The account.", 401, 403, 429),
)
def account(actor: ResellerDep, services: ServicesDep) -> dict[str, Any]:
    """Your account, with the secret that signs deliveries to your orders' callback_urls."""
    assert actor.id is not None
    found = services.db.read(get_account, actor.id)
    return {"id": found.id, "name": found.name, "callback_secret": found.callback_secret}
