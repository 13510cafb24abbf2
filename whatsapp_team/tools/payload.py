"""Parse Meta WhatsApp Cloud API webhook bodies into small frozen dataclasses.

Only the envelope Meta posts for a WhatsApp Business Account subscription is
read here (``object == "whatsapp_business_account"``). The ``messages`` field
is parsed into :class:`InboundMessage` and :class:`StatusUpdate`; every other
field is handed back untouched as :class:`OtherChange`. The fields of a number
shared with the WhatsApp Business app ("coexistence": ``smb_message_echoes``,
``history``, ``smb_app_state_sync``) are read from such a change by
:func:`parse_message_echoes`, :func:`parse_history` and
:func:`parse_app_contacts`.

Meta adds fields over time and sends odd shapes in edge cases, so every value
is read defensively: a wrong type is treated as missing rather than raising.
Only a body that is not a WhatsApp webhook at all, or a message/status with no
id (which could never be stored or deduplicated), raises :class:`PayloadError`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import phone

WEBHOOK_OBJECT = "whatsapp_business_account"
# Meta's bodies nest about ten levels deep; far deeper is not Meta
MAX_DEPTH = 64


class PayloadError(ValueError):
    """The body is not a WhatsApp Business Account webhook we can read."""


@dataclass(frozen=True)
class MetaError:
    """An ``errors[]`` item; ``details`` is ``error_data.details``."""

    code: int
    title: str = ""
    message: str = ""
    details: str = ""
    href: str = ""


@dataclass(frozen=True)
class Identity:
    """The customer side: phone (``wa_id``, may be missing since 2026), BSUIDs,
    and the ``contacts[].profile`` name and username."""

    wa_id: str = ""
    user_id: str = ""
    parent_user_id: str = ""
    username: str = ""
    profile_name: str = ""


@dataclass(frozen=True)
class Media:
    """An image, audio, video, document or sticker; download it by ``media_id``."""

    media_id: str
    mime_type: str = ""
    sha256: str = ""
    filename: str = ""
    caption: str = ""
    voice: bool = False
    animated: bool = False


def checksum_matches(content: bytes, checksum: str) -> bool | None:
    """Tell whether ``content`` is the file Meta's ``sha256`` describes.

    Meta writes the checksum in hexadecimal or in base64 (its webhook
    references show both). ``None`` when there is nothing to check against:
    no checksum, or one that is not a SHA-256 in either form.
    """
    text = (checksum or "").strip()
    if not text:
        return None
    digest = hashlib.sha256(content or b"").digest()
    if len(text) == 64 and all(char in "0123456789abcdefABCDEF" for char in text):
        return bytes.fromhex(text) == digest
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            expected = decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            continue
        if len(expected) == len(digest):
            return expected == digest
    return None


@dataclass(frozen=True)
class Location:
    """A shared location pin."""

    latitude: float
    longitude: float
    name: str = ""
    address: str = ""
    url: str = ""


@dataclass(frozen=True)
class ContactPhone:
    """A number of a shared contact card; ``wa_id`` when it uses WhatsApp."""

    phone: str
    type: str = ""
    wa_id: str = ""


@dataclass(frozen=True)
class ContactEntry:
    """An e-mail address or a web address of a shared contact card."""

    value: str
    type: str = ""


@dataclass(frozen=True)
class ContactAddress:
    """A postal address of a shared contact card."""

    street: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    country: str = ""
    country_code: str = ""
    type: str = ""


@dataclass(frozen=True)
class SharedContact:
    """One contact card of a ``contacts`` message, with every field Meta
    documents (names, numbers, e-mails, organisation, addresses, web
    addresses, birthday); what the customer's phone did not share is empty."""

    name: str
    first_name: str = ""
    last_name: str = ""
    middle_name: str = ""
    name_prefix: str = ""
    name_suffix: str = ""
    phones: tuple[ContactPhone, ...] = ()
    emails: tuple[ContactEntry, ...] = ()
    organization: str = ""
    department: str = ""
    job_title: str = ""
    addresses: tuple[ContactAddress, ...] = ()
    urls: tuple[ContactEntry, ...] = ()
    birthday: str = ""


@dataclass(frozen=True)
class InboundMessage:
    """A message a customer sent; ``type`` is Meta's, verbatim.

    ``body`` is the human-readable text for a chat log (text, caption, reply
    title, reaction emoji, location name/address, system or order text).
    """

    message_id: str
    phone_number_id: str
    display_phone_number: str
    sender: Identity
    timestamp: int
    type: str
    body: str = ""
    media: Media | None = None
    location: Location | None = None
    contacts: tuple[SharedContact, ...] = ()
    reply_to_message_id: str = ""
    forwarded: bool = False
    reaction_to_message_id: str = ""
    reaction_emoji: str = ""
    # interactive replies: Meta's kind (button_reply, list_reply, nfm_reply),
    # the reply's id and title, a list row's description; a template's quick
    # reply button (type "button"): its payload and its text
    interactive_type: str = ""
    interactive_reply_id: str = ""
    reply_title: str = ""
    reply_description: str = ""
    errors: tuple[MetaError, ...] = ()
    # system messages: the customer's new number and business-scoped ids,
    # and the ids they had before
    system_type: str = ""
    new_wa_id: str = ""
    new_user_id: str = ""
    new_parent_user_id: str = ""
    previous_user_id: str = ""
    previous_parent_user_id: str = ""
    order: dict | None = None
    referral: dict | None = None
    # an edit or a deletion ("edit", "revoke", numbers shared with the
    # WhatsApp Business app): the message it changes
    original_message_id: str = ""
    raw: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class StatusUpdate:
    """A ``statuses[]`` item about one of our outbound messages."""

    message_id: str
    phone_number_id: str
    status: str
    timestamp: int
    recipient: Identity
    errors: tuple[MetaError, ...] = ()
    conversation_id: str = ""
    pricing: dict | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class OtherChange:
    """A change of any field other than ``messages``, left unparsed;
    ``time`` is the entry's (when Meta sent it, 0 when absent)."""

    field: str
    business_account_id: str
    value: dict
    time: int = 0


@dataclass(frozen=True)
class UserPreference:
    """An item of a ``user_preferences`` change: the customer stopped or
    resumed marketing messages (``category`` ``marketing_messages``,
    ``value`` ``stop`` or ``resume``) in WhatsApp's settings."""

    phone_number_id: str
    user: Identity
    category: str
    value: str
    detail: str = ""
    timestamp: int = 0


# the template webhooks: their changes name a business account, not a number
TEMPLATE_FIELDS = (
    "message_template_status_update",
    "message_template_quality_update",
    "template_category_update",
)


@dataclass(frozen=True)
class TemplateUpdate:
    """A change of one of :data:`TEMPLATE_FIELDS` about one template.

    Status updates fill ``event`` (``APPROVED``, ``REJECTED``, ``PAUSED``…),
    ``reason`` (Meta's code), ``category`` and, when Meta gives them, the
    rejection's explanation and recommendation, a pause's or lock's title
    and description and when it was disabled. Quality updates fill the
    previous and new quality score (``GREEN``, ``YELLOW``, ``RED``,
    ``UNKNOWN``); category updates the previous and new category, or the
    category Meta will give it (``correct_category``) and when. ``time``
    is when Meta sent it (the entry's time).
    """

    field: str
    business_account_id: str
    template_id: str
    name: str = ""
    language: str = ""
    event: str = ""
    reason: str = ""
    category: str = ""
    rejection_reason: str = ""
    rejection_recommendation: str = ""
    info_title: str = ""
    info_description: str = ""
    disabled_at: int = 0
    previous_quality: str = ""
    new_quality: str = ""
    previous_category: str = ""
    new_category: str = ""
    correct_category: str = ""
    category_change_at: int = 0
    time: int = 0


@dataclass(frozen=True)
class WebhookBatch:
    """Everything one webhook body carried; ``errors`` are webhook-level ones."""

    messages: tuple[InboundMessage, ...] = ()
    statuses: tuple[StatusUpdate, ...] = ()
    others: tuple[OtherChange, ...] = ()
    errors: tuple[MetaError, ...] = ()


@dataclass(frozen=True)
class AppMessage:
    """A message of the WhatsApp Business app on a number it shares with the
    API (Meta's "coexistence"): the echo of one the business just sent from
    the app (``smb_message_echoes``), or one of the chat history the app
    shares (``history``).

    ``message`` holds its content, read as a customer's message is, with the
    customer (recipient or sender) as ``sender``; ``outgoing`` tells whether
    the business wrote it. ``status`` is, for history, what became of it
    (Meta's ``history_context.status`` in lowercase: ``sent``,
    ``delivered``, ``read``, ``played``, ``error``, ``pending``).
    """

    message: InboundMessage
    outgoing: bool
    status: str = ""


@dataclass(frozen=True)
class HistoryChunk:
    """One ``history[]`` chunk: its place in the sync and its messages.

    ``phase`` is 0 (the day before the number was connected), 1 (days 1 to
    90) or 2 (days 90 to 180); ``chunk_order`` orders the chunks of a phase,
    which Meta may deliver out of order; ``progress`` (0-100) is the whole
    sync's, 100 when it is complete. ``errors`` say why no history comes
    (the business declined to share it: code 2593109). Each is ``None`` when
    the chunk does not say.
    """

    phone_number_id: str
    display_phone_number: str
    phase: int | None = None
    chunk_order: int | None = None
    progress: int | None = None
    messages: tuple[AppMessage, ...] = ()
    errors: tuple[MetaError, ...] = ()


@dataclass(frozen=True)
class AppContact:
    """A contact of the WhatsApp Business app's address book
    (``smb_app_state_sync``): ``action`` is ``add`` (added or edited) or
    ``remove``; names are absent on removal."""

    phone_number_id: str
    wa_id: str
    full_name: str = ""
    first_name: str = ""
    action: str = ""
    timestamp: int = 0


# "failed" is deliberately absent: callers treat it on its own, see
# status_moves_forward().
STATUS_RANK: dict[str, int] = {"sent": 1, "delivered": 2, "read": 3}

MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")


# --------------------------------------------------------------------------
# Defensive readers: JSON may hold any type where we expect another one.
# --------------------------------------------------------------------------


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    if isinstance(value, str):
        return value
    # Phone numbers and ids occasionally arrive as JSON numbers; bool is an
    # int subclass but never a meaningful id.
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:  # an int beyond Python's digit limit is no id
            return ""
    return ""


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value == value and abs(value) != float("inf") else 0
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            try:
                return _int(float(value))
            except ValueError:
                return 0
    return 0


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if not isinstance(value, int | float | str):
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        return None
    if number != number or abs(number) == float("inf"):
        return None
    return number


def _flag(value: Any) -> bool:
    # Only a real JSON true counts: bool("false") would be True.
    return value is True


def _lines(*parts: str) -> str:
    return "\n".join(part for part in parts if part)


# --------------------------------------------------------------------------
# Envelope
# --------------------------------------------------------------------------


def _describe(value: Any) -> str:
    """A short, never-failing description of a bad value for error messages."""
    if isinstance(value, str):
        return repr(value[:40])
    if value is None or isinstance(value, bool | float):
        return repr(value)
    return f"a {type(value).__name__}"


def _entries(payload: Any) -> list:
    if not isinstance(payload, dict):
        raise PayloadError(
            f"webhook body must be a JSON object, got {type(payload).__name__}"
        )
    if payload.get("object") != WEBHOOK_OBJECT:
        raise PayloadError(
            f"webhook object must be {WEBHOOK_OBJECT!r}, "
            f"got {_describe(payload.get('object'))}"
        )
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise PayloadError("webhook 'entry' must be a list")
    return entries


def _changes(entries: list):
    """Yield ``(business_account_id, field, value, time)`` for every readable
    change; ``time`` is the entry's."""
    for entry in entries:
        entry = _dict(entry)
        account_id = _str(entry.get("id"))
        time = _int(entry.get("time"))
        for change in _list(entry.get("changes")):
            change = _dict(change)
            if not change:
                continue
            yield (
                account_id,
                _str(change.get("field")),
                _dict(change.get("value")),
                time,
            )


def phone_number_ids(payload: dict) -> list[str]:
    """Return the distinct ``value.metadata.phone_number_id`` of every change.

    The order is the order of appearance; the list is empty when no change
    names a business phone number. Used to route a webhook to the right
    account before parsing it fully.

    :raises PayloadError: when the envelope is not a WhatsApp webhook.
    """
    found: list[str] = []
    for _account_id, _field, value, _time in _changes(_entries(payload)):
        number_id = _str(_dict(value.get("metadata")).get("phone_number_id"))
        if number_id and number_id not in found:
            found.append(number_id)
    return found


def customer_keys(payload: dict) -> list[str]:
    """Return the distinct customers a webhook body speaks of, as keys that
    keep each customer's changes in their order when several processors
    work at once.

    A message or status names its customer by ``wa_id`` and, when given,
    ``user_id`` (one key each, per business number): two bodies of one
    customer share a key whichever names they carry. Any other change (the
    business app's echoes and history, template updates) takes one key for
    its whole number or business account, so those stay in order too.

    :raises PayloadError: when the envelope is not a WhatsApp webhook.
    """
    found: dict[str, None] = {}
    for account_id, kind, value, _time in _changes(_entries(payload)):
        number_id = _str(_dict(value.get("metadata")).get("phone_number_id"))
        messages = _list(value.get("messages"))
        statuses = _list(value.get("statuses"))
        if kind != "messages" or not (messages or statuses):
            found[f"{number_id or account_id}:{kind}"] = None
            continue
        for raws, id_fields in (
            (messages, ("from", "from_user_id")),
            (statuses, ("recipient_id", "recipient_user_id")),
        ):
            for raw in raws:
                wa_id, user_id = (_str(_dict(raw).get(f)) for f in id_fields)
                if wa_id:
                    found[f"{number_id}:wa:{wa_id}"] = None
                if user_id:
                    found[f"{number_id}:user:{user_id}"] = None
                if not (wa_id or user_id):
                    found[f"{number_id}:anonymous"] = None
    return list(found)


def business_account_ids(payload: dict) -> list[str]:
    """Return the distinct business account ids (``entry[].id``) of the
    changes that name no phone number, such as template and account updates.

    :raises PayloadError: when the envelope is not a WhatsApp webhook.
    """
    found: list[str] = []
    for account_id, _field, value, _time in _changes(_entries(payload)):
        number_id = _str(_dict(value.get("metadata")).get("phone_number_id"))
        if not number_id and account_id and account_id not in found:
            found.append(account_id)
    return found


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """Refuse JSON nested deeper than ``limit`` containers.

    Meta's bodies nest about ten levels deep. Anything far deeper is not a
    webhook, and it would make every recursive reader of it (``json.dumps``
    when a message is stored, for one) hit Python's recursion limit later.
    The walk is iterative: it never recurses itself.

    :raises PayloadError: when ``value`` nests deeper than ``limit``.
    """
    if not isinstance(value, dict | list):
        return
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth > limit:
            raise PayloadError(f"webhook body nested deeper than {limit} levels")
        stack.extend(
            (child, depth + 1) for child in children if isinstance(child, dict | list)
        )


@dataclass(frozen=True)
class Item:
    """One message, one status or one other change of a webhook body.

    ``payload`` is an envelope of the same shape as Meta's holding only this
    item (with its sender's ``contacts`` entry), so it parses with
    :func:`parse_webhook` like any body. ``sender_keys`` name the customer
    of a message (per business number), to keep one customer's messages in
    their order when some of them must wait.
    """

    kind: str  # "message", "status" or "change"
    business_account_id: str
    phone_number_id: str
    payload: dict
    sender_keys: tuple[str, ...] = ()


def split_items(payload: dict) -> list[Item]:
    """Split a webhook body into its items, in the order of the body.

    Each inbound message and each status of a ``messages`` change is an item;
    so is each message of the WhatsApp Business app (an echo, or one of the
    shared chat history) and each contact of its address book, see
    :func:`_split_history`; any other change (a template update, or a
    ``messages`` change with neither messages nor statuses) is one item as a
    whole. Items are not parsed here: an unreadable one raises only when it
    is parsed.

    :raises PayloadError: when the envelope is not a WhatsApp webhook.
    """
    items: list[Item] = []
    for entry in _entries(payload):
        entry = _dict(entry)
        account_id = _str(entry.get("id"))
        for change in _list(entry.get("changes")):
            change = _dict(change)
            if not change:
                continue
            value = _dict(change.get("value"))
            number_id = _str(_dict(value.get("metadata")).get("phone_number_id"))

            def wrap(new_value, entry=entry, change=change):
                return {
                    **payload,
                    "entry": [{**entry, "changes": [{**change, "value": new_value}]}],
                }

            splitter = _COEXISTENCE_SPLITTERS.get(_str(change.get("field")))
            if splitter:
                items.extend(
                    Item(kind, account_id, number_id, wrap(part), keys)
                    for kind, part, keys in splitter(value, number_id)
                )
                continue
            messages = _list(value.get("messages"))
            statuses = _list(value.get("statuses"))
            if _str(change.get("field")) != "messages" or not (messages or statuses):
                items.append(Item("change", account_id, number_id, wrap(value)))
                continue
            base = {
                key: item
                for key, item in value.items()
                if key not in ("contacts", "messages", "statuses")
            }
            contacts = [c for c in _list(value.get("contacts")) if isinstance(c, dict)]
            for kind, key, raws, id_fields in (
                ("message", "messages", messages, ("from", "from_user_id")),
                ("status", "statuses", statuses, ("recipient_id", "recipient_user_id")),
            ):
                for raw in raws:
                    wa_id, user_id = (_str(_dict(raw).get(f)) for f in id_fields)
                    single = dict(base)
                    # the contact parse_webhook would give this item in the body
                    contact = _match_contact(contacts, wa_id, user_id)
                    if contact:
                        single["contacts"] = [contact]
                    single[key] = [raw]
                    sender_keys = ()
                    if kind == "message":
                        sender_keys = tuple(
                            f"{number_id}:{name}:{ident}"
                            for name, ident in (("wa", wa_id), ("user", user_id))
                            if ident
                        )
                    items.append(
                        Item(kind, account_id, number_id, wrap(single), sender_keys)
                    )
    return items


def is_own_number(
    wa_id: str,
    *numbers: str,
    default_region: str | Callable[[], str | None] | None = None,
) -> bool:
    """Tell whether the WhatsApp id ``wa_id`` is one of the business's own
    ``numbers``.

    A number in digits only is read as Meta writes ``display_phone_number``
    (international, without ``+``); any other is read as people write it,
    in ``default_region`` when it has no country prefix. ``default_region``
    may be a function giving it: called only for a number that cannot be
    read without it.
    """
    key = phone.wa_id_key(wa_id)
    if not key:
        return False
    for number in numbers:
        text = (number or "").strip()
        if not any(char.isdigit() for char in text):
            continue
        if text.isdigit():
            own = phone.wa_id_key(text)
        else:
            own = phone.international_key(text) if text.startswith("+") else None
            if own is None:
                region = (
                    default_region() if callable(default_region) else default_region
                )
                own = phone.match_key(text, region)
        if own == key:
            return True
    return False


def parse_webhook(payload: dict) -> WebhookBatch:
    """Parse a webhook body posted by Meta into a :class:`WebhookBatch`.

    Changes of the ``messages`` field become inbound messages, status updates
    and webhook-level errors; changes of any other field are returned as
    :class:`OtherChange` without further parsing. Unreadable parts (wrong
    types, unknown message types) are tolerated and kept as given.

    :raises PayloadError: when the body is not a dict, ``object`` is not
        ``whatsapp_business_account``, ``entry`` is not a list, or a message
        or a status has no id.
    """
    messages: list[InboundMessage] = []
    statuses: list[StatusUpdate] = []
    others: list[OtherChange] = []
    errors: list[MetaError] = []
    for account_id, field_name, value, time in _changes(_entries(payload)):
        if field_name != "messages":
            others.append(OtherChange(field_name, account_id, value, time))
            continue
        metadata = _dict(value.get("metadata"))
        phone_number_id = _str(metadata.get("phone_number_id"))
        display_number = _str(metadata.get("display_phone_number"))
        contacts = [c for c in _list(value.get("contacts")) if isinstance(c, dict)]
        for raw in _list(value.get("messages")):
            messages.append(
                _parse_message(raw, phone_number_id, display_number, contacts)
            )
        for raw in _list(value.get("statuses")):
            statuses.append(_parse_status(raw, phone_number_id, contacts))
        errors.extend(_errors(value.get("errors")))
    return WebhookBatch(tuple(messages), tuple(statuses), tuple(others), tuple(errors))


# --------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------


def _errors(value: Any) -> tuple[MetaError, ...]:
    result = []
    for error in _list(value):
        if not isinstance(error, dict):
            continue
        result.append(
            MetaError(
                code=_int(error.get("code")),
                title=_str(error.get("title")),
                message=_str(error.get("message")),
                details=_str(_dict(error.get("error_data")).get("details")),
                href=_str(error.get("href")),
            )
        )
    return tuple(result)


def _match_contact(contacts: list[dict], wa_id: str, user_id: str) -> dict:
    for contact in contacts:
        if wa_id and _str(contact.get("wa_id")) == wa_id:
            return contact
        if user_id and _str(contact.get("user_id")) == user_id:
            return contact
    if len(contacts) == 1:
        # A lone entry is the sender, unless it explicitly names someone else.
        contact = contacts[0]
        other_wa_id = _str(contact.get("wa_id"))
        other_user_id = _str(contact.get("user_id"))
        if wa_id and other_wa_id and other_wa_id != wa_id:
            return {}
        if user_id and other_user_id and other_user_id != user_id:
            return {}
        return contact
    return {}


def _identity(
    contacts: list[dict], wa_id: str, user_id: str, parent_user_id: str
) -> Identity:
    contact = _match_contact(contacts, wa_id, user_id)
    profile = _dict(contact.get("profile"))
    return Identity(
        wa_id=wa_id or _str(contact.get("wa_id")),
        user_id=user_id or _str(contact.get("user_id")),
        parent_user_id=parent_user_id or _str(contact.get("parent_user_id")),
        username=_str(profile.get("username")),
        profile_name=_str(profile.get("name")),
    )


# --------------------------------------------------------------------------
# Statuses
# --------------------------------------------------------------------------


def _parse_status(raw: Any, phone_number_id: str, contacts: list[dict]) -> StatusUpdate:
    raw = _dict(raw)
    message_id = _str(raw.get("id"))
    if not message_id:
        raise PayloadError("a status update has no message id")
    recipient = _identity(
        contacts,
        _str(raw.get("recipient_id")),
        _str(raw.get("recipient_user_id")),
        _str(raw.get("recipient_parent_user_id")),
    )
    pricing = raw.get("pricing")
    return StatusUpdate(
        message_id=message_id,
        phone_number_id=phone_number_id,
        status=_str(raw.get("status")),
        timestamp=_int(raw.get("timestamp")),
        recipient=recipient,
        errors=_errors(raw.get("errors")),
        conversation_id=_str(_dict(raw.get("conversation")).get("id")),
        pricing=pricing if isinstance(pricing, dict) else None,
        raw=raw,
    )


# --------------------------------------------------------------------------
# Inbound messages: one small reader per type, each returning the
# InboundMessage fields it fills.
# --------------------------------------------------------------------------


def _read_text(msg: dict) -> dict:
    return {"body": _str(_dict(msg.get("text")).get("body"))}


def _read_media(msg: dict) -> dict:
    content = _dict(msg.get(_str(msg.get("type"))))
    caption = _str(content.get("caption"))
    media_id = _str(content.get("id"))
    media = None
    if media_id:
        media = Media(
            media_id=media_id,
            mime_type=_str(content.get("mime_type")),
            sha256=_str(content.get("sha256")),
            filename=_str(content.get("filename")),
            caption=caption,
            voice=_flag(content.get("voice")),
            animated=_flag(content.get("animated")),
        )
    return {"body": caption, "media": media}


def _read_location(msg: dict) -> dict:
    content = _dict(msg.get("location"))
    name = _str(content.get("name"))
    address = _str(content.get("address"))
    latitude = _float(content.get("latitude"))
    longitude = _float(content.get("longitude"))
    location = None
    if latitude is not None and longitude is not None:
        location = Location(
            latitude=latitude,
            longitude=longitude,
            name=name,
            address=address,
            url=_str(content.get("url")),
        )
    return {"body": _lines(name, address), "location": location}


def _shared_contact(card: dict) -> SharedContact:
    name = _dict(card.get("name"))
    first_name = _str(name.get("first_name"))
    last_name = _str(name.get("last_name"))
    full_name = _str(name.get("formatted_name")) or " ".join(
        part for part in (first_name, last_name) if part
    )
    phones = tuple(
        ContactPhone(
            phone=_str(entry.get("phone")) or _str(entry.get("wa_id")),
            type=_str(entry.get("type")),
            wa_id=_str(entry.get("wa_id")),
        )
        for entry in map(_dict, _list(card.get("phones")))
        if _str(entry.get("phone")) or _str(entry.get("wa_id"))
    )
    emails = tuple(
        ContactEntry(_str(entry.get("email")), _str(entry.get("type")))
        for entry in map(_dict, _list(card.get("emails")))
        if _str(entry.get("email"))
    )
    urls = tuple(
        ContactEntry(_str(entry.get("url")), _str(entry.get("type")))
        for entry in map(_dict, _list(card.get("urls")))
        if _str(entry.get("url"))
    )
    address_keys = ("street", "city", "state", "zip", "country", "country_code")
    addresses = tuple(
        ContactAddress(
            **{key: _str(entry.get(key)) for key in address_keys},
            type=_str(entry.get("type")),
        )
        for entry in map(_dict, _list(card.get("addresses")))
        if any(_str(entry.get(key)) for key in address_keys)
    )
    org = _dict(card.get("org"))
    return SharedContact(
        name=full_name,
        first_name=first_name,
        last_name=last_name,
        middle_name=_str(name.get("middle_name")),
        name_prefix=_str(name.get("prefix")),
        name_suffix=_str(name.get("suffix")),
        phones=phones,
        emails=emails,
        organization=_str(org.get("company")),
        department=_str(org.get("department")),
        job_title=_str(org.get("title")),
        addresses=addresses,
        urls=urls,
        birthday=_str(card.get("birthday")),
    )


def shared_contacts(cards: Any) -> tuple[SharedContact, ...]:
    """Read the ``contacts`` of a contacts message (a list of cards)."""
    return tuple(
        _shared_contact(card) for card in _list(cards) if isinstance(card, dict)
    )


def _read_contacts(msg: dict) -> dict:
    return {"contacts": shared_contacts(msg.get("contacts"))}


def _read_interactive(msg: dict) -> dict:
    content = _dict(msg.get("interactive"))
    kind = _str(content.get("type"))
    reply = _dict(content.get(kind))
    if kind == "button_reply":
        return {
            "body": _str(reply.get("title")),
            "interactive_type": kind,
            "interactive_reply_id": _str(reply.get("id")),
            "reply_title": _str(reply.get("title")),
        }
    if kind == "list_reply":
        return {
            "body": _lines(_str(reply.get("title")), _str(reply.get("description"))),
            "interactive_type": kind,
            "interactive_reply_id": _str(reply.get("id")),
            "reply_title": _str(reply.get("title")),
            "reply_description": _str(reply.get("description")),
        }
    if kind == "nfm_reply":
        # Flows and address messages: the answer itself is in
        # nfm_reply.response_json, left in raw for the caller.
        return {
            "body": _str(reply.get("body")),
            "interactive_type": kind,
            "interactive_reply_id": _str(reply.get("name")),
        }
    return {"interactive_type": kind}


def _read_button(msg: dict) -> dict:
    content = _dict(msg.get("button"))
    # the payload is what the template defined, the text what the customer
    # read on the button: they differ
    return {
        "body": _str(content.get("text")),
        "interactive_reply_id": _str(content.get("payload")),
        "reply_title": _str(content.get("text")),
    }


def _read_reaction(msg: dict) -> dict:
    content = _dict(msg.get("reaction"))
    emoji = _str(content.get("emoji"))
    return {
        "body": emoji,
        "reaction_emoji": emoji,
        "reaction_to_message_id": _str(content.get("message_id")),
    }


def _read_order(msg: dict) -> dict:
    order = msg.get("order")
    if not isinstance(order, dict):
        return {}
    return {"body": _str(order.get("text")), "order": order}


def _read_system(msg: dict) -> dict:
    content = _dict(msg.get("system"))
    return {
        "body": _str(content.get("body")),
        "system_type": _str(content.get("type")),
        # new_wa_id is the pre-v12 name of the same field.
        "new_wa_id": _str(content.get("wa_id")) or _str(content.get("new_wa_id")),
        "new_user_id": _str(content.get("user_id")),
        "new_parent_user_id": _str(content.get("parent_user_id")),
        "previous_user_id": _str(content.get("previous_user_id")),
        "previous_parent_user_id": _str(content.get("previous_parent_user_id")),
    }


def _read_edit(msg: dict) -> dict:
    """A customer's edit of a message of theirs: the message as it reads
    now (its text, or its file's caption; the file itself is unchanged)."""
    content = _dict(msg.get("edit"))
    edited = _dict(content.get("message"))
    reader = _READERS.get(_str(edited.get("type")))
    fields = reader(edited) if reader in (_read_text, _read_media) else {}
    return {
        "body": fields.get("body", ""),
        "original_message_id": _str(content.get("original_message_id")),
    }


def _read_revoke(msg: dict) -> dict:
    content = _dict(msg.get("revoke"))
    return {"original_message_id": _str(content.get("original_message_id"))}


_READERS = {
    "text": _read_text,
    **dict.fromkeys(MEDIA_TYPES, _read_media),
    "location": _read_location,
    "contacts": _read_contacts,
    "interactive": _read_interactive,
    "button": _read_button,
    "reaction": _read_reaction,
    "order": _read_order,
    "system": _read_system,
    "edit": _read_edit,
    "revoke": _read_revoke,
}


def _parse_message(
    raw: Any,
    phone_number_id: str,
    display_number: str,
    contacts: list[dict],
    sender: Identity | None = None,
) -> InboundMessage:
    msg = _dict(raw)
    message_id = _str(msg.get("id"))
    if not message_id:
        raise PayloadError("an inbound message has no message id")
    message_type = _str(msg.get("type"))
    reader = _READERS.get(message_type)
    fields = reader(msg) if reader else {}
    context = _dict(msg.get("context"))
    referral = msg.get("referral")
    sender = sender or _identity(
        contacts,
        _str(msg.get("from")),
        _str(msg.get("from_user_id")),
        _str(msg.get("from_parent_user_id")),
    )
    return InboundMessage(
        message_id=message_id,
        phone_number_id=phone_number_id,
        display_phone_number=display_number,
        sender=sender,
        timestamp=_int(msg.get("timestamp")),
        type=message_type,
        reply_to_message_id=_str(context.get("id")),
        forwarded=_flag(context.get("forwarded"))
        or _flag(context.get("frequently_forwarded")),
        errors=_errors(msg.get("errors")),
        referral=referral if isinstance(referral, dict) else None,
        raw=msg,
        **fields,
    )


# --------------------------------------------------------------------------
# Coexistence: the WhatsApp Business app and the API on one number. Shapes of
# Meta's webhook references "smb_message_echoes", "history" and
# "smb_app_state_sync" (WhatsApp Business Platform, Webhooks reference).
# --------------------------------------------------------------------------

ECHOES_FIELD = "smb_message_echoes"
HISTORY_FIELD = "history"
APP_CONTACTS_FIELD = "smb_app_state_sync"
COEXISTENCE_FIELDS = (ECHOES_FIELD, HISTORY_FIELD, APP_CONTACTS_FIELD)
_PHONE_CHARACTERS = frozenset("+0123456789 -().")


def _customer(value: str, user_id: str = "") -> Identity:
    """The customer a message of the app went to or came from, as Meta names
    them: a phone number (written as it was input, maybe with ``+``) or a
    business-scoped user id."""
    text = value.strip()
    if text and set(text) <= _PHONE_CHARACTERS and any(c.isdigit() for c in text):
        digits = "".join(char for char in text if char.isdigit())
        return Identity(wa_id=digits, user_id=user_id)
    return Identity(user_id=user_id or text)


def _party_keys(number_id: str, customer: Identity) -> tuple[str, ...]:
    # the same keys as a customer's own messages (see split_items): one
    # customer's messages keep their order whichever way they go
    return tuple(
        f"{number_id}:{name}:{ident}"
        for name, ident in (("wa", customer.wa_id), ("user", customer.user_id))
        if ident
    )


def _number(value: dict) -> tuple[str, str]:
    metadata = _dict(value.get("metadata"))
    return (
        _str(metadata.get("phone_number_id")),
        _str(metadata.get("display_phone_number")),
    )


def _echo_customer(raw: dict) -> Identity:
    return _customer(
        _str(raw.get("to")),
        _str(raw.get("to_user_id")) or _str(raw.get("recipient_user_id")),
    )


def parse_message_echoes(value: dict) -> tuple[AppMessage, ...]:
    """Read the ``value`` of a ``smb_message_echoes`` change: the messages
    the business sent from the WhatsApp Business app (or a device linked to
    it), each to the customer in its ``to``.

    :raises PayloadError: when an echo has no id or no recipient.
    """
    number_id, display = _number(value)
    echoes = []
    for raw in _list(value.get("message_echoes")):
        customer = _echo_customer(_dict(raw))
        message = _parse_message(raw, number_id, display, [], sender=customer)
        if not (customer.wa_id or customer.user_id):
            raise PayloadError(f"echo {message.message_id} has no recipient")
        echoes.append(AppMessage(message, outgoing=True))
    return tuple(echoes)


def _opt_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str) and not value.strip():
        return None
    return _int(value)


def _party(value: str) -> str:
    customer = _customer(value)
    return customer.wa_id or customer.user_id


def _history_message(
    raw: Any, thread_id: str, number_id: str, display: str
) -> AppMessage:
    msg = _dict(raw)
    sender, recipient = _str(msg.get("from")), _str(msg.get("to"))
    # "to" is only there when the business wrote it; else the thread is the
    # customer's, and a message not from them is the business's
    outgoing = bool(recipient) or bool(
        sender and thread_id and _party(sender) != _party(thread_id)
    )
    customer = _customer(
        thread_id or (recipient if outgoing else sender),
        _str(msg.get("to_user_id" if outgoing else "from_user_id")),
    )
    message = _parse_message(msg, number_id, display, [], sender=customer)
    if not (customer.wa_id or customer.user_id):
        raise PayloadError(f"history message {message.message_id} names no customer")
    status = _str(_dict(msg.get("history_context")).get("status")).lower()
    return AppMessage(message, outgoing=outgoing, status=status)


def parse_history(value: dict) -> tuple[HistoryChunk, ...]:
    """Read the ``value`` of a ``history`` change: chunks of the chat history
    the WhatsApp Business app shares, up to 180 days back, one thread per
    customer (group chats are left out by Meta). A media message comes as
    type ``media_placeholder``; for the last 14 days, a later history
    webhook brings the same message with its media.

    :raises PayloadError: when a message has no id or names no customer.
    """
    number_id, display = _number(value)
    chunks = []
    for raw_chunk in _list(value.get("history")):
        chunk = _dict(raw_chunk)
        metadata = _dict(chunk.get("metadata"))
        messages = [
            _history_message(raw, _str(_dict(thread).get("id")), number_id, display)
            for thread in _list(chunk.get("threads"))
            for raw in _list(_dict(thread).get("messages"))
        ]
        chunks.append(
            HistoryChunk(
                phone_number_id=number_id,
                display_phone_number=display,
                phase=_opt_int(metadata.get("phase")),
                chunk_order=_opt_int(metadata.get("chunk_order")),
                progress=_opt_int(metadata.get("progress")),
                messages=tuple(messages),
                errors=_errors(chunk.get("errors")),
            )
        )
    return tuple(chunks)


def parse_app_contacts(value: dict) -> tuple[AppContact, ...]:
    """Read the ``value`` of a ``smb_app_state_sync`` change: contacts the
    business added, edited (``add``) or removed (``remove``) in the WhatsApp
    Business app. Other kinds of state are left aside."""
    number_id, _display = _number(value)
    contacts = []
    for raw in _list(value.get("state_sync")):
        item = _dict(raw)
        if _str(item.get("type")) != "contact":
            continue
        contact = _dict(item.get("contact"))
        contacts.append(
            AppContact(
                phone_number_id=number_id,
                wa_id=_customer(_str(contact.get("phone_number"))).wa_id,
                full_name=_str(contact.get("full_name")),
                first_name=_str(contact.get("first_name")),
                action=_str(item.get("action")),
                timestamp=_int(_dict(item.get("metadata")).get("timestamp")),
            )
        )
    return tuple(contacts)


# --------------------------------------------------------------------------
# Calls (Calling API): the ``calls`` field
# --------------------------------------------------------------------------

CALLS_FIELD = "calls"
USER_INITIATED = "USER_INITIATED"
BUSINESS_INITIATED = "BUSINESS_INITIATED"


@dataclass(frozen=True)
class CallEvent:
    """An item of a ``calls`` change: a call's ``connect`` or ``terminate``
    (``kind`` ``"call"``, ``event``), or a status of a call the business
    placed (``kind`` ``"status"``, ``event`` ``RINGING``, ``ACCEPTED``,
    ``REJECTED``…). ``customer`` is the WhatsApp user on the other end;
    ``incoming`` tells whether they called. ``status`` is how a terminated
    call ended (``COMPLETED``, ``FAILED``…); times are epoch seconds, 0 when
    absent; ``duration`` is in seconds, ``None`` when Meta gives none."""

    kind: str
    phone_number_id: str
    call_id: str
    event: str
    customer: Identity
    incoming: bool
    timestamp: int = 0
    status: str = ""
    start_time: int = 0
    end_time: int = 0
    duration: int | None = None
    errors: tuple[MetaError, ...] = ()
    raw: dict = field(default_factory=dict, compare=False, repr=False)


def _call_direction(raw: dict, display: str) -> bool:
    """Whether the customer placed the call: Meta's ``direction``, else (a
    ``connect`` may come without it) whether the business is not the
    caller."""
    direction = _str(raw.get("direction")).upper()
    if direction in (USER_INITIATED, BUSINESS_INITIATED):
        return direction == USER_INITIATED
    caller = phone.wa_id_key(_str(raw.get("from")))
    own = phone.wa_id_key("".join(char for char in display if char.isdigit()))
    return not (caller and own and caller == own)


def parse_calls(value: dict) -> tuple[CallEvent, ...]:
    """Read the ``value`` of a ``calls`` change: its ``calls[]`` (connect,
    terminate) and ``statuses[]`` (of calls the business placed).

    :raises PayloadError: when an item has no call id, or a call names no
        customer.
    """
    value = _dict(value)
    number_id, display = _number(value)
    contacts = [c for c in _list(value.get("contacts")) if isinstance(c, dict)]
    events = []
    for raw in map(_dict, _list(value.get("calls"))):
        call_id = _str(raw.get("id"))
        if not call_id:
            raise PayloadError("a call event has no call id")
        incoming = _call_direction(raw, display)
        wa_id = _str(raw.get("from") if incoming else raw.get("to"))
        user_id = _str(raw.get("from_user_id") if incoming else raw.get("to_user_id"))
        if not (wa_id or user_id):
            raise PayloadError(f"call {call_id} names no customer")
        events.append(
            CallEvent(
                kind="call",
                phone_number_id=number_id,
                call_id=call_id,
                event=_str(raw.get("event")).lower(),
                customer=_identity(contacts, wa_id, user_id, ""),
                incoming=incoming,
                timestamp=_int(raw.get("timestamp")),
                status=_str(raw.get("status")).upper(),
                start_time=_int(raw.get("start_time")),
                end_time=_int(raw.get("end_time")),
                duration=_opt_int(raw.get("duration")),
                errors=_errors(raw.get("errors")),
                raw=raw,
            )
        )
    for raw in map(_dict, _list(value.get("statuses"))):
        call_id = _str(raw.get("id"))
        if not call_id:
            raise PayloadError("a call status has no call id")
        events.append(
            CallEvent(
                kind="status",
                phone_number_id=number_id,
                call_id=call_id,
                event=_str(raw.get("status")).upper(),
                customer=_identity(
                    contacts,
                    _str(raw.get("recipient_id")),
                    _str(raw.get("recipient_user_id")),
                    "",
                ),
                incoming=False,
                timestamp=_int(raw.get("timestamp")),
                errors=_errors(raw.get("errors")),
                raw=raw,
            )
        )
    return tuple(events)


def _split_calls(value: dict, number_id: str):
    """Each call event and each call status is an item of its own, with the
    keys of its customer (the caller of a call they placed, else the one
    called): one customer's events keep their order, and one that cannot be
    stored does not hold back the others."""
    base = {k: v for k, v in value.items() if k not in ("calls", "statuses")}
    for key in ("calls", "statuses"):
        for raw in _list(value.get(key)):
            item = _dict(raw)
            if key == "statuses":
                party = _str(item.get("recipient_id"))
            elif _str(item.get("direction")).upper() == BUSINESS_INITIATED:
                party = _str(item.get("to"))
            else:
                party = _str(item.get("from"))
            keys = _party_keys(number_id, _customer(party))
            yield "call", {**base, key: [raw]}, keys


def _split_echoes(value: dict, number_id: str):
    base = {key: item for key, item in value.items() if key != "message_echoes"}
    for raw in _list(value.get("message_echoes")):
        keys = _party_keys(number_id, _echo_customer(_dict(raw)))
        yield "message", {**base, "message_echoes": [raw]}, keys


def _split_history(value: dict, number_id: str):
    """Each message of a ``history`` change is an item of its own, with its
    chunk's metadata and its thread's id, and the keys of its customer: one
    webhook may describe thousands of messages (Meta), and one that cannot
    be stored must not hold back the others. A thread's messages come
    oldest first. A chunk's errors, or a chunk that only tells the progress,
    are an item of their own."""
    base = {key: item for key, item in value.items() if key != "history"}
    for raw_chunk in _list(value.get("history")):
        chunk = _dict(raw_chunk)
        threads = [thread for thread in _list(chunk.get("threads")) if thread]
        shell = {k: v for k, v in chunk.items() if k not in ("threads", "errors")}
        if chunk.get("errors") or not threads:
            without = {k: v for k, v in chunk.items() if k != "threads"}
            yield "change", {**base, "history": [without]}, ()
        for thread in threads:
            thread = _dict(thread)
            thread_shell = {k: v for k, v in thread.items() if k != "messages"}
            keys = _party_keys(number_id, _customer(_str(thread.get("id"))))
            raws = sorted(
                _list(thread.get("messages")),
                key=lambda raw: _int(_dict(raw).get("timestamp")),
            )
            for raw in raws:
                one = {**shell, "threads": [{**thread_shell, "messages": [raw]}]}
                yield "message", {**base, "history": [one]}, keys


def _split_app_contacts(value: dict, number_id: str):
    base = {key: item for key, item in value.items() if key != "state_sync"}
    for raw in _list(value.get("state_sync")):
        yield "change", {**base, "state_sync": [raw]}, ()


_COEXISTENCE_SPLITTERS = {
    ECHOES_FIELD: _split_echoes,
    HISTORY_FIELD: _split_history,
    APP_CONTACTS_FIELD: _split_app_contacts,
    CALLS_FIELD: _split_calls,
}
# Other fields: the customer's preferences, template updates
# --------------------------------------------------------------------------


def parse_user_preferences(value: Any) -> tuple[UserPreference, ...]:
    """Read the value of a ``user_preferences`` change.

    Each item names the customer by ``wa_id`` and, since 2026, by
    business-scoped user id; the change's ``contacts`` give their profile.
    Items naming nobody are left out.
    """
    value = _dict(value)
    phone_number_id = _str(_dict(value.get("metadata")).get("phone_number_id"))
    contacts = [c for c in _list(value.get("contacts")) if isinstance(c, dict)]
    found = []
    for item in map(_dict, _list(value.get("user_preferences"))):
        user = _identity(
            contacts,
            _str(item.get("wa_id")),
            _str(item.get("user_id")),
            _str(item.get("parent_user_id")),
        )
        if not (user.wa_id or user.user_id):
            continue
        found.append(
            UserPreference(
                phone_number_id=phone_number_id,
                user=user,
                category=_str(item.get("category")),
                value=_str(item.get("value")).lower(),
                detail=_str(item.get("detail")),
                timestamp=_int(item.get("timestamp")),
            )
        )
    return tuple(found)


def parse_template_update(change: OtherChange) -> TemplateUpdate | None:
    """Read a change of one of :data:`TEMPLATE_FIELDS`; ``None`` for another
    field or a change naming no template."""
    if change.field not in TEMPLATE_FIELDS:
        return None
    value = _dict(change.value)
    template_id = _str(value.get("message_template_id"))
    if not template_id:
        return None
    rejection = _dict(value.get("rejection_info"))
    other = _dict(value.get("other_info"))
    return TemplateUpdate(
        field=change.field,
        business_account_id=change.business_account_id,
        template_id=template_id,
        name=_str(value.get("message_template_name")),
        language=_str(value.get("message_template_language")),
        event=_str(value.get("event")).upper(),
        reason=_str(value.get("reason")),
        category=_str(value.get("message_template_category")).upper(),
        rejection_reason=_str(rejection.get("reason")),
        rejection_recommendation=_str(rejection.get("recommendation")),
        info_title=_str(other.get("title")),
        info_description=_str(other.get("description")),
        disabled_at=_int(_dict(value.get("disable_info")).get("disable_date")),
        previous_quality=_str(value.get("previous_quality_score")).upper(),
        new_quality=_str(value.get("new_quality_score")).upper(),
        previous_category=_str(value.get("previous_category")).upper(),
        new_category=_str(value.get("new_category")).upper(),
        correct_category=_str(value.get("correct_category")).upper(),
        category_change_at=_int(value.get("category_update_timestamp")),
        time=change.time,
    )


def parse_message(raw: Any) -> InboundMessage:
    """Read one stored inbound message (the ``messages[]`` item as Meta sent
    it, without its envelope), e.g. to fill in fields added later.

    :raises PayloadError: when it has no id.
    """
    return _parse_message(raw, "", "", [])


# --------------------------------------------------------------------------
# Status ordering
# --------------------------------------------------------------------------


def status_moves_forward(current: str, new: str) -> bool:
    """Tell whether a message in state ``current`` may take state ``new``.

    Meta does not guarantee webhook order, so a late ``delivered`` can arrive
    after ``read``. The rules:

    * the same state never moves;
    * ``failed`` replaces anything except ``read`` (a read message was
      delivered, whatever a later failure report says);
    * a state outside :data:`STATUS_RANK` (e.g. ``played``) never moves;
    * after ``failed``, only ``delivered`` or ``read`` move (they prove the
      message arrived; a late ``sent`` does not);
    * otherwise the rank must go up; an unknown or empty ``current`` ranks 0.
    """
    if new == current:
        return False
    if new == "failed":
        return current != "read"
    if new not in STATUS_RANK:
        return False
    if current == "failed":
        return new in ("delivered", "read")
    return STATUS_RANK[new] > STATUS_RANK.get(current, 0)
