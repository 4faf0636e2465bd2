"""docs/wire.md's walk through a session is a real capture: checked against a fresh
one from ``scripts/wire_walk.py`` (a real server and two real clients)."""

import json
import os
import re

import protocol
from conftest import ROOT, RawClient, wait_for
from scripts import wire_walk

DOC = os.path.join(ROOT, "docs", "wire.md")
STEP = re.compile(r"\*\*(\d+)\. (alice|bob) (sends|receives) `(\w+)`\*\* "
                  r"\((->|<-), header `b\"(\d+)\"` \+ (\d+) spaces, body (\d+) bytes\)\n+"
                  r"(?:```\n(?P<hex>[^`]+)```\n+)?```json\n(?P<body>[^\n]*)\n```")


def doc_steps():
    with open(DOC, encoding="utf-8") as f:
        return list(STEP.finditer(f.read()))


def test_every_header_in_the_walk_is_the_length_of_its_body():
    steps = doc_steps()
    assert len(steps) >= 7
    for n, step in enumerate(steps, start=1):
        digits, spaces, size = step.group(6), int(step.group(7)), int(step.group(8))
        body = step.group("body").encode("utf-8")
        assert int(step.group(1)) == n
        assert digits == str(size) and len(body) == size and len(digits) + spaces == 64
        assert json.loads(body)["type"] == step.group(4)
    assert steps[0].group("hex").rstrip("\n") == wire_walk.hexdump(
        protocol.frame_header(int(steps[0].group(8))))


def test_the_walk_is_what_a_real_session_sends():
    captured = wire_walk.capture()
    for who in ("alice", "bob"):
        doc = [(s.group(5), json.loads(s.group("body"))) for s in doc_steps() if s.group(2) == who]
        real = [("->" if f.direction == "sent" else "<-", f.message())
                for name, f in captured if name == who]
        assert [(d, m["type"]) for d, m in doc] == [(d, m["type"]) for d, m in real], who
        for (_, shown), (_, sent) in zip(doc, real):
            assert list(shown) == list(sent), shown["type"]  # the same fields, in order
    for _, frame in captured:
        assert frame.header == protocol.frame_header(frame.size)


TEN_BYTE_EVENT = re.compile(r'^b"([^"]+)" +\+ b"([^"]+)"$', re.M)


def test_the_ten_byte_events_on_the_page_are_what_a_real_server_sends(chat_server):
    # alice and bob speak the ten-byte dialect; the page shows what reaches them.
    with open(DOC, encoding="utf-8") as f:
        events = [(a.encode(), b.encode()) for a, b in TEN_BYTE_EVENT.findall(f.read())]
    assert len(events) == 3
    for frame in (part for event in events for part in event):
        assert int(frame[:10]) == len(frame) - 10  # each header says its body's length
    (said, joined, refused) = (name + text for name, text in events)

    def tb(text: str) -> bytes:
        return f"{len(text.encode()):<10}".encode() + text.encode()

    alice = RawClient(chat_server.address, bare=True)
    bob = RawClient(chat_server.address, bare=True)
    try:
        alice.send_raw(tb("alice"))
        wait_for(lambda: chat_server.server.people() == 1, what="alice to join")
        bob.send_raw(tb("bob"))
        alice.expect_text(joined)
        alice.send_raw(tb("hi there"))
        bob.expect_text(said)
        bob.send_raw(tb("/nick alice"))
        bob.expect_text(refused)
    finally:
        alice.close()
        bob.close()
