"""Name colours: a palette readable on the background, spread names, stable renames."""

from __future__ import annotations

import itertools

from ui import theme
from ui.chatlog import ChatLog


def _luminance(colour):
    def channel(v):
        v /= 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = map(channel, colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a, b):
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _lab(colour):
    def channel(v):
        v /= 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = map(channel, colour)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883
    f = lambda t: t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116  # noqa: E731
    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def test_palette_is_large_readable_and_distinct():
    assert 16 <= len(theme.NAME_COLOURS) <= 24
    for colour in theme.NAME_COLOURS:
        assert _contrast(colour, theme.BG) >= 4.5, colour
    for a, b in itertools.combinations(theme.NAME_COLOURS, 2):
        distance = sum((p - q) ** 2 for p, q in zip(_lab(a), _lab(b))) ** 0.5
        assert distance >= 15, (a, b)


def test_alice_and_caroline_differ():
    colours = theme.NameColours()
    assert colours.colour("alice") != colours.colour("caroline")
    assert theme.NameColours().colour("alice") != theme.NameColours().colour("caroline")


def test_neighbouring_names_spread_over_the_palette():
    """user1..user40 by hash alone: no colour takes a big share."""
    hashed = [theme._preferred_index(f"user{i}") for i in range(1, 41)]
    assert len(set(hashed)) >= 14
    assert max(hashed.count(i) for i in set(hashed)) <= 6


def test_names_seen_in_a_session_get_distinct_colours_while_the_palette_lasts():
    colours = theme.NameColours()
    seen = [colours.colour(f"user{i}") for i in range(len(theme.NAME_COLOURS))]
    assert len(set(seen)) == len(theme.NAME_COLOURS)
    assert colours.colour("one-too-many") in theme.NAME_COLOURS


def test_colour_is_stable_and_case_blind():
    colours = theme.NameColours()
    first = colours.colour("Alice")
    colours.colour("bob")
    assert colours.colour("alice") == first == colours.colour("ALICE")


def test_rename_keeps_the_colour():
    colours = theme.NameColours()
    for other in ("bob", "carol", "dave", "erin"):
        colours.colour(other)
    before = colours.colour("alice")
    colours.renamed("alice", "alicia")
    assert colours.colour("alicia") == before
    assert colours.colour("alice") == before  # lines already shown keep theirs
    colours.renamed("alicia", "al")
    assert colours.colour("al") == before


def test_rename_of_an_unseen_name_still_gives_both_one_colour():
    colours = theme.NameColours()
    colours.renamed("ghost", "spirit")
    assert colours.colour("ghost") == colours.colour("spirit")


def test_a_rename_in_the_chat_log_keeps_the_colour():
    log = ChatLog(me="me")
    colour = log.colours.colour("zed")
    log.apply({"type": "nick", "seq": 5, "ts": 1.0, "old": "zed", "new": "zedd"})
    assert log.colours.colour("zedd") == colour
