"""The sender side of typing notifications (PROTOCOL.md section 9), pure: time is passed in."""

from __future__ import annotations

from lanchat.client.typingsender import ACTIVE, DONE, PAUSED, TypingSender

LOBBY = ("room", "#lobby")
BOB = ("to", "bob")


def test_the_first_key_sends_active_at_once():
    sender = TypingSender()
    assert sender.edited(LOBBY, 100.0) == [(LOBBY, ACTIVE)]


def test_active_goes_at_most_once_per_3_seconds_while_typing():
    sender = TypingSender()
    sent = []
    for tenth in range(0, 100):  # a key every 0.1 s for 10 s
        now = 100.0 + tenth / 10
        sent += [(now, f) for f in sender.edited(LOBBY, now) + sender.poll(now)]
    times = [now for now, frame in sent if frame == (LOBBY, ACTIVE)]
    assert len(times) >= 3  # kept alive for receivers, who expire active after 6 s
    assert all(b - a >= 3.0 for a, b in zip(times, times[1:]))
    assert all(frame[1] == ACTIVE for _, frame in sent)


def test_a_throttled_key_still_refreshes_active_when_the_3_seconds_are_up():
    sender = TypingSender()
    sender.edited(LOBBY, 0.0)
    assert sender.edited(LOBBY, 1.0) == []
    assert sender.next_due(1.0) == 2.0
    assert sender.poll(2.9) == []
    assert sender.poll(3.0) == [(LOBBY, ACTIVE)]


def test_paused_after_5_seconds_without_keys_then_active_again_on_a_key():
    sender = TypingSender()
    sender.edited(LOBBY, 0.0)
    assert sender.poll(4.9) == []
    assert abs(sender.next_due(4.9) - 0.1) < 1e-9
    assert sender.poll(5.0) == [(LOBBY, PAUSED)]
    assert sender.poll(20.0) == []          # paused once, not again
    assert sender.next_due(20.0) is None    # nothing more until a key
    assert sender.edited(LOBBY, 21.0) == [(LOBBY, ACTIVE)]


def test_done_when_the_line_is_sent_or_cleared_and_only_once():
    sender = TypingSender()
    sender.edited(LOBBY, 0.0)
    assert sender.finished(1.0) == [(LOBBY, DONE)]
    assert sender.finished(1.5) == []
    sender.edited(LOBBY, 10.0)
    sender.poll(15.0)                       # paused
    assert sender.finished(16.0) == [(LOBBY, DONE)]


def test_nothing_is_sent_for_a_command_or_an_empty_box():
    sender = TypingSender()
    assert sender.edited(None, 0.0) == []   # "/nick bo": a command, not a message
    assert sender.finished(1.0) == []
    assert sender.next_due(1.0) is None


def test_turning_a_line_into_a_command_ends_the_typing():
    sender = TypingSender()
    sender.edited(LOBBY, 0.0)
    assert sender.edited(None, 1.0) == [(LOBBY, DONE)]


def test_a_new_target_gets_done_for_the_old_one_and_active_for_itself():
    sender = TypingSender()
    sender.edited(LOBBY, 0.0)
    assert sender.edited(BOB, 1.0) == [(LOBBY, DONE), (BOB, ACTIVE)]


def test_the_3_seconds_hold_per_target_across_done():
    # a quick second line: its active waits for the first line's 3 s to pass
    sender = TypingSender()
    sender.edited(LOBBY, 0.0)
    sender.finished(0.5)
    assert sender.edited(LOBBY, 1.0) == []
    assert sender.poll(3.0) == [(LOBBY, ACTIVE)]
    # ... while another target is free at once
    sender.finished(3.1)
    assert sender.edited(BOB, 3.2) == [(BOB, ACTIVE)]


def test_no_active_after_the_keys_stopped_even_if_one_was_owed():
    sender = TypingSender()
    sender.edited(LOBBY, 0.0)
    sender.finished(0.1)
    sender.edited(LOBBY, 1.0)               # owed at 3.0, but nobody polled until 7.0
    assert sender.poll(7.0) == []           # 6 s without keys: not typing, nothing to pause
