"""What the web pages share for the app's lifetime (built once in ``create_app``)."""

from __future__ import annotations

from dataclasses import dataclass

import jinja2
from starlette.requests import Request

from claimdesk.config import Settings
from claimdesk.db import Database

from .throttle import PageLimit, SignInThrottle


@dataclass
class WebState:
    settings: Settings
    db: Database
    templates: jinja2.Environment
    throttle: SignInThrottle
    pages: PageLimit


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state
