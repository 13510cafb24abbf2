"""Automatic replies and opt-out keywords: text rules, without the ORM."""

import re
import unicodedata

PLACEHOLDER = re.compile(r"\{(\w+)\}")
DEFAULT_OPTOUT_KEYWORDS = "STOP, UNSUBSCRIBE, BAJA, 退订, 取消订阅"
DEFAULT_OPTIN_KEYWORDS = "START"


def render_placeholders(text, values):
    """``text`` with ``{name}`` replaced by ``values[name]``.

    Unknown placeholders are kept as written, so a typo shows rather than
    vanishing; a known one with no value becomes empty.
    """

    def replace(match):
        key = match.group(1)
        if key not in values:
            return match.group(0)
        return str(values[key] or "")

    return PLACEHOLDER.sub(replace, text or "")


def normalize_keyword(text):
    """The form keywords are compared in: Unicode-normalised, case-folded,
    inner spaces collapsed, trimmed, trailing punctuation dropped."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    text = " ".join(text.split())
    return text.strip(" .!¡?¿。！？")


def parse_keywords(setting):
    """The keywords of a comma- or newline-separated setting, normalised."""
    parts = re.split(r"[,\n，、]", setting or "")
    return {normalize_keyword(part) for part in parts if normalize_keyword(part)}


def matches_keyword(message, setting):
    """Whether the whole message is one of the keywords of ``setting``."""
    return bool(message) and normalize_keyword(message) in parse_keywords(setting)
