"""The discovery formats (``lanchat.discovery.wire``): the probe, its JSON reply and
the TXT record, both ways; the parsers raise ``BadAnnouncement`` and nothing else."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lanchat import tls
from lanchat.discovery.browse import merge, probe_targets
from lanchat.discovery.found import MDNS, PROBE, Found
from lanchat.discovery.wire import (MAX_NAME_BYTES, SERVICE_TYPE, found_from_txt,
                                    instance_of, is_probe, parse_reply, probe_reply,
                                    txt_properties)
from lanchat.errors import BadAnnouncement
from lanchat.tls.pins import fingerprint_hex, pin_form

FP = "ab" * 32
names = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
                min_size=1, max_size=20).filter(lambda n: n.strip()
                                                and len(n.encode()) <= MAX_NAME_BYTES
                                                and not any("\x80" <= c <= "\x9f" for c in n))
announcements = st.builds(
    Found, name=names, host=st.just(""), port=st.integers(1, 65535),
    users=st.integers(0, 10 ** 6), tls=st.booleans(), pw=st.booleans(),
    fp=st.none() | st.text("0123456789abcdef", min_size=64, max_size=64),
    v=st.integers(2, 99))


def reply(**changes) -> bytes:
    fields = {"name": "Room 4", "port": 5050, "users": 3, "tls": True, "pw": False,
              "fp": FP, "v": 2, **changes}
    return json.dumps({k: v for k, v in fields.items() if v is not ...}).encode()


# ------------------------------------------------------------------ the probe

@pytest.mark.parametrize("datagram", [b"LANCHAT? 2", b"LANCHAT? 2\n", b"LANCHAT? 2\r\n"])
def test_the_probe_and_its_tolerated_newline(datagram):
    assert is_probe(datagram)


@pytest.mark.parametrize("datagram", [
    b"", b"LANCHAT?", b"LANCHAT? 1", b"LANCHAT? 3", b"lanchat? 2", b" LANCHAT? 2",
    b"LANCHAT? 2 ", b"LANCHAT? 2\n\n", b"LANCHAT? 2\x00", b"LANCHAT?  2", b"LANCHAT? 22"])
def test_anything_else_is_not_a_probe(datagram):
    assert not is_probe(datagram)


# ------------------------------------------------------------------ the reply

@given(announcements)
def test_a_reply_reads_back_as_what_was_said(found):
    parsed = parse_reply(probe_reply(found), "10.0.0.7")
    assert parsed == Found(**{**found.__dict__, "host": "10.0.0.7", "via": frozenset({PROBE})})


@given(announcements)
def test_a_reply_is_small_whatever_the_name(found):
    assert len(probe_reply(found)) < 300


def test_a_reply_has_exactly_the_section_10_keys():
    body = json.loads(probe_reply(Found("Room 4", "", 5050, users=2, tls=True, fp=FP)))
    assert body == {"name": "Room 4", "port": 5050, "users": 2, "tls": True, "pw": False,
                    "fp": FP, "v": 2}


def test_every_cut_of_a_reply_and_trailing_bytes_are_refused():
    whole = reply()
    assert parse_reply(whole, "h").name == "Room 4"
    for size in range(len(whole)):
        with pytest.raises(BadAnnouncement):
            parse_reply(whole[:size], "h")
    for trailing in (b"x", b"{}", b"\x00"):
        with pytest.raises(BadAnnouncement):
            parse_reply(whole + trailing, "h")


@pytest.mark.parametrize("bad", [
    {"name": ...}, {"name": ""}, {"name": "   "}, {"name": 7}, {"name": "a" * 64},
    {"name": "é" * 32}, {"name": "bell\x07"}, {"name": "two\nlines"}, {"name": "\ud800"},
    {"port": ...}, {"port": 0}, {"port": 65536}, {"port": True}, {"port": "5050"},
    {"port": 5050.0}, {"users": -1}, {"users": 10 ** 7}, {"users": None},
    {"tls": 1}, {"tls": "true"}, {"pw": ...}, {"fp": "ab" * 31}, {"fp": "zz" * 32},
    {"fp": 12}, {"fp": "AB:" * 32}, {"v": 1}, {"v": "2"}, {"v": ...}])
def test_a_reply_with_a_bad_field_is_refused(bad):
    with pytest.raises(BadAnnouncement):
        parse_reply(reply(**bad), "h")


@pytest.mark.parametrize("datagram", [b"[]", b"null", b"\"x\"", b"\xff\xfe", b"{" * 400,
                                      b"[" * 100000, reply(name="a" * 500)])
def test_what_is_not_a_reply_object_is_refused(datagram):
    with pytest.raises(BadAnnouncement):
        parse_reply(datagram, "h")


def test_unknown_keys_are_ignored_and_fp_is_lowercased():
    parsed = parse_reply(reply(fp=FP.upper(), later="x"), "h")
    assert parsed.fp == FP


@settings(max_examples=300)
@given(st.binary(max_size=600) | st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=70),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["name", "port", "users", "tls", "pw", "fp", "v", "x"]), inner,
        max_size=8)).map(lambda value: json.dumps(value).encode()))
def test_random_bytes_raise_nothing_but_bad_announcement(datagram):
    try:
        found = parse_reply(datagram, "h")
    except BadAnnouncement:
        return
    assert isinstance(found, Found) and found.via == {PROBE}


# ------------------------------------------------------------------ the TXT record

@given(announcements)
def test_a_txt_record_reads_back_as_what_was_said(found):
    parsed = found_from_txt(txt_properties(found), found.name, "10.0.0.8", found.port)
    assert parsed == Found(**{**found.__dict__, "host": "10.0.0.8", "via": frozenset({MDNS})})


def test_txt_has_the_contract_keys():
    assert txt_properties(Found("x", "", 1, users=4, tls=True, pw=True, fp=FP)) == {
        b"v": b"2", b"users": b"4", b"tls": b"1", b"pw": b"1", b"fp": FP.encode()}
    assert b"fp" not in txt_properties(Found("x", "", 1))


GOOD_TXT = {b"v": b"2", b"users": b"0", b"tls": b"0", b"pw": b"0"}


@pytest.mark.parametrize("key, value", [
    (b"v", None), (b"v", b"1"), (b"users", b"+1"), (b"users", b" 1"), (b"users", b"1_0"),
    (b"users", b"-1"), (b"users", b""), (b"users", b"\xff"), (b"tls", b"yes"), (b"pw", b"2"),
    (b"fp", b"12"), (b"users", b"99999999")])
def test_a_txt_record_with_a_bad_key_is_refused(key, value):
    properties = {**GOOD_TXT, key: value}
    with pytest.raises(BadAnnouncement):
        found_from_txt(properties, "x", "h", 5050)


@given(st.dictionaries(st.sampled_from([b"v", b"users", b"tls", b"pw", b"fp", b"x"]),
                       st.none() | st.binary(max_size=70)), names | st.text(max_size=70),
       st.integers(-5, 70000))
def test_random_txt_records_raise_nothing_but_bad_announcement(properties, name, port):
    try:
        found_from_txt({**GOOD_TXT, **properties}, name, "h", port)
    except BadAnnouncement:
        pass


def test_the_instance_name_is_the_service_name_without_the_type():
    assert instance_of(f"Room 4.{SERVICE_TYPE}") == "Room 4"
    assert instance_of(f"a.b.{SERVICE_TYPE}") == "a.b"
    with pytest.raises(BadAnnouncement):
        instance_of("Room 4._http._tcp.local.")


def test_fp_and_the_pin_files_fingerprint_are_one_digest_two_spellings():
    der = b"not really a certificate, but bytes all the same"
    fingerprint = tls.fingerprint(der)
    assert fingerprint_hex(fingerprint) == hashlib.sha256(der).hexdigest()
    assert pin_form(fingerprint_hex(fingerprint)) == fingerprint


# ------------------------------------------------------------------ merging and targets

def test_one_server_seen_both_ways_is_one_entry_with_the_newest_fields():
    by_mdns = Found("Room 4", "10.0.0.1", 5050, users=1, via=frozenset({MDNS}))
    by_probe = Found("Room 4", "10.0.0.1", 5050, users=2, via=frozenset({PROBE}))
    assert merge([(by_mdns, 1.0), (by_probe, 2.0)]) == [
        Found("Room 4", "10.0.0.1", 5050, users=2, via=frozenset({MDNS, PROBE}))]
    assert merge([(by_mdns, 3.0), (by_probe, 2.0)])[0].users == 1


def test_two_servers_on_one_host_stay_two_sorted_by_name_then_host():
    listed = merge([(Found("b", "10.0.0.10", 5050), 0), (Found("b", "10.0.0.9", 5050), 0),
                    (Found("A", "10.0.0.1", 5051), 0), (Found("a", "10.0.0.1", 5050), 0)])
    assert [(f.name, f.host, f.port) for f in listed] == [
        ("A", "10.0.0.1", 5051), ("a", "10.0.0.1", 5050), ("b", "10.0.0.9", 5050),
        ("b", "10.0.0.10", 5050)]


def test_probes_go_to_the_broadcasts_and_the_hosts_given():
    targets = probe_targets(5050, ["127.0.0.1", "127.0.0.2:6000"])
    assert targets[0] == ("255.255.255.255", 5050)
    assert targets[-2:] == [("127.0.0.1", 5050), ("127.0.0.2", 6000)]
