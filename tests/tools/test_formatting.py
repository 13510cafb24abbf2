"""Tests for whatsapp_team.tools.formatting."""

import pytest

from whatsapp_team.tools.formatting import whatsapp_to_html


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("*bold*", "<b>bold</b>"),
        ("_italic_", "<i>italic</i>"),
        ("~strike~", "<s>strike</s>"),
        ("```mono```", "<code>mono</code>"),
        ("`code`", "<code>code</code>"),
        ("plain text", "plain text"),
        ("", ""),
        ("a *b* c", "a <b>b</b> c"),
        ("*two words*", "<b>two words</b>"),
        ("~_*all three*_~", "<s><i><b>all three</b></i></s>"),
        ("*bold* and _italic_", "<b>bold</b> and <i>italic</i>"),
    ],
)
def test_markers(text, html):
    assert whatsapp_to_html(text) == html


def test_nested_bold_italic():
    assert whatsapp_to_html("*_both_*") == "<b><i>both</i></b>"
    assert whatsapp_to_html("_*both*_") == "<i><b>both</b></i>"


def test_html_is_escaped():
    html = whatsapp_to_html('<script>alert("x")</script>')
    assert "<script>" not in html
    assert html == "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"


def test_html_inside_formatting_is_escaped():
    assert whatsapp_to_html("*<b>x</b>*") == "<b>&lt;b&gt;x&lt;/b&gt;</b>"
    assert whatsapp_to_html("`<img src=x onerror=alert(1)>`") == (
        "<code>&lt;img src=x onerror=alert(1)&gt;</code>"
    )
    assert whatsapp_to_html("```<i>&amp;</i>```") == (
        "<code>&lt;i&gt;&amp;amp;&lt;/i&gt;</code>"
    )


def test_ampersand_and_quotes():
    assert whatsapp_to_html("Tom & Jerry's *show*") == (
        "Tom &amp; Jerry&#x27;s <b>show</b>"
    )


@pytest.mark.parametrize(
    "text",
    [
        "2*3*4",
        "snake_case_name",
        "a~b~c",
        "x*bold*",
        "*bold*x",
        "**",
        "__",
        "~~",
        "``",
        "``````",
        "* not bold *",
        "*not bold *",
        "* not bold*",
        "*unclosed",
        "file_name.txt and other_file",
        "price: 5*2 = 10*1",
    ],
)
def test_markers_outside_word_boundaries_stay(text):
    assert whatsapp_to_html(text) == text


def test_punctuation_counts_as_boundary():
    assert whatsapp_to_html("*bold*,") == "<b>bold</b>,"
    assert whatsapp_to_html("(*bold*)") == "(<b>bold</b>)"
    assert whatsapp_to_html("really?*yes*!") == "really?<b>yes</b>!"
    assert whatsapp_to_html('"_quoted_"') == "&quot;<i>quoted</i>&quot;"


def test_newlines_become_br():
    assert whatsapp_to_html("one\ntwo") == "one<br/>two"
    assert whatsapp_to_html("one\r\ntwo\rthree") == "one<br/>two<br/>three"
    assert whatsapp_to_html("*a*\n_b_") == "<b>a</b><br/><i>b</i>"


def test_markers_do_not_span_lines():
    assert whatsapp_to_html("*start\nend*") == "*start<br/>end*"
    assert whatsapp_to_html("_a\nb_ _c_") == "_a<br/>b_ <i>c</i>"


def test_monospace_content_is_not_formatted():
    assert whatsapp_to_html("```*not bold* _x_```") == "<code>*not bold* _x_</code>"
    assert whatsapp_to_html("`*not bold*`") == "<code>*not bold*</code>"


def test_monospace_block_spans_lines():
    assert whatsapp_to_html("```line 1\nline 2```") == "<code>line 1<br/>line 2</code>"


def test_monospace_between_formatted_text():
    assert whatsapp_to_html("*a* ```b``` _c_") == ("<b>a</b> <code>b</code> <i>c</i>")


def test_inline_code_next_to_words():
    assert whatsapp_to_html("run `ls` now") == "run <code>ls</code> now"
    assert whatsapp_to_html("don`t do`it") == "don`t do`it"


def test_unicode_letters_are_word_characters():
    assert whatsapp_to_html("é*x*") == "é*x*"
    assert whatsapp_to_html("*ñandú*") == "<b>ñandú</b>"


def test_none_is_empty():
    assert whatsapp_to_html(None) == ""  # type: ignore[arg-type]
