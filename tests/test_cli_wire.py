"""``client.py --cli --wire`` against a real server: one stderr line per frame, the
conversation on stdout exactly as without the flag."""

import json
import re

from serverhelpers import join
from test_cli import cli  # noqa: F401 (a fixture)

WIRE_LINE = re.compile(r"(->|<-) \d\d:\d\d:\d\d\.\d\d\d \[(.{64})\] (.*)")


def session(srv, cli, bob, *flags):
    """carol says a line and asks /who, then ends her input; returns (stdout, stderr)."""
    carol = cli(srv.port, "carol", *flags)
    carol.wait_line(r"\* connected to .* as carol \(2 here: bob, carol\); /help lists the commands")
    carol.type("hello bob", "/who")
    bob.expect("message", text="hello bob")
    carol.wait_line(r"users \(2\): bob, carol")
    assert carol.end_input() == 0
    carol.reader.join(5)
    return carol.raw.decode("utf-8"), carol.stderr()


def test_wire_prints_one_line_a_frame_on_stderr_and_stdout_is_unchanged(
        chat_server, make_server, make_client, cli):
    (bob,) = join(chat_server, make_client, "bob")
    plain_out, plain_err = session(chat_server, cli, bob)
    other = make_server()  # the same session again, on a server with no history
    (bob,) = join(other, make_client, "bob")
    wire_out, wire_err = session(other, cli, bob, "--wire")

    assert wire_out.replace(str(other.port), "PORT") == plain_out.replace(str(chat_server.port), "PORT")
    assert "->" not in wire_out
    assert plain_err == ""
    lines = wire_err.splitlines()
    frames = []
    for line in lines:
        match = WIRE_LINE.fullmatch(line)
        assert match, line
        arrow, header, body = match.groups()
        assert header == str(len(body.encode("utf-8"))).ljust(64)  # the header is the body's length
        frames.append((arrow, json.loads(body)))
    sent = [m["type"] for arrow, m in frames if arrow == "->"]
    assert sent == ["hello", "say", "say", "bye"]
    assert frames[1] == ("<-", frames[1][1]) and frames[1][1]["type"] == "welcome"
    says = [m for arrow, m in frames if m["type"] == "say"]
    assert [m["text"] for m in says] == ["hello bob", "/who"]
    acks = [m for arrow, m in frames if arrow == "<-" and m["type"] == "ack"]
    assert [a["id"] for a in acks] == [m["id"] for m in says]
    assert any(m["type"] == "users" for arrow, m in frames if arrow == "<-")
