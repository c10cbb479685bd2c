import threading
import time

from chainlink_agent.control.workqueue import WorkQueue
from chainlink_agent.model import retry


def test_repeated_adds_merge():
    q = WorkQueue()
    for _ in range(3):
        q.add("a")
    q.add("b")
    assert len(q) == 2


def test_key_added_while_processing_comes_back_after_done():
    q = WorkQueue()
    q.add("a")
    assert q.get() == "a"
    q.add("a")
    assert len(q) == 0  # never handed to a second worker at the same time
    q.done("a")
    assert q.get() == "a"


def test_rate_limited_delays_grow_and_forget_resets():
    q = WorkQueue(base_delay=0.01, max_delay=0.04)
    assert [q.add_rate_limited("a") for _ in range(4)] == [0.01, 0.02, 0.04, 0.04]
    q.forget("a")
    assert q.add_rate_limited("a") == 0.01


def test_delayed_key_is_handed_out_when_due():
    q = WorkQueue()
    q.add_after("a", 0.05)
    start = time.monotonic()
    assert q.get() == "a"
    assert time.monotonic() - start >= 0.04


def test_shutdown_releases_waiting_workers():
    q = WorkQueue()
    got: list[str | None] = []
    worker = threading.Thread(target=lambda: got.append(q.get()))
    worker.start()
    q.shutdown()
    worker.join(2)
    assert got == [None]


def test_resync_does_not_hurry_a_key_in_backoff():
    q = WorkQueue(base_delay=60)
    q.add_rate_limited("a")
    q.add_background("a")
    q.add_background("b")
    assert q.get() == "b"
    assert len(q) == 0
    q.add("a")  # a real change is not held back
    assert q.get() == "a"


def test_one_schedule_doubles_from_the_base_up_to_the_cap():
    assert [retry.delay(n, 0.5, 5.0) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert retry.delay(10**9, 0.5, 300.0) == 300.0  # a key failing for days still waits the cap


def test_a_real_change_goes_ahead_of_the_resync_lane():
    q = WorkQueue()
    for key in ("r1", "r2", "r3"):
        q.add_background(key)
    q.add("new")
    q.add("r2")  # a resync key that changes for real moves up
    q.add_background("new")  # already queued: stays in the main lane
    assert len(q) == 4
    assert [q.get() for _ in range(4)] == ["new", "r2", "r1", "r3"]
    assert len(q) == 0
    for key in ("new", "r2", "r1", "r3"):
        q.done(key)
    assert len(q) == 0  # the stale background entry of r2 is not handed out again


def test_a_resync_key_added_while_processing_returns_to_its_lane():
    q = WorkQueue()
    q.add("a")
    assert q.get() == "a"
    q.add_background("a")
    q.add("b")
    q.done("a")
    assert [q.get(), q.get()] == ["b", "a"]


def test_delayed_adds_of_one_key_wait_once_until_the_earliest_time_asked():
    q = WorkQueue()
    q.add_after("a", 0.3)
    q.add_after("a", 0.05)  # sooner: replaces the later time
    q.add_after("a", 0.2)  # later than the time already set: nothing changes
    started = time.monotonic()
    assert q.get() == "a"
    assert time.monotonic() - started < 0.2
    q.done("a")
    threading.Event().wait(0.35)  # past every time asked: the superseded ones add nothing
    with q._cond:
        q._promote_due_locked()
    assert len(q) == 0
    assert q._due == {}


def test_on_idle_runs_once_when_the_last_key_of_a_burst_is_done():
    idle = []
    q = WorkQueue(on_idle=lambda: idle.append(len(q._processing)))
    q.add("a")
    q.add("b")
    taken = [q.get(), q.get()]
    q.done("a")
    worker = threading.Thread(target=q.get)  # finds nothing queued, "b" still processing: no on_idle yet
    worker.start()
    time.sleep(0.05)
    assert idle == []
    q.done("b")
    q.add("c")  # wakes the waiting worker, which takes "c"
    worker.join(1)
    q.done("c")
    late = threading.Thread(target=q.get)  # nothing queued, nothing processing: the burst is over
    late.start()
    time.sleep(0.05)
    q.shutdown()
    late.join(1)
    assert taken == ["a", "b"]
    assert idle == [0]


def test_on_idle_runs_without_the_queue_lock_so_adds_do_not_wait_for_it():
    added_during_the_hook = []

    def idle() -> None:  # another thread adds while the hook runs
        added = threading.Event()

        def add() -> None:
            q.add("late")
            added.set()

        threading.Thread(target=add).start()
        added_during_the_hook.append(added.wait(1))

    q = WorkQueue(on_idle=idle)
    q.add("a")
    q.done(q.get() or "")
    assert q.get() == "late"  # the worker ran the hook, then took what was added during it
    assert added_during_the_hook == [True]
