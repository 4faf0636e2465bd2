"""Commands (PROTOCOL.md section 5), in ``say`` text and in plain-client lines."""

import re

import pytest

from serverhelpers import error_of, join, marker, next_frame, plain_client, say


def command(client, text, msg_id):
    client.send(type="say", text=text, id=msg_id)


# ------------------------------------------------------------------------ /nick

def test_nick_renames_and_everyone_gets_nick_including_the_renamer(chat_server, make_client):
    alice, bob, carol = join(chat_server, make_client, "alice", "bob", "carol")
    command(alice, "/nick ally", "n1")
    event = next_frame(alice, type="nick", old="alice", new="ally")
    ack = next_frame(alice, type="ack", id="n1")
    assert ack["seq"] == event["seq"]
    for other in (bob, carol):
        assert next_frame(other, type="nick") == event
    assert sorted(chat_server.room.members) == ["ally", "bob", "carol"]
    # The new name is used from now on, and the old one is free.
    say(alice, "it is me", "n2")
    assert next_frame(bob, type="message", text="it is me")["from"] == "ally"
    assert make_client(chat_server.address).hello("alice")["name"] == "alice"


def test_nick_to_a_taken_name_is_name_taken_ignoring_case(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    for taken in ("bob", "BOB", "Bob"):
        command(alice, f"/nick {taken}", "t")
        error = error_of(alice)
        assert (error["code"], error["id"]) == ("name_taken", "t")
    marker(alice, [bob])   # no nick event went out
    assert sorted(chat_server.room.members) == ["alice", "bob"]


def test_nick_may_change_the_case_of_ones_own_name(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    command(alice, "/nick Alice", "c")
    assert next_frame(bob, type="nick") ["new"] == "Alice"
    next_frame(alice, type="nick", old="alice", new="Alice")
    next_frame(alice, type="ack", id="c")


@pytest.mark.parametrize("text", ["/nick", "/nick   ", "/nick two words", "/nick #chan",
                                  "/nick @me", "/nick *x", "/nick /x", "/nick " + "n" * 25])
def test_nick_to_an_invalid_name_is_bad_name(chat_server, make_client, text):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    command(alice, text, "b")
    error = error_of(alice)
    assert (error["code"], error["id"]) == ("bad_name", "b")
    marker(alice, [bob])
    assert "alice" in chat_server.room.members


@pytest.mark.parametrize("name", ["evil\x1b[31m", "bell\x07", "zero\u200bwidth", "rtl\u202eon"])
def test_nick_with_control_characters_is_refused_not_cleaned(chat_server, make_client, name):
    # Like hello: the user learns the name is invalid instead of getting another one.
    alice, bob = join(chat_server, make_client, "alice", "bob")
    command(alice, f"/nick {name}", "cc")
    error = error_of(alice)
    assert (error["code"], error["id"]) == ("bad_name", "cc")
    marker(alice, [bob])
    assert sorted(chat_server.room.members) == ["alice", "bob"]


def test_commands_ignore_case(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    command(alice, "/NICK ally", "n")
    next_frame(bob, type="nick", new="ally")
    command(alice, "/Me shouts", "m")
    assert next_frame(bob, type="message", kind="action")["text"] == "shouts"


# ------------------------------------------------------------------------ /me

def test_me_is_an_action(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    ack = say(alice, "/me waves hello", "m1")
    message = next_frame(bob, type="message")
    assert (message["from"], message["kind"], message["text"], message["seq"]) == \
        ("alice", "action", "waves hello", ack["seq"])
    command(alice, "/me", "m2")
    assert error_of(alice)["code"] == "empty_text"
    marker(alice, [bob])


# ------------------------------------------------------------------------ /msg

@pytest.mark.parametrize("verb", ["msg", "w", "MSG"])
def test_private_message_reaches_only_its_target(chat_server, make_client, verb):
    alice, bob, carol = join(chat_server, make_client, "alice", "bob", "carol")
    ack = say(alice, f"/{verb} bob the secret is 42", "p1")
    message = next_frame(bob, type="message")
    assert message == {"type": "message", "seq": ack["seq"], "ts": message["ts"],
                       "from": "alice", "text": "the secret is 42", "kind": "private",
                       "to": "bob"}
    marker(alice, [bob, carol], "public")   # carol's next frame is this, not the secret


def test_private_message_name_ignores_case(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    say(alice, "/msg BOB hi", "p")
    assert next_frame(bob, type="message", kind="private")["to"] == "bob"


def test_private_message_to_nobody_is_no_such_user(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    for text in ("/msg zed hello", "/w zed hello", "/msg", "/msg  "):
        command(alice, text, "x")
        error = error_of(alice)
        assert (error["code"], error["id"]) == ("no_such_user", "x"), text
    command(alice, "/msg bob", "empty")
    assert error_of(alice)["code"] == "empty_text"
    marker(alice, [bob])


def test_private_message_to_someone_who_left(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    bob.send(type="bye")
    next_frame(alice, type="leave", name="bob")
    command(alice, "/msg bob are you there", "gone")
    assert error_of(alice)["code"] == "no_such_user"


def test_private_messages_keep_the_one_order(chat_server, make_client):
    alice, bob, carol = join(chat_server, make_client, "alice", "bob", "carol")
    first = say(alice, "/msg bob one", "1")
    second = say(alice, "public two", "2")
    assert first["seq"] < second["seq"]
    assert next_frame(bob, type="message")["text"] == "one"
    assert next_frame(bob, type="message")["text"] == "public two"
    # carol's seqs skip the private one: not contiguous, still increasing
    assert next_frame(carol, type="message")["seq"] == second["seq"]


# ------------------------------------------------------------------------ /who /help

@pytest.mark.parametrize("verb", ["who", "users", "names"])
def test_who_answers_the_asker_only(chat_server, make_client, verb):
    alice, bob, carol = join(chat_server, make_client, "alice", "bob", "carol")
    command(alice, f"/{verb}", "w")
    reply = next_frame(alice, type="users")
    assert sorted(reply["users"]) == ["alice", "bob", "carol"]
    assert next_frame(alice, type="ack", id="w")["seq"] is None
    marker(carol, [alice, bob], "after who")


def test_help_lists_the_commands(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    command(alice, "/help", "h")
    text = next_frame(alice, type="system")["text"]
    for name in ("/nick", "/me", "/msg", "/w", "/who", "/users", "/names", "/help", "/quit", "//"):
        assert name in text, name
    next_frame(alice, type="ack", id="h")
    marker(alice, [bob])


# ------------------------------------------------------------------------ /quit

def test_quit_leaves_with_the_reason(chat_server, make_client):
    alice, bob, carol = join(chat_server, make_client, "alice", "bob", "carol")
    command(bob, "/quit see you tomorrow", "q")
    assert bob.wait_closed()
    for other in (alice, carol):
        next_frame(other, type="leave", name="bob", reason="see you tomorrow")
    command(carol, "/quit", "q")
    assert carol.wait_closed()
    next_frame(alice, type="leave", name="carol", reason="quit")


# ------------------------------------------------------------------------ other slashes

@pytest.mark.parametrize("text", ["/dance", "/", "/ nick x", "/nickname bob", "/whois bob"])
def test_unknown_command(chat_server, make_client, text):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    command(alice, text, "u")
    error = error_of(alice)
    assert (error["code"], error["id"]) == ("unknown_command", "u")
    marker(alice, [bob])


@pytest.mark.parametrize("text,sent", [("//x", "/x"), ("//nick bob", "/nick bob"),
                                       ("///", "//"), ("not /a command", "not /a command")])
def test_double_slash_sends_the_literal_text(chat_server, make_client, text, sent):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    ack = say(alice, text, "l")
    message = next_frame(bob, type="message")
    assert (message["text"], message["kind"], message["seq"]) == (sent, "chat", ack["seq"])
    assert "alice" in chat_server.room.members


# ------------------------------------------------------------------------ plain clients

def test_plain_client_commands(chat_server, make_client):
    (alice,) = join(chat_server, make_client, "alice")
    tut = plain_client(chat_server, make_client, "tut")
    alice.expect("nick", new="tut")
    tut.send_text("/who")
    assert re.fullmatch(r"users \(2\): (alice, tut|tut, alice)", tut.recv_line())
    tut.send_text("/help")
    assert "/nick" in tut.recv_line()
    tut.send_text("/nick alice")
    assert tut.recv_line().startswith("error: ")
    tut.send_text("/nick TUT")
    assert tut.recv_line() == "* tut is now known as TUT"
    next_frame(alice, type="nick", old="tut", new="TUT")
    tut.send_text("//slash")
    assert tut.recv_line() == "Msg received"
    assert next_frame(alice, type="message")["text"] == "/slash"
    tut.send_text("/quit bedtime")
    assert tut.recv_line() == "Goodbye"
    assert tut.wait_closed()
    next_frame(alice, type="leave", name="TUT", reason="bedtime")


def test_plain_client_sees_its_own_private_line_phrased_from_its_side(chat_server, make_client):
    (alice,) = join(chat_server, make_client, "alice")
    tut = plain_client(chat_server, make_client, "tut")
    alice.expect("nick", new="tut")
    say(alice, "/msg tut hi tut", "p")
    assert tut.recv_line() == "(private) alice: hi tut"
    tut.send_text("/msg alice hi alice")
    assert tut.recv_line() == "Msg received"
    assert next_frame(alice, type="message", kind="private")["to"] == "alice"
