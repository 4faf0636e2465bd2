"""The client's outbox without sockets or clocks: pacing, refusals, resends, order."""

from lanchat.client.outbox import ASSUMED_BURST, Outbox
from lanchat.ratelimit import TokenBucket


def said(outbox, n, start=0):
    ids = [f"id-{i}" for i in range(start, start + n)]
    for msg_id in ids:
        outbox.add({"type": "say", "id": msg_id, "text": msg_id})
    return ids


def ids_of(messages):
    return [m["id"] for m in messages]


def test_pacer_gives_the_burst_then_one_token_per_interval():
    pacer = TokenBucket(rate=4.0, burst=2, now=0.0)
    assert pacer.take(0.0) and pacer.take(0.0) and not pacer.take(0.0)
    assert pacer.retry_after(0.0) == 0.25
    assert not pacer.take(0.2) and pacer.take(0.25)


def test_a_pacer_without_a_rate_never_waits():
    pacer = TokenBucket(rate=0, burst=1, now=0.0)
    assert all(pacer.take(0.0) for _ in range(1000)) and pacer.retry_after(0.0) == 0.0


def test_nothing_is_due_outside_a_session():
    outbox = Outbox()
    said(outbox, 3)
    assert outbox.take_due(0.0) == [] and outbox.wait_time(0.0) is None
    outbox.start_session({}, 0.0)
    assert len(outbox.take_due(0.0)) == 3
    outbox.end_session()
    said(outbox, 1, start=3)
    assert outbox.take_due(1.0) == []


def test_lines_are_paced_to_the_announced_rate():
    outbox = Outbox()
    outbox.start_session({"rate": 2.0, "burst": 3}, 0.0)
    ids = said(outbox, 6)
    assert ids_of(outbox.take_due(0.0)) == ids[:3]
    assert outbox.wait_time(0.0) == 0.5
    assert outbox.take_due(0.4) == []
    assert ids_of(outbox.take_due(0.5)) == ids[3:4]
    assert ids_of(outbox.take_due(1.5)) == ids[4:6]
    assert outbox.wait_time(1.5) is None


def test_a_refused_line_goes_again_after_retry_after_before_later_lines():
    outbox = Outbox()
    outbox.start_session({"rate": 10.0, "burst": 3}, 0.0)
    ids = said(outbox, 5)
    assert ids_of(outbox.take_due(0.0)) == ids[:3]
    for msg_id in ids[:2]:
        outbox.pop(msg_id)                        # acked
    assert outbox.rate_limited(ids[2], 0.5, 0.01)
    assert outbox.take_due(0.4) == []             # held, though tokens came back
    assert abs(outbox.wait_time(0.4) - 0.11) < 1e-9
    assert ids_of(outbox.take_due(0.51)) == ids[2:5]  # 5 tokens by then: the rest
    assert [i for i, _ in outbox.pending()] == ids[2:]


def test_a_silent_server_is_unpaced_until_it_refuses_then_assumed_default():
    outbox = Outbox()
    outbox.start_session({}, 0.0)                 # no rate announced
    ids = said(outbox, 30)
    assert ids_of(outbox.take_due(0.0)) == ids    # all at once: it may have no limit
    for msg_id in ids[:10]:
        outbox.pop(msg_id)
    for msg_id in ids[10:]:                       # refused in order, no retry_after
        assert outbox.rate_limited(msg_id, None, 0.0)
    assert outbox.take_due(0.99) == []            # 1 s when the error does not say
    assert ids_of(outbox.take_due(1.0)) == ids[10:15]  # then 5 per second
    assert ids_of(outbox.take_due(1.25)) == ids[15:16]
    assert ASSUMED_BURST == 10


def test_junk_limits_from_a_server_are_not_believed():
    outbox = Outbox()
    outbox.start_session({"rate": "fast", "burst": True}, 0.0)
    said(outbox, 20)
    assert len(outbox.take_due(0.0)) == 20
    outbox.start_session({"rate": float("inf")}, 0.0)
    assert len(outbox.take_due(0.0)) == 20        # the same lines again: a new session
    assert outbox.rate_limited("id-0", 1e9, 0.0)  # retry_after beyond reason: 1 s
    assert outbox.wait_time(0.0) == 1.0


def test_refusals_of_lines_that_are_not_ours_are_not_kept():
    outbox = Outbox()
    outbox.start_session({}, 0.0)
    assert not outbox.rate_limited("someone-else", 1.0, 0.0)
    assert not outbox.rate_limited(None, 1.0, 0.0)


def test_a_new_session_sends_every_unanswered_line_again_in_order():
    outbox = Outbox()
    outbox.start_session({}, 0.0)
    ids = said(outbox, 4)
    outbox.take_due(0.0)
    outbox.pop(ids[1])
    outbox.end_session()
    outbox.start_session({"rate": 5.0, "burst": 10}, 5.0)
    assert ids_of(outbox.take_due(5.0)) == [ids[0], ids[2], ids[3]]
    assert [m["id"] for m in outbox.drain()] == [ids[0], ids[2], ids[3]]
    assert outbox.pending() == []


def test_a_line_refused_as_unavailable_goes_again_in_its_place_a_moment_later():
    outbox = Outbox()
    outbox.start_session({"rate": 0, "burst": 3}, 0.0)
    ids = said(outbox, 3)
    assert ids_of(outbox.take_due(0.0)) == ids
    assert outbox.unavailable(ids[1], 0.1) and outbox.unavailable(ids[2], 0.1)
    assert outbox.take_due(0.5) == []              # the group's Redis is down: wait
    assert ids_of(outbox.take_due(1.2)) == ids[1:]  # then again, in order
    assert not outbox.unavailable("someone-else", 1.2)
