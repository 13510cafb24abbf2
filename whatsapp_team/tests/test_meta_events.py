"""What Meta tells beyond a customer's words, kept in fields.

The webhook bodies follow the shapes of Meta's Cloud API webhooks reference
(developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/
reference/...); each test names the page it follows. Values are made up.
"""

import base64
import hashlib
import importlib.util
import time
import xmlrpc.client

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools.misc import file_path

from .common import WhatsappCase

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
    b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\xdac\xfc\xcf\xc0P\x0f\x00\x04"
    b"\x85\x01\x80\x84\xa9\x8c!\x00\x00\x00\x00IEND\xaeB`\x82"
)

# messages/contacts: a card with every property Meta documents
FULL_CARD = {
    "addresses": [
        {
            "city": "Menlo Park",
            "country": "United States",
            "country_code": "US",
            "state": "CA",
            "street": "1 Lucky Shrub Way",
            "type": "WORK",
            "zip": "94025",
        }
    ],
    "birthday": "1999-01-23",
    "emails": [
        {"email": "bjohnson@luckyshrub.example", "type": "WORK"},
        {"email": "barbara@home.example", "type": "HOME"},
    ],
    "name": {
        "formatted_name": "Barbara J. Johnson",
        "first_name": "Barbara",
        "last_name": "Johnson",
        "middle_name": "Joana",
        "suffix": "Esq.",
        "prefix": "Dr.",
    },
    "org": {"company": "Lucky Shrub", "department": "Legal", "title": "Lawyer"},
    "phones": [
        {"phone": "+1 (650) 555-0134", "type": "WORK"},
        {"phone": "+32 470 55 44 33", "type": "CELL", "wa_id": "32470554433"},
    ],
    "urls": [{"url": "https://www.luckyshrub.example", "type": "WORK"}],
}


def password(user):
    return user.login + "x" * (8 - len(user.login))


def rpc(case, user, model, method, *args):
    """``model.method(*args)`` over XML-RPC as ``user`` (a ``new_test_user``)."""
    return case.xmlrpc_object.execute_kw(
        case.env.cr.dbname, user.id, password(user), model, method, list(args)
    )


@tagged("post_install", "-at_install", "whatsapp_meta_events")
class TestMetaEvents(WhatsappCase):
    """Replies, voice notes, checksums and shared contact cards."""

    def receive(self, kind, wa_id="32470666001", **fields):
        record = self.deliver(self.message(wa_id, kind, **fields))
        self.assertEqual(len(record), 1)
        return record

    # ------------------------------------------------------------
    # Replies to buttons and lists
    # ------------------------------------------------------------

    def test_reply_buttons_list_rows_and_template_buttons_in_fields(self):
        # messages/interactive: a reply button and a list row
        button = self.receive(
            "interactive",
            interactive={
                "type": "button_reply",
                "button_reply": {"id": "call-me", "title": "Call me"},
            },
        )
        self.assertEqual(
            (
                button.interactive_type,
                button.interactive_reply_id,
                button.interactive_reply_title,
                button.interactive_reply_description,
            ),
            ("button_reply", "call-me", "Call me", False),
        )
        row = self.receive(
            "interactive",
            interactive={
                "type": "list_reply",
                "list_reply": {
                    "id": "slot-tue",
                    "title": "Tuesday",
                    "description": "9:00 to 12:00",
                },
            },
        )
        self.assertEqual(
            (
                row.interactive_type,
                row.interactive_reply_id,
                row.interactive_reply_title,
                row.interactive_reply_description,
            ),
            ("list_reply", "slot-tue", "Tuesday", "9:00 to 12:00"),
        )
        # messages/button: a template's quick reply, payload and text differ
        quick = self.receive(
            "button", button={"payload": "PROMO_STOP_42", "text": "Stop promotions"}
        )
        self.assertEqual(
            (quick.button_payload, quick.button_text),
            ("PROMO_STOP_42", "Stop promotions"),
        )
        self.assertFalse(quick.interactive_reply_id)
        # usable in filters: the stored fields, searched
        Message = self.env["whatsapp.message"]
        self.assertEqual(
            Message.search([("interactive_reply_id", "=", "call-me")]), button
        )
        self.assertEqual(
            Message.search([("button_payload", "=", "PROMO_STOP_42")]), quick
        )
        self.assertEqual(
            Message.with_user(self.user_allowed).search(
                [("interactive_reply_title", "=", "Tuesday")]
            ),
            row,
        )

    def test_an_automation_rule_on_the_reply_id(self):
        """An automation rule (base_automation, not a dependency of the
        addon) filters the new records with its domain, then runs its server
        action on those that match: the same here, on the reply id."""
        label = self.env["whatsapp.label"].create({"name": "Call back"})
        action = self.env["ir.actions.server"].create(
            {
                "name": "Label the chats that asked for a call",
                "model_id": self.env.ref("whatsapp_team.model_whatsapp_message").id,
                "state": "code",
                "code": "records.conversation_id.write("
                f"{{'label_ids': [Command.link({label.id})]}})",
            }
        )
        domain = [("interactive_reply_id", "=", "call-me")]
        asked = self.receive(
            "interactive",
            wa_id="32470666011",
            interactive={
                "type": "button_reply",
                "button_reply": {"id": "call-me", "title": "Call me"},
            },
        )
        other = self.receive(
            "interactive",
            wa_id="32470666012",
            interactive={
                "type": "button_reply",
                "button_reply": {"id": "no-thanks", "title": "Call me"},
            },
        )
        matching = (asked | other).filtered_domain(domain)
        self.assertEqual(matching, asked, "the id decides, not the title")
        action.with_context(
            active_model="whatsapp.message", active_ids=matching.ids
        ).run()
        self.assertEqual(asked.conversation_id.label_ids, label)
        self.assertFalse(other.conversation_id.label_ids)

    # ------------------------------------------------------------
    # Voice notes and checksums
    # ------------------------------------------------------------

    def test_voice_notes_are_marked_as_voice(self):
        # messages/audio: "voice": true for a note recorded in WhatsApp
        note_id = self.graph.add_media(b"OggS voice", "audio/ogg; codecs=opus")
        note = self.receive(
            "audio",
            audio={"id": note_id, "mime_type": "audio/ogg; codecs=opus", "voice": True},
        )
        song_id = self.graph.add_media(b"ID3 song", "audio/mpeg")
        song = self.receive(
            "audio",
            wa_id="32470666002",
            audio={"id": song_id, "mime_type": "audio/mpeg"},
        )
        self.assertTrue(note.is_voice)
        self.assertFalse(song.is_voice)
        self.assertTrue(note.attachment_ids.name.startswith("voice-"))
        self.assertTrue(song.attachment_ids.name.startswith("audio-"))
        self.assertIn("Voice message", note.mail_message_id.body)
        chat = note.conversation_id
        self.assertIn("Voice message", chat._inbox_preview_text(note))
        self.assertNotIn("Voice message", chat._inbox_preview_text(song))
        self.assertEqual(
            self.env["whatsapp.message"].search([("is_voice", "=", True)]), note
        )

    def test_media_checksum_is_kept_and_checked(self):
        # messages/image: "sha256" of the file, written in base64 there
        checksum = base64.b64encode(hashlib.sha256(PNG).digest()).decode()
        media_id = self.graph.add_media(b"damaged on the way", "image/png")
        record = self.receive(
            "image",
            image={"id": media_id, "mime_type": "image/png", "sha256": checksum},
        )
        self.assertEqual(record.media_sha256, checksum)
        # a file that is not the one Meta describes: kept out, said, retried
        self.assertEqual(
            (record.media_state, record.media_checksum), ("failed", "mismatch")
        )
        self.assertFalse(record.attachment_ids)
        self.assertIn("checksum", record.media_error)
        self.assertIn("could not be downloaded", record.mail_message_id.body)
        self.assertEqual(self.events().state, "done", "the message itself is safe")
        self.graph.media[media_id] = (PNG, "image/png")
        self.env["whatsapp.message"]._cron_retry_media()
        self.assertEqual((record.media_state, record.media_checksum), ("done", "match"))
        self.assertEqual(record.attachment_ids.raw, PNG)
        self.assertEqual(record.mail_message_id.attachment_ids, record.attachment_ids)
        self.assertNotIn("could not be downloaded", record.mail_message_id.body)
        # in hexadecimal, as the media endpoint writes it, it matches too
        hex_id = self.graph.add_media(PNG, "image/png")
        hexed = self.receive(
            "image",
            wa_id="32470666003",
            image={
                "id": hex_id,
                "mime_type": "image/png",
                "sha256": hashlib.sha256(PNG).hexdigest(),
            },
        )
        self.assertEqual((hexed.media_state, hexed.media_checksum), ("done", "match"))

    def test_a_file_that_never_matches_is_kept_at_the_last_attempt(self):
        checksum = hashlib.sha256(b"what the customer sent").hexdigest()
        media_id = self.graph.add_media(b"what arrives", "image/jpeg")
        record = self.receive(
            "image",
            image={"id": media_id, "mime_type": "image/jpeg", "sha256": checksum},
        )
        for _attempt in range(10):
            self.env["whatsapp.message"]._cron_retry_media()
        self.assertEqual(record.media_attempts, 5)
        self.assertEqual(
            (record.media_state, record.media_checksum), ("done", "mismatch")
        )
        self.assertEqual(record.attachment_ids.raw, b"what arrives")
        self.assertIn("may be damaged", record.mail_message_id.body)

    # ------------------------------------------------------------
    # Shared contact cards
    # ------------------------------------------------------------

    def test_a_shared_card_shows_every_field(self):
        # messages/contacts: every property of a card, and a bare one
        record = self.receive(
            "contacts",
            contacts=[FULL_CARD, {"name": {"formatted_name": "Li Wei"}}],
        )
        full, bare = record.shared_contact_ids
        self.assertEqual(
            (full.name, full.first_name, full.middle_name, full.last_name),
            ("Barbara J. Johnson", "Barbara", "Joana", "Johnson"),
        )
        self.assertEqual((full.name_prefix, full.name_suffix), ("Dr.", "Esq."))
        self.assertEqual(
            (full.phone, full.wa_id, full.email),
            ("+1 (650) 555-0134", "32470554433", "bjohnson@luckyshrub.example"),
        )
        self.assertEqual(
            (full.organization, full.department, full.job_title),
            ("Lucky Shrub", "Legal", "Lawyer"),
        )
        self.assertIn("1 Lucky Shrub Way, 94025 Menlo Park, CA", full.addresses)
        self.assertEqual(full.birthday, "1999-01-23")
        self.assertIn("https://www.luckyshrub.example", full.urls)
        self.assertEqual(bare.name, "Li Wei")
        body = record.mail_message_id.body
        for text in (
            "Barbara J. Johnson",
            "+1 (650) 555-0134 (work)",
            "+32 470 55 44 33 (mobile) · WhatsApp",
            "bjohnson@luckyshrub.example (work)",
            "barbara@home.example (home)",
            "Lucky Shrub, Legal, Lawyer",
            "1 Lucky Shrub Way, 94025 Menlo Park, CA, United States (work)",
            'href="https://www.luckyshrub.example"',
            "1999-01-23",
            "Li Wei",
            f'data-oe-model="whatsapp.message.contact" data-oe-id="{full.id}"',
            "Add to contacts",
        ):
            self.assertIn(text, body)
        self.assertEqual(
            self.env["whatsapp.message.contact"].search([("phone", "=", full.phone)]),
            full,
        )


@tagged("post_install", "-at_install", "whatsapp_meta_events")
class TestMetaEventsSharedContacts(WhatsappCase):
    """A contact made from a shared card: by hand, as the user, never twice."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # a salesperson of the number who may create contacts
        cls.seller = new_test_user(
            cls.env,
            login="wa_seller",
            groups="whatsapp_team.group_whatsapp_user,base.group_partner_manager",
        )
        cls.account.user_ids |= cls.seller
        # on the number, but not allowed to create contacts
        cls.no_contacts = cls.user_allowed
        cls.outsider = new_test_user(
            cls.env,
            login="wa_outsider",
            groups="whatsapp_team.group_whatsapp_user,base.group_partner_manager",
        )
        cls.employee = new_test_user(
            cls.env,
            login="wa_employee",
            groups="base.group_user,base.group_partner_manager",
        )

    def share(self, card, wa_id="32470666100"):
        record = self.deliver(self.message(wa_id, "contacts", contacts=[card]))
        return record.shared_contact_ids

    def test_a_contact_is_made_by_hand_as_the_user(self):
        card = self.share(FULL_CARD)
        Partner = self.env["res.partner"]
        self.assertFalse(
            Partner.search([("email", "=", "bjohnson@luckyshrub.example")]),
            "never made on its own",
        )
        action = card.with_user(self.seller).action_create_partner()
        partner = Partner.browse(action["res_id"])
        self.assertEqual(action["res_model"], "res.partner")
        self.assertEqual(partner.create_uid, self.seller)
        self.assertEqual(
            (partner.name, partner.mobile, partner.phone, partner.email),
            (
                "Barbara J. Johnson",
                "+32 470 55 44 33",
                "+1 650-555-0134",
                "bjohnson@luckyshrub.example",
            ),
        )
        self.assertEqual(
            (partner.function, partner.company_name, partner.website),
            ("Lawyer", "Lucky Shrub", "https://www.luckyshrub.example"),
        )
        self.assertEqual(
            (partner.street, partner.zip, partner.city),
            ("1 Lucky Shrub Way", "94025", "Menlo Park"),
        )
        self.assertEqual(partner.country_id, self.env.ref("base.us"))
        self.assertEqual(partner.state_id, self.env.ref("base.state_us_5"))
        for text in ("barbara@home.example (home)", "Legal", "1999-01-23"):
            self.assertIn(text, partner.comment)
        self.assertEqual(card.partner_id, partner)
        body = card.message_id.mail_message_id.body
        self.assertIn(f'data-oe-model="res.partner" data-oe-id="{partner.id}"', body)
        self.assertNotIn("Add to contacts", body)
        # again: the same contact, not a second one
        again = card.with_user(self.seller).action_create_partner()
        self.assertEqual(again["res_id"], partner.id)
        self.assertEqual(Partner.search_count([("name", "=", partner.name)]), 1)

    def test_a_card_with_a_known_number_offers_the_contact(self):
        known = self.env["res.partner"].create(
            {"name": "Barbara (known)", "mobile": "+32 470 55 44 33"}
        )
        card = self.share(FULL_CARD)
        action = card.with_user(self.seller).action_create_partner()
        self.assertEqual(action["tag"], "display_notification")
        self.assertIn("already has this number", action["params"]["message"])
        self.assertEqual(action["params"]["next"]["res_id"], known.id)
        self.assertEqual(card.partner_id, known)
        self.assertFalse(
            self.env["res.partner"].search([("name", "=", "Barbara J. Johnson")])
        )

    def test_a_known_number_the_user_may_not_see_refuses(self):
        other_company = self.env["res.company"].create({"name": "Elsewhere"})
        self.env["res.partner"].create(
            {
                "name": "Hidden Barbara",
                "mobile": "+32 470 55 44 33",
                "company_id": other_company.id,
            }
        )
        card = self.share(FULL_CARD)
        with self.assertRaisesRegex(UserError, "exists already"):
            card.with_user(self.seller).action_create_partner()
        self.assertFalse(card.partner_id)

    def test_only_those_who_may_read_the_chat_and_create_contacts(self):
        card = self.share(FULL_CARD)
        Partner = self.env["res.partner"]
        # may read the chat, may not create contacts
        with self.assertRaises(AccessError):
            card.with_user(self.no_contacts).action_create_partner()
        # may create contacts, may not read the chat
        for user in (self.outsider, self.employee):
            with self.assertRaises(AccessError):
                card.with_user(user).action_create_partner()
        self.assertFalse(Partner.search([("name", "=", "Barbara J. Johnson")]))
        # over the external API the same
        for user in (self.no_contacts, self.outsider, self.employee):
            with self.assertRaises(xmlrpc.client.Fault):
                rpc(
                    self,
                    user,
                    "whatsapp.message.contact",
                    "action_create_partner",
                    [card.id],
                )
        self.assertFalse(Partner.search([("name", "=", "Barbara J. Johnson")]))
        self.assertFalse(card.partner_id)
        # cards are read as their chat: not by those who may not read it
        for user in (self.outsider, self.employee):
            with self.assertRaises(xmlrpc.client.Fault):
                rpc(self, user, "whatsapp.message.contact", "read", [card.id], ["name"])
        self.assertFalse(
            self.env["whatsapp.message.contact"].with_user(self.outsider).search([])
        )
        self.assertEqual(
            rpc(
                self,
                self.seller,
                "whatsapp.message.contact",
                "read",
                [card.id],
                ["name"],
            )[0]["name"],
            "Barbara J. Johnson",
        )
        # and nobody but administrators writes them
        with self.assertRaises(AccessError):
            card.with_user(self.seller).write({"partner_id": self.seller.partner_id.id})
        rpc(
            self,
            self.seller,
            "whatsapp.message.contact",
            "action_create_partner",
            [card.id],
        )
        self.assertEqual(card.partner_id.name, "Barbara J. Johnson")


@tagged("post_install", "-at_install", "whatsapp_meta_events")
class TestMetaEventsIdentity(WhatsappCase):
    """WhatsApp's system messages: the customer's new number or user id."""

    def system(self, system, wa_id="32470777001", user_id=None):
        """A system message as in Meta's "System messages webhook reference"
        (webhooks/reference/messages/system): no contacts array."""
        message, _contact = self.message(
            wa_id, "system", system={"type": "user_changed_number", **system}
        )
        if user_id:
            message["from_user_id"] = user_id
        return self.deliver((message, None))

    def assert_system_line(self, record, text):
        line = record.mail_message_id
        self.assertEqual(line.message_type, "notification")
        self.assertNotEqual(line.author_id, record.conversation_id.partner_id)
        self.assertIn(text, line.body)
        self.assertFalse(
            record.conversation_id.message_ids.filtered(
                lambda m: m.message_type == "comment"
                and m.author_id == record.conversation_id.partner_id
                and "changed" in (m.body or "")
            ),
            "never shown as words of the customer",
        )
        self.assertFalse(
            self.env["mail.notification"].search([("mail_message_id", "=", line.id)]),
            "nobody is told, as for a customer message",
        )

    def test_a_new_number_and_user_id(self):
        old_bsuid, new_bsuid = "BE.1111111111111111", "BE.2222222222222222"
        first = self.deliver(
            self.message("32470777001", body="hi", user_id=old_bsuid, name="Ann")
        )
        chat = first.conversation_id
        partner = chat.partner_id
        self.assertEqual(partner.mobile, "+32 470 77 70 01")
        chat.unread_count = 0
        # the 2026 shape: the new number, the new and the previous user ids
        notice = self.system(
            {
                "body": "User Ann changed from 32470777001 to 32470777002",
                "wa_id": "32470777002",
                "user_id": new_bsuid,
                "previous_user_id": old_bsuid,
            },
            user_id=old_bsuid,
        )
        self.assertEqual(notice.conversation_id, chat)
        self.assertEqual((chat.wa_id, chat.phone), ("32470777002", "+32 470 77 70 02"))
        self.assertEqual(chat.wa_user_id, new_bsuid)
        self.assertEqual(chat.previous_numbers, "+32 470 77 70 01")
        self.assertEqual(chat.previous_user_ids, old_bsuid)
        self.assertEqual(partner.mobile, "+32 470 77 70 02")
        self.assert_system_line(
            notice, "changed their WhatsApp number from +32 470 77 70 01 to"
        )
        self.assertIn(new_bsuid, notice.mail_message_id.body)
        self.assertEqual(chat.unread_count, 0, "no customer message to read")
        self.assertEqual(
            self.env["whatsapp.conversation"].search(
                [("previous_numbers", "ilike", "470 77 70 01")]
            ),
            chat,
        )
        # the customer's next words land in the same chat, by either id
        later = self.deliver(
            self.message("32470777002", body="new phone", user_id=new_bsuid)
        )
        self.assertEqual(later.conversation_id, chat)
        by_id = self.deliver(self.message(None, body="still me", user_id=new_bsuid))
        self.assertEqual(by_id.conversation_id, chat)
        self.assertEqual(self.env["whatsapp.conversation"].search_count([]), 1)

    def test_the_new_number_wrote_before_the_notice(self):
        """Meta does not keep the order: a chat the new number opened is
        merged into the customer's chat when the notice comes."""
        old = self.deliver(self.message("32470777011", body="old phone"))
        new = self.deliver(self.message("32470777012", body="new phone"))
        self.assertNotEqual(old.conversation_id, new.conversation_id)
        notice = self.system(
            {"body": "changed", "wa_id": "32470777012"}, wa_id="32470777011"
        )
        chat = notice.conversation_id
        self.assertEqual(chat, old.conversation_id)
        self.assertEqual(new.conversation_id, chat)
        self.assertEqual(chat.previous_numbers, "+32 470 77 70 11")
        self.assertEqual(
            self.env["whatsapp.conversation"].search([("phone_key", "!=", False)]),
            chat,
        )

    def test_a_new_user_id_alone(self):
        """A customer known by username only: no phone number is included,
        the user id the chat knows is ``previous_user_id``."""
        old_bsuid, new_bsuid = "BR.1502576394650001", "BR.1502576394650002"
        first = self.deliver(
            self.message(None, body="oi", user_id=old_bsuid, username="ana.s")
        )
        chat = first.conversation_id
        message, _contact = self.message(
            None,
            "system",
            user_id=old_bsuid,
            system={
                "body": f"User ana.s changed from {old_bsuid} to {new_bsuid}",
                "user_id": new_bsuid,
                "previous_user_id": old_bsuid,
                "type": "user_changed_user_id",
            },
        )
        notice = self.deliver((message, None))
        self.assertEqual(notice.conversation_id, chat)
        self.assertEqual(chat.wa_user_id, new_bsuid)
        self.assertEqual(chat.previous_user_ids, old_bsuid)
        self.assertFalse(chat.wa_id)
        self.assert_system_line(notice, f"from {old_bsuid} to {new_bsuid}")
        later = self.deliver(self.message(None, body="tchau", user_id=new_bsuid))
        self.assertEqual(later.conversation_id, chat)

    def test_a_notice_carrying_the_new_user_id_as_its_sender(self):
        """Whichever id Meta puts in ``from_user_id``, ``previous_user_id``
        finds the chat."""
        old_bsuid, new_bsuid = "BR.1502576394650011", "BR.1502576394650012"
        chat = self.deliver(
            self.message(None, body="oi", user_id=old_bsuid)
        ).conversation_id
        message, _contact = self.message(
            None,
            "system",
            user_id=new_bsuid,
            system={
                "body": "changed",
                "user_id": new_bsuid,
                "previous_user_id": old_bsuid,
                "type": "user_changed_user_id",
            },
        )
        notice = self.deliver((message, None))
        self.assertEqual(notice.conversation_id, chat)
        self.assertEqual(chat.wa_user_id, new_bsuid)
        self.assertEqual(self.env["whatsapp.conversation"].search_count([]), 1)

    def test_another_notice_is_a_system_line(self):
        notice = self.system(
            {"body": "User Ann's identity changed", "type": "customer_identity_changed"}
        )
        self.assert_system_line(notice, "User Ann's identity changed")
        self.assertEqual(notice.conversation_id.wa_id, "32470777001")


@tagged("post_install", "-at_install", "whatsapp_meta_events")
class TestMetaEventsPreferences(WhatsappCase):
    """The customer's own marketing setting in WhatsApp (user_preferences),
    honoured as their STOP and START are."""

    def preference(self, value, wa_id="32470888001", user_id=None, timestamp=None):
        """A ``user_preferences`` body as in Meta's "user_preferences webhook
        reference" (webhooks/reference/user_preferences)."""
        item = {
            "detail": f"User requested to {value} marketing messages",
            "category": "marketing_messages",
            "value": value,
            "timestamp": timestamp or int(time.time()),
        }
        contact = {"profile": {"name": "Ann"}}
        if wa_id:
            item["wa_id"] = contact["wa_id"] = wa_id
        if user_id:
            item["user_id"] = contact["user_id"] = user_id
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": self.account.business_account_id,
                    "changes": [
                        {
                            "field": "user_preferences",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "15550100100",
                                    "phone_number_id": self.account.phone_number_id,
                                },
                                "contacts": [contact],
                                "user_preferences": [item],
                            },
                        }
                    ],
                }
            ],
        }

    def send(self, body):
        self.assertEqual(self.post_webhook(body).status_code, 200)
        self.process()

    def blacklisted(self, number):
        return bool(self.env["phone.blacklist"].search([("number", "=", number)]))

    def test_stop_refuses_marketing_only_and_resume_lifts_it(self):
        chat = self.deliver(self.message("32470888001", body="Hi")).conversation_id
        marketing = self.approved_template("promo_pref", "marketing")
        utility = self.approved_template("receipt_pref")
        self.send(self.preference("stop"))
        self.assertEqual(self.events().mapped("state"), ["done", "done"])
        self.assertTrue(self.blacklisted("+32470888001"))
        self.assertTrue(chat.opted_out)
        self.assertEqual(chat.marketing_preference, "stop")
        self.assertIn(chat, chat.search([("marketing_preference", "=", "stop")]))
        self.assertIn("stopped marketing messages", chat.message_ids[0].body)
        self.assertEqual(chat.message_ids[0].message_type, "notification")
        Message = self.env["whatsapp.message"]
        with self.assertRaisesRegex(UserError, "asked not to receive marketing"):
            Message._queue_template(chat, marketing, {})
        # utility templates and the team's own replies still go
        Message._queue_template(chat, utility, {})
        chat.with_user(self.user_allowed).message_post(
            body="Your order left today",
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        outbound = chat.message_ids_wa.filtered(lambda m: m.direction == "out")
        self.assertEqual(sorted(outbound.mapped("message_type")), ["template", "text"])
        self.send(self.preference("resume"))
        self.assertFalse(self.blacklisted("+32470888001"))
        self.assertFalse(chat.opted_out)
        self.assertEqual(chat.marketing_preference, "resume")
        self.assertIn("resumed marketing messages", chat.message_ids[0].body)
        Message._queue_template(chat, marketing, {})

    def test_resume_lifts_a_stop_keyword_too(self):
        chat = self.deliver(self.message("32470888002", body="STOP")).conversation_id
        self.assertTrue(chat.opted_out)
        self.send(self.preference("resume", wa_id="32470888002"))
        self.assertFalse(chat.opted_out)

    def test_a_late_older_choice_changes_nothing(self):
        chat = self.deliver(self.message("32470888003", body="Hi")).conversation_id
        now = int(time.time())
        self.send(self.preference("resume", wa_id="32470888003", timestamp=now))
        self.send(self.preference("stop", wa_id="32470888003", timestamp=now - 60))
        self.assertFalse(chat.opted_out)
        self.assertEqual(chat.marketing_preference, "resume")

    def test_a_customer_known_by_username_only(self):
        user_id = "BR.1502576394658001"
        chat = self.deliver(
            self.message(None, user_id=user_id, username="ana.s", body="Oi")
        ).conversation_id
        self.send(self.preference("stop", wa_id=None, user_id=user_id))
        self.assertTrue(chat.user_opted_out)
        self.assertTrue(chat.opted_out)
        marketing = self.approved_template("promo_user_pref", "marketing")
        with self.assertRaisesRegex(UserError, "asked not to receive marketing"):
            self.env["whatsapp.message"]._queue_template(chat, marketing, {})
        self.send(self.preference("resume", wa_id=None, user_id=user_id))
        self.assertFalse(chat.opted_out)

    def test_without_a_chat(self):
        """A number the blacklist holds goes on it without a chat being
        opened; one it refuses (Meta's test numbers) gets a chat that keeps
        the choice."""
        Chat = self.env["whatsapp.conversation"]
        self.send(self.preference("stop", wa_id="32470888004"))
        self.assertTrue(self.blacklisted("+32470888004"))
        self.assertFalse(Chat.search([("wa_id", "=", "32470888004")]))
        self.assertEqual(self.events().state, "done")
        self.send(self.preference("stop", wa_id="15550100124"))
        chat = Chat.search([("wa_id", "=", "15550100124")])
        self.assertTrue(chat.opted_out)
        self.assertEqual(chat.marketing_preference, "stop")
        # the same customer's chat opened later on another of our numbers
        other = self.env["whatsapp.account"].create(
            {"name": "Support", "phone_number_id": "334", "access_token": "x"}
        )
        self.assertTrue(
            Chat._get_or_create_for_partner(other, chat.partner_id).opted_out
        )

    def test_a_number_not_configured_yet_is_kept(self):
        body = self.preference("stop", wa_id="32470888005")
        body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
        self.send(body)
        event = self.events()
        self.assertEqual(event.state, "pending", "kept and retried, never dropped")
        self.assertIn("999", event.error)
        self.assertFalse(self.blacklisted("+32470888005"))


@tagged("post_install", "-at_install", "whatsapp_meta_events")
class TestMetaEventsTemplates(WhatsappCase):
    """Meta's verdicts on templates: status with its reasons, quality score
    and category, kept on the template and told to its author."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.author = new_test_user(
            cls.env,
            login="wa_author",
            groups="whatsapp_team.group_whatsapp_admin",
            notification_type="inbox",
        )

    def submitted(self, name="spring_offer", category="marketing"):
        template = (
            self.env["whatsapp.template"]
            .with_user(self.author)
            .create(
                {
                    "name": name,
                    "language": "en_US",
                    "account_id": self.account.id,
                    "category": category,
                    "body": "Our spring collection is here.",
                }
            )
        )
        template.action_submit()
        template = template.sudo()
        self.assertEqual(template.submitted_by_id, self.author)
        return template

    def template_change(self, field, value, time_=None):
        """A template webhook body, as in Meta's reference page of ``field``
        (webhooks/reference/message_template_status_update,
        message_template_quality_update, template_category_update)."""
        body = {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": self.account.business_account_id,
                    "time": time_ or int(time.time()),
                    "changes": [{"field": field, "value": value}],
                }
            ],
        }
        self.assertEqual(self.post_webhook(body).status_code, 200)
        self.process()

    def status(self, template, event, time_=None, **extra):
        self.template_change(
            "message_template_status_update",
            {
                "event": event,
                "message_template_id": int(template.wa_template_id),
                "message_template_name": template.name,
                "message_template_language": template.language,
                "reason": extra.pop("reason", "NONE"),
                **extra,
            },
            time_,
        )

    def author_notices(self, template):
        return self.env["mail.message"].search(
            [
                ("model", "=", "whatsapp.template"),
                ("res_id", "=", template.id),
                ("message_type", "=", "user_notification"),
                ("partner_ids", "in", self.author.partner_id.id),
            ]
        )

    def test_a_rejection_with_its_reason_and_recommendation(self):
        template = self.submitted()
        self.status(
            template,
            "REJECTED",
            reason="INVALID_FORMAT",
            message_template_category="MARKETING",
            rejection_info={
                "reason": "Variables can't be next to each other.",
                "recommendation": "Add text between the variables.",
            },
        )
        self.assertEqual(
            (
                template.status,
                template.rejected_reason,
                template.rejection_info,
                template.rejection_recommendation,
            ),
            (
                "rejected",
                "INVALID_FORMAT",
                "Variables can't be next to each other.",
                "Add text between the variables.",
            ),
        )
        notice = self.author_notices(template)
        self.assertEqual(len(notice), 1)
        for text in (
            "spring_offer",
            "Rejected",
            "INVALID_FORMAT",
            "Variables can",
            "Add text between the variables.",
        ):
            self.assertIn(text, notice.body)
        self.assertTrue(
            self.env["mail.notification"].search(
                [
                    ("mail_message_id", "=", notice.id),
                    ("res_partner_id", "=", self.author.partner_id.id),
                    ("notification_type", "=", "inbox"),
                ]
            )
        )
        # the form shows them
        arch = template.get_view(view_type="form")["arch"]
        for name in ("rejection_info", "rejection_recommendation", "rejected_reason"):
            self.assertIn(f'name="{name}"', arch)
        # an approval later clears them
        self.status(template, "APPROVED")
        self.assertEqual(template.status, "approved")
        self.assertFalse(template.rejection_info or template.rejection_recommendation)
        self.assertEqual(len(self.author_notices(template)), 1)

    def test_paused_flagged_disabled_and_reinstated(self):
        template = self.submitted("autumn_offer")
        self.status(template, "APPROVED")
        self.status(template, "FLAGGED")
        self.assertEqual((template.status, template.flagged), ("approved", True))
        self.status(
            template,
            "PAUSED",
            other_info={
                "title": "FIRST_PAUSE",
                "description": "Your WhatsApp message template has been paused "
                "for 3 hours until Jun 30 at 4:30 AM UTC because of low quality.",
            },
        )
        self.assertEqual(
            (template.status, template.status_info_title),
            ("paused", "FIRST_PAUSE"),
        )
        self.assertIn("paused for 3 hours", template.status_info)
        self.status(template, "DISABLED", disable_info={"disable_date": 1751234563})
        self.assertEqual(template.status, "disabled")
        self.assertEqual(str(template.disabled_at), "2025-06-29 22:02:43")
        notices = self.author_notices(template)
        self.assertEqual(len(notices), 3, "flagged, paused, disabled")
        self.assertIn("paused for 3 hours", notices.sorted("id")[1].body)
        self.status(template, "REINSTATED")
        self.assertEqual(template.status, "approved")
        self.assertFalse(template.disabled_at or template.flagged)

    def test_a_late_older_status_changes_nothing(self):
        template = self.submitted("late_offer")
        now = int(time.time())
        self.status(template, "APPROVED", time_=now)
        self.status(template, "REJECTED", time_=now - 120, reason="SCAM")
        self.assertEqual(template.status, "approved")
        self.assertFalse(self.author_notices(template))

    def test_an_unknown_template_is_created_and_synced(self):
        made_in_manager = self.graph.add_template(
            "made_in_manager", category="UTILITY", status="APPROVED"
        )
        Template = self.env["whatsapp.template"].with_context(active_test=False)
        self.assertFalse(Template.search([("name", "=", "made_in_manager")]))
        cron = self.env.ref("whatsapp_team.ir_cron_sync_templates")
        triggers = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)])
        self.template_change(
            "message_template_status_update",
            {
                "event": "APPROVED",
                "message_template_id": int(made_in_manager["id"]),
                "message_template_name": "made_in_manager",
                "message_template_language": "en_US",
                "reason": "NONE",
                "message_template_category": "UTILITY",
            },
        )
        template = Template.search([("name", "=", "made_in_manager")])
        self.assertEqual(
            (template.status, template.category, template.wa_template_id),
            ("approved", "utility", made_in_manager["id"]),
        )
        self.assertEqual(template.account_id, self.account)
        self.assertGreater(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]),
            len(triggers),
            "the templates are synced at once",
        )
        chat = self.deliver(self.message("32470999001")).conversation_id
        with self.assertRaisesRegex(UserError, "sync the templates"):
            self.env["whatsapp.message"]._queue_template(chat, template, {})
        self.env["whatsapp.template"]._cron_sync()
        self.assertEqual(template.body, "made_in_manager body")
        self.assertEqual(Template.search_count([("name", "=", "made_in_manager")]), 1)
        self.env["whatsapp.message"]._queue_template(chat, template, {})

    def test_quality_score(self):
        template = self.submitted("quality_offer")
        now = int(time.time())
        value = {
            "message_template_id": int(template.wa_template_id),
            "message_template_name": template.name,
            "message_template_language": "en_US",
        }
        self.template_change(
            "message_template_quality_update",
            {**value, "previous_quality_score": "GREEN", "new_quality_score": "YELLOW"},
            now,
        )
        self.assertEqual(
            (template.quality_score, template.previous_quality_score),
            ("yellow", "green"),
        )
        self.template_change(
            "message_template_quality_update",
            {
                **value,
                "previous_quality_score": "UNKNOWN",
                "new_quality_score": "GREEN",
            },
            now - 3600,
        )
        self.assertEqual(template.quality_score, "yellow", "an older score is past")
        self.assertIn(
            template,
            template.search([("quality_score", "=", "yellow")]),
        )
        arch = template.get_view(view_type="list")["arch"]
        self.assertIn('name="quality_score"', arch)

    def test_category_announced_then_changed(self):
        template = self.submitted("receipt_info", category="utility")
        self.status(template, "APPROVED")
        value = {
            "message_template_id": int(template.wa_template_id),
            "message_template_name": template.name,
            "message_template_language": "en_US",
        }
        self.template_change(
            "template_category_update",
            {
                **value,
                "correct_category": "MARKETING",
                "new_category": "UTILITY",
                "category_update_timestamp": 1760711433,
            },
        )
        self.assertEqual(
            (template.category, template.upcoming_category),
            ("utility", "marketing"),
        )
        self.assertEqual(str(template.upcoming_category_at), "2025-10-17 14:30:33")
        self.template_change(
            "template_category_update",
            {**value, "previous_category": "UTILITY", "new_category": "MARKETING"},
        )
        self.assertEqual(
            (template.category, template.previous_category, template.upcoming_category),
            ("marketing", "utility", False),
        )
        # now a marketing template: a customer who opted out no longer gets it
        chat = self.deliver(self.message("32470999002", body="STOP")).conversation_id
        with self.assertRaisesRegex(UserError, "asked not to receive marketing"):
            self.env["whatsapp.message"]._queue_template(chat, template, {})


@tagged("post_install", "-at_install", "whatsapp_meta_events")
class TestMetaEventsMigration(WhatsappCase):
    """A database of an earlier build: the fields are filled from each
    message's raw JSON by the update to 18.0.1.4.0."""

    def test_fields_filled_from_the_raw_messages(self):
        note_id = self.graph.add_media(b"OggS", "audio/ogg")
        records = self.deliver(
            self.message(
                "32470111001",
                "interactive",
                interactive={
                    "type": "list_reply",
                    "list_reply": {"id": "r1", "title": "Tuesday", "description": "AM"},
                },
            ),
            self.message(
                "32470111002", "button", button={"payload": "P1", "text": "Yes"}
            ),
            self.message(
                "32470111003",
                "audio",
                audio={"id": note_id, "voice": True, "sha256": "abc"},
            ),
            self.message("32470111004", "contacts", contacts=[FULL_CARD]),
        )
        row, button, note, cards = (
            records.filtered(lambda m, kind=kind: m.message_type == kind)
            for kind in ("interactive", "button", "audio", "contacts")
        )
        # as an earlier build left them
        self.env.flush_all()
        self.env.cr.execute(
            """
            UPDATE whatsapp_message
               SET interactive_type = NULL, interactive_reply_id = NULL,
                   interactive_reply_title = NULL,
                   interactive_reply_description = NULL,
                   button_payload = NULL, button_text = NULL,
                   is_voice = NULL, media_sha256 = NULL
            """
        )
        self.env.cr.execute("DELETE FROM whatsapp_message_contact")
        cards.mail_message_id.body = "👤 Barbara J. Johnson +1 (650) 555-0134"
        self.env.invalidate_all()
        self.assertFalse(row.interactive_reply_id or cards.shared_contact_ids)

        migration = importlib.util.spec_from_file_location(
            "post_meta_events",
            file_path("whatsapp_team/migrations/18.0.1.4.0/post-meta-events.py"),
        )
        module = importlib.util.module_from_spec(migration)
        migration.loader.exec_module(module)
        module.migrate(self.env.cr, "18.0.1.3.0")

        self.assertEqual(
            (
                row.interactive_type,
                row.interactive_reply_id,
                row.interactive_reply_title,
                row.interactive_reply_description,
            ),
            ("list_reply", "r1", "Tuesday", "AM"),
        )
        self.assertEqual((button.button_payload, button.button_text), ("P1", "Yes"))
        self.assertEqual((note.is_voice, note.media_sha256), (True, "abc"))
        self.assertEqual(cards.shared_contact_ids.name, "Barbara J. Johnson")
        self.assertIn("Add to contacts", cards.mail_message_id.body)
        # run twice, nothing doubles
        module.migrate(self.env.cr, "18.0.1.3.0")
        self.assertEqual(len(cards.shared_contact_ids), 1)


@tagged("post_install", "-at_install", "whatsapp_meta_events")
class TestMetaEventsByHand(WhatsappCase):
    """What WhatsApp tells of the customer is not written by hand, even by
    those who may write the chat."""

    def test_former_ids_and_marketing_setting_are_whatsapps(self):
        chat = self.deliver(self.message("32470222001", body="Hi")).conversation_id
        self.assertTrue(chat.with_user(self.user_allowed).has_access("write"))
        for values in (
            {"previous_numbers": "+32 470 00 00 00"},
            {"previous_user_ids": "BE.1"},
            {"marketing_preference": "resume"},
            {"marketing_preference_at": "2026-01-01 00:00:00"},
        ):
            with self.assertRaises(AccessError):
                chat.with_user(self.user_allowed).write(values)
            with self.assertRaises(xmlrpc.client.Fault):
                rpc(
                    self,
                    self.user_allowed,
                    "whatsapp.conversation",
                    "write",
                    [chat.id],
                    values,
                )
        self.assertFalse(chat.previous_numbers or chat.marketing_preference)
        # nor the message's fields, nor its cards
        message = chat.message_ids_wa
        with self.assertRaises(AccessError):
            message.with_user(self.user_allowed).write({"interactive_reply_id": "x"})
