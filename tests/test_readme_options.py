"""README.md's option tables name every flag the command lines take (a new flag
documented nowhere but ``--help`` is easy to miss: --max-rooms was)."""

import os
import re

import pytest

from conftest import ROOT
from lanchat.client.options import build_parser as client_parser
from lanchat.server.config import build_parser as server_parser


def readme_section(title: str) -> str:
    """The README's text from heading ``title`` to the next heading."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    start = text.index(f"\n{title}\n")
    following = re.search(r"\n#{2,3} ", text[start + len(title) + 2:])
    return text[start:start + len(title) + 2 + following.start()] if following else text[start:]


@pytest.mark.parametrize("title, parser", [("## Server options", server_parser),
                                           ("### Client options", client_parser)])
def test_every_flag_is_in_the_readme_table(title, parser):
    flags = {option for action in parser()._actions for option in action.option_strings
             if option.startswith("--") and option != "--help"}
    documented = set(re.findall(r"`(--[a-z][a-z-]*)", readme_section(title)))
    assert flags - documented == set(), f"not in README's {title!r} table"
