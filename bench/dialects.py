"""Load clients for the C baselines: an IRC member (ngIRCd) and a RESP member (Redis).

They are ``Member``s: the same messages (text ``b<sender>:<n>:<send time ns>:``
padded to 100 characters), the same workloads, the same checker (``Member.deliver``:
no loss, no duplicate, each sender's lines in order, latency from the send time in
the text). Only the bytes on the wire differ; what each protocol lacks is said here:

* **IRC** (RFC 2812 lines): ``NICK``/``USER``, then ``JOIN #bench`` once ``001``
  came; the ``366`` (end of ``NAMES``) is the welcome, its ``353`` lines the users.
  Others' ``JOIN`` lines are join events. A line is ``PRIVMSG #bench :<text>``.
  IRC has no sequence numbers (no seq check) and no acks: a ``PING :acked`` goes
  after a member's last line, and its ``PONG`` counts as the ack of all its lines
  (the server answers commands of one client in order, so it has read them all).
* **RESP** (Redis pub/sub, RESP3 so that one connection can both subscribe and
  publish): ``HELLO 3`` and ``SUBSCRIBE bench``; the subscribe confirmation is the
  welcome. Redis announces no joins, so a member is settled once it is subscribed
  (every member is welcomed before ``settle``). A line is ``PUBLISH bench <text>``,
  its integer reply the ack. No seq either. Redis also sends each line back to
  its sender (a subscriber like any other): those echoes are counted, not checked,
  and are not deliveries, so Redis makes 20 sends per line where the others make 19.

Both parse with compiled regexes over the raw bytes, as ``clients.Member`` does.
"""

from __future__ import annotations

import re
import time

from clients import Member

CHANNEL = b"bench"
IRC_CHANNEL = b"#" + CHANNEL
IRC_LINE_MAX = 1 << 16   # a line longer than this is a framing error
IRC_PREFIX_RE = re.compile(rb":([^! ]+)\S* ([A-Z0-9]+) ?")
TEXT_AT_RE = re.compile(rb"b([0-9]+):([0-9]+):([0-9]+):")
ACK_TOKEN = b"acked"


class IrcMember(Member):
    """A ``Member`` speaking IRC to ngIRCd (see the module docstring)."""

    def hello(self) -> bytes:
        name = self.name.encode()
        return b"NICK %s\r\nUSER %s 0 * :%s\r\n" % (name, name, name)

    def say(self, n: int) -> bytes:
        text = b"b%d:%d:%d:" % (self.index, n, time.monotonic_ns())
        line = b"PRIVMSG %s :%s\r\n" % (IRC_CHANNEL, text.ljust(self.text_len, b"x"))
        if n == self.send_count - 1:
            line += b"PING :" + ACK_TOKEN + b"\r\n"
        return line

    def on_data(self, data: bytes, now_ns: int) -> None:
        if self.counts["framing_errors"]:
            return
        self.counts["bytes"] += len(data)
        buf = self.buf
        buf += data
        pos = 0
        while True:
            end = buf.find(b"\r\n", pos)
            if end < 0:
                break
            self.counts["frames"] += 1
            self.on_line(buf, pos, end, now_ns)
            pos = end + 2
        if pos:
            del buf[:pos]
        if len(buf) > IRC_LINE_MAX:
            self.problem("framing_errors", f"no CRLF in {len(buf)} bytes")

    def on_line(self, buf: bytearray, start: int, stop: int, now_ns: int) -> None:
        m = IRC_PREFIX_RE.match(buf, start, stop)
        if m is None:
            if buf.startswith(b"PING", start):  # the server's keep-alive
                self.out += b"PONG" + bytes(buf[start + 4:stop]) + b"\r\n"
                self.on_writable()
            return
        command, rest = m.group(2), m.end()
        if command == b"PRIVMSG":
            colon = buf.find(b" :", rest, stop)
            t = TEXT_AT_RE.match(buf, colon + 2, stop) if colon >= 0 else None
            if t is None:
                self.counts["other_messages"] += 1
                return
            self.on_text(int(t.group(1)), int(t.group(2)), int(t.group(3)), now_ns)
        elif command == b"JOIN":
            if m.group(1) != self.name.encode():
                self.counts["joins"] += 1
        elif command in (b"PART", b"QUIT"):
            self.counts["leaves"] += 1
            self.left.append(m.group(1).decode(errors="replace"))
        elif command == b"PONG":
            if buf.find(ACK_TOKEN, rest, stop) >= 0 and self.counts["acks"] < self.send_count:
                self.remaining -= self.send_count - self.counts["acks"]
                self.counts["acks"] = self.send_count
                self.last_ns = now_ns
        elif command == b"001":
            self.out += b"JOIN " + IRC_CHANNEL + b"\r\n"
            self.on_writable()
        elif command == b"353":
            colon = buf.find(b" :", rest, stop)
            self.users += len(bytes(buf[colon + 2:stop]).split()) if colon >= 0 else 0
        elif command == b"366":
            self.welcomed = True
            self.welcomed_ns = now_ns
        elif command.isdigit() and command[:1] in (b"4", b"5"):
            self.problem("errors", bytes(buf[start:stop]).decode(errors="replace")[:120])

    def on_text(self, sender: int, n: int, sent_ns: int, now_ns: int) -> None:
        if sender >= self.senders or n >= self.per_sender or sender == self.index:
            self.problem("other_messages", f"b{sender}:{n}")
            return
        self.deliver(sender, n, sent_ns, now_ns)

    def on_writable(self) -> None:
        if self.sock is not None:  # (checker tests feed lines without one)
            super().on_writable()


# RESP3: the push of a published message, and the PUBLISH reply (an integer).
RESP_MESSAGE_RE = re.compile(rb">3\r\n\$7\r\nmessage\r\n\$%d\r\n%s\r\n\$([0-9]+)\r\n"
                             % (len(CHANNEL), CHANNEL))
RESP_INT_RE = re.compile(rb":(-?[0-9]+)\r\n")
RESP_SUBSCRIBED_RE = re.compile(rb">3\r\n\$9\r\nsubscribe\r\n\$%d\r\n%s\r\n:[0-9]+\r\n"
                                % (len(CHANNEL), CHANNEL))


def resp_command(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


class RespMember(Member):
    """A ``Member`` speaking RESP3 pub/sub to Redis (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hello_done = False
        self.echoes = 0

    def hello(self) -> bytes:
        return resp_command(b"HELLO", b"3") + resp_command(b"SUBSCRIBE", CHANNEL)

    def settled(self, total: int) -> bool:
        return self.welcomed  # Redis announces no joins

    def say(self, n: int) -> bytes:
        text = (b"b%d:%d:%d:" % (self.index, n, time.monotonic_ns())).ljust(self.text_len, b"x")
        return resp_command(b"PUBLISH", CHANNEL, text)

    def on_data(self, data: bytes, now_ns: int) -> None:
        if self.counts["framing_errors"]:
            return
        self.counts["bytes"] += len(data)
        buf = self.buf
        buf += data
        pos = 0
        if not self.hello_done:
            end = self._skip(buf, 0)
            if end is None:
                return
            self.hello_done = True
            pos = end
        while pos < len(buf):
            m = RESP_MESSAGE_RE.match(buf, pos)
            if m is not None:
                stop = m.end() + int(m.group(1))
                if stop + 2 > len(buf):
                    break
                self.counts["frames"] += 1
                self.on_published(buf, m.end(), stop, now_ns)
                pos = stop + 2
                continue
            m = RESP_INT_RE.match(buf, pos)
            if m is not None:
                self.counts["frames"] += 1
                self.counts["acks"] += 1
                if self.counts["acks"] <= self.send_count:
                    self.remaining -= 1
                    self.last_ns = now_ns
                pos = m.end()
                continue
            m = RESP_SUBSCRIBED_RE.match(buf, pos)
            if m is not None:
                self.welcomed = True
                self.welcomed_ns = now_ns
                self.users = 1
                pos = m.end()
                continue
            end = self._skip(buf, pos)
            if end is None:
                break
            self.counts["frames"] += 1
            if buf[pos] in b"-!":
                self.problem("errors", bytes(buf[pos:end]).decode(errors="replace")[:120])
            else:
                self.problem("framing_errors", repr(bytes(buf[pos:pos + 60])))
            pos = end
        if pos:
            del buf[:pos]

    def _skip(self, buf: bytearray, pos: int):
        """``_skip_value``; a malformed header is a framing error (None, and no more)."""
        try:
            return _skip_value(buf, pos)
        except ValueError:
            self.problem("framing_errors", repr(bytes(buf[pos:pos + 60])))
            return None

    def on_published(self, buf: bytearray, start: int, stop: int, now_ns: int) -> None:
        t = TEXT_AT_RE.match(buf, start, stop)
        if t is None:
            self.counts["other_messages"] += 1
            return
        sender, n = int(t.group(1)), int(t.group(2))
        if sender == self.index:
            self.echoes += 1  # Redis sends a subscriber's own lines back
            return
        if sender >= self.senders or n >= self.per_sender:
            self.problem("other_messages", f"b{sender}:{n}")
            return
        self.deliver(sender, n, int(t.group(3)), now_ns)


def _skip_value(buf: bytearray, pos: int):
    """The end of the RESP2/RESP3 value at ``pos``, or None if it is not complete yet."""
    line_end = buf.find(b"\r\n", pos)
    if line_end < 0:
        return None
    kind, head = buf[pos:pos + 1], bytes(buf[pos + 1:line_end])
    after = line_end + 2
    if kind in (b"$", b"!", b"="):  # bulk string, bulk error, verbatim string
        size = int(head)
        if size < 0:
            return after
        return after + size + 2 if after + size + 2 <= len(buf) else None
    if kind in (b"*", b">", b"~", b"%", b"|"):
        count = int(head) * (2 if kind in (b"%", b"|") else 1)
        for _ in range(max(count, 0)):
            after = _skip_value(buf, after)
            if after is None:
                return None
        return after
    return after  # + - : _ , # ( : one line
