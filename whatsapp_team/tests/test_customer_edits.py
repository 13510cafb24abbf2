import json
import time

from odoo.tests import tagged

from .common import WhatsappCase
from .test_inbound_types import PNG


@tagged("post_install", "-at_install", "whatsapp_inbound")
class TestCustomerEdits(WhatsappCase):
    """A customer edits or deletes a message of theirs (a number shared with
    the WhatsApp Business app): the chat shows it as their phone does."""

    WA_ID = "32470555321"

    def setUp(self):
        super().setUp()
        self.now = int(time.time())
        self.original = self.deliver(
            self.message(self.WA_ID, body="See you at 5", timestamp=self.now)
        )
        self.chat = self.original.conversation_id

    def change(self, kind, content, wa_id=WA_ID, seconds=60):
        edit = self.message(wa_id, kind, timestamp=self.now + seconds)
        edit[0][kind] = content
        self.deliver(edit)
        return edit[0]["id"]

    def edit(self, text, wa_id=WA_ID, seconds=60):
        return self.change(
            "edit",
            {
                "original_message_id": self.original.wa_message_id,
                "message": {"type": "text", "text": {"body": text}},
            },
            wa_id=wa_id,
            seconds=seconds,
        )

    def deliver_photo(self, caption):
        media_id = self.graph.add_media(PNG, "image/png")
        return self.deliver(
            self.message(
                self.WA_ID,
                "image",
                image={"id": media_id, "mime_type": "image/png", "caption": caption},
            )
        )

    def chat_lines(self, chat=None):
        chat = chat or self.chat
        return (
            self.env["whatsapp.message"].search_count(
                [("conversation_id", "=", chat.id)]
            ),
            self.env["mail.message"].search_count(
                [("model", "=", chat._name), ("res_id", "=", chat.id)]
            ),
        )

    def test_an_edit_changes_the_message_where_it_is(self):
        before = self.chat_lines()
        waiting_since = self.chat.waiting_since
        bus = self.env["bus.bus"].sudo()
        bus.search([]).unlink()
        self.edit("See you at 6")
        self.assertEqual(self.original.body, "See you at 6")
        self.assertTrue(self.original.edited_at)
        body = self.original.mail_message_id.body
        self.assertIn("See you at 6", body)
        self.assertIn("(edited)", body)
        self.assertNotIn("at 5", body)
        self.assertEqual(self.chat_lines(), before, "no new line in the chat")
        self.assertEqual(self.chat.waiting_since, waiting_since)
        # the open screens of those who may read the chat see it change
        self.env.cr.precommit.run()
        sent = json.dumps(bus.search([]).mapped("message"))
        self.assertIn("See you at 6", sent)
        self.assertEqual(self.chat._inbox_row()["preview"]["body"], "See you at 6")

    def test_an_edit_delivered_late_does_not_undo_a_newer_one(self):
        self.edit("See you at 7", seconds=120)
        self.edit("See you at 6", seconds=60)
        self.assertEqual(self.original.body, "See you at 7")

    def test_a_deletion_takes_the_words_and_files_away(self):
        photo = self.deliver_photo("me")
        self.assertTrue(photo.attachment_ids)
        before = self.chat_lines()
        for message in (self.original, photo):
            self.change("revoke", {"original_message_id": message.wa_message_id})
            self.assertTrue(message.revoked_at)
            self.assertFalse(message.body)
            self.assertIn("deleted this message", message.mail_message_id.body)
            self.assertNotIn("See you", message.mail_message_id.body)
        self.assertFalse(photo.attachment_ids)
        self.assertFalse(photo.mail_message_id.attachment_ids)
        self.assertEqual(self.chat_lines(), before)
        self.assertIn("Deleted", self.chat._inbox_preview_text(photo))
        # deleted stays deleted
        self.edit("Back again", seconds=600)
        self.assertFalse(self.original.body)

    def test_the_leads_copy_changes_with_the_message(self):
        """The lead carries a copy of each message of its chat: an edit
        changes it too, and a deletion takes its words and its files away
        from the lead as from the chat."""
        lead = self.env["crm.lead"].create(
            {"name": "Meeting", "partner_id": self.chat.partner_id.id}
        )
        self.chat.sudo().lead_id = lead
        # the lead's note of the link quotes the last message: it is that
        # message's copy
        first, link_note = self.original, self.original.lead_message_id
        self.assertIn("Linked to the WhatsApp chat", link_note.body)
        self.assertIn("See you at 5", link_note.body)
        self.original = self.deliver(
            self.message(self.WA_ID, body="Table for 4", timestamp=self.now + 10)
        )
        photo = self.deliver_photo("map")
        copy, photo_copy = self.original.lead_message_id, photo.lead_message_id
        self.assertEqual((copy.model, copy.res_id), ("crm.lead", lead.id))
        self.assertIn("Table for 4", copy.body)
        self.assertTrue(photo_copy.attachment_ids)
        lead_lines = len(lead.message_ids)

        self.edit("Table for 6")
        self.assertIn("Table for 6", copy.body)
        self.assertIn("(edited)", copy.body)
        self.assertNotIn("for 4", copy.body)
        self.assertIn("WhatsApp ·", copy.body, "under its header still")

        # a file of someone else's that a user who may write the lead put on
        # the copy (a chatter message of the lead) is not the deletion's
        other_file = self.env["ir.attachment"].create(
            {
                "name": "price-list.pdf",
                "raw": b"%PDF prices",
                "res_model": "res.partner",
                "res_id": self.chat.partner_id.id,
            }
        )
        photo_copy.attachment_ids = [(4, other_file.id)]
        self.change("revoke", {"original_message_id": photo.wa_message_id})
        self.assertTrue(other_file.exists())
        photo_copy.attachment_ids = [(3, other_file.id)]
        self.assertIn("deleted this message", photo_copy.body)
        self.assertNotIn("map", photo_copy.body)
        self.assertFalse(photo_copy.attachment_ids)
        self.assertFalse(
            self.env["ir.attachment"].search(
                [("res_model", "=", "crm.lead"), ("res_id", "=", lead.id)]
            ),
            "the lead's copy of the photo is gone",
        )
        self.change("revoke", {"original_message_id": first.wa_message_id})
        self.assertNotIn("See you", link_note.body)
        self.assertIn("Linked to the WhatsApp chat", link_note.body)
        self.assertEqual(len(lead.message_ids), lead_lines, "no new line on the lead")

    def test_only_the_customer_who_wrote_it_changes_it(self):
        other_edit = self.edit("Not yours", wa_id="32470555999")
        self.assertEqual(self.original.body, "See you at 5")
        self.assertFalse(self.original.edited_at)
        # what they sent is kept all the same, in their own chat
        kept = self.env["whatsapp.message"].search([("wa_message_id", "=", other_edit)])
        self.assertEqual(kept.body, "Not yours")
        self.assertNotEqual(kept.conversation_id, self.chat)

    def test_an_edit_of_a_message_never_received_is_kept(self):
        wamid = self.change(
            "edit",
            {
                "original_message_id": "wamid.UNKNOWN",
                "message": {"type": "text", "text": {"body": "Changed my mind"}},
            },
        )
        kept = self.env["whatsapp.message"].search([("wa_message_id", "=", wamid)])
        self.assertEqual(kept.conversation_id, self.chat)
        self.assertIn("Changed my mind", kept.mail_message_id.body)
