"""When core starts what the merged report needs: once every unit has started and one has ended since."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from hypertest.core.dispatcher import Dispatcher
from hypertest.core.report_preparation import ReportPreparation
from hypertest.core.suite import TestCase, Unit


class Prepared:
    """What a plugin's prepare_report returns, recording whether it was closed."""

    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def preparation(total: int, *, wanted: bool = True) -> tuple[ReportPreparation, list[Prepared]]:
    started: list[Prepared] = []

    def start() -> Prepared:
        started.append(Prepared())
        return started[-1]

    return ReportPreparation(start, total, wanted=wanted), started


def test_it_starts_once_no_unit_is_left_to_start_and_one_has_ended() -> None:
    prep, started = preparation(3)
    prep.unit_began()
    prep.unit_began()
    prep.unit_ended()  # a unit is still to start: the slot it freed takes it
    assert started == []
    prep.unit_began()
    assert started == []  # every slot busy
    prep.unit_ended()
    assert len(started) == 1
    prep.unit_ended()
    assert len(started) == 1
    taken = prep.take()
    assert taken is started[0] and prep.take() is None
    prep.close()
    assert started[0].closed == 0  # taken: the report step uses or closes it


def test_nothing_starts_without_a_report_and_what_is_left_is_closed() -> None:
    prep, started = preparation(1, wanted=False)
    prep.unit_began()
    prep.unit_ended()
    assert started == [] and prep.take() is None
    prep, started = preparation(1)
    prep.unit_began()
    prep.unit_ended()
    prep.close()
    assert started[0].closed == 1 and prep.take() is None


def test_a_preparation_that_fails_is_no_preparation() -> None:
    """It runs on a dispatcher slot's thread: whatever it raises must not end the slot."""
    def start() -> Prepared:
        raise RuntimeError("no node here")

    prep = ReportPreparation(start, 1, wanted=True)
    prep.unit_began()
    prep.unit_ended()
    assert prep.take() is None


def test_a_report_taken_early_stops_the_count() -> None:
    prep, started = preparation(2)
    prep.unit_began()
    assert prep.take() is None  # the report step came first (the run was interrupted)
    prep.unit_began()
    prep.unit_ended()
    assert started == []


def wait_for(condition: Callable[[], bool]) -> bool:
    """Whether condition became true within five seconds."""
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_through_the_dispatcher_it_starts_while_the_last_unit_runs() -> None:
    """Two slots, three units: it starts when the second unit ends, while the third still runs."""
    units = [Unit(id=f"u{n}", tests=(TestCase(id=f"t{n}", project="p", file="f.spec.ts", line=n, column=1,
                                               title_path=(f"t{n}",), tags=(), expected_status="passed",
                                               serial_group=None),)) for n in range(3)]
    release = {unit.id: threading.Event() for unit in units}
    seen: list[tuple[str, ...]] = []
    running: set[str] = set()
    lock = threading.Lock()

    def start() -> Prepared:
        with lock:
            seen.append(tuple(sorted(running)))
        return Prepared()

    prep = ReportPreparation(start, len(units), wanted=True)

    def execute(unit: Unit) -> object:
        with lock:
            running.add(unit.id)
        assert release[unit.id].wait(10.0)
        with lock:
            running.discard(unit.id)
        return {"tests": [], "status": "ok", "error": None, "durationMs": 1}

    def ended(_outcome: object) -> None:
        prep.unit_ended()

    dispatcher = Dispatcher(execute, 2, on_begin=lambda _unit: prep.unit_began(), on_end=ended)
    runner = threading.Thread(target=dispatcher.run, args=(units,))
    runner.start()
    try:
        release["u0"].set()
        assert wait_for(lambda: "u2" in running)  # u0's slot took the last unit
        assert seen == []
        release["u1"].set()
        assert wait_for(lambda: bool(seen))
        assert seen == [("u2",)]  # started as u1 ended, while u2 still runs
    finally:
        for event in release.values():
            event.set()
        runner.join(10.0)
    assert not runner.is_alive() and len(seen) == 1
