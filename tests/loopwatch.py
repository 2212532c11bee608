"""Whether the event loop kept running while something was awaited."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def await_counting_ticks(awaitable: Awaitable[T]) -> tuple[T, int]:
    """Await ``awaitable`` and count the 10 ms ticks the event loop made meanwhile: a blocked loop makes none."""
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    background = asyncio.create_task(ticker())
    try:
        return await awaitable, ticks
    finally:
        background.cancel()
