"""The shortest path through the product: two structured clients and a plain one chat."""

from conftest import wait_for


def test_two_clients_and_a_tutorial_client_chat(chat_server, make_client):
    alice = make_client(chat_server.address)
    bob = make_client(chat_server.address)
    assert alice.hello("alice")["name"] == "alice"
    welcome = bob.hello("bob")
    assert sorted(welcome["users"]) == ["alice", "bob"]
    alice.expect("join", name="bob")

    alice.send(type="say", text="hi bob", id="a1")
    ack = alice.expect("ack", id="a1")
    message = bob.expect("message", text="hi bob")
    assert message["from"] == "alice" and message["seq"] == ack["seq"]

    tutorial = make_client(chat_server.address)
    tutorial.send_text("hello from the tutorial")
    assert tutorial.recv_line() == "Msg received"
    seen = bob.expect("message", text="hello from the tutorial")
    assert seen["from"].startswith("guest-")
    alice.send(type="say", text="welcome!")
    assert tutorial.recv_line() == "alice: welcome!"
    wait_for(lambda: len(chat_server.room.members) == 3, what="three members")
