"""The connects' turns on the connect threads (backend/database_threads.py ConnectSlots): a connect
that has begun (its replay) goes before one that has not (its log-in), each kind in arrival order,
and a connect cancelled while it waits (its phone hung up) leaves the queue and takes no turn."""

import asyncio

from backend.database_threads import ConnectSlots


async def take_turn(slots: ConnectSlots, order: list, name: str, *, begun: bool, held: asyncio.Event | None = None):
    async with slots.turn(begun=begun):
        order.append(name)
        if held is not None:
            await held.wait()


async def until_waiting(tasks) -> None:
    """Lets every task run up to its wait for a turn."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_connect_that_has_begun_goes_before_new_ones_each_kind_in_arrival_order():
    slots, order, release = ConnectSlots(1), [], asyncio.Event()
    holder = asyncio.create_task(take_turn(slots, order, "holder", begun=False, held=release))
    await until_waiting([holder])
    waiting = [
        asyncio.create_task(take_turn(slots, order, "new 1", begun=False)),
        asyncio.create_task(take_turn(slots, order, "replay 1", begun=True)),
        asyncio.create_task(take_turn(slots, order, "new 2", begun=False)),
        asyncio.create_task(take_turn(slots, order, "replay 2", begun=True)),
    ]
    await until_waiting(waiting)

    release.set()
    await asyncio.gather(holder, *waiting)

    assert order == ["holder", "replay 1", "replay 2", "new 1", "new 2"]


async def test_no_more_turns_at_once_than_slots():
    slots, order = ConnectSlots(2), []
    release = asyncio.Event()
    tasks = [asyncio.create_task(take_turn(slots, order, f"call {i}", begun=False, held=release)) for i in range(5)]
    await until_waiting(tasks)

    assert order == ["call 0", "call 1"]
    release.set()
    await asyncio.gather(*tasks)
    assert len(order) == 5


async def test_a_connect_cancelled_while_waiting_takes_no_turn_and_the_next_one_gets_it():
    slots, order, release = ConnectSlots(1), [], asyncio.Event()
    holder = asyncio.create_task(take_turn(slots, order, "holder", begun=False, held=release))
    await until_waiting([holder])
    hung_up = asyncio.create_task(take_turn(slots, order, "hung up", begun=True))
    next_one = asyncio.create_task(take_turn(slots, order, "next", begun=False))
    await until_waiting([hung_up, next_one])

    hung_up.cancel()
    release.set()
    await asyncio.gather(holder, next_one)

    assert hung_up.cancelled()
    assert order == ["holder", "next"]
    async with slots.turn(begun=False):  # the slot was given back, not lost
        order.append("after")
    assert order[-1] == "after"
