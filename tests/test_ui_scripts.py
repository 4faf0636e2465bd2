"""Text in any script: right-to-left lines drawn in visual order, glyphs from fonts
that have them. Headless (SDL_VIDEODRIVER=dummy)."""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import pygame  # noqa: E402
import pytest  # noqa: E402

from ui.textfonts import FontSet  # noqa: E402
from ui.textorder import visual_order  # noqa: E402

HEBREW = "\u05e9\u05dc\u05d5\u05dd"            # shalom, logical order
ARABIC = "\u0633\u0644\u0627\u0645"            # salam, logical order


@pytest.fixture(scope="module")
def body():
    pygame.display.init()
    pygame.font.init()
    pygame.display.set_mode((200, 200))
    return FontSet(16)


# ---------------------------------------------------------------- bidi

def test_hebrew_is_reversed_for_display():
    assert visual_order(HEBREW) == HEBREW[::-1]


def test_numbers_inside_rtl_text_keep_their_order():
    assert visual_order(f"{HEBREW} 123") == f"123 {HEBREW[::-1]}"
    assert visual_order(f"{HEBREW} 2026-11-30") .startswith("2026-11-30")


def test_ltr_words_inside_an_ltr_line_stay_put():
    assert visual_order(f"hello {HEBREW} 42 world") == f"hello 42 {HEBREW[::-1]} world"


def test_arabic_is_reversed_and_joined():
    # drawn leftmost is the last letter, meem (isolated: alef never joins onwards),
    # then lam + alef as one final ligature, and rightmost the first letter, seen, in
    # its initial form
    assert visual_order(ARABIC) == "\ufee1\ufefc\ufeb3"


def test_latin_text_is_untouched():
    text = "plain text, 123 (ok)"
    assert visual_order(text) is text


def test_logical_text_is_not_changed():
    original = f"{HEBREW} abc"
    copy = str(original)
    visual_order(original)
    assert original == copy


def test_render_draws_rtl_in_visual_order(body):
    """The whole pipeline: FontSet.render(logical) == the font drawing the visual order."""
    drawn = body.render(HEBREW, (255, 255, 255))
    by_hand = body.render(HEBREW[::-1], (255, 255, 255), bidi=False)
    backwards = body.render(HEBREW, (255, 255, 255), bidi=False)
    as_bytes = lambda s: pygame.image.tobytes(s, "RGBA")  # noqa: E731
    assert as_bytes(drawn) == as_bytes(by_hand)
    assert as_bytes(drawn) != as_bytes(backwards)


# ---------------------------------------------------------------- fonts per glyph

SAMPLES = {
    "Korean": "\ud55c\uad6d\uc5b4",
    "Thai": "\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22",
    "Devanagari": "\u0939\u093f\u0928\u094d\u0926\u0940",
    "Arabic": ARABIC,
    "Hebrew": HEBREW,
}


@pytest.mark.parametrize("script", sorted(SAMPLES))
def test_script_picks_a_font_that_has_its_glyphs(body, script):
    text = SAMPLES[script]
    letters = [ch for ch in text if ch.isalpha()]
    if not all(any(body._has_glyph(i, ch) for i in range(len(body.fonts))) for ch in letters):
        pytest.skip(f"no installed font has {script} glyphs (Debian/Ubuntu: apt-get install "
                    "fonts-noto-core fonts-noto-cjk)")
    for ch in letters:
        index = body._index(ch)
        assert body._has_glyph(index, ch), f"{script} {ch!r} drawn with a font lacking it"


def test_a_line_mixing_scripts_is_drawn_in_runs(body):
    text = "hi " + SAMPLES["Korean"] + " " + SAMPLES["Thai"]
    fonts = {id(font) for font, _ in body.runs(text)}
    if len(fonts) < 2:
        pytest.skip("no installed font has Korean or Thai glyphs (apt-get install fonts-noto-cjk "
                    "fonts-noto-core)")
    assert "".join(run for _, run in body.runs(text)) == text


def test_emoji_are_found_and_scaled_to_the_line(body):
    emoji = "\U0001f600"
    if not any(body._has_glyph(i, emoji) for i in range(len(body.fonts))):
        pytest.skip("no installed font has emoji (apt-get install fonts-noto-color-emoji)")
    assert body._has_glyph(body._index(emoji), emoji)
    surface = body.render("ok " + emoji, (255, 255, 255))
    assert surface.get_height() == body.height
    assert body.width(emoji) <= 2 * body.height
