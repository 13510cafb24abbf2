import json

from odoo.tests import tagged

from odoo.addons.mail.models.models import BaseModel as MailBase

from .test_team import TeamCase


@tagged("post_install", "-at_install", "whatsapp_notify")
class TestNotifyCost(TeamCase):
    """A customer message's line in the chat and its announce to the team
    cost few queries, and tell the same people the same things."""

    def inbox_of(self, mail_message):
        return mail_message.notification_ids.filtered(
            lambda n: n.notification_type == "inbox"
        ).res_partner_id

    def stored_message(self, chat, body):
        message = (
            self.env["whatsapp.message"]
            .sudo()
            .create(
                {
                    "wa_message_id": f"wamid.cost-{body}",
                    "conversation_id": chat.id,
                    "direction": "in",
                    "message_type": "text",
                    "body": body,
                    "state": "received",
                }
            )
        )
        self.env.flush_all()
        return message

    def test_post_and_announce_cost_few_queries(self):
        chat = self.new_chat(body="Hello")
        self.assertEqual(chat.user_id, self.ana)
        # as in the processor, where a chat's messages follow one another
        warm_up = self.stored_message(chat, "Are you there?")
        warm_up._post_inbound_in_chatter()
        warm_up._announce_to_team()
        self.env.cr.precommit.run()
        self.env["bus.bus"].sudo().search([]).unlink()
        message = self.stored_message(chat, "Still there?")
        # the message, nothing read again for its recipients or reply-to,
        # no first message looked up to thread it under
        with self.assertQueryCount(6):
            message._post_inbound_in_chatter()
        mail_message = message.mail_message_id
        self.assertFalse(self.inbox_of(mail_message), "told once announced")
        # followers and answerers read together; the notice, the bus
        with self.assertQueryCount(28):
            message._announce_to_team()
        self.assertEqual(self.inbox_of(mail_message), self.ana.partner_id)
        inbox = self.inbox_bus(self.ana)
        self.assertEqual(len(inbox), 1)
        self.assertIn("Still there?", json.dumps(inbox[0]["payload"]))
        self.assertFalse(self.inbox_bus(self.ben))

    def test_announce_values_are_the_message(self):
        chat = self.new_chat(body="Hello")
        message = self.deliver(self.message(chat.wa_id, body="Prices?"))
        mail_message = message.mail_message_id
        mail_message.invalidate_recordset()
        values = message._announce_values(chat)
        self.assertEqual(
            values,
            {
                "model": "whatsapp.conversation",
                "res_id": chat.id,
                "message_type": mail_message.message_type,
                "subtype_id": self.env.ref("whatsapp_team.mt_customer_message").id,
                "author_id": chat.partner_id.id,
                "partner_ids": [],
                "body": mail_message.body,
                "record_name": mail_message.record_name,
                "subject": mail_message.subject,
                "scheduled_date": False,
            },
        )
        self.assertFalse(mail_message.partner_ids)

    def test_answerer_who_is_the_current_user_is_told(self):
        """Odoo tells nobody of their own message: an answerer who runs the
        announce (as the current user) still hears of the customer's."""
        chat = self.new_chat(body="Hello")
        message = self.stored_message(chat, "For Ana")
        message._post_inbound_in_chatter()
        chat.message_subscribe(
            partner_ids=self.ana.partner_id.ids,
            subtype_ids=self.env.ref("whatsapp_team.mt_customer_message").ids,
        )
        message.with_user(self.ana)._announce_to_team()
        self.assertEqual(self.inbox_of(message.mail_message_id), self.ana.partner_id)

    def test_unassigned_chat_tells_its_team_and_followers_once(self):
        self.team.whatsapp_assignment = "manual"
        chat = self.new_chat(body="Anyone?")
        self.assertFalse(chat.user_id)
        # a follower of customer messages who also answers, one who does not
        # answer but may read, one who may not read the chat
        subtype = self.env.ref("whatsapp_team.mt_customer_message")
        chat.message_subscribe(
            partner_ids=(self.ben | self.leader | self.dan).partner_id.ids,
            subtype_ids=subtype.ids,
        )
        message = self.stored_message(chat, "Hello team")
        message._post_inbound_in_chatter()
        message._announce_to_team()
        mail_message = message.mail_message_id
        self.assertEqual(
            self.inbox_of(mail_message),
            (self.ana | self.ben | self.cleo | self.leader).partner_id,
        )
        self.assertEqual(len(mail_message.notification_ids), 4)

    def test_reply_to_is_odoos(self):
        chat = self.new_chat(body="Hello")
        expected = MailBase._notify_get_reply_to(chat, default="x@example.com")
        self.assertEqual(chat._notify_get_reply_to(default="x@example.com"), expected)
        self.assertEqual(expected, {chat.id: "x@example.com"})
        domain = self.env["mail.alias.domain"].create(
            {"name": "chats.example.com", "catchall_alias": "catchall"}
        )
        chat.company_id.alias_domain_id = domain
        expected = MailBase._notify_get_reply_to(chat, default="x@example.com")
        self.assertIn("catchall@chats.example.com", expected[chat.id])
        self.assertEqual(chat._notify_get_reply_to(default="x@example.com"), expected)
        message = self.deliver(self.message(chat.wa_id, body="Reply-to?"))
        self.assertEqual(message.mail_message_id.reply_to, expected[chat.id])
