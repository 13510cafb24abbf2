import time
from unittest.mock import patch

from odoo.tests import tagged

from ..tools.batch import PROCESSOR_BATCH, ProcessorBatch
from .common import WhatsappCase

CRM_LOGGER = "odoo.addons.whatsapp_team.models.whatsapp_conversation_crm"


@tagged("post_install", "-at_install", "whatsapp_crm")
class TestLeadCopies(WhatsappCase):
    """The lines a webhook processor posts in chats linked to leads reach
    the leads' chatters at its commit, made together."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account.create_leads = True

    def creates_on_leads(self):
        """A list filled with the number of lead chatter lines each
        mail.message create makes."""
        MailMessage = type(self.env["mail.message"])
        create = MailMessage.create
        counts = []

        def spy(records, vals_list):
            values = vals_list if isinstance(vals_list, list) else [vals_list]
            on_leads = [v for v in values if v.get("model") == "crm.lead"]
            if on_leads:
                counts.append(len(on_leads))
            return create(records, vals_list)

        return counts, patch.object(MailMessage, "create", spy)

    def stored(self, chat, body):
        return (
            self.env["whatsapp.message"]
            .with_context(**{PROCESSOR_BATCH: self.work})
            .create(
                {
                    "wa_message_id": self.new_wamid(),
                    "conversation_id": chat.id,
                    "direction": "in",
                    "message_type": "text",
                    "body": body,
                    "state": "received",
                }
            )
        )

    def test_a_processors_copies_are_made_together(self):
        customers = ("32470300040", "32470300041")
        chats = [
            self.deliver(self.message(wa_id, body="Hello")).conversation_id
            for wa_id in customers
        ]
        now = int(time.time())
        sent = {}
        for n in range(3):
            for wa_id in customers:
                item = self.message(wa_id, body=f"Question {n}", timestamp=now + n)
                self.post_webhook(self.payload([item]))
                sent[wa_id, n] = item[0]["id"]
        # the first customer corrects a question before the processor commits
        edit = self.message(customers[0], "edit", timestamp=now + 10)
        edit[0]["edit"] = {
            "original_message_id": sent[customers[0], 1],
            "message": {"type": "text", "text": {"body": "Question 1, in blue"}},
        }
        self.post_webhook(self.payload([edit]))
        counts, spying = self.creates_on_leads()
        with spying:
            self.process()
        self.assertEqual(counts, [6], "the six copies in one create")
        Message = self.env["whatsapp.message"]
        for wa_id, chat in zip(customers, chats, strict=True):
            lead = chat.lead_id
            self.assertTrue(lead)
            messages = Message.search(
                [("wa_message_id", "in", [sent[wa_id, n] for n in range(3)])],
                order="id",
            )
            copies = messages.lead_message_id
            self.assertEqual(len(copies), 3, "each message its own copy")
            self.assertEqual(set(copies.mapped("model")), {"crm.lead"})
            self.assertEqual(set(copies.mapped("res_id")), {lead.id})
            self.assertEqual(copies.ids, sorted(copies.ids), "in the chat's order")
            self.assertEqual(
                lead.message_ids[:3].ids, copies.ids[::-1], "the lead's last lines"
            )
            for message, copy in zip(messages, copies, strict=True):
                self.assertIn("WhatsApp · ", copy.body)
                self.assertIn(message.body, copy.body)
                self.assertEqual(copy.author_id, chat.partner_id)
                self.assertTrue(copy.is_internal)
                self.assertEqual(copy.subtype_id, self.env.ref("mail.mt_note"))
                self.assertFalse(copy.notification_ids, "a copy notifies nobody")
        edited = Message.search([("wa_message_id", "=", sent[customers[0], 1])])
        self.assertIn("Question 1, in blue", edited.lead_message_id.body)
        self.assertIn("(edited)", edited.lead_message_id.body)

    def test_a_copy_is_made_of_what_the_commit_keeps(self):
        """A line rolled back before the commit is not copied; a message
        that got another copy meanwhile (the note of a lead linked after it)
        keeps that one; a copy that cannot be made costs only itself."""
        chat = self.deliver(self.message("32470300042", body="Hello")).conversation_id
        first_lead = chat.lead_id
        self.work = ProcessorBatch()
        # posted, then undone with its event
        with self.assertRaises(ValueError), self.env.cr.savepoint():
            self.stored(chat, "Undone")._post_inbound_in_chatter()
            raise ValueError("the event failed")
        kept = self.stored(chat, "Kept")
        kept._post_inbound_in_chatter()
        relinked = self.stored(chat, "Then relinked")
        relinked._post_inbound_in_chatter()
        self.assertEqual(len(self.work.lead_copies), 3, "nothing made yet")
        self.assertFalse(kept.lead_message_id)
        second_lead = self.env["crm.lead"].create(
            {"name": "Second", "partner_id": chat.partner_id.id}
        )
        chat.sudo().lead_id = second_lead
        link_note = relinked.lead_message_id
        self.assertEqual(
            (link_note.model, link_note.res_id), ("crm.lead", second_lead.id)
        )
        broken = self.stored(chat, "Broken")
        broken._post_inbound_in_chatter()

        Conversation = type(self.env["whatsapp.conversation"])
        copy_lines = Conversation._copy_lines_to_leads

        def failing(chats, pending):
            # fails once it made its copies and linked them, not written yet
            copy_lines(chats, pending)
            if broken.mail_message_id.id in pending:
                raise ValueError("no copy of this one")

        counts, spying = self.creates_on_leads()
        with (
            spying,
            patch.object(Conversation, "_copy_lines_to_leads", failing),
            self.assertLogs(CRM_LOGGER, "ERROR") as logs,
        ):
            self.env["whatsapp.conversation"]._make_lead_copies(self.work)
        self.assertEqual(counts, [3, 1, 1, 1], "together, undone, then one by one")
        self.assertEqual(len(logs.records), 2, "together, then the broken one")
        self.assertFalse(self.work.lead_copies)

        on_leads = self.env["mail.message"].search(
            [
                ("model", "=", "crm.lead"),
                ("res_id", "in", chat.lead_id.ids + first_lead.ids),
            ]
        )
        self.assertFalse(on_leads.filtered(lambda m: "Undone" in m.body))
        self.assertFalse(on_leads.filtered(lambda m: "Broken" in m.body))
        self.assertFalse(broken.lead_message_id)
        # each copy on the lead its line was posted beside
        self.assertEqual(kept.lead_message_id.res_id, first_lead.id)
        self.assertIn("Kept", kept.lead_message_id.body)
        self.assertEqual(relinked.lead_message_id, link_note)
        self.assertTrue(
            on_leads.filtered(
                lambda m: m.res_id == first_lead.id and "Then relinked" in m.body
            ),
            "the first lead keeps its copy",
        )
