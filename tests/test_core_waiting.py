"""Waiting with a timeout never loses a cancellation (Ctrl-C in a run is a cancellation of its main task).

Before Python 3.12, ``asyncio.wait_for`` returns normally when the cancellation arrives in the same loop
step as the thing it waits for: a run's dispatch loop, woken by a finished unit just as Ctrl-C came, went on
and wrote the whole book with exit 0. These tests make both happen in one step.
"""

from __future__ import annotations

import asyncio

import pytest

from tui.core.control import RunControl
from tui.core.waiting import within


async def _cancelled_as_it_ends(start_waiting, finish) -> None:
    task = asyncio.ensure_future(start_waiting())
    for _ in range(3):
        await asyncio.sleep(0)  # the task is now waiting
    finish()
    task.cancel()  # in the same step as the wait's own end
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_run_control_wait_keeps_a_cancellation_that_comes_with_a_kick() -> None:
    control = RunControl()
    await _cancelled_as_it_ends(lambda: control.wait(30), control.kick)


async def test_within_keeps_a_cancellation_that_comes_as_the_wait_ends() -> None:
    event = asyncio.Event()
    await _cancelled_as_it_ends(lambda: within(event.wait(), 30), event.set)


async def test_within_times_out_and_cancels_what_it_waited_for() -> None:
    started = asyncio.Event()
    cancelled: list[bool] = []

    async def slow() -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    with pytest.raises(asyncio.TimeoutError):
        await within(slow(), 0.05)
    assert started.is_set() and cancelled == [True]


async def test_within_returns_the_result_and_raises_its_error() -> None:
    async def value() -> int:
        return 7

    async def broken() -> None:
        raise ValueError("no")

    assert await within(value(), 1) == 7
    with pytest.raises(ValueError, match="no"):
        await within(broken(), 1)


def test_the_orchestrator_never_uses_asyncio_wait_for() -> None:
    """Every timed wait of the orchestrator goes through ``within`` (Python 3.10 and 3.11 are supported)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "tui"
    users = [str(p.relative_to(root)) for p in root.rglob("*.py") if "asyncio.wait_for(" in p.read_text()]
    assert users == []
