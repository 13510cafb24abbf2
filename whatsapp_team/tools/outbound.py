"""Outbound messages: what Odoo's composer writes, in the shape Meta takes.

No ORM here: the models pass plain values and get plain values back.
"""

import html
import re
from html.parser import HTMLParser

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
