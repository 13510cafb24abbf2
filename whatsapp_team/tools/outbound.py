"""Outbound messages: what Odoo's composer writes, in the shape Meta takes.

No ORM here: the models pass plain values and get plain values back.
"""

import html
import random
import re
import unicodedata
from html.parser import HTMLParser

# Meta's throughput limits (Cloud API error codes) are no failures: the
# message waits and goes out when the limit lifts. What each one holds back:
# one customer (131056, the business/consumer pair rate), the number (130429,
# its messages per second), or every number of the business account (80007)
# or of the app (4), which Meta may keep throttled for up to an hour.
THROTTLE_SCOPES = {131056: "pair", 130429: "number", 80007: "account", 4: "app"}
# first wait after a limit was hit, in seconds, doubled at each new hit in a
# row up to THROTTLE_MAX_DELAY: a number's throughput is counted per second,
# the pair rate allows about a message every 6 s
THROTTLE_FIRST_DELAY = {"pair": 6, "number": 1, "account": 60, "app": 60}
THROTTLE_MAX_DELAY = 15 * 60
# a message kept back this long by throttling fails, so someone looks at it
THROTTLE_GIVE_UP = 24 * 3600


def throttle_scope(code, http_status=None):
    """What a throttling error holds back: ``"pair"``, ``"number"``,
    ``"account"`` or ``"app"``; ``None`` when it is no throughput limit.
    An HTTP 429 without a known code counts as the number's limit."""
    scope = THROTTLE_SCOPES.get(code)
    if scope is None and code is None and http_status == 429:
        return "number"
    return scope


def throttle_delay(scope, hits, retry_after=None, rand=random.random):
    """Seconds to wait after the ``hits``-th throttling in a row of ``scope``.

    Exponential from the scope's first delay, capped at
    :data:`THROTTLE_MAX_DELAY`, with jitter (between half and all of it) so
    that messages held together do not all come back at the same second.
    A wait Meta asked for (``retry_after``, seconds) is always honoured.
    """
    ceiling = min(
        THROTTLE_MAX_DELAY, THROTTLE_FIRST_DELAY[scope] * 2 ** max(hits - 1, 0)
    )
    delay = ceiling * (0.5 + rand() / 2)
    if retry_after:
        delay = max(delay, min(float(retry_after), THROTTLE_GIVE_UP))
    return delay


# Meta's accepted media types and size limits (Cloud API "supported media
# types"). Anything else is refused before a call is made.
MB = 1024 * 1024
MEDIA_RULES = {
    "image": ({"image/jpeg", "image/png"}, 5 * MB),
    "video": ({"video/mp4", "video/3gpp"}, 16 * MB),
    "audio": (
        {"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"},
        16 * MB,
    ),
    "sticker": ({"image/webp"}, 500 * 1024),
    "document": (
        {
            "text/plain",
            "application/pdf",
            "application/msword",
            "application/vnd.ms-excel",
            "application/vnd.ms-powerpoint",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        },
        100 * MB,
    ),
}
# Meta's limits, in characters: a text message, and the caption of an image,
# a video or a document. Longer is refused before any call, never cut.
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
CAPTIONED_KINDS = {"image", "video", "document"}


def media_kind(mime_type):
    """Return Meta's media kind for a MIME type (``image``...), or None."""
    mime_type = (mime_type or "").split(";")[0].strip().lower()
    for kind, (types, _limit) in MEDIA_RULES.items():
        if mime_type in types:
            return kind
    return None


def media_problem(mime_type, size):
    """Why a file cannot be sent on WhatsApp, as ``(code, values)``, or None.

    ``code`` is ``"type"`` (Meta does not take this kind of file) or
    ``"size"`` (too big for its kind; ``values`` gives the limit in MB).
    """
    kind = media_kind(mime_type)
    if kind is None:
        return "type", {"mime_type": mime_type or "?"}
    limit = MEDIA_RULES[kind][1]
    if size > limit:
        return "size", {"kind": kind, "limit_mb": round(limit / MB, 1)}
    return None


def length_problem(text, limit):
    """``{"length": n, "limit": limit}`` when ``text`` is longer than
    ``limit`` characters (a Meta limit above), else None."""
    length = len(text or "")
    return {"length": length, "limit": limit} if length > limit else None


# elements without content or closing tag: they never open a hidden span
_VOID_TAGS = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
_DISPLAY_NONE = re.compile(r"(?:^|;)\s*display\s*:\s*none\b", re.IGNORECASE)


def _is_hidden(tag, attrs):
    """Whether a browser shows nothing of this element (nor of its content)."""
    if tag in ("script", "style", "template", "head", "title"):
        return True
    attributes = dict(attrs)
    return "hidden" in attributes or bool(
        _DISPLAY_NONE.search(attributes.get("style") or "")
    )


class _ToWhatsapp(HTMLParser):
    _MARKS = {
        "b": "*",
        "strong": "*",
        "i": "_",
        "em": "_",
        "s": "~",
        "strike": "~",
        "del": "~",
        "code": "```",
    }
    _BLOCKS = {"p", "div", "li", "blockquote", "h1", "h2", "h3", "h4", "tr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.links = []
        # depth inside an element the chatter does not show
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in _VOID_TAGS:
            if tag == "br" and not self.hidden:
                self.parts.append("\n")
            return
        if self.hidden or _is_hidden(tag, attrs):
            self.hidden += 1
        elif tag in self._BLOCKS:
            self._newline()
            if tag == "li":
                self.parts.append("- ")
        elif tag in self._MARKS:
            self.parts.append(self._MARKS[tag])
        elif tag == "a":
            self.links.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag):
        if tag in _VOID_TAGS:
            return
        if self.hidden:
            self.hidden -= 1
        elif tag in self._MARKS:
            self.parts.append(self._MARKS[tag])
        elif tag in self._BLOCKS:
            self._newline()
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href and not href.startswith("mailto:") and href not in self.parts[-1:]:
                self.parts.append(f" ({href})")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)

    def _newline(self):
        if self.parts and not "".join(self.parts[-1:]).endswith("\n"):
            self.parts.append("\n")


def html_to_whatsapp(body):
    """Turn the HTML of Odoo's composer into WhatsApp text.

    Bold, italic, strike-through and code become WhatsApp's markers; links
    keep their address; paragraphs and line breaks become new lines. What a
    browser does not show (scripts, styles, ``hidden`` or ``display: none``
    elements) is left out: the customer reads what the chatter shows.
    """
    parser = _ToWhatsapp()
    parser.feed(str(body or ""))
    parser.close()
    text = html.unescape("".join(parser.parts)).replace("\xa0", " ")
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def recipient_fields(wa_id, user_id):
    """The recipient part of a message: the phone when known, else the user id."""
    if wa_id:
        return {"recipient_type": "individual", "to": wa_id}
    if user_id:
        return {"recipient_type": "individual", "recipient": user_id}
    raise ValueError("a message needs a phone number or a business-scoped user id")


def text_payload(wa_id, user_id, body, reply_to="", callback=""):
    """The ``/messages`` body of a text message."""
    _refuse_long(body, MAX_TEXT_LENGTH, "text message")
    payload = {
        **recipient_fields(wa_id, user_id),
        "type": "text",
        "text": {"body": body, "preview_url": "http" in body},
    }
    return _decorate(payload, reply_to, callback)


def media_payload(wa_id, user_id, kind, media_id, caption="", filename="", **extra):
    """The ``/messages`` body of a media message sent by uploaded media id."""
    media = {"id": media_id}
    if caption and kind in CAPTIONED_KINDS:
        _refuse_long(caption, MAX_CAPTION_LENGTH, "caption")
        media["caption"] = caption
    if filename and kind == "document":
        media["filename"] = filename
    payload = {**recipient_fields(wa_id, user_id), "type": kind, kind: media}
    return _decorate(payload, extra.get("reply_to", ""), extra.get("callback", ""))


def _refuse_long(text, limit, what):
    # the senders check first: reaching this is a bug, and Meta would refuse
    # it anyway; cutting would send the customer half a message
    problem = length_problem(text, limit)
    if problem:
        raise ValueError(
            f"a {what} takes at most {limit} characters, this one has "
            f"{problem['length']}"
        )


def _decorate(payload, reply_to, callback):
    if reply_to:
        payload["context"] = {"message_id": reply_to}
    if callback:
        # echoed by Meta in the status webhooks of this message: lets us find
        # it even if we never stored its wamid (a crash right after sending)
        payload["biz_opaque_callback_data"] = callback
    return payload


TEMPLATE_VARIABLE = re.compile(r"\{\{\s*(\d+)\s*\}\}")


def template_variables(text):
    """The positions of ``{{n}}`` variables in a template text, sorted, unique."""
    return sorted({int(n) for n in TEMPLATE_VARIABLE.findall(text or "")})


def fill_template(text, values):
    """``text`` with each ``{{n}}`` replaced by ``values[n]`` (kept when missing)."""
    return TEMPLATE_VARIABLE.sub(
        lambda match: str(values.get(int(match.group(1)), match.group(0))), text or ""
    )


def header_parameter(kind, value, filename=""):
    """The header parameter of a template message.

    ``kind`` is ``text`` (``value`` is the text of its ``{{1}}``) or a media
    kind, ``image``, ``video`` or ``document`` (``value`` is an uploaded
    media id; ``filename`` names a document on the customer's phone).
    """
    if kind == "text":
        return {"type": "text", "text": str(value)}
    media = {"id": str(value)}
    if filename and kind == "document":
        media["filename"] = filename
    return {"type": kind, kind: media}


def template_payload(
    wa_id, user_id, name, language, body_values=(), header=None, **extra
):
    """The ``/messages`` body of a template message.

    ``body_values`` fill the body's variables in order; ``header`` is the
    header parameter (see :func:`header_parameter`) when the template's
    header has a variable or a media.
    """
    template = {"name": name, "language": {"code": language}}
    components = []
    if header:
        components.append({"type": "header", "parameters": [header]})
    if body_values:
        components.append(
            {
                "type": "body",
                "parameters": [{"type": "text", "text": str(v)} for v in body_values],
            }
        )
    if components:
        template["components"] = components
    payload = {
        **recipient_fields(wa_id, user_id),
        "type": "template",
        "template": template,
    }
    return _decorate(payload, extra.get("reply_to", ""), extra.get("callback", ""))


# ----------------------------------------------------------------------
# Interactive messages: reply buttons and lists
# ----------------------------------------------------------------------

# Meta's limits, checked before anything is posted (never by cutting a text):
# reply buttons, https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/interactive-reply-buttons-messages
# (1 to 3 buttons, titles up to 20 characters and unique, ids up to 256,
# body up to 1,024, header and footer up to 60);
# lists, https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/interactive-list-messages
# (a button of up to 20 characters, 1 to 10 sections titled up to 24, 1 to
# 10 rows in all, row titles up to 24, descriptions up to 72, ids up to 200,
# body up to 4,096, a text header and a footer up to 60).
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_BUTTONS_BODY = 1024
MAX_LIST_BUTTON = 20
MAX_SECTIONS = 10
MAX_ROWS = 10
MAX_SECTION_TITLE = 24
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_ROW_ID = 200
MAX_LIST_BODY = MAX_TEXT_LENGTH
MAX_INTERACTIVE_HEADER = 60
MAX_INTERACTIVE_FOOTER = 60


def choice_code(title, taken=(), position=1):
    """The id a button or row is sent with, made from its ``title``: what
    the customer's reply carries back. Lower-case ASCII letters and digits
    joined by ``_`` (``"Call me!"`` → ``call_me``), ``option_<position>``
    when nothing of the title is left, with a number added when ``taken``
    already holds it."""
    text = unicodedata.normalize("NFKD", str(title or ""))
    text = "".join(char for char in text if not unicodedata.combining(char))
    code = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40]
    code = code or f"option_{position}"
    unique, count = code, 1
    while unique in taken:
        count += 1
        unique = f"{code}_{count}"
    return unique


def _text_value(value, what):
    if value is None or value is False:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a text, not {type(value).__name__}")
    return value.strip()


def _choice(item, what, fields):
    """``{field: text}`` of one button or row given as a text (its title),
    a tuple ``(id, title[, description])`` or a dict with those keys."""
    if isinstance(item, str):
        values = {"title": item}
    elif isinstance(item, list | tuple):
        if not 1 <= len(item) <= len(fields):
            raise ValueError(f"a {what} is ({', '.join(fields)})")
        values = dict(zip(fields, item, strict=False))
    elif isinstance(item, dict):
        unknown = set(item) - set(fields)
        if unknown:
            raise ValueError(f"unknown keys in a {what}: {sorted(unknown)}")
        values = item
    else:
        raise ValueError(f"a {what} must be a text, a tuple or a dict")
    return {
        name: _text_value(values.get(name), f"a {what}'s {name}") for name in fields
    }


def _items(value, what):
    if value is None or value is False:
        return []
    if isinstance(value, str | bytes | dict) or not hasattr(value, "__iter__"):
        raise ValueError(f"{what} must be a list")
    return list(value)


def interactive_spec(body, buttons=None, sections=None, button="", **extra):
    """An interactive message as plain values, ids filled in.

    Reply buttons: ``buttons`` lists up to 3 buttons, each a title, an
    ``(id, title)`` tuple or a ``{"id", "title"}`` dict. A list: ``button``
    is the text of the button that opens it, ``sections`` its sections,
    each ``{"title", "rows"}`` or ``(title, rows)``, and each row a title,
    an ``(id, title, description)`` tuple or a dict with those keys.
    ``extra`` may give a ``header`` and a ``footer`` text. A button or row
    given without an id gets one from its title (:func:`choice_code`).

    Returns ``{"kind": "button" | "list", "body", "header", "footer",
    "buttons": [{"id", "title"}]}`` or ``{..., "button", "sections":
    [{"title", "rows": [{"id", "title", "description"}]}]}``; raises
    ``ValueError`` for values of the wrong shape (a limit exceeded is not
    an error here: see :func:`interactive_problems`).
    """
    unknown = set(extra) - {"header", "footer"}
    if unknown:
        raise ValueError(f"unknown interactive values: {sorted(unknown)}")
    spec = {
        "body": _text_value(body, "the body"),
        "header": _text_value(extra.get("header"), "the header"),
        "footer": _text_value(extra.get("footer"), "the footer"),
    }
    buttons = _items(buttons, "buttons")
    sections = _items(sections, "sections")
    if buttons and (sections or button):
        raise ValueError("a message has reply buttons or a list, not both")
    taken = set()

    def with_id(choice, position):
        choice["id"] = choice["id"] or choice_code(choice["title"], taken, position)
        taken.add(choice["id"])
        return choice

    if not sections and not button:
        spec["kind"] = "button"
        spec["buttons"] = [
            with_id(_choice(item, "button", ("id", "title")), position)
            for position, item in enumerate(buttons, 1)
        ]
        return spec
    spec.update(kind="list", button=_text_value(button, "the list's button"))
    spec["sections"] = []
    position = 0
    for section in sections:
        if isinstance(section, list | tuple) and len(section) == 2:
            section = {"title": section[0], "rows": section[1]}
        if not isinstance(section, dict) or set(section) - {"title", "rows"}:
            raise ValueError("a section is {'title': …, 'rows': […]}")
        rows = []
        for item in _items(section.get("rows"), "a section's rows"):
            position += 1
            row = _choice(item, "row", ("id", "title", "description"))
            rows.append(with_id(row, position))
        title = _text_value(section.get("title"), "a section's title")
        spec["sections"].append({"title": title, "rows": rows})
    return spec


def _too_long(text, limit):
    return len(text) > limit


def interactive_problems(spec):
    """What Meta would refuse in ``spec`` (see :func:`interactive_spec`),
    as a list of ``(code, values)``: empty when it can be sent.

    Codes: ``body`` (missing), ``body_length``, ``header_length``,
    ``footer_length``, ``button_count``, ``button_title`` (empty or too
    long), ``button_twice`` (same title), ``id_length``, ``id_twice``,
    ``list_button`` (empty or too long), ``section_count``,
    ``section_title`` (too long, or missing among several sections),
    ``section_empty``, ``row_count``, ``row_title``, ``row_description``.
    ``values`` hold the limit and what broke it.
    """
    problems = []

    def check_length(code, text, limit, **values):
        if _too_long(text, limit):
            problems.append((code, {"length": len(text), "limit": limit, **values}))

    is_list = spec["kind"] == "list"
    if not spec["body"]:
        problems.append(("body", {}))
    body_limit = MAX_LIST_BODY if is_list else MAX_BUTTONS_BODY
    check_length("body_length", spec["body"], body_limit)
    check_length("header_length", spec["header"], MAX_INTERACTIVE_HEADER)
    check_length("footer_length", spec["footer"], MAX_INTERACTIVE_FOOTER)
    if is_list:
        choices = [row for section in spec["sections"] for row in section["rows"]]
        id_limit = MAX_ROW_ID
        problems.extend(_list_problems(spec, choices))
    else:
        choices = spec["buttons"]
        id_limit = MAX_BUTTON_ID
        problems.extend(_button_problems(choices))
    seen = set()
    for choice in choices:
        if choice["id"] in seen:
            problems.append(("id_twice", {"id": choice["id"]}))
        seen.add(choice["id"])
        check_length("id_length", choice["id"], id_limit, title=choice["title"])
    return problems


def _button_problems(buttons):
    problems = []
    if not 1 <= len(buttons) <= MAX_BUTTONS:
        problems.append(("button_count", {"count": len(buttons), "limit": MAX_BUTTONS}))
    titles = set()
    for button in buttons:
        title = button["title"]
        if not title or _too_long(title, MAX_BUTTON_TITLE):
            values = {"title": title, "length": len(title), "limit": MAX_BUTTON_TITLE}
            problems.append(("button_title", values))
        elif title.casefold() in titles:
            problems.append(("button_twice", {"title": title}))
        titles.add(title.casefold())
    return problems


def _list_problems(spec, rows):
    problems = []
    button = spec["button"]
    if not button or _too_long(button, MAX_LIST_BUTTON):
        values = {"title": button, "length": len(button), "limit": MAX_LIST_BUTTON}
        problems.append(("list_button", values))
    sections = spec["sections"]
    if not 1 <= len(sections) <= MAX_SECTIONS:
        values = {"count": len(sections), "limit": MAX_SECTIONS}
        problems.append(("section_count", values))
    for section in sections:
        title = section["title"]
        if _too_long(title, MAX_SECTION_TITLE) or (not title and len(sections) > 1):
            values = {"title": title, "length": len(title), "limit": MAX_SECTION_TITLE}
            problems.append(("section_title", values))
        if not section["rows"]:
            problems.append(("section_empty", {"title": title}))
    if sections and not 1 <= len(rows) <= MAX_ROWS:
        problems.append(("row_count", {"count": len(rows), "limit": MAX_ROWS}))
    for row in rows:
        title = row["title"]
        if not title or _too_long(title, MAX_ROW_TITLE):
            values = {"title": title, "length": len(title), "limit": MAX_ROW_TITLE}
            problems.append(("row_title", values))
        if _too_long(row["description"], MAX_ROW_DESCRIPTION):
            values = {
                "title": title,
                "length": len(row["description"]),
                "limit": MAX_ROW_DESCRIPTION,
            }
            problems.append(("row_description", values))
    return problems


def interactive_payload(wa_id, user_id, spec, reply_to="", callback=""):
    """The ``/messages`` body of an interactive message (reply buttons or a
    list, see :func:`interactive_spec`)."""
    problems = interactive_problems(spec)
    if problems:
        # the senders check first: reaching this is a bug
        raise ValueError(f"not an interactive message Meta takes: {problems}")
    interactive = {"type": spec["kind"]}
    if spec["header"]:
        interactive["header"] = {"type": "text", "text": spec["header"]}
    interactive["body"] = {"text": spec["body"]}
    if spec["footer"]:
        interactive["footer"] = {"text": spec["footer"]}
    if spec["kind"] == "button":
        interactive["action"] = {
            "buttons": [
                {"type": "reply", "reply": {"id": b["id"], "title": b["title"]}}
                for b in spec["buttons"]
            ]
        }
    else:
        sections = []
        for section in spec["sections"]:
            rows = []
            for row in section["rows"]:
                item = {"id": row["id"], "title": row["title"]}
                if row["description"]:
                    item["description"] = row["description"]
                rows.append(item)
            # a lone section may have no title of its own: Meta asks for one
            sections.append({"title": section["title"] or spec["button"], "rows": rows})
        interactive["action"] = {"button": spec["button"], "sections": sections}
    payload = {
        **recipient_fields(wa_id, user_id),
        "type": "interactive",
        "interactive": interactive,
    }
    return _decorate(payload, reply_to, callback)


# A quick reply (or any message) ending in choices: either lines of
# bracketed button titles, "[Yes] [No]", or one bracketed list button
# followed by its rows, "- Title" or "- Title | description".
_BRACKET = re.compile(r"\[\s*([^\[\]\s][^\[\]\n]*?)\s*\]")
_BRACKETS_LINE = re.compile(r"^\s*(?:\[\s*[^\[\]\s][^\[\]\n]*\]\s*)+$")
_ROW_LINE = re.compile(r"^\s*[-•*]\s+(\S.*)$")


def split_choices(text):
    """Split the choices written at the end of a message from its text.

    ``"How was it?\\n[Great] [Not good]"`` gives ``("How was it?",
    {"buttons": ["Great", "Not good"]})``; ``"Which one?\\n[See the
    sizes]\\n- Small | 30 cm\\n- Large"`` gives ``("Which one?", {"button":
    "See the sizes", "sections": [{"title": "", "rows": [("", "Small", "30
    cm"), ("", "Large", "")]}]})``. Text without such an ending gives
    ``(text, None)``. Only the last lines count, so brackets inside the text
    stay text.
    """
    lines = (text or "").split("\n")
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    start = end
    while start and _ROW_LINE.match(lines[start - 1]):
        start -= 1
    if start < end:
        # rows: a list, if a single bracketed button stands above them
        opener = lines[start - 1] if start else ""
        titles = _BRACKET.findall(opener) if _BRACKETS_LINE.match(opener) else []
        if len(titles) != 1:
            return text, None
        rows = []
        for line in lines[start:end]:
            title, _bar, description = _ROW_LINE.match(line).group(1).partition("|")
            rows.append(("", title.strip(), description.strip()))
        body = "\n".join(lines[: start - 1]).rstrip()
        choices = {"button": titles[0], "sections": [{"title": "", "rows": rows}]}
        return body, choices
    while start and _BRACKETS_LINE.match(lines[start - 1]):
        start -= 1
    if start == end:
        return text, None
    buttons = [t for line in lines[start:end] for t in _BRACKET.findall(line)]
    return "\n".join(lines[:start]).rstrip(), {"buttons": buttons}
