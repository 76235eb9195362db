"""Each destination's function (terminal, Markdown, HTML, XML, workflow command) neutralises invisible
format characters and control characters and caps length, saying how much it cut; golden file of what
each renders from hostile text.

Set HT_UPDATE_GOLDEN=1 to rewrite the golden file after an intended change, then review the diff.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from hypertest.github.escape import attribute, code_block, command_data, command_property, html_text, inline
from hypertest.reporters.console import printable
from tests.hostile_text import HOSTILE_TEXT, HUGE_LINE, INVISIBLE_TITLE, stray_characters
from tests.test_rendering import check_golden


def _xml(text: str) -> str:
    from hypertest.core.safe_text import xml_text

    return xml_text(text)


# destination -> (function, at most how many characters it writes for any input, as the reader sees them;
# the Markdown and HTML escapes, and the workflow command's %XX, add at most their own factor)
DESTINATIONS: dict[str, tuple[Callable[[str], str], int]] = {
    "terminal": (printable, 1_000),
    "markdown inline": (inline, 1_000 * 6),
    "markdown code block": (code_block, 20_000 + 10),
    "html text": (html_text, 1_000 * 6),
    "html attribute": (attribute, 8_000 * 6),
    "xml": (_xml, 20_000),
    "workflow command data": (command_data, 65_536 * 3),
    "workflow command property": (command_property, 1_000 * 3),
}
SHOWN = ("terminal", "markdown inline", "markdown code block", "html text", "xml", "workflow command data",
         "workflow command property")


@pytest.mark.parametrize("name", DESTINATIONS)
def test_no_invisible_or_control_character_reaches_a_destination(name: str) -> None:
    render, _ = DESTINATIONS[name]
    text = render(HOSTILE_TEXT)
    assert stray_characters(text) == []
    text.encode("utf-8")  # no lone surrogate either


@pytest.mark.parametrize("name", SHOWN)
def test_a_reader_sees_where_an_invisible_character_was(name: str) -> None:
    render, _ = DESTINATIONS[name]
    text = render("safe \u202etxt.exe and a\u200bb")
    assert re.search(r"safe (<|&lt;)U\+202E(>|&gt;)txt\.exe and a(<|&lt;)U\+200B(>|&gt;)b", text), text


def test_an_attribute_drops_invisible_characters() -> None:
    assert attribute("https://x.example/?\u202ea=\u200b1") == "https://x.example/?a=1"


@pytest.mark.parametrize("name", DESTINATIONS)
@pytest.mark.parametrize("payload", [HUGE_LINE, INVISIBLE_TITLE, "x" * 300_000], ids=["bidi", "markers", "plain"])
def test_every_destination_caps_length_and_says_how_much_it_cut(name: str, payload: str) -> None:
    render, most = DESTINATIONS[name]
    text = render(payload)
    assert len(text) <= most
    if name == "html attribute" and payload == INVISIBLE_TITLE:
        assert text == ""  # dropped, not shown: nothing left to cut
    else:  # Markdown escapes the parentheses, a workflow command property the comma
        assert re.search(r"… \\?\((\d{1,3}((,|%2C)\d{3})*) more characters\\?\)", text), text[-200:]


def test_the_cut_counts_exactly_what_is_not_shown() -> None:
    from hypertest.core.safe_text import Rules, safe

    rules = Rules(limit=40)
    assert safe("x" * 40, rules) == "x" * 40  # what fits is not cut
    text = safe("0123456789" * 10, rules)
    match = re.fullmatch(r"(\d+)… \((\d+) more characters\)", text)
    assert match and len(text) <= 40
    assert len(match.group(1)) + int(match.group(2)) == 100
    markers = safe("\u202e" * 10, rules)  # each shown as <U+202E>: the limit holds for what is shown
    assert len(markers) <= 40 and markers.startswith("<U+202E>")
    assert markers.endswith(f"({10 - markers.count('<U+202E>')} more characters)")


def test_the_mention_breaker_is_kept_and_a_hostile_one_is_shown() -> None:
    assert inline("@octocat") == "@\u200boctocat"
    assert html_text("@octocat") == "@\u200boctocat"
    assert inline("@\u200boctocat") == "@\u200b&lt;U+200B&gt;octocat"


def test_mask_values_stay_byte_exact() -> None:
    """A secret masked with ::add-mask:: is escaped as the toolkit escapes data and nothing else: the runner
    must find the very bytes of the secret, invisible characters, control characters and length included."""
    from hypertest.github.escape import mask_value

    secret = "a%b\r\nc\u202ed\u200b\x07" + "s" * 70_000
    assert mask_value(secret) == "a%25b%0D%0Ac\u202ed\u200b\x07" + "s" * 70_000


def test_lone_surrogates_become_replacement_characters() -> None:
    for name, (render, _) in DESTINATIONS.items():
        assert "\ufffd" in render("a\ud800b"), name


def test_destinations_golden() -> None:
    parts = [f"== {name}\n{render(HOSTILE_TEXT)}\n" for name, (render, _) in DESTINATIONS.items()]
    check_golden("hostile/destinations.txt", "\n".join(parts))


def test_an_error_cut_to_lines_counts_the_characters_left_out() -> None:
    from hypertest.core.safe_text import cut

    assert cut("a\r\nb\n", 100, max_lines=2) == "a\nb\n"  # all there: nothing said to be cut
    assert cut("a\r\nb\r\nccc", 100, max_lines=2) == "a\nb\n… (5 more characters)"
    assert cut("x" * 200, 100) == "x" * 76 + "… (124 more characters)"
    assert len(cut("x" * 200, 100)) <= 100


def test_a_secret_with_an_invisible_character_is_masked_as_it_is() -> None:
    """::add-mask:: gets the secret's very characters (a marker in their place would mask another value)."""
    import io

    from hypertest.github.workflow import mask

    out = io.StringIO()
    mask(out, "tok\u202een\u200b-value%")
    assert out.getvalue() == "::add-mask::tok\u202een\u200b-value%25\n"
