"""What a caller keypad (呼叫器) key does to the queue: the same operations as the clerk console.

A caller keypad has no "finish" or "start" key, so ``call_next`` finishes the current
ticket first and ``rate`` starts a ticket that is only called (the store rates served
tickets only). ``pause`` toggles pause/resume. ``callback`` (回呼) calls the most recent
ticket this window suspended or marked no-show. Refusals are the queue's HallqError.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable

from server.devices.ports import QueueOps
from server.errors import HallqError

# store refusals after which a set-aside ticket can never be called back
_GONE = ("callback_expired", "invalid_transition", "unknown_ticket")


async def caller_key(
    q: QueueOps,
    number: int,
    key: str,
    actor: str,
    *,
    set_aside: deque[int] | None,
    transfer_to: Callable[[], Awaitable[str]],
) -> bool:
    """Run ``key`` for window ``number``; True when the keypad should show the new state."""
    if key == "call_next":
        if (await q.window(number)).get("current"):
            await q.finish(number, actor=actor)  # a caller keypad has no finish key
        await q.call_next(number, actor=actor)
    elif key == "recall":
        await q.recall(number, actor=actor)
    elif key == "rate":
        current = (await q.window(number)).get("current") or {}
        if current.get("state") == "called":
            await q.start(number, actor=actor)  # only served tickets can be rated; keypads skip start
        await q.request_rating(number, actor=actor)
        return False  # the evaluator starts on rating.requested; nothing to show here
    elif key == "pause":
        if (await q.window(number)).get("state") == "paused":
            await q.resume_window(number, actor=actor)
        else:
            await q.pause_window(number, actor=actor)
    elif key == "transfer":
        await q.transfer(number, to_service=await transfer_to(), actor=actor)
    elif key == "no_show":
        await q.no_show(number, actor=actor)
    elif key == "suspend":
        await q.suspend(number, actor=actor)
    elif key == "callback":
        if not set_aside:
            raise HallqError("没有可回呼的号票", "No ticket to call back", code="nothing_to_recall")
        try:
            await q.call(number, set_aside[-1], actor=actor)
        except HallqError as exc:
            if exc.code in _GONE:
                set_aside.pop()  # the next press tries the one before
            raise
    else:  # cancel and unknown keys do nothing
        return False
    return True
