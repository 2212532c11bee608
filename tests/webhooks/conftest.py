"""The receivers the webhook tests deliver to: a signature-checking HTTP endpoint and an SMTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .support import MailSink, Receiver, running_receiver, running_smtp


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def smtp() -> Iterator[tuple[MailSink, str]]:
    with running_smtp() as running:
        yield running
