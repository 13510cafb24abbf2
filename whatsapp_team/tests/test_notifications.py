import json
import re
from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import tagged

from odoo.addons.mail.tools.discuss import Store

from .test_team import TeamCase


@tagged("post_install", "-at_install", "whatsapp_notify")
class TestNotifications(TeamCase):
    """Notifications are about customers, not about the system."""

    def setUp(self):
        super().setUp()
        self.customer_subtype = self.env.ref("whatsapp_team.mt_customer_message")

    def customer_message(self, chat, text):
        return chat.message_ids.filtered(lambda m: text in (m.body or ""))

    def inbox_of(self, mail_message):
        """The partners told of ``mail_message`` in their Odoo inbox."""
        return mail_message.notification_ids.filtered(
            lambda n: n.notification_type == "inbox"
        ).res_partner_id

    def notices_of(self, user, chat):
        """Every inbox notification ``user`` got about ``chat``."""
        return (
            self.env["mail.notification"]
            .search(
                [
                    ("res_partner_id", "=", user.partner_id.id),
                    ("notification_type", "=", "inbox"),
                ]
            )
            .filtered(
                lambda n: (n.mail_message_id.model, n.mail_message_id.res_id)
                == (chat._name, chat.id)
            )
        )

    # ------------------------------------------------------------
    # 1. every customer message reaches those who answer the chat
    # ------------------------------------------------------------

    def test_first_message_of_a_new_chat_reaches_its_salesperson(self):
        self.env["bus.bus"].sudo().search([]).unlink()
        chat = self.new_chat(body="Do you deliver to Ghent?")
        self.assertEqual(chat.user_id, self.ana)
        first = self.customer_message(chat, "Do you deliver to Ghent?")
        self.assertEqual(first.subtype_id, self.customer_subtype)
        self.assertEqual(self.inbox_of(first), self.ana.partner_id)
        # as Discuss announces an inbox message: its sound and desktop notice
        inbox = self.inbox_bus(self.ana)
        self.assertEqual(len(inbox), 1)
        self.assertIn("Ghent", json.dumps(inbox[0]["payload"]))
        # and every later one
        self.deliver(self.message(chat.wa_id, body="Tomorrow?"))
        self.assertEqual(
            self.inbox_of(self.customer_message(chat, "Tomorrow?")),
            self.ana.partner_id,
        )

    def test_unassigned_chat_reaches_the_members_of_its_team(self):
        self.team.whatsapp_assignment = "manual"
        chat = self.new_chat(body="Anyone there?")
        self.assertFalse(chat.user_id)
        # a follower who may not read the chat asked for its messages
        chat.message_subscribe(
            partner_ids=self.dan.partner_id.ids,
            subtype_ids=self.customer_subtype.ids,
        )
        self.deliver(self.message(chat.wa_id, body="Anyone there?"))
        message = self.customer_message(chat, "Anyone there?")
        self.assertEqual(len(message), 2)
        self.assertEqual(
            self.inbox_of(message),
            (self.ana | self.ben | self.cleo).partner_id,
            "not Dan of another team, not the leader who did not ask",
        )
        # taken: from now on only the one who took it
        chat.with_user(self.ben).action_claim()
        self.deliver(self.message(chat.wa_id, body="Thanks Ben"))
        self.assertEqual(
            self.inbox_of(self.customer_message(chat, "Thanks Ben")),
            self.ben.partner_id,
        )

    def test_chat_of_no_team_reaches_the_number_users(self):
        self.account.write(
            {
                "team_ids": [(5, 0, 0)],
                "team_id": False,
                "user_ids": [(6, 0, (self.ana | self.dan).ids)],
            }
        )
        chat = self.new_chat(body="Hello, no team?")
        self.assertFalse(chat.team_id or chat.user_id)
        message = self.customer_message(chat, "Hello, no team?")
        self.assertEqual(self.inbox_of(message), (self.ana | self.dan).partner_id)

    # ------------------------------------------------------------
    # 2. assignment and reply activities do not flood the inbox
    # ------------------------------------------------------------

    def test_assignment_and_reply_activity_send_no_notice(self):
        chats = self.new_chat(body="First") | self.new_chat(body="Second")
        self.env.cr.precommit.run()  # tracking is written at commit
        chat = chats.filtered(lambda c: c.user_id == self.ana)
        self.assertEqual(len(chat), 1)
        notices = self.notices_of(self.ana, chat)
        self.assertEqual(
            notices.mail_message_id.subtype_id,
            self.customer_subtype,
            "only the customer's words, no 'You have been assigned' or "
            "'activity assigned to you'",
        )
        self.assertEqual(len(notices), 1)
        # the reminder is there for her activity list all the same
        self.assertEqual(self.reply_activities(chat).user_id, self.ana)
        # handed to a colleague by a manager: no notice either
        chat.with_user(self.leader).user_id = self.cleo
        self.env.cr.precommit.run()
        self.assertFalse(self.notices_of(self.cleo, chat))
        self.assertEqual(self.reply_activities(chat).user_id, self.cleo)

    def test_answer_removes_the_reminder_without_a_line_in_the_chat(self):
        chat = self.new_chat(body="Price of the oak table?")
        before = chat.message_ids
        self.reply(chat, self.ana, "199 euros")
        self.assertFalse(self.reply_activities(chat))
        added = chat.message_ids - before
        self.assertEqual(
            added.mapped("subtype_id"),
            self.env.ref("mail.mt_comment"),
            "the answer itself and nothing about the activity",
        )
        self.assertFalse(added.filtered(lambda m: m.mail_activity_type_id))

    # ------------------------------------------------------------
    # 3. the team's own words reach no colleague; followers choose
    # ------------------------------------------------------------

    def test_customer_message_subtype_is_offered_to_followers(self):
        subtype = self.customer_subtype
        self.assertEqual(subtype.res_model, "whatsapp.conversation")
        self.assertFalse(subtype.default)
        self.assertFalse(subtype.internal)
        # what the chatter's follower subtypes dialog lists for a chat
        offered = self.env["mail.message.subtype"].search(
            [
                ("hidden", "=", False),
                "|",
                ("res_model", "=", "whatsapp.conversation"),
                ("res_model", "=", False),
            ]
        )
        self.assertIn(subtype, offered)

    def test_replies_reach_no_colleague_and_followers_choose(self):
        self.account.greeting_enabled = True
        chat = self.new_chat(body="Is the shop open on Sunday?")
        greeting = chat.message_ids.filtered(
            lambda m: m.author_id == self.env.ref("base.partner_root")
        )
        self.assertTrue(greeting)
        # the manager follows the chat, as Odoo subscribes followers
        chat.message_subscribe(partner_ids=self.leader.partner_id.ids)
        self.reply(chat, self.ana, "Yes, 10 to 4")
        answer = self.customer_message(chat, "Yes, 10 to 4")
        self.assertFalse(self.inbox_of(answer), "no 'To: the manager'")
        self.assertFalse(self.inbox_of(greeting))
        self.deliver(self.message(chat.wa_id, body="Great, see you"))
        self.assertEqual(
            self.inbox_of(self.customer_message(chat, "Great, see you")),
            self.ana.partner_id,
            "the manager did not ask for customer messages",
        )
        # the manager switches them on in the chatter's follower subtypes
        chat.with_user(self.leader).message_subscribe(
            partner_ids=self.leader.partner_id.ids,
            subtype_ids=(self.customer_subtype | self.env.ref("mail.mt_comment")).ids,
        )
        self.deliver(self.message(chat.wa_id, body="One more thing"))
        self.assertEqual(
            self.inbox_of(self.customer_message(chat, "One more thing")),
            (self.ana | self.leader).partner_id,
        )
        self.reply(chat, self.ana, "Tell me")
        self.assertFalse(self.inbox_of(self.customer_message(chat, "Tell me")))

    def test_moved_chat_leaves_the_inbox_of_those_who_lose_it(self):
        self.team.whatsapp_assignment = "manual"
        chat = self.new_chat(body="Who answers me?")
        message = self.customer_message(chat, "Who answers me?")
        self.assertIn(self.ana.partner_id, self.inbox_of(message))
        message.with_user(self.ana).read(["body"])
        # a manager gives it to Dan of the other team
        chat.with_user(self.env.ref("base.user_admin")).write(
            {"team_id": self.other_team.id, "user_id": self.dan.id}
        )
        self.assertNotIn(self.ana.partner_id, self.inbox_of(message))
        with self.assertRaises(AccessError):
            message.with_user(self.ana).read(["body"])

    # ------------------------------------------------------------
    # 4. one notice per leader and escalation run
    # ------------------------------------------------------------

    def late_run(self):
        with freeze_time(fields.Datetime.now() + timedelta(minutes=16)):
            self.env["whatsapp.conversation"]._cron_upkeep()

    def test_leader_is_told_once_per_run_of_all_late_chats(self):
        chats = self.env["whatsapp.conversation"]
        for name in ("Late One", "Late Two", "Late Three"):
            chats |= self.new_chat(body="Hello?", name=name)
        self.assertEqual(chats.user_id, self.ana | self.ben | self.cleo)
        leader_inbox = self.env["mail.notification"].search(
            [("res_partner_id", "=", self.leader.partner_id.id)]
        )
        self.late_run()
        told = (
            self.env["mail.notification"].search(
                [("res_partner_id", "=", self.leader.partner_id.id)]
            )
            - leader_inbox
        )
        self.assertEqual(len(told), 1, "one notice, not one per chat")
        self.assertEqual(told.notification_type, "inbox")
        notice = told.mail_message_id
        self.assertEqual((notice.model, notice.res_id), ("crm.team", self.team.id))
        self.assertNotIn(notice, self.team.message_ids, "not in the team's chatter")
        # the messaging menu's preview is the body's text on one line, tags
        # dropped: each customer's name stays a word of its own
        preview = re.sub(r"<[^>]+>", "", str(notice.body)).replace("\n", "")
        for chat in chats:
            self.assertIn(chat.partner_id.name, notice.body)
            self.assertRegex(preview, rf"\s{re.escape(chat.partner_id.name)} ")
            self.assertIn(f'data-oe-id="{chat.id}"', notice.body)
            self.assertIn(chat.user_id.name, notice.body)
            self.assertTrue(chat.escalated_at)
            trace = chat.message_ids.filtered(
                lambda m: "Escalated to the team leader" in (m.body or "")
            )
            self.assertEqual(len(trace), 1)
            self.assertFalse(trace.notification_ids, "a discreet line")
        # salespeople do not read the leader's notice
        with self.assertRaises(AccessError):
            notice.with_user(self.ana).read(["body"])
        # the next run has nothing new to tell
        self.late_run()
        self.assertEqual(
            self.env["mail.notification"].search_count(
                [("res_partner_id", "=", self.leader.partner_id.id)]
            ),
            len(leader_inbox) + 1,
        )

    def test_late_chat_given_to_another_member_tells_them(self):
        self.team.whatsapp_escalation = "reassign"
        chat = self.new_chat(body="Hello?")
        self.assertEqual(chat.user_id, self.ana)
        self.late_run()
        self.assertEqual(chat.user_id, self.ben)
        note = chat.message_ids.filtered(lambda m: "in time" in (m.body or ""))
        self.assertEqual(self.inbox_of(note), self.ben.partner_id)

    # ------------------------------------------------------------
    # 5. a chat opens where it can be answered
    # ------------------------------------------------------------

    def test_web_client_knows_whether_the_inbox_screen_exists(self):
        """The messaging menu opens a chat in the inbox screen when it is
        installed, else in the chat's form."""

        def told():
            store = Store()
            self.env["res.users"].with_user(self.ana)._init_store_data(store)
            return store.get_result()["Store"]["whatsapp_inbox_action"]

        xmlid = "whatsapp_team.whatsapp_inbox_action"
        if not self.env.ref(xmlid, raise_if_not_found=False):
            self.assertIs(told(), False)
            action = self.env["ir.actions.client"].create(
                {"name": "WhatsApp", "tag": "whatsapp_team.inbox"}
            )
            self.env["ir.model.data"].create(
                {
                    "module": "whatsapp_team",
                    "name": "whatsapp_inbox_action",
                    "model": action._name,
                    "res_id": action.id,
                }
            )
        self.assertIs(told(), True)
