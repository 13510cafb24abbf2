"""Render WhatsApp text formatting as safe HTML.

WhatsApp marks ``*bold*``, ``_italic_``, ``~strikethrough~``, ```` ```monospace``` ````
and `` `inline code` ``. A marker only counts at a word boundary: the opening
one must not follow a letter or digit and must be followed by a non-space, the
closing one must follow a non-space and must not be followed by a letter or
digit. That keeps ``2*3*4`` and ``snake_case_name`` as typed. Apart from
triple-backtick blocks, a span never crosses a line break.

Every piece of the customer's text is HTML-escaped before it is emitted, so
the result can be inserted as markup as is.
"""

from __future__ import annotations

import re
from html import escape

_TAGS = {"*": "b", "_": "i", "~": "s", "`": "code"}
# Only these spans have their content formatted further.
_NESTING = {"*", "_", "~"}
_MONOSPACE = re.compile(r"```(.+?)```", re.DOTALL)


def _text(chunk: str) -> str:
    return escape(chunk, quote=True)


def _is_word_char(char: str) -> bool:
    return char.isalnum()


def _closing(line: str, start: int, marker: str) -> int:
    """Index of the marker closing the span opened at ``start``, or -1."""
    if start + 1 >= len(line) or line[start + 1].isspace():
        return -1
    if start > 0 and _is_word_char(line[start - 1]):
        return -1
    if marker == "`":
        # Inline code cannot hold a backtick, so a run of backticks (an
        # empty or unclosed ``` block) stays as typed.
        end = line.find(marker, start + 1)
        if end == start + 1 or end == -1 or line[end - 1].isspace():
            return -1
        after = line[end + 1] if end + 1 < len(line) else ""
        return -1 if after and (after == "`" or _is_word_char(after)) else end
    end = line.find(marker, start + 2)
    while end != -1:
        after = line[end + 1] if end + 1 < len(line) else ""
        if not line[end - 1].isspace() and not (after and _is_word_char(after)):
            return end
        end = line.find(marker, end + 1)
    return -1


def _inline(line: str) -> str:
    """Format one line (no newline inside)."""
    out: list[str] = []
    plain_from = 0
    index = 0
    while index < len(line):
        marker = line[index]
        end = _closing(line, index, marker) if marker in _TAGS else -1
        if end == -1:
            index += 1
            continue
        out.append(_text(line[plain_from:index]))
        inner = line[index + 1 : end]
        content = _inline(inner) if marker in _NESTING else _text(inner)
        tag = _TAGS[marker]
        out.append(f"<{tag}>{content}</{tag}>")
        index = plain_from = end + 1
    out.append(_text(line[plain_from:]))
    return "".join(out)


def _lines(text: str) -> str:
    return "<br/>".join(_inline(line) for line in text.split("\n"))


def whatsapp_to_html(text: str) -> str:
    """Return ``text`` with WhatsApp formatting rendered as safe HTML.

    ``*x*`` → ``<b>``, ``_x_`` → ``<i>``, ``~x~`` → ``<s>``, ```` ```x``` ````
    and `` `x` `` → ``<code>`` (content shown verbatim), newlines →
    ``<br/>``. Markers that do not sit at word boundaries, empty spans and
    spans that would cross a line stay as typed. All text is HTML-escaped.
    """
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out: list[str] = []
    position = 0
    for block in _MONOSPACE.finditer(text):
        out.append(_lines(text[position : block.start()]))
        code = "<br/>".join(_text(line) for line in block.group(1).split("\n"))
        out.append(f"<code>{code}</code>")
        position = block.end()
    out.append(_lines(text[position:]))
    return "".join(out)
