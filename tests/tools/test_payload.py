"""Tests for whatsapp_team.tools.payload.

The sample bodies follow the shapes of Meta's "messages" webhook reference
(Cloud API, including the 2026 business-scoped user id fields); the values
are made up.
"""

import base64
import copy
import dataclasses
import hashlib

import pytest

from whatsapp_team.tools.payload import (
    MAX_DEPTH,
    STATUS_RANK,
    TEMPLATE_FIELDS,
    AppContact,
    AppMessage,
    ContactAddress,
    ContactEntry,
    ContactPhone,
    HistoryChunk,
    Identity,
    InboundMessage,
    Location,
    Media,
    MetaError,
    OtherChange,
    PayloadError,
    SharedContact,
    TemplateUpdate,
    UserPreference,
    WebhookBatch,
    business_account_ids,
    check_depth,
    checksum_matches,
    is_own_number,
    parse_app_contacts,
    parse_history,
    parse_message,
    parse_message_echoes,
    parse_template_update,
    parse_user_preferences,
    parse_webhook,
    phone_number_ids,
    shared_contacts,
    split_items,
    status_moves_forward,
)

WABA_ID = "102290129340398"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_NUMBER = "15550783881"
CUSTOMER = "16505551234"
CUSTOMER_BSUID = "US.13491208655302741918"
PARENT_BSUID = "US.ENT.11815799212886844830"
WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
OUR_WAMID = "wamid.OUTBOUND0000000000000000000000000000000000000000="


def envelope(*changes, waba_id=WABA_ID):
    """Wrap change dicts in Meta's webhook envelope (one entry)."""
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": list(changes)}],
    }


def messages_change(
    messages=None,
    statuses=None,
    contacts=None,
    errors=None,
    phone_number_id=PHONE_NUMBER_ID,
):
    """Build a ``messages`` field change the way Meta lays it out."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": DISPLAY_NUMBER,
            "phone_number_id": phone_number_id,
        },
    }
    if contacts is not None:
        value["contacts"] = contacts
    if messages is not None:
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    if errors is not None:
        value["errors"] = errors
    return {"field": "messages", "value": value}


def contact(wa_id=CUSTOMER, user_id=CUSTOMER_BSUID, name="Sheena Nelson", **extra):
    entry = {"profile": {"name": name}}
    if wa_id:
        entry["wa_id"] = wa_id
    if user_id:
        entry["user_id"] = user_id
    if "username" in extra:
        entry["profile"]["username"] = extra.pop("username")
    entry.update(extra)
    return entry


def message(msg_type, content=None, **extra):
    """An inbound message from CUSTOMER of the given type."""
    msg = {
        "from": CUSTOMER,
        "id": WAMID,
        "timestamp": "1739321024",
        "type": msg_type,
    }
    if content is not None:
        msg[msg_type] = content
    msg.update(extra)
    return msg


def parse_one(msg, contacts=None):
    """Parse a body holding a single inbound message and return it."""
    if contacts is None:
        contacts = [contact()]
    batch = parse_webhook(envelope(messages_change([msg], contacts=contacts)))
    assert len(batch.messages) == 1
    return batch.messages[0]


# ---------------------------------------------------------------- messages


def test_text_message_with_sender_identity():
    msg = message("text", {"body": "Hello there"})
    batch = parse_webhook(envelope(messages_change([msg], contacts=[contact()])))

    assert batch.statuses == () and batch.others == () and batch.errors == ()
    parsed = batch.messages[0]
    assert parsed.message_id == WAMID
    assert parsed.phone_number_id == PHONE_NUMBER_ID
    assert parsed.display_phone_number == DISPLAY_NUMBER
    assert parsed.type == "text"
    assert parsed.body == "Hello there"
    assert parsed.timestamp == 1739321024
    assert parsed.sender == Identity(
        wa_id=CUSTOMER, user_id=CUSTOMER_BSUID, profile_name="Sheena Nelson"
    )
    assert parsed.raw == msg
    assert parsed.media is None and parsed.location is None
    assert parsed.errors == ()


def test_sender_with_only_a_bsuid_and_a_username():
    msg = message("text", {"body": "hi"}, from_user_id=CUSTOMER_BSUID)
    del msg["from"]
    entry = contact(wa_id="", username="@sheena", parent_user_id=PARENT_BSUID)

    parsed = parse_one(msg, contacts=[entry])

    assert parsed.sender == Identity(
        wa_id="",
        user_id=CUSTOMER_BSUID,
        parent_user_id=PARENT_BSUID,
        username="@sheena",
        profile_name="Sheena Nelson",
    )


def test_sender_ids_on_the_message_win_and_contacts_complete_them():
    msg = message(
        "text",
        {"body": "hi"},
        from_user_id=CUSTOMER_BSUID,
        from_parent_user_id=PARENT_BSUID,
    )
    parsed = parse_one(msg, contacts=[contact(user_id="", username="@sheena")])

    assert parsed.sender.wa_id == CUSTOMER
    assert parsed.sender.user_id == CUSTOMER_BSUID
    assert parsed.sender.parent_user_id == PARENT_BSUID
    assert parsed.sender.username == "@sheena"


def test_each_message_gets_its_own_contacts_entry():
    other = "447700900001"
    other_bsuid = "GB.998877"
    first = message("text", {"body": "one"})
    second = message("text", {"body": "two"}, id="wamid.two", from_user_id=other_bsuid)
    second["from"] = ""
    contacts = [
        contact(wa_id=other, user_id=other_bsuid, name="Other"),
        contact(),
    ]
    batch = parse_webhook(envelope(messages_change([first, second], contacts=contacts)))

    assert batch.messages[0].sender.profile_name == "Sheena Nelson"
    assert batch.messages[1].sender == Identity(
        wa_id=other, user_id=other_bsuid, profile_name="Other"
    )


def test_single_contacts_entry_naming_someone_else_is_ignored():
    parsed = parse_one(
        message("text", {"body": "hi"}),
        contacts=[contact(wa_id="447700900001", user_id="")],
    )
    assert parsed.sender == Identity(wa_id=CUSTOMER)


def test_single_contacts_entry_with_another_bsuid_is_ignored():
    msg = message("text", {"body": "hi"}, from_user_id=CUSTOMER_BSUID)
    del msg["from"]
    parsed = parse_one(msg, contacts=[contact(wa_id="", user_id="US.1")])
    assert parsed.sender == Identity(user_id=CUSTOMER_BSUID)


def test_single_contacts_entry_without_ids_applies():
    parsed = parse_one(
        message("text", {"body": "hi"}),
        contacts=[{"profile": {"name": "Sheena"}}],
    )
    assert parsed.sender == Identity(wa_id=CUSTOMER, profile_name="Sheena")


def test_image_with_caption():
    image = {
        "caption": "The best succulent ever?",
        "mime_type": "image/jpeg",
        "sha256": "McdSbUXvmdwiIyiHP1a0kdBQKbTy+pY2u4BO4PBpbkM=",
        "id": "1003383421387256",
        "url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1",
    }
    parsed = parse_one(message("image", image))

    assert parsed.body == "The best succulent ever?"
    assert parsed.media == Media(
        media_id="1003383421387256",
        mime_type="image/jpeg",
        sha256=image["sha256"],
        caption="The best succulent ever?",
    )


def test_voice_audio():
    audio = {
        "mime_type": "audio/ogg; codecs=opus",
        "sha256": "x",
        "id": "42",
        "voice": True,
    }
    parsed = parse_one(message("audio", audio))

    assert parsed.body == ""
    assert parsed.media.voice is True
    assert parsed.media.mime_type == "audio/ogg; codecs=opus"


def test_audio_voice_flag_must_be_a_real_boolean():
    parsed = parse_one(message("audio", {"id": "42", "voice": "false"}))
    assert parsed.media.voice is False


def test_checksum_in_hexadecimal_or_base64():
    # Meta's webhook references give media "sha256" in base64 (messages/image)
    # and the media endpoint in hexadecimal: both are read
    content = b"a picture"
    digest = hashlib.sha256(content).digest()
    for checksum in (
        digest.hex(),
        digest.hex().upper(),
        base64.b64encode(digest).decode(),
        base64.urlsafe_b64encode(digest).decode().rstrip("="),
    ):
        assert checksum_matches(content, checksum) is True, checksum
        assert checksum_matches(b"another picture", checksum) is False, checksum
    for unreadable in ("", "  ", "x", "not a checksum at all!", "ab" * 10):
        assert checksum_matches(content, unreadable) is None, unreadable


def test_parse_message_reads_a_stored_message():
    stored = message("audio", {"id": "7", "voice": True, "sha256": "s"})
    parsed = parse_message(stored)
    assert (parsed.type, parsed.media.voice, parsed.media.sha256) == (
        "audio",
        True,
        "s",
    )
    with pytest.raises(PayloadError):
        parse_message({"type": "text"})


def test_video_with_caption():
    parsed = parse_one(
        message("video", {"id": "7", "mime_type": "video/mp4", "caption": "Look"})
    )
    assert parsed.body == "Look"
    assert parsed.media == Media(media_id="7", mime_type="video/mp4", caption="Look")


def test_document_keeps_filename():
    document = {
        "caption": "Invoice",
        "filename": "invoice-0042.pdf",
        "mime_type": "application/pdf",
        "sha256": "abc",
        "id": "1234",
    }
    parsed = parse_one(message("document", document))

    assert parsed.body == "Invoice"
    assert parsed.media.filename == "invoice-0042.pdf"
    assert parsed.media.media_id == "1234"


def test_animated_sticker():
    sticker = {"mime_type": "image/webp", "sha256": "s", "id": "55", "animated": True}
    parsed = parse_one(message("sticker", sticker))

    assert parsed.media == Media(
        media_id="55", mime_type="image/webp", sha256="s", animated=True
    )
    assert parsed.body == ""


def test_media_without_id_has_no_media():
    parsed = parse_one(message("image", {"caption": "lost"}))
    assert parsed.media is None
    assert parsed.body == "lost"


def test_location():
    location = {
        "address": "1 Hacker Way, Menlo Park, CA 94025",
        "latitude": 37.483307,
        "longitude": "-122.148981",
        "name": "Meta HQ",
        "url": "https://meta.com",
    }
    parsed = parse_one(message("location", location))

    assert parsed.location == Location(
        latitude=37.483307,
        longitude=-122.148981,
        name="Meta HQ",
        address="1 Hacker Way, Menlo Park, CA 94025",
        url="https://meta.com",
    )
    assert parsed.body == "Meta HQ\n1 Hacker Way, Menlo Park, CA 94025"


def test_location_pin_without_name():
    parsed = parse_one(message("location", {"latitude": 1.5, "longitude": 2}))
    assert parsed.location == Location(latitude=1.5, longitude=2.0)
    assert parsed.body == ""


def test_location_without_coordinates():
    parsed = parse_one(message("location", {"latitude": "north", "name": "Somewhere"}))
    assert parsed.location is None
    assert parsed.body == "Somewhere"


def test_shared_contacts():
    # Meta's "Contacts messages webhook reference" (webhooks/reference/
    # messages/contacts): every property of a card, and a card whose phone
    # shared only part of it
    cards = [
        {
            "addresses": [
                {
                    "city": "Menlo Park",
                    "country": "United States",
                    "country_code": "US",
                    "state": "CA",
                    "street": "1 Lucky Shrub Way",
                    "type": "HOME",
                    "zip": "94025",
                },
                {"type": "WORK"},
            ],
            "birthday": "1999-01-23",
            "emails": [
                {"email": "bjohnson@example.com", "type": "WORK"},
                {"email": "barb@example.com"},
            ],
            "name": {
                "formatted_name": "Dr. Barbara J. Johnson Esq.",
                "first_name": "Barbara",
                "last_name": "Johnson",
                "middle_name": "Joana",
                "suffix": "Esq.",
                "prefix": "Dr.",
            },
            "org": {
                "company": "Lucky Shrub",
                "department": "Legal",
                "title": "Lawyer",
            },
            "phones": [
                {"phone": "+1 (940) 555-1234", "type": "HOME", "wa_id": "19405551234"},
                {"phone": "+1 (650) 555-1234", "type": "WORK"},
                {"type": "WORK"},
            ],
            "urls": [{"url": "https://www.luckyshrub.com", "type": "WORK"}],
            "vcard": "BEGIN:VCARD...",
        },
        {"name": {"first_name": "Ann", "last_name": "Lee"}},
        "not a card",
    ]
    parsed = parse_one(message("contacts", cards))

    assert parsed.contacts == (
        SharedContact(
            name="Dr. Barbara J. Johnson Esq.",
            first_name="Barbara",
            last_name="Johnson",
            middle_name="Joana",
            name_prefix="Dr.",
            name_suffix="Esq.",
            phones=(
                ContactPhone("+1 (940) 555-1234", "HOME", "19405551234"),
                ContactPhone("+1 (650) 555-1234", "WORK"),
            ),
            emails=(
                ContactEntry("bjohnson@example.com", "WORK"),
                ContactEntry("barb@example.com"),
            ),
            organization="Lucky Shrub",
            department="Legal",
            job_title="Lawyer",
            addresses=(
                ContactAddress(
                    street="1 Lucky Shrub Way",
                    city="Menlo Park",
                    state="CA",
                    zip="94025",
                    country="United States",
                    country_code="US",
                    type="HOME",
                ),
            ),
            urls=(ContactEntry("https://www.luckyshrub.com", "WORK"),),
            birthday="1999-01-23",
        ),
        SharedContact(name="Ann Lee", first_name="Ann", last_name="Lee"),
    )
    assert parsed.body == ""


def test_shared_contact_phone_with_only_a_whatsapp_id():
    card = {"name": {"formatted_name": "Li"}, "phones": [{"wa_id": "8613912345678"}]}
    (parsed,) = shared_contacts([card])
    assert parsed.phones == (ContactPhone("8613912345678", "", "8613912345678"),)


def test_interactive_button_reply():
    msg = message(
        "interactive",
        {"type": "button_reply", "button_reply": {"id": "yes-btn", "title": "Yes"}},
        context={"from": DISPLAY_NUMBER, "id": OUR_WAMID},
    )
    parsed = parse_one(msg)

    assert parsed.body == "Yes"
    assert parsed.interactive_type == "button_reply"
    assert parsed.interactive_reply_id == "yes-btn"
    assert parsed.reply_title == "Yes"
    assert parsed.reply_description == ""
    assert parsed.reply_to_message_id == OUR_WAMID


def test_interactive_list_reply_with_description():
    reply = {"id": "row-2", "title": "Tuesday", "description": "9:00 to 12:00"}
    msg = message("interactive", {"type": "list_reply", "list_reply": reply})
    parsed = parse_one(msg)

    assert parsed.body == "Tuesday\n9:00 to 12:00"
    assert parsed.interactive_type == "list_reply"
    assert parsed.interactive_reply_id == "row-2"
    assert parsed.reply_title == "Tuesday"
    assert parsed.reply_description == "9:00 to 12:00"


def test_interactive_list_reply_without_description():
    reply = {"id": "row-1", "title": "Monday"}
    parsed = parse_one(
        message("interactive", {"type": "list_reply", "list_reply": reply})
    )
    assert parsed.body == "Monday"


def test_interactive_flow_reply():
    reply = {"name": "flow", "body": "Sent", "response_json": '{"flow_token": "t"}'}
    parsed = parse_one(
        message("interactive", {"type": "nfm_reply", "nfm_reply": reply})
    )

    assert parsed.type == "interactive"
    assert parsed.body == "Sent"
    assert parsed.interactive_reply_id == "flow"
    assert (
        parsed.raw["interactive"]["nfm_reply"]["response_json"] == '{"flow_token": "t"}'
    )


def test_interactive_of_unknown_kind():
    content = {
        "type": "call_permission_reply",
        "call_permission_reply": {"response": "accept"},
    }
    parsed = parse_one(message("interactive", content))
    assert parsed.body == "" and parsed.interactive_reply_id == ""
    assert parsed.interactive_type == "call_permission_reply"


def test_template_quick_reply_button():
    msg = message(
        "button",
        {"payload": "STOP_PROMOS", "text": "Stop promotions"},
        context={"from": DISPLAY_NUMBER, "id": OUR_WAMID},
    )
    parsed = parse_one(msg)

    assert parsed.type == "button"
    assert parsed.body == "Stop promotions"
    # the payload and the text differ: both are kept
    assert parsed.interactive_reply_id == "STOP_PROMOS"
    assert parsed.reply_title == "Stop promotions"
    assert parsed.reply_to_message_id == OUR_WAMID


def test_reaction():
    parsed = parse_one(
        message("reaction", {"message_id": OUR_WAMID, "emoji": "\U0001f44d"})
    )

    assert parsed.reaction_to_message_id == OUR_WAMID
    assert parsed.reaction_emoji == "\U0001f44d"
    assert parsed.body == "\U0001f44d"


@pytest.mark.parametrize(
    "reaction", [{"message_id": OUR_WAMID}, {"message_id": OUR_WAMID, "emoji": ""}]
)
def test_removed_reaction(reaction):
    parsed = parse_one(message("reaction", reaction))
    assert parsed.reaction_to_message_id == OUR_WAMID
    assert parsed.reaction_emoji == ""
    assert parsed.body == ""


def test_customer_edit_of_a_text_reads_the_new_text():
    edit = {
        "original_message_id": OUR_WAMID,
        "message": {"type": "text", "text": {"body": "See you at 6"}},
    }
    parsed = parse_one(message("edit", edit))
    assert parsed.type == "edit"
    assert parsed.original_message_id == OUR_WAMID
    assert parsed.body == "See you at 6"
    assert parsed.media is None


def test_customer_edit_of_a_photo_reads_the_new_caption_only():
    edit = {
        "original_message_id": OUR_WAMID,
        "message": {
            "type": "image",
            "image": {"id": "1234", "mime_type": "image/jpeg", "caption": "the red"},
        },
    }
    parsed = parse_one(message("edit", edit))
    assert parsed.body == "the red"
    assert parsed.media is None, "the file is unchanged: nothing to download"


@pytest.mark.parametrize("edit", [{}, {"message": "garbage"}, "garbage"])
def test_customer_edit_of_another_shape_is_read_as_nothing(edit):
    parsed = parse_one(message("edit", edit))
    assert (parsed.body, parsed.original_message_id) == ("", "")


def test_customer_deletion():
    parsed = parse_one(message("revoke", {"original_message_id": OUR_WAMID}))
    assert parsed.type == "revoke"
    assert parsed.original_message_id == OUR_WAMID
    assert parsed.body == ""


def test_catalog_order():
    order = {
        "catalog_id": "194836987003835",
        "text": "Please deliver before noon",
        "product_items": [
            {
                "product_retailer_id": "di9ozbzfi4",
                "quantity": 2,
                "item_price": 30,
                "currency": "USD",
            }
        ],
    }
    parsed = parse_one(message("order", order))

    assert parsed.order == order
    assert parsed.body == "Please deliver before noon"


def test_system_user_changed_number_has_no_contacts():
    system = {
        "body": "User Sheena Nelson changed from 16505551234 to 12195555358",
        "wa_id": "12195555358",
        "type": "user_changed_number",
    }
    batch = parse_webhook(envelope(messages_change([message("system", system)])))
    parsed = batch.messages[0]

    assert parsed.type == "system"
    assert parsed.system_type == "user_changed_number"
    assert parsed.new_wa_id == "12195555358"
    assert parsed.new_user_id == ""
    assert parsed.body == system["body"]
    assert parsed.sender == Identity(wa_id=CUSTOMER)


def test_system_user_changed_user_id():
    system = {
        "body": "User's business-scoped user id changed",
        "user_id": "US.55555555555555555555",
        "type": "user_changed_user_id",
    }
    msg = message("system", system, from_user_id=CUSTOMER_BSUID)
    del msg["from"]
    parsed = parse_one(msg, contacts=[])

    assert parsed.system_type == "user_changed_user_id"
    assert parsed.new_user_id == "US.55555555555555555555"
    assert parsed.new_wa_id == ""
    assert parsed.sender == Identity(user_id=CUSTOMER_BSUID)


def test_system_user_changed_number_with_business_scoped_ids():
    # Meta's "System messages webhook reference" and the changelog of
    # Aug 11, 2026: a number change also gives a new business-scoped user id,
    # reported with the previous one
    system = {
        "body": "User Sheena Nelson changed from 16505551234 to 12195555358",
        "wa_id": "12195555358",
        "user_id": "US.55555555555555555555",
        "parent_user_id": "US.ENT.55555555555555555555",
        "previous_user_id": CUSTOMER_BSUID,
        "previous_parent_user_id": PARENT_BSUID,
        "type": "user_changed_number",
    }
    msg = message("system", system, from_user_id=CUSTOMER_BSUID)
    parsed = parse_one(msg, contacts=[])

    assert parsed.new_wa_id == "12195555358"
    assert parsed.new_user_id == "US.55555555555555555555"
    assert parsed.new_parent_user_id == "US.ENT.55555555555555555555"
    assert parsed.previous_user_id == CUSTOMER_BSUID
    assert parsed.previous_parent_user_id == PARENT_BSUID
    assert parsed.sender == Identity(wa_id=CUSTOMER, user_id=CUSTOMER_BSUID)


def test_system_user_changed_user_id_with_the_previous_id():
    # the same references: no phone number, only the ids
    system = {
        "body": "User Sheena Nelson changed from "
        f"{CUSTOMER_BSUID} to US.66666666666666666666",
        "user_id": "US.66666666666666666666",
        "previous_user_id": CUSTOMER_BSUID,
        "type": "user_changed_user_id",
    }
    msg = message("system", system, from_user_id=CUSTOMER_BSUID)
    del msg["from"]
    parsed = parse_one(msg, contacts=[])

    assert parsed.system_type == "user_changed_user_id"
    assert parsed.new_user_id == "US.66666666666666666666"
    assert parsed.previous_user_id == CUSTOMER_BSUID
    assert parsed.new_wa_id == ""


def test_system_legacy_new_wa_id():
    system = {
        "body": "changed",
        "new_wa_id": 12195555358,
        "type": "customer_changed_number",
    }
    parsed = parse_one(message("system", system), contacts=[])
    assert parsed.new_wa_id == "12195555358"


def test_unsupported_message_carries_error():
    errors = [
        {
            "code": 131051,
            "title": "Message type unknown",
            "message": "Message type unknown",
            "error_data": {"details": "Message type is currently not supported."},
        }
    ]
    msg = message("unsupported", {"type": "edit"}, errors=errors)
    parsed = parse_one(msg)

    assert parsed.type == "unsupported"
    assert parsed.body == ""
    assert parsed.errors == (
        MetaError(
            code=131051,
            title="Message type unknown",
            message="Message type unknown",
            details="Message type is currently not supported.",
        ),
    )
    assert parsed.raw["unsupported"] == {"type": "edit"}


def test_request_welcome():
    parsed = parse_one(message("request_welcome"))
    assert parsed.type == "request_welcome"
    assert parsed.body == ""


def test_unknown_future_type_is_kept():
    parsed = parse_one(message("hologram", {"body": "from the future"}))
    assert parsed.type == "hologram"
    assert parsed.body == ""
    assert parsed.raw["hologram"] == {"body": "from the future"}


def test_forwarded_flags():
    forwarded = parse_one(message("text", {"body": "fw"}, context={"forwarded": True}))
    frequently = parse_one(
        message("text", {"body": "fw"}, context={"frequently_forwarded": True})
    )
    not_really = parse_one(
        message("text", {"body": "fw"}, context={"forwarded": "false"})
    )

    assert forwarded.forwarded is True
    assert frequently.forwarded is True
    assert not_really.forwarded is False
    assert forwarded.reply_to_message_id == ""


def test_click_to_whatsapp_referral():
    referral = {
        "source_url": "https://fb.me/3cr4Wqqkv",
        "source_id": "120226305854810726",
        "source_type": "ad",
        "headline": "Chat with us",
        "body": "Free shipping",
        "media_type": "image",
        "image_url": "https://scontent.xx.fbcdn.net/v/t45.1",
        "ctwa_clid": "ctwa-click-0001",
    }
    parsed = parse_one(message("text", {"body": "Hi!"}, referral=referral))
    assert parsed.referral == referral


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, 0),
        ("", 0),
        ("abc", 0),
        ("1739321024", 1739321024),
        (1739321024, 1739321024),
        ("17.9", 17),
        (True, 0),
    ],
)
def test_timestamps(value, expected):
    msg = message("text", {"body": "x"})
    if value is None:
        del msg["timestamp"]
    else:
        msg["timestamp"] = value
    assert parse_one(msg).timestamp == expected


def test_messages_are_frozen_and_raw_is_not_compared():
    first = parse_one(message("text", {"body": "x"}, extra_field=1))
    second = parse_one(message("text", {"body": "x"}))

    assert first == second
    assert "raw" not in repr(first)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.body = "changed"  # type: ignore[misc]


def test_inbound_message_defaults():
    bare = InboundMessage(
        message_id="m",
        phone_number_id="p",
        display_phone_number="d",
        sender=Identity(),
        timestamp=0,
        type="text",
    )
    assert bare.raw == {} and bare.contacts == () and bare.order is None


# ---------------------------------------------------------------- statuses


def test_read_status_with_contacts_entry():
    status = {
        "id": OUR_WAMID,
        "status": "read",
        "timestamp": "1750263773",
        "recipient_id": CUSTOMER,
        "recipient_user_id": CUSTOMER_BSUID,
        "pricing": {
            "billable": False,
            "pricing_model": "PMP",
            "category": "service",
            "type": "free_customer_service",
        },
    }
    entry = contact(username="@sheena")
    batch = parse_webhook(
        envelope(messages_change(statuses=[status], contacts=[entry]))
    )

    assert batch.messages == ()
    parsed = batch.statuses[0]
    assert parsed.message_id == OUR_WAMID
    assert parsed.phone_number_id == PHONE_NUMBER_ID
    assert parsed.status == "read"
    assert parsed.timestamp == 1750263773
    assert parsed.recipient == Identity(
        wa_id=CUSTOMER,
        user_id=CUSTOMER_BSUID,
        username="@sheena",
        profile_name="Sheena Nelson",
    )
    assert parsed.pricing == status["pricing"]
    assert parsed.errors == ()
    assert parsed.raw == status


def test_sent_status_with_conversation():
    status = {
        "id": OUR_WAMID,
        "status": "sent",
        "timestamp": "1750263773",
        "recipient_id": CUSTOMER,
        "conversation": {
            "id": "6ceb9d929c1ffd4ef3eba5e1f5ff2c4c",
            "expiration_timestamp": "1750350180",
            "origin": {"type": "service"},
        },
    }
    parsed = parse_webhook(envelope(messages_change(statuses=[status]))).statuses[0]

    assert parsed.conversation_id == "6ceb9d929c1ffd4ef3eba5e1f5ff2c4c"
    assert parsed.pricing is None
    assert parsed.recipient == Identity(wa_id=CUSTOMER)


def test_failed_status_with_errors_and_only_a_bsuid():
    status = {
        "id": OUR_WAMID,
        "status": "failed",
        "timestamp": "1750263773",
        "recipient_user_id": CUSTOMER_BSUID,
        "recipient_parent_user_id": PARENT_BSUID,
        "errors": [
            {
                "code": 131047,
                "title": "Re-engagement message",
                "message": "Re-engagement message",
                "error_data": {"details": "More than 24 hours since the last reply."},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
            }
        ],
    }
    parsed = parse_webhook(envelope(messages_change(statuses=[status]))).statuses[0]

    assert parsed.status == "failed"
    assert parsed.recipient == Identity(
        user_id=CUSTOMER_BSUID, parent_user_id=PARENT_BSUID
    )
    assert parsed.errors[0].code == 131047
    assert parsed.errors[0].details.startswith("More than 24 hours")
    assert parsed.errors[0].href.startswith("https://")


def test_unknown_status_is_kept_verbatim():
    status = {
        "id": OUR_WAMID,
        "status": "played",
        "timestamp": "1",
        "recipient_id": CUSTOMER,
    }
    parsed = parse_webhook(envelope(messages_change(statuses=[status]))).statuses[0]
    assert parsed.status == "played"


# ------------------------------------------------------- batches & others


def test_other_fields_are_passed_through():
    template_value = {
        "event": "APPROVED",
        "message_template_id": 12345678,
        "message_template_name": "order_update",
        "message_template_language": "en_US",
        "reason": "NONE",
    }
    body = envelope(
        {"field": "message_template_status_update", "value": template_value},
        messages_change([message("text", {"body": "hi"})], contacts=[contact()]),
    )
    batch = parse_webhook(body)

    assert batch.others == (
        OtherChange(
            field="message_template_status_update",
            business_account_id=WABA_ID,
            value=template_value,
        ),
    )
    assert len(batch.messages) == 1


def test_other_changes_carry_the_entry_time():
    body = envelope({"field": "account_update", "value": {"event": "x"}})
    body["entry"][0]["time"] = 1739321024
    (change,) = parse_webhook(body).others
    assert change.time == 1739321024


# --------------------------------------------------------- user_preferences


def user_preferences_change(*items, contacts=None):
    """A ``user_preferences`` change as in Meta's "user_preferences webhook
    reference" (webhooks/reference/user_preferences)."""
    return {
        "field": "user_preferences",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": DISPLAY_NUMBER,
                "phone_number_id": PHONE_NUMBER_ID,
            },
            "contacts": contacts if contacts is not None else [contact()],
            "user_preferences": list(items),
        },
    }


def test_user_preferences_stop_and_resume():
    stop = {
        "wa_id": CUSTOMER,
        "user_id": CUSTOMER_BSUID,
        "detail": "User requested to stop marketing messages",
        "category": "marketing_messages",
        "value": "stop",
        "timestamp": 1731705721,
    }
    resume = {
        "wa_id": CUSTOMER,
        "detail": "User requested to resume marketing messages",
        "category": "marketing_messages",
        "value": "resume",
        "timestamp": 1731705799,
    }
    (change,) = parse_webhook(envelope(user_preferences_change(stop, resume))).others
    assert change.field == "user_preferences"

    parsed = parse_user_preferences(change.value)

    assert parsed == (
        UserPreference(
            phone_number_id=PHONE_NUMBER_ID,
            user=Identity(
                wa_id=CUSTOMER, user_id=CUSTOMER_BSUID, profile_name="Sheena Nelson"
            ),
            category="marketing_messages",
            value="stop",
            detail="User requested to stop marketing messages",
            timestamp=1731705721,
        ),
        UserPreference(
            phone_number_id=PHONE_NUMBER_ID,
            user=Identity(
                wa_id=CUSTOMER, user_id=CUSTOMER_BSUID, profile_name="Sheena Nelson"
            ),
            category="marketing_messages",
            value="resume",
            detail="User requested to resume marketing messages",
            timestamp=1731705799,
        ),
    )


def test_user_preferences_naming_nobody_are_left_out():
    items = [{"value": "stop"}, "odd", {"user_id": CUSTOMER_BSUID, "value": "STOP"}]
    parsed = parse_user_preferences(
        user_preferences_change(*items, contacts=[])["value"]
    )
    assert [(p.user.user_id, p.value) for p in parsed] == [(CUSTOMER_BSUID, "stop")]
    assert parse_user_preferences("not a value") == ()


def test_user_preferences_name_their_number():
    body = envelope(user_preferences_change({"wa_id": CUSTOMER, "value": "stop"}))
    assert phone_number_ids(body) == [PHONE_NUMBER_ID]
    assert business_account_ids(body) == []


# --------------------------------------------------------- template updates


def template_change(field, value, time=1739321024):
    body = envelope({"field": field, "value": value})
    body["entry"][0]["time"] = time
    (change,) = parse_webhook(body).others
    return change


def test_template_rejected_with_rejection_info():
    # Meta's "message_template_status_update webhook reference"
    change = template_change(
        "message_template_status_update",
        {
            "event": "REJECTED",
            "message_template_id": 1689556908129832,
            "message_template_name": "abandoned_cart",
            "message_template_language": "en_US",
            "reason": "INVALID_FORMAT",
            "message_template_category": "MARKETING",
            "rejection_info": {
                "reason": "Variables can't be next to each other.",
                "recommendation": "Add text between {{1}} and {{2}}.",
            },
        },
    )
    assert parse_template_update(change) == TemplateUpdate(
        field="message_template_status_update",
        business_account_id=WABA_ID,
        template_id="1689556908129832",
        name="abandoned_cart",
        language="en_US",
        event="REJECTED",
        reason="INVALID_FORMAT",
        category="MARKETING",
        rejection_reason="Variables can't be next to each other.",
        rejection_recommendation="Add text between {{1}} and {{2}}.",
        time=1739321024,
    )


def test_template_paused_and_disabled():
    paused = parse_template_update(
        template_change(
            "message_template_status_update",
            {
                "event": "PAUSED",
                "message_template_id": 806312974732579,
                "message_template_name": "welcome_template",
                "message_template_language": "en-US",
                "reason": "NONE",
                "other_info": {
                    "title": "FIRST_PAUSE",
                    "description": "Your WhatsApp message template has been "
                    "paused for 3 hours until Jun 30 at 4:30 AM UTC.",
                },
            },
        )
    )
    assert (paused.event, paused.info_title) == ("PAUSED", "FIRST_PAUSE")
    assert paused.info_description.startswith("Your WhatsApp message template")
    disabled = parse_template_update(
        template_change(
            "message_template_status_update",
            {
                "event": "DISABLED",
                "message_template_id": "806312974732579",
                "reason": "NONE",
                "disable_info": {"disable_date": "1751234563"},
            },
        )
    )
    assert (disabled.event, disabled.disabled_at) == ("DISABLED", 1751234563)


def test_template_quality_update():
    # Meta's "message_template_quality_update webhook reference"
    change = template_change(
        "message_template_quality_update",
        {
            "previous_quality_score": "GREEN",
            "new_quality_score": "YELLOW",
            "message_template_id": 806312974732579,
            "message_template_name": "welcome_template",
            "message_template_language": "en-US",
        },
        time=1674864290,
    )
    parsed = parse_template_update(change)
    assert (parsed.previous_quality, parsed.new_quality) == ("GREEN", "YELLOW")
    assert (parsed.template_id, parsed.time) == ("806312974732579", 1674864290)
    assert parsed.event == ""


def test_template_category_update_done_and_impending():
    # Meta's "template_category_update webhook reference": a change made,
    # and one announced 24 hours ahead (new_category is then the current one)
    done = parse_template_update(
        template_change(
            "template_category_update",
            {
                "message_template_id": 278077987957091,
                "message_template_name": "welcome_template",
                "message_template_language": "en-US",
                "previous_category": "UTILITY",
                "new_category": "MARKETING",
            },
        )
    )
    assert (done.previous_category, done.new_category) == ("UTILITY", "MARKETING")
    assert (done.correct_category, done.category_change_at) == ("", 0)
    impending = parse_template_update(
        template_change(
            "template_category_update",
            {
                "message_template_id": 278077987957091,
                "message_template_name": "welcome_template",
                "message_template_language": "en-US",
                "correct_category": "MARKETING",
                "new_category": "UTILITY",
                "category_update_timestamp": 1760711433,
            },
        )
    )
    assert (impending.correct_category, impending.new_category) == (
        "MARKETING",
        "UTILITY",
    )
    assert impending.category_change_at == 1760711433


def test_template_update_of_another_field_or_without_template():
    assert parse_template_update(template_change("account_update", {"x": 1})) is None
    no_id = template_change("message_template_status_update", {"event": "APPROVED"})
    assert parse_template_update(no_id) is None
    assert TEMPLATE_FIELDS == (
        "message_template_status_update",
        "message_template_quality_update",
        "template_category_update",
    )


def test_several_entries_and_changes():
    body = envelope(
        messages_change([message("text", {"body": "a"})], contacts=[contact()])
    )
    second_entry = envelope(
        messages_change(
            [message("text", {"body": "b"}, id="wamid.b")],
            contacts=[contact()],
            phone_number_id="999",
        ),
        waba_id="2",
    )["entry"][0]
    body["entry"].append(second_entry)
    batch = parse_webhook(body)

    assert [m.body for m in batch.messages] == ["a", "b"]
    assert [m.phone_number_id for m in batch.messages] == [PHONE_NUMBER_ID, "999"]


def test_change_with_only_errors():
    errors = [
        {
            "code": 131000,
            "title": "Something went wrong",
            "message": "Something went wrong",
            "error_data": {"details": "Message failed to send"},
        }
    ]
    batch = parse_webhook(envelope(messages_change(errors=errors)))

    assert batch == WebhookBatch(
        errors=(
            MetaError(
                code=131000,
                title="Something went wrong",
                message="Something went wrong",
                details="Message failed to send",
            ),
        )
    )


def test_empty_entry_list():
    assert (
        parse_webhook({"object": "whatsapp_business_account", "entry": []})
        == WebhookBatch()
    )


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "whatsapp_business_account",
        42,
        {},
        {"object": "page", "entry": []},
        {"object": "instagram", "entry": []},
        {"object": "whatsapp_business_account"},
        {"object": "whatsapp_business_account", "entry": None},
        {"object": "whatsapp_business_account", "entry": {"id": WABA_ID}},
        {"object": "whatsapp_business_account", "entry": "x"},
    ],
)
def test_wrong_envelope_raises(body):
    with pytest.raises(PayloadError):
        parse_webhook(body)
    with pytest.raises(PayloadError):
        phone_number_ids(body)


def test_message_without_id_raises():
    msg = message("text", {"body": "hi"})
    del msg["id"]
    with pytest.raises(PayloadError, match="message id"):
        parse_webhook(envelope(messages_change([msg])))


def test_message_that_is_not_an_object_raises():
    with pytest.raises(PayloadError):
        parse_webhook(envelope(messages_change(["wamid.x"])))


def test_status_without_id_raises():
    with pytest.raises(PayloadError, match="status"):
        parse_webhook(envelope(messages_change(statuses=[{"status": "read"}])))


def test_payload_error_is_a_value_error():
    assert issubclass(PayloadError, ValueError)


ODD_VALUES = [
    None,
    [],
    {},
    "",
    "x",
    0,
    -1,
    1.5,
    True,
    float("nan"),
    10**5000,
    "9" * 5000,
    [None],
    [{}],
    {"a": None},
]


def _paths(node, path=()):
    """Every path (tuple of keys/indexes) inside a JSON tree."""
    yield path
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _paths(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _paths(child, (*path, index))


def _replaced(tree, path, value):
    if not path:
        return value
    tree = copy.deepcopy(tree)
    node = tree
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return tree


def _rich_body():
    """One body holding every kind of content, to be mutated."""
    interactive = {
        "type": "list_reply",
        "list_reply": {"id": "r", "title": "t", "description": "d"},
    }
    messages = [
        message("text", {"body": "hi"}, context={"id": OUR_WAMID, "forwarded": True}),
        message(
            "image", {"id": "1", "caption": "c", "mime_type": "image/png"}, id="w2"
        ),
        message("audio", {"id": "2", "voice": True}, id="w3"),
        message("location", {"latitude": 1, "longitude": 2, "name": "n"}, id="w4"),
        message(
            "contacts",
            [
                {
                    "name": {"formatted_name": "A"},
                    "phones": [{"phone": "1"}],
                    "emails": [{"email": "e"}],
                    "org": {"company": "c"},
                }
            ],
            id="w5",
        ),
        message("interactive", interactive, id="w6"),
        message("button", {"text": "t", "payload": "p"}, id="w7"),
        message("reaction", {"message_id": OUR_WAMID, "emoji": "x"}, id="w8"),
        message(
            "order", {"catalog_id": "c", "text": "t", "product_items": []}, id="w9"
        ),
        message(
            "system",
            {"body": "b", "wa_id": "1", "type": "user_changed_number"},
            id="w10",
        ),
        message(
            "unsupported",
            {"type": "edit"},
            id="w11",
            errors=[{"code": 131051, "error_data": {"details": "d"}}],
        ),
        message(
            "text",
            {"body": "ad"},
            id="w12",
            referral={"source_id": "s"},
            from_user_id=CUSTOMER_BSUID,
        ),
    ]
    statuses = [
        {
            "id": OUR_WAMID,
            "status": "failed",
            "timestamp": "1",
            "recipient_id": CUSTOMER,
            "conversation": {"id": "c"},
            "pricing": {"category": "service"},
            "errors": [{"code": 1, "error_data": {"details": "d"}}],
        }
    ]
    return envelope(
        messages_change(
            messages, statuses, contacts=[contact(username="@u")], errors=[{"code": 2}]
        ),
        {"field": "account_update", "value": {"event": "x"}},
    )


def _other_fields_body():
    """Changes of the other fields read by the addon, to be mutated."""
    return envelope(
        user_preferences_change({"wa_id": CUSTOMER, "value": "stop"}),
        {
            "field": "message_template_status_update",
            "value": {
                "event": "REJECTED",
                "message_template_id": 1,
                "rejection_info": {"reason": "r", "recommendation": "c"},
                "other_info": {"title": "t", "description": "d"},
                "disable_info": {"disable_date": 1},
            },
        },
        {
            "field": "template_category_update",
            "value": {
                "message_template_id": 1,
                "correct_category": "MARKETING",
                "category_update_timestamp": 1,
            },
        },
    )


def _parse_others(body):
    batch = parse_webhook(body)
    for change in batch.others:
        parse_template_update(change)
        if change.field == "user_preferences":
            parse_user_preferences(change.value)


@pytest.mark.parametrize("make_body", [_rich_body, _other_fields_body])
def test_odd_shapes_never_crash(make_body):
    body = make_body()
    assert len(parse_webhook(body).messages) == (12 if make_body is _rich_body else 0)
    checked = 0
    for path in _paths(body):
        for odd in ODD_VALUES:
            mutated = _replaced(body, path, odd)
            for function in (
                parse_webhook,
                _parse_others,
                phone_number_ids,
                business_account_ids,
                split_items,
                check_depth,
            ):
                try:
                    function(mutated)
                except PayloadError:
                    pass
                checked += 1
    assert checked > 1000


# ------------------------------------------------------ phone_number_ids


def test_phone_number_ids_distinct_in_order():
    body = envelope(
        messages_change([message("text", {"body": "a"})], phone_number_id="222"),
        messages_change(
            statuses=[{"id": "s", "status": "sent"}], phone_number_id="111"
        ),
        messages_change(errors=[], phone_number_id="222"),
        {"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}},
    )
    assert phone_number_ids(body) == ["222", "111"]


def test_phone_number_ids_when_none():
    assert phone_number_ids({"object": "whatsapp_business_account", "entry": []}) == []
    body = envelope({"field": "account_update", "value": {"event": "x"}})
    assert phone_number_ids(body) == []


def test_business_account_ids_of_changes_without_a_number():
    body = envelope(
        messages_change([message("text", {"body": "a"})], phone_number_id="222"),
        {"field": "message_template_status_update", "value": {"event": "APPROVED"}},
    )
    body["entry"].append(
        {
            "id": "999",
            "changes": [{"field": "account_update", "value": {"event": "x"}}],
        }
    )
    assert business_account_ids(body) == [WABA_ID, "999"]
    assert business_account_ids(envelope(messages_change([]))) == []


# ------------------------------------------------------------ check_depth


def _nested(depth, container="list"):
    value = 0
    for _level in range(depth):
        value = [value] if container == "list" else {"a": value}
    return value


@pytest.mark.parametrize("container", ["list", "dict"])
def test_check_depth_refuses_deep_nesting(container):
    check_depth(_nested(MAX_DEPTH, container))
    with pytest.raises(PayloadError, match="nested deeper"):
        check_depth(_nested(MAX_DEPTH + 1, container))
    # far deeper than Python's recursion limit: refused without recursing
    with pytest.raises(PayloadError):
        check_depth(_nested(100_000, container))


def test_check_depth_accepts_meta_bodies_and_scalars():
    check_depth(_rich_body())
    for value in (None, 1, "x", [], {}):
        check_depth(value)


def test_payload_error_for_deep_body_inside_an_envelope():
    body = envelope(messages_change([message("text", {"body": _nested(200)})]))
    with pytest.raises(PayloadError):
        check_depth(body)


# ------------------------------------------------------------ split_items


def test_split_items_one_envelope_per_item_parsing_the_same():
    body = _rich_body()
    whole = parse_webhook(body)
    items = split_items(body)
    assert [item.kind for item in items] == ["message"] * 12 + ["status", "change"]
    parsed = [parse_webhook(item.payload) for item in items]
    assert [p.messages[0] for p in parsed[:12]] == list(whole.messages)
    assert [p.messages[0].raw for p in parsed[:12]] == [m.raw for m in whole.messages]
    assert parsed[12].statuses == whole.statuses
    assert parsed[13].others == whole.others
    for item in items:
        assert item.business_account_id == WABA_ID
        assert item.payload["object"] == "whatsapp_business_account"
        assert len(item.payload["entry"]) == 1
        assert len(item.payload["entry"][0]["changes"]) == 1
    assert items[0].phone_number_id == PHONE_NUMBER_ID
    assert items[13].phone_number_id == ""
    assert items[0].sender_keys == (f"{PHONE_NUMBER_ID}:wa:{CUSTOMER}",)
    assert items[11].sender_keys == (
        f"{PHONE_NUMBER_ID}:wa:{CUSTOMER}",
        f"{PHONE_NUMBER_ID}:user:{CUSTOMER_BSUID}",
    )
    assert items[12].sender_keys == ()
    # the body itself is left untouched
    assert body == _rich_body()


def test_split_items_gives_each_message_its_own_contact():
    other = "34612345678"
    body = envelope(
        messages_change(
            [
                message("text", {"body": "a"}),
                message("text", {"body": "b"}, id="w2", **{"from": other}),
            ],
            contacts=[contact(), contact(wa_id=other, user_id="", name="Other")],
        ),
        messages_change(
            [message("text", {"body": "c"}, id="w3")], phone_number_id="222"
        ),
    )
    items = split_items(body)
    assert [
        len(i.payload["entry"][0]["changes"][0]["value"].get("contacts", []))
        for i in items
    ] == [1, 1, 0]
    first, second, third = (parse_webhook(i.payload).messages[0] for i in items)
    assert first.sender.profile_name == "Sheena Nelson"
    assert second.sender == Identity(wa_id=other, profile_name="Other")
    assert third.phone_number_id == "222"
    assert items[2].sender_keys == (f"222:wa:{CUSTOMER}",)


def test_split_items_keeps_an_unreadable_item_to_itself():
    broken = message("text", {"body": "no id"})
    del broken["id"]
    body = envelope(messages_change([message("text", {"body": "fine"}), broken]))
    with pytest.raises(PayloadError):
        parse_webhook(body)
    good, bad = split_items(body)
    assert parse_webhook(good.payload).messages[0].body == "fine"
    with pytest.raises(PayloadError, match="message id"):
        parse_webhook(bad.payload)


def test_split_items_of_changes_without_items():
    body = envelope(messages_change(errors=[{"code": 131000}]))
    (item,) = split_items(body)
    assert item.kind == "change"
    assert parse_webhook(item.payload).errors == parse_webhook(body).errors
    assert split_items({"object": "whatsapp_business_account", "entry": []}) == []


# ---------------------------------------------------------- is_own_number


@pytest.mark.parametrize(
    ("wa_id", "numbers", "region", "expected"),
    [
        ("15550100100", ("15550100100",), None, True),
        ("15550100100", ("", "+1 555 010 0100"), None, True),
        ("32470123456", ("0470 12 34 56",), "BE", True),
        ("32470123456", ("+32 470 12 34 56",), "FR", True),
        # Brazil's ninth digit: one line written both ways
        ("551187654321", ("+55 11 98765-4321",), None, True),
        ("32470123456", ("15550100100", "+1 555 010 0100"), "BE", False),
        ("", ("15550100100",), None, False),
        ("15550100100", (), None, False),
        ("15550100100", ("", None), None, False),
    ],
)
def test_is_own_number(wa_id, numbers, region, expected):
    assert is_own_number(wa_id, *numbers, default_region=region) is expected


def test_is_own_number_asks_the_region_only_for_a_number_without_prefix():
    asked = []

    def region():
        asked.append("BE")
        return "BE"

    assert is_own_number("15550100100", "15550100100", default_region=region)
    assert is_own_number("32470123456", "+32 470 12 34 56", default_region=region)
    assert not is_own_number("32470123456", "+1 555 010 0100", default_region=region)
    assert asked == []
    assert is_own_number("32470123456", "0470 12 34 56", default_region=region)
    assert asked == ["BE"]
    # a "+" before the international prefix: read in the region, as before
    assert is_own_number("32470123456", "+0032 470 12 34 56", default_region=region)
    assert is_own_number("32470123456", "+0032 470 12 34 56", default_region="BE")


# ------------------------------------------------------- status ordering


def test_status_rank():
    assert STATUS_RANK == {"sent": 1, "delivered": 2, "read": 3}


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [
        ("", "sent", True),
        ("", "read", True),
        ("sent", "delivered", True),
        ("sent", "read", True),
        ("delivered", "read", True),
        ("read", "delivered", False),
        ("read", "sent", False),
        ("delivered", "sent", False),
        ("sent", "sent", False),
        ("read", "read", False),
        ("sent", "failed", True),
        ("delivered", "failed", True),
        ("", "failed", True),
        ("read", "failed", False),
        ("failed", "failed", False),
        ("failed", "sent", False),
        ("failed", "delivered", True),
        ("failed", "read", True),
        ("sent", "played", False),
        ("read", "played", False),
        ("sent", "", False),
        ("outgoing", "sent", True),
    ],
)
def test_status_moves_forward(current, new, expected):
    assert status_moves_forward(current, new) is expected


# ------------------------------------------------------------- coexistence
# The WhatsApp Business app and the API on one number. Bodies follow the
# syntax of Meta's webhook references "smb_message_echoes", "history" and
# "smb_app_state_sync" (developers.facebook.com, WhatsApp Business Platform >
# Webhooks > Reference); the values are made up.

APP_WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"


def coexistence_change(field, key, items, phone_number_id=PHONE_NUMBER_ID):
    return {
        "field": field,
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": DISPLAY_NUMBER,
                "phone_number_id": phone_number_id,
            },
            key: items,
        },
    }


def echo(msg_type="text", content=None, to="+" + CUSTOMER, **extra):
    """A message the business sent from the WhatsApp Business app."""
    raw = {
        "from": DISPLAY_NUMBER,
        "to": to,
        "id": APP_WAMID,
        "timestamp": "1739321024",
        "type": msg_type,
        msg_type: content if content is not None else {"body": "On my way!"},
    }
    raw.update(extra)
    return raw


def history_chunk(threads=None, errors=None, phase=0, chunk_order=1, progress=55):
    chunk = {
        "metadata": {"phase": phase, "chunk_order": chunk_order, "progress": progress}
    }
    if threads is not None:
        chunk["threads"] = threads
    if errors is not None:
        chunk["errors"] = errors
    return chunk


def history_message(wamid, timestamp, body="", sender=CUSTOMER, to=None, **extra):
    raw = {
        "from": sender,
        "id": wamid,
        "timestamp": str(timestamp),
        "type": "text",
        "text": {"body": body or wamid},
        "history_context": {"status": "READ"},
    }
    if to:
        raw["to"] = to
    raw.update(extra)
    return raw


def value_of(change):
    return change["value"]


def test_echo_of_a_text_sent_from_the_app():
    change = coexistence_change("smb_message_echoes", "message_echoes", [echo()])
    (parsed,) = parse_message_echoes(value_of(change))
    assert isinstance(parsed, AppMessage)
    assert parsed.outgoing is True
    message = parsed.message
    assert (message.message_id, message.type, message.body) == (
        APP_WAMID,
        "text",
        "On my way!",
    )
    assert message.phone_number_id == PHONE_NUMBER_ID
    assert message.timestamp == 1739321024
    # the customer is the recipient, written as it was input ("+" and all)
    assert message.sender == Identity(wa_id=CUSTOMER)
    # the whole body is any other change for parse_webhook
    batch = parse_webhook(envelope(change))
    assert batch.messages == ()
    assert batch.others[0].field == "smb_message_echoes"


def test_echo_of_a_picture_a_reply_and_a_user_id():
    raw = echo(
        "image",
        {"id": "1479537139650973", "mime_type": "image/jpeg", "caption": "Blue"},
        to=CUSTOMER,
        to_user_id=CUSTOMER_BSUID,
        context={"from": CUSTOMER, "id": WAMID},
    )
    (parsed,) = parse_message_echoes({"message_echoes": [raw]})
    message = parsed.message
    assert message.media == Media(
        media_id="1479537139650973", mime_type="image/jpeg", caption="Blue"
    )
    assert message.reply_to_message_id == WAMID
    assert message.sender == Identity(wa_id=CUSTOMER, user_id=CUSTOMER_BSUID)


def test_echo_to_a_user_id_only():
    (parsed,) = parse_message_echoes({"message_echoes": [echo(to=CUSTOMER_BSUID)]})
    assert parsed.message.sender == Identity(user_id=CUSTOMER_BSUID)


@pytest.mark.parametrize("broken", [{"id": ""}, {"to": ""}])
def test_echo_without_id_or_recipient_raises(broken):
    with pytest.raises(PayloadError):
        parse_message_echoes({"message_echoes": [echo(**broken)]})


def test_history_chunk_both_ways_with_statuses():
    thread = {
        "id": CUSTOMER,
        "messages": [
            history_message("wamid.H1", 1739230955, "Is the blue one in stock?"),
            history_message(
                "wamid.H2",
                1739231055,
                "Yes, come by!",
                sender=DISPLAY_NUMBER,
                to=CUSTOMER,
                history_context={"status": "DELIVERED"},
            ),
            # a picture the app does not share: a placeholder
            {
                "from": CUSTOMER,
                "id": "wamid.H3",
                "timestamp": "1739231155",
                "type": "media_placeholder",
                "history_context": {"status": "READ"},
            },
        ],
    }
    change = coexistence_change(
        "history", "history", [history_chunk([thread], phase=1, chunk_order=3)]
    )
    (chunk,) = parse_history(value_of(change))
    assert isinstance(chunk, HistoryChunk)
    assert (chunk.phase, chunk.chunk_order, chunk.progress) == (1, 3, 55)
    assert chunk.phone_number_id == PHONE_NUMBER_ID
    assert chunk.errors == ()
    first, answer, placeholder = chunk.messages
    assert (first.outgoing, first.status) == (False, "read")
    assert first.message.body == "Is the blue one in stock?"
    assert first.message.sender == Identity(wa_id=CUSTOMER)
    assert first.message.timestamp == 1739230955
    assert (answer.outgoing, answer.status) == (True, "delivered")
    assert answer.message.sender == Identity(wa_id=CUSTOMER)
    assert (placeholder.message.type, placeholder.message.media) == (
        "media_placeholder",
        None,
    )


def test_history_message_from_the_business_without_to():
    thread = {
        "id": CUSTOMER,
        "messages": [history_message("wamid.H4", 1, sender=DISPLAY_NUMBER)],
    }
    (chunk,) = parse_history({"history": [history_chunk([thread])]})
    assert chunk.messages[0].outgoing is True


def test_history_declined_by_the_business():
    error = {
        "code": 2593109,
        "title": "History sync is turned off by the business from the WhatsApp "
        "Business App",
        "message": "History sync is turned off",
        "error_data": {"details": "The business declined to share its history"},
    }
    (chunk,) = parse_history({"history": [{"errors": [error]}]})
    assert chunk.messages == ()
    assert (chunk.phase, chunk.chunk_order, chunk.progress) == (None, None, None)
    assert chunk.errors[0].code == 2593109
    assert chunk.errors[0].details == "The business declined to share its history"


def test_history_message_without_a_customer_raises():
    thread = {"messages": [history_message("wamid.H5", 1, sender="")]}
    with pytest.raises(PayloadError):
        parse_history({"history": [history_chunk([thread])]})


def test_app_contacts_added_and_removed():
    change = coexistence_change(
        "smb_app_state_sync",
        "state_sync",
        [
            {
                "type": "contact",
                "contact": {
                    "full_name": "Pablo Morales",
                    "first_name": "Pablo",
                    "phone_number": "16505551234",
                },
                "action": "add",
                "metadata": {"timestamp": "1739321024"},
            },
            {
                "type": "contact",
                "contact": {"phone_number": "+1 650 555 9999"},
                "action": "remove",
                "metadata": {"timestamp": "1739321025"},
            },
            {"type": "label", "label": {"name": "VIP"}, "action": "add"},
        ],
    )
    added, removed = parse_app_contacts(value_of(change))
    assert added == AppContact(
        phone_number_id=PHONE_NUMBER_ID,
        wa_id="16505551234",
        full_name="Pablo Morales",
        first_name="Pablo",
        action="add",
        timestamp=1739321024,
    )
    assert (removed.wa_id, removed.action, removed.full_name) == (
        "16505559999",
        "remove",
        "",
    )


def test_split_items_one_item_per_echo_with_its_customers_keys():
    other = echo(id="wamid.OTHER", to="32470123456")
    body = envelope(
        coexistence_change("smb_message_echoes", "message_echoes", [echo(), other])
    )
    items = split_items(body)
    assert [item.kind for item in items] == ["message", "message"]
    assert items[0].sender_keys == (f"{PHONE_NUMBER_ID}:wa:{CUSTOMER}",)
    assert items[1].sender_keys == (f"{PHONE_NUMBER_ID}:wa:32470123456",)
    # the same keys as the customer's own messages: their order holds
    customer_item = split_items(envelope(messages_change([message("text", {})])))
    assert set(customer_item[0].sender_keys) & set(items[0].sender_keys)
    parsed = [
        parse_message_echoes(item.payload["entry"][0]["changes"][0]["value"])
        for item in items
    ]
    assert [echoes[0].message.message_id for echoes in parsed] == [
        APP_WAMID,
        "wamid.OTHER",
    ]


def test_split_items_history_one_item_per_message_oldest_first():
    """A history webhook may describe thousands of messages: each is an item
    with its chunk's metadata and its thread, so that one message that
    cannot be stored holds back no other customer's."""
    ana = {
        "id": CUSTOMER,
        "messages": [
            history_message("wamid.A2", 200),
            history_message("wamid.A1", 100),
        ],
    }
    bob = {"id": "32470123456", "messages": [history_message("wamid.B1", 150)]}
    body = envelope(
        coexistence_change("history", "history", [history_chunk([ana, bob])])
    )
    items = split_items(body)
    assert [item.kind for item in items] == ["message"] * 3
    assert all(item.phone_number_id == PHONE_NUMBER_ID for item in items)
    chunks = [
        parse_history(item.payload["entry"][0]["changes"][0]["value"])[0]
        for item in items
    ]
    assert [chunk.messages[0].message.message_id for chunk in chunks] == [
        "wamid.A1",
        "wamid.A2",
        "wamid.B1",
    ]
    assert all(chunk.progress == 55 for chunk in chunks)
    assert items[0].sender_keys == (f"{PHONE_NUMBER_ID}:wa:{CUSTOMER}",)
    assert items[2].sender_keys == (f"{PHONE_NUMBER_ID}:wa:32470123456",)


def test_split_items_history_errors_and_progress_alone():
    declined = history_chunk(errors=[{"code": 2593109, "title": "Declined"}])
    progress_only = history_chunk(threads=[], progress=100, phase=2)
    body = envelope(coexistence_change("history", "history", [declined, progress_only]))
    items = split_items(body)
    assert [item.kind for item in items] == ["change", "change"]
    first, second = (
        parse_history(item.payload["entry"][0]["changes"][0]["value"])[0]
        for item in items
    )
    assert first.errors[0].code == 2593109 and first.messages == ()
    assert (second.progress, second.phase, second.errors) == (100, 2, ())


def test_split_items_one_item_per_app_contact():
    contacts = [
        {"type": "contact", "contact": {"phone_number": n}, "action": "add"}
        for n in ("16505551234", "32470123456")
    ]
    body = envelope(coexistence_change("smb_app_state_sync", "state_sync", contacts))
    items = split_items(body)
    assert [item.kind for item in items] == ["change", "change"]
    assert [
        parse_app_contacts(item.payload["entry"][0]["changes"][0]["value"])[0].wa_id
        for item in items
    ] == ["16505551234", "32470123456"]
