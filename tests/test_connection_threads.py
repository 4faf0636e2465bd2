"""Connection threads are plain ``_thread`` threads (lanchat/server/listener.py): the
server counts them, each ends with its connection, and none is a threading.Thread
(whose object, Event and Condition cost ~4 KiB per idle connection)."""

import threading

from conftest import wait_for


def test_each_connection_has_a_thread_that_ends_with_it(make_server, make_client):
    server = make_server()
    threads_before = threading.active_count()
    clients = [make_client(server.address) for _ in range(6)]
    for number, client in enumerate(clients):
        client.hello(f"t{number}")
    wait_for(lambda: server.server.connection_threads() == 6, what="six connection threads")
    # No threading.Thread per connection (a writer thread appears only for a full socket).
    assert threading.active_count() == threads_before
    clients[0].send(type="say", text="hello all", id="s1")
    for client in clients[1:]:
        assert client.expect("message")["text"] == "hello all"
    for client in clients[:4]:
        client.close()
    wait_for(lambda: server.server.connection_threads() == 2, what="four threads ended")
    assert server.server.connection_count() == 2


def test_shutdown_ends_every_connection_thread(make_server, make_client):
    server = make_server()
    clients = [make_client(server.address) for _ in range(3)]
    for number, client in enumerate(clients):
        client.hello(f"s{number}")
    wait_for(lambda: server.server.connection_threads() == 3, what="three connection threads")
    server.stop()
    wait_for(lambda: server.server.connection_threads() == 0, what="every thread ended")
