"""Message templates as Meta reviews them: rules, components, variables.

No ORM here. The template model passes a :class:`TemplateSpec` of plain
values; :func:`problems` lists what Meta would refuse (as ``(code, values)``
pairs the model turns into translated sentences), :func:`create_payload`
builds the body of ``POST /{waba-id}/message_templates`` and
:func:`read_components` reads a synced template back.
"""

import re
from dataclasses import dataclass, field

from .outbound import template_variables

# Meta's limits for templates (WhatsApp Business Management API).
MAX_NAME = 512
MAX_HEADER_TEXT = 60
MAX_BODY = 1024
MAX_FOOTER = 60
MAX_BUTTONS = 10
MAX_URL_BUTTONS = 2
MAX_PHONE_BUTTONS = 1
MAX_BUTTON_TEXT = 25
MAX_URL = 2000
MAX_PHONE = 20
# Meta's limits for the text of a variable when a template is sent (the
# Cloud API's parameter object): a header variable; a body variable when the
# template has a header, footer or buttons too; one when the body is all it
# has. Longer is refused before any call, never cut.
MAX_HEADER_PARAMETER = 60
MAX_BODY_PARAMETER = 1024
MAX_BODY_ONLY_PARAMETER = 32768

NAME_PATTERN = re.compile(r"[a-z0-9_]+")
HEADER_MEDIA = ("image", "video", "document")
HEADER_TYPES = ("none", "text", *HEADER_MEDIA)
BUTTON_TYPES = ("quick_reply", "url", "phone_number")
CATEGORIES = ("marketing", "utility", "authentication")
# a dotted path of field names: ``partner_id.name``
FIELD_PATH = re.compile(r"[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*")
_VARIABLE = re.compile(r"\{\{[^}]*\}\}")


@dataclass
class Button:
    """One template button: ``kind`` is one of :data:`BUTTON_TYPES`."""

    kind: str
    text: str = ""
    url: str = ""
    phone_number: str = ""


@dataclass
class TemplateSpec:
    """A template as written in Odoo; examples map ``{{n}}`` to a sample."""

    name: str = ""
    language: str = ""
    category: str = ""
    body: str = ""
    header_type: str = "none"
    header_text: str = ""
    header_handle: str = ""
    footer: str = ""
    buttons: list = field(default_factory=list)
    header_examples: dict = field(default_factory=dict)
    body_examples: dict = field(default_factory=dict)


def variable_slots(header_type, header_text, body):
    """Every variable of a template as ``(location, position)``, header first."""
    slots = []
    if header_type == "text":
        slots += [("header", n) for n in template_variables(header_text)]
    slots += [("body", n) for n in template_variables(body)]
    return slots


def _sequence_problem(where, text):
    positions = template_variables(text)
    if positions != list(range(1, len(positions) + 1)):
        found = ", ".join(f"{{{{{n}}}}}" for n in positions)
        return "variables_sequence", {"where": where, "found": found}
    malformed = [
        match for match in _VARIABLE.findall(text or "") if not match[2:-2].isdigit()
    ]
    if malformed:
        return "variable_malformed", {"where": where, "found": malformed[0]}
    return None


def _button_problems(buttons):
    found = []
    if len(buttons) > MAX_BUTTONS:
        found.append(("buttons_count", {"limit": MAX_BUTTONS}))
    kinds = [button.kind for button in buttons]
    if kinds.count("url") > MAX_URL_BUTTONS:
        found.append(("url_buttons_count", {"limit": MAX_URL_BUTTONS}))
    if kinds.count("phone_number") > MAX_PHONE_BUTTONS:
        found.append(("phone_buttons_count", {"limit": MAX_PHONE_BUTTONS}))
    quick = [index for index, kind in enumerate(kinds) if kind == "quick_reply"]
    if quick and quick[-1] - quick[0] + 1 != len(quick):
        found.append(("quick_replies_not_grouped", {}))
    for button in buttons:
        found += _one_button_problems(button)
    return found


def _one_button_problems(button):
    found = []
    label = button.text or "?"
    if not (button.text or "").strip():
        found.append(("button_text_missing", {}))
    elif len(button.text) > MAX_BUTTON_TEXT:
        found.append(("button_text_length", {"text": label, "limit": MAX_BUTTON_TEXT}))
    if _VARIABLE.search(button.text or ""):
        found.append(("button_variables", {"text": label}))
    if button.kind == "url":
        url = (button.url or "").strip()
        if not url:
            found.append(("url_missing", {"text": label}))
        elif len(url) > MAX_URL:
            found.append(("url_length", {"text": label, "limit": MAX_URL}))
        elif not url.lower().startswith(("https://", "http://")):
            found.append(("url_scheme", {"text": label}))
        elif _VARIABLE.search(url):
            found.append(("url_variables", {"text": label}))
    if button.kind == "phone_number":
        digits = re.sub(r"[\s().-]", "", button.phone_number or "")
        if not digits:
            found.append(("phone_missing", {"text": label}))
        elif len(digits) > MAX_PHONE or not re.fullmatch(r"\+?\d+", digits):
            found.append(("phone_invalid", {"text": label}))
    return found


def problems(spec, *, complete=False):
    """What Meta would refuse in ``spec``, as a list of ``(code, values)``.

    Without ``complete`` only the limits a draft must always respect are
    checked (lengths, variable numbering, buttons), so a half-written draft
    can be saved. With it, also what submitting needs: name, category,
    language, body, an example for each variable, the media sample.
    """
    found = []
    name = spec.name or ""
    if name and not NAME_PATTERN.fullmatch(name):
        found.append(("name_format", {"name": name}))
    if len(name) > MAX_NAME:
        found.append(("name_length", {"limit": MAX_NAME}))
    header_text = spec.header_text or ""
    if spec.header_type == "text":
        if len(header_text) > MAX_HEADER_TEXT:
            found.append(("header_text_length", {"limit": MAX_HEADER_TEXT}))
        if len(template_variables(header_text)) > 1:
            found.append(("header_variables", {}))
        else:
            problem = _sequence_problem("header", header_text)
            if problem:
                found.append(problem)
    body = spec.body or ""
    if len(body) > MAX_BODY:
        found.append(("body_length", {"length": len(body), "limit": MAX_BODY}))
    problem = _sequence_problem("body", body)
    if problem:
        found.append(problem)
    footer = spec.footer or ""
    if len(footer) > MAX_FOOTER:
        found.append(("footer_length", {"limit": MAX_FOOTER}))
    if _VARIABLE.search(footer):
        found.append(("footer_variables", {}))
    found += _button_problems(spec.buttons)
    if complete:
        found += _submit_problems(spec)
    return found


def _submit_problems(spec):
    found = []
    if not spec.name:
        found.append(("name_missing", {}))
    if not spec.language:
        found.append(("language_missing", {}))
    if spec.category not in CATEGORIES:
        found.append(("category_missing", {}))
    elif spec.category == "authentication":
        found.append(("authentication", {}))
    body = (spec.body or "").strip()
    if not body:
        found.append(("body_missing", {}))
    elif re.match(r"^\{\{\s*\d+\s*\}\}", body) or re.search(
        r"\{\{\s*\d+\s*\}\}$", body
    ):
        found.append(("variable_at_edge", {}))
    if spec.header_type == "text" and not (spec.header_text or "").strip():
        found.append(("header_text_missing", {}))
    if spec.header_type in HEADER_MEDIA and not spec.header_handle:
        found.append(("header_sample_missing", {"kind": spec.header_type}))
    for where, position in variable_slots(
        spec.header_type, spec.header_text, spec.body
    ):
        examples = spec.header_examples if where == "header" else spec.body_examples
        if not str(examples.get(position) or "").strip():
            found.append(("example_missing", {"where": where, "position": position}))
    return found


def build_components(spec):
    """Meta's ``components`` list for ``spec`` (header, body, footer, buttons)."""
    components = []
    if spec.header_type == "text":
        header = {"type": "HEADER", "format": "TEXT", "text": spec.header_text}
        positions = template_variables(spec.header_text)
        if positions:
            header["example"] = {
                "header_text": [str(spec.header_examples.get(n, "")) for n in positions]
            }
        components.append(header)
    elif spec.header_type in HEADER_MEDIA:
        components.append(
            {
                "type": "HEADER",
                "format": spec.header_type.upper(),
                "example": {"header_handle": [spec.header_handle]},
            }
        )
    body = {"type": "BODY", "text": spec.body}
    positions = template_variables(spec.body)
    if positions:
        # one list per example message; Meta asks for one
        body["example"] = {
            "body_text": [[str(spec.body_examples.get(n, "")) for n in positions]]
        }
    components.append(body)
    if spec.footer:
        components.append({"type": "FOOTER", "text": spec.footer})
    if spec.buttons:
        components.append(
            {"type": "BUTTONS", "buttons": [_button(b) for b in spec.buttons]}
        )
    return components


def _button(button):
    meta = {"type": button.kind.upper(), "text": button.text}
    if button.kind == "url":
        meta["url"] = button.url.strip()
    elif button.kind == "phone_number":
        meta["phone_number"] = re.sub(r"[\s().-]", "", button.phone_number)
    return meta


def create_payload(spec):
    """The body of ``POST /{waba-id}/message_templates`` for ``spec``."""
    return {
        "name": spec.name,
        "language": spec.language,
        "category": spec.category.upper(),
        "components": build_components(spec),
    }


def read_components(components):
    """Read Meta's ``components`` back into plain values.

    Returns a dict with ``header_type``, ``header_text``, ``header_handle``,
    ``body``, ``footer``, ``buttons`` (a list of :class:`Button`) and the
    examples (``header_examples``, ``body_examples``: position -> text).
    Unknown parts (carousels, limited-time offers) are left out.
    """
    by_type = {}
    for component in components or []:
        if isinstance(component, dict):
            by_type.setdefault(str(component.get("type") or "").upper(), component)
    header = by_type.get("HEADER", {})
    header_format = str(header.get("format") or "").lower()
    header_example = header.get("example") or {}
    body = by_type.get("BODY", {})
    body_examples = (body.get("example") or {}).get("body_text") or [[]]
    header_text = header.get("text") or "" if header_format == "text" else ""
    values = {
        "header_type": header_format if header_format in HEADER_TYPES else "none",
        "header_text": header_text,
        "header_handle": "",
        "body": body.get("text") or "",
        "footer": by_type.get("FOOTER", {}).get("text") or "",
        "buttons": [],
        "header_examples": {},
        "body_examples": {},
    }
    if header_format in HEADER_MEDIA:
        values["header_handle"] = (header_example.get("header_handle") or [""])[0]
    elif header_format == "text":
        examples = header_example.get("header_text") or []
        values["header_examples"] = dict(
            zip(template_variables(header_text), examples, strict=False)
        )
    first = (
        body_examples[0] if body_examples and isinstance(body_examples[0], list) else []
    )
    values["body_examples"] = dict(
        zip(template_variables(values["body"]), first, strict=False)
    )
    for button in by_type.get("BUTTONS", {}).get("buttons") or []:
        kind = str(button.get("type") or "").lower()
        if kind in BUTTON_TYPES:
            values["buttons"].append(
                Button(
                    kind=kind,
                    text=button.get("text") or "",
                    url=button.get("url") or "",
                    phone_number=button.get("phone_number") or "",
                )
            )
    return values


def clean_parameter(value):
    """A variable's value as Meta takes it: one line, no runs of spaces.

    Meta refuses parameters with new lines, tabs or more than four spaces
    in a row. Length is left alone: :func:`long_parameters` says what is too
    long, and the sender refuses it rather than send half of it.
    """
    return re.sub(r"\s+", " ", str(value or "")).strip()


def long_parameters(body_values, header_value="", body_only=False):
    """The variables whose text Meta refuses as too long, in order, as
    ``(location, position, length, limit)``.

    ``body_values`` maps each body ``{{n}}`` to its text, ``header_value`` is
    the text of the header's ``{{1}}``; ``body_only`` says the template has
    no header, footer nor buttons (its body variables may then be longer).
    """
    found = []
    header_value = str(header_value or "")
    if len(header_value) > MAX_HEADER_PARAMETER:
        found.append(("header", 1, len(header_value), MAX_HEADER_PARAMETER))
    limit = MAX_BODY_ONLY_PARAMETER if body_only else MAX_BODY_PARAMETER
    for position in sorted(body_values):
        text = str(body_values[position] or "")
        if len(text) > limit:
            found.append(("body", position, len(text), limit))
    return found


def pick_value(value, fallback=""):
    """``value`` cleaned, or the cleaned ``fallback`` when it is empty."""
    return clean_parameter(value) or clean_parameter(fallback)


def valid_field_path(path):
    """Whether ``path`` looks like ``field`` or ``relation.field``."""
    return bool(path) and bool(FIELD_PATH.fullmatch(path))
