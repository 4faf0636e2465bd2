"""Right-to-left text in display order: bidi reordering and Arabic letter forms.

SDL_ttf, as pygame 2.6 ships it, draws the characters of a string left to right in
memory order and does not join Arabic letters, so Hebrew and Arabic come out
backwards and Arabic in isolated forms. ``visual_order`` fixes one *line* for
drawing only (the text kept, sent and measured for wrapping stays in logical order):

1. Arabic letters become their contextual presentation forms (``arabic_reshaper``),
   while the string is still in logical order, as joining depends on it;
2. the Unicode bidi algorithm (python-bidi's ``get_display``) reorders the line, with
   its base direction taken from its first strong character: "שלום 123" is drawn as
   "123 םולש", numbers and Latin words inside keep their own direction.

Lines without any right-to-left character are returned as they are, after one regex
search, so Latin chat costs nothing. Without the two packages (an old install) the
text is returned unchanged and a warning is logged once.
"""

from __future__ import annotations

import logging
import re

try:  # python-bidi 0.5+ (0.6 is the Rust rewrite); 0.4 kept it in bidi.algorithm
    from bidi import get_display
except ImportError:  # pragma: no cover - depends on the installed version
    try:
        from bidi.algorithm import get_display
    except ImportError:
        get_display = None
try:
    import arabic_reshaper
except ImportError:  # pragma: no cover - depends on the install
    arabic_reshaper = None

log = logging.getLogger("chat.ui.textorder")

# Strong right-to-left scripts (Hebrew, Arabic, Syriac, Thaana, NKo, Samaritan, ...,
# their presentation forms, and the RTL blocks of the supplementary planes) and the
# explicit bidi controls (marks, embeddings, overrides, isolates).
_NEEDS_BIDI = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff"
                         "\U00010800-\U00010fff\U0001e800-\U0001efff"
                         "\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff]")
_warned = False


def needs_reordering(text: str) -> bool:
    """Whether ``text`` has a right-to-left character or a bidi control."""
    return _NEEDS_BIDI.search(text) is not None


def visual_order(text: str) -> str:
    """One line of logical-order text in the order to draw it, left to right.

    Args:
        text: a single line (no newlines), already cleaned of control characters.
    Returns:
        the same characters reordered (Arabic in joined forms); ``text`` itself when
        it has nothing right-to-left or the bidi packages are missing. Never raises.
    """
    if not needs_reordering(text):
        return text
    if get_display is None:
        _warn_missing()
        return text
    try:
        if arabic_reshaper is not None and _ARABIC.search(text):
            text = arabic_reshaper.reshape(text)
        return get_display(text)
    except Exception as exc:  # odd input must never stop drawing
        log.debug("no bidi reordering for %r: %s", text[:40], exc)
        return text


def _warn_missing() -> None:
    global _warned
    if not _warned:
        _warned = True
        log.warning("python-bidi is not installed: right-to-left text is drawn backwards "
                    "(pip install -r requirements.txt)")
