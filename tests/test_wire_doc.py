"""docs/wire.md's walk through a session is a real capture: checked against a fresh
one from ``scripts/wire_walk.py`` (a real server and two real clients)."""

import json
import os
import re

import protocol
from conftest import ROOT
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
