import json
import time
from datetime import datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time
from lxml import etree

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools.safe_eval import safe_eval

from odoo.addons.bus.models.bus import channel_with_db, json_dump
from odoo.addons.mail.tools.discuss import Store

from ..models.whatsapp_conversation_inbox import ROW_NOTIFICATION
from ..tools import turns
from ..tools.batch import PROCESSOR_BATCH, ProcessorBatch
from .common import WhatsappCase

SALES = "whatsapp_team.group_whatsapp_user,sales_team.group_sale_salesman"
MANAGER = "whatsapp_team.group_whatsapp_manager,sales_team.group_sale_salesman"


class TeamCase(WhatsappCase):
    """Two sales teams share the number; salespeople are online."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.leader = new_test_user(cls.env, login="wa_leader", groups=MANAGER)
        cls.ana, cls.ben, cls.cleo = (
            new_test_user(cls.env, login=f"wa_{name}", name=name.title(), groups=SALES)
            for name in ("ana", "ben", "cleo")
        )
        cls.dan = new_test_user(cls.env, login="wa_dan", name="Dan", groups=SALES)
        cls.team = cls.env["crm.team"].create(
            {
                "name": "Showroom",
                "user_id": cls.leader.id,
                "whatsapp_assignment": "round_robin",
                "whatsapp_response_minutes": 15,
            }
        )
        cls.other_team = cls.env["crm.team"].create({"name": "Export"})
        Member = cls.env["crm.team.member"]
        cls.members = Member.create(
            [
                {"crm_team_id": cls.team.id, "user_id": user.id}
                for user in (cls.ana, cls.ben, cls.cleo)
            ]
        )
        Member.create({"crm_team_id": cls.other_team.id, "user_id": cls.dan.id})
        cls.account.write(
            {
                "user_ids": [(5, 0, 0)],
                "team_ids": [(6, 0, (cls.team | cls.other_team).ids)],
                "team_id": cls.team.id,
            }
        )
        for user in (cls.ana, cls.ben, cls.cleo, cls.dan, cls.leader):
            cls.set_online(user)

    @classmethod
    def set_online(cls, user, status="online"):
        presence = cls.env["bus.presence"].search([("user_id", "=", user.id)])
        if presence:
            presence.status = status
        else:
            cls.env["bus.presence"].create({"user_id": user.id, "status": status})
        user.invalidate_recordset(["im_status"])

    def inbox_bus(self, user):
        """The ``mail.message/inbox`` bus messages sent to ``user``, in order
        (Discuss's notice of an inbox message: its sound, its desktop notice)."""
        self.env.cr.precommit.run()
        channel = json_dump(channel_with_db(self.env.cr.dbname, user.partner_id))
        sent = (
            self.env["bus.bus"].sudo().search([("channel", "=", channel)], order="id")
        )
        return [
            json.loads(bus.message)
            for bus in sent
            if json.loads(bus.message)["type"] == "mail.message/inbox"
        ]

    def inbox_notices(self, user):
        """The payloads of ``inbox_bus``."""
        return [notice["payload"] for notice in self.inbox_bus(user)]

    _numbers = iter(range(32470200000, 32470299999))

    def new_chat(self, body="Hello", wa_id=None, **kwargs):
        wa_id = wa_id or str(next(self._numbers))
        return self.deliver(self.message(wa_id, body=body, **kwargs)).conversation_id

    def reply(self, conversation, user, body="On it"):
        conversation.with_user(user).message_post(
            body=body, message_type="comment", subtype_xmlid="mail.mt_comment"
        )

    def reply_activities(self, conversation):
        return conversation._reply_activities_sudo()


@tagged("post_install", "-at_install", "whatsapp_team")
class TestTeamAccess(TeamCase):
    """Who sees what, each rule as a low-privilege user."""

    def setUp(self):
        super().setUp()
        Conversation = self.env["whatsapp.conversation"]
        self.team.whatsapp_assignment = "manual"
        self.other_team.whatsapp_assignment = "manual"
        self.mine = self.new_chat()
        self.mine.user_id = self.ana
        self.unassigned = self.new_chat()
        self.export_free = self.new_chat()
        self.export_free.team_id = self.other_team
        self.export_dan = self.new_chat(
            kind="image", image={"id": "m1", "mime_type": "image/jpeg"}
        )
        self.export_dan.write({"team_id": self.other_team.id, "user_id": self.dan.id})
        self.all = self.mine | self.unassigned | self.export_free | self.export_dan
        self.assertEqual(self.all.team_id, self.team | self.other_team)
        self.Conversation = Conversation

    def visible(self, user):
        return self.Conversation.with_user(user).search([("id", "in", self.all.ids)])

    def test_salesperson_sees_own_and_team_unassigned(self):
        self.assertEqual(self.visible(self.ana), self.mine | self.unassigned)
        self.assertEqual(self.visible(self.ben), self.unassigned)
        self.assertEqual(self.visible(self.dan), self.export_free | self.export_dan)

    def test_salesperson_cannot_read_a_colleague_chat_messages_or_files(self):
        with self.assertRaises(AccessError):
            self.export_dan.with_user(self.ana).read(["name"])
        messages = (
            self.env["whatsapp.message"]
            .with_user(self.ana)
            .search([("conversation_id", "=", self.export_dan.id)])
        )
        self.assertFalse(messages)
        attachment = self.env["ir.attachment"].create(
            {
                "name": "quote.pdf",
                "raw": b"%PDF",
                "res_model": "whatsapp.conversation",
                "res_id": self.export_dan.id,
            }
        )
        with self.assertRaises(AccessError):
            attachment.with_user(self.ana).read(["datas"])
        attachment.with_user(self.dan).read(["datas"])

    def test_manager_sees_every_chat_of_their_team(self):
        self.assertEqual(self.visible(self.leader), self.mine | self.unassigned)
        admin = new_test_user(
            self.env, login="wa_admin_x", groups="whatsapp_team.group_whatsapp_admin"
        )
        self.assertEqual(self.visible(admin), self.all)

    def test_access_to_the_number_through_a_team_or_by_name(self):
        stranger = new_test_user(self.env, login="wa_stranger", groups=SALES)
        self.assertFalse(self.visible(stranger))
        self.assertFalse(self.env["whatsapp.account"].with_user(stranger).search([]))
        self.account.user_ids = stranger
        self.assertEqual(
            self.env["whatsapp.account"].with_user(stranger).search([]), self.account
        )
        # allowed by name, in no team: the chats of no team, unassigned
        no_team = self.new_chat()
        no_team.team_id = False
        self.assertEqual(self.visible(stranger), self.Conversation)
        self.assertIn(no_team, self.Conversation.with_user(stranger).search([]))

    def test_the_users_of_a_number_follow_its_teams_members_and_groups(self):
        account = self.account
        self.assertEqual(
            account.allowed_user_ids,
            self.ana | self.ben | self.cleo | self.dan | self.leader,
        )
        # read in one query at a time when nothing is in the cache
        account.invalidate_recordset(["allowed_user_ids"])
        with self.assertQueryCount(1):
            self.assertTrue(account.allowed_user_ids)
        without_whatsapp = new_test_user(
            self.env, login="wa_no_app", groups="sales_team.group_sale_salesman"
        )
        named = new_test_user(self.env, login="wa_named", name="Nora", groups=SALES)
        # each change is seen in the same transaction, before any flush
        account.user_ids = named | without_whatsapp
        self.assertIn(named, account.allowed_user_ids)
        self.assertNotIn(without_whatsapp, account.allowed_user_ids)
        self.members.filtered(lambda m: m.user_id == self.ana).active = False
        self.assertNotIn(self.ana, account.allowed_user_ids)
        self.cleo.active = False
        self.assertNotIn(self.cleo, account.allowed_user_ids)
        self.other_team.active = False
        self.assertNotIn(self.dan, account.allowed_user_ids)
        self.leader.groups_id -= self.env.ref("whatsapp_team.group_whatsapp_manager")
        self.leader.groups_id -= self.env.ref("whatsapp_team.group_whatsapp_user")
        self.assertNotIn(self.leader, account.allowed_user_ids)
        self.assertEqual(account.allowed_user_ids, named | self.ben)
        # in the users' order (by name), saved or being edited in the form
        zed = new_test_user(self.env, login="wa_zed", name="Zed", groups=SALES)
        amy = new_test_user(self.env, login="wa_amy", name="Amy", groups=SALES)
        account.user_ids = zed | amy | named
        self.assertEqual(
            account.allowed_user_ids.mapped("name"), ["Amy", "Ben", "Nora", "Zed"]
        )
        draft = account.new(
            {"user_ids": [(6, 0, (zed | self.dan).ids)]}, origin=account
        )
        self.assertEqual(
            draft.allowed_user_ids._origin.mapped("name"), ["Ben", "Dan", "Zed"]
        )

    def test_claim_is_tracked_and_only_for_unassigned(self):
        self.unassigned.with_user(self.ben).action_claim()
        self.assertEqual(self.unassigned.user_id, self.ben)
        self.env.cr.precommit.run()  # tracking is written at commit
        tracked = self.unassigned.message_ids.tracking_value_ids.filtered(
            lambda t: t.field_id.name == "user_id"
        )
        self.assertEqual(tracked[:1].new_value_char, "Ben")
        self.assertFalse(self.visible(self.ana) & self.unassigned, "Ben's now")
        with self.assertRaises(AccessError):
            self.unassigned.with_user(self.ana).action_claim()

    def test_salesperson_cannot_hand_out_chats(self):
        with self.assertRaisesRegex(UserError, "Only a WhatsApp manager"):
            self.unassigned.with_user(self.ana).user_id = self.ben
        self.unassigned.with_user(self.leader).user_id = self.ben
        self.assertEqual(self.unassigned.user_id, self.ben)
        self.mine.with_user(self.leader).user_id = self.cleo
        self.assertEqual(self.mine.user_id, self.cleo)

    def test_transfer_to_a_colleague_with_a_note(self):
        wizard = (
            self.env["whatsapp.transfer"]
            .with_user(self.ana)
            .create(
                {
                    "conversation_id": self.mine.id,
                    "user_id": self.ben.id,
                    "note": "Wants a quote by Friday",
                }
            )
        )
        self.assertIn(self.ben, wizard.allowed_user_ids)
        self.assertNotIn(self.ana, wizard.allowed_user_ids)
        wizard.action_transfer()
        self.assertEqual(self.mine.user_id, self.ben)
        note = self.mine.message_ids.filtered(lambda m: "quote by Friday" in m.body)
        self.assertEqual(note.subtype_id, self.env.ref("mail.mt_note"))
        self.assertIn(self.ben.partner_id, note.partner_ids)
        self.assertFalse(self.visible(self.ana) & self.mine)
        self.assertIn(self.mine, self.visible(self.ben))

    def test_passing_on_stops_the_previous_inbox(self):
        self.assertIn(self.ana.partner_id, self.mine.message_partner_ids)
        self.mine.with_user(self.ana).user_id = self.ben
        self.assertNotIn(self.ana.partner_id, self.mine.message_partner_ids)
        self.deliver(self.message(self.mine.wa_id, body="For Ben now"))
        message = self.mine.message_ids.filtered(
            lambda m: "For Ben now" in (m.body or "")
        )
        self.assertNotIn(self.ana.partner_id, message.notification_ids.res_partner_id)
        self.assertIn(self.ben.partner_id, message.notification_ids.res_partner_id)

    def test_team_leader_who_is_only_a_user_sees_the_team(self):
        leader = new_test_user(self.env, login="wa_user_leader", groups=SALES)
        self.other_team.user_id = leader
        self.assertEqual(self.visible(leader), self.export_free | self.export_dan)

    def test_template_into_a_colleague_chat_is_refused(self):
        template = self.approved_template("hello")
        wizard = (
            self.env["whatsapp.template.send"]
            .with_user(self.ana)
            .create(
                {
                    "res_model": "res.partner",
                    "res_id": self.export_dan.partner_id.id,
                    "account_id": self.account.id,
                    "template_id": template.id,
                }
            )
        )
        with self.assertRaises(AccessError):
            wizard.action_send()
        self.assertFalse(
            self.export_dan.message_ids_wa.filtered(lambda m: m.direction == "out")
        )

    def test_portal_and_public_get_nothing(self):
        portal = new_test_user(
            self.env, login="wa_portal_t", groups="base.group_portal"
        )
        public = self.env.ref("base.public_user")
        for user in (portal, public):
            for model in (
                "whatsapp.conversation",
                "whatsapp.message",
                "whatsapp.account",
            ):
                with self.assertRaises(AccessError):
                    self.env[model].with_user(user).search([])


@tagged("post_install", "-at_install", "whatsapp_team")
class TestAssignment(TeamCase):
    def test_round_robin_takes_turns(self):
        chats = [self.new_chat() for _i in range(4)]
        self.assertEqual(
            [c.user_id for c in chats], [self.ana, self.ben, self.cleo, self.ana]
        )
        self.assertEqual({c.team_id for c in chats}, {self.team})

    def test_a_processor_sends_rows_once(self):
        """Under a processor (its batch in the context) the chats changed are
        kept for the processor's commit, through the savepoints that run
        Odoo's pre-commit hooks for each message."""
        payload = self.payload(
            [self.message("32470999001", body="One"), self.message("32470999001")]
        )
        self.assertEqual(self.post_webhook(payload).status_code, 200)
        work = ProcessorBatch()
        event = self.events()[:1]
        Bus = self.env["bus.bus"].sudo()
        rows = [("message", "like", ROW_NOTIFICATION)]
        before = Bus.search_count(rows)
        event.with_context(**{PROCESSOR_BATCH: work})._process()
        self.env.cr.precommit.run()
        chat = self.env["whatsapp.conversation"].search([("wa_id", "=", "32470999001")])
        self.assertEqual(chat.user_id, self.ana)
        self.assertEqual(Bus.search_count(rows), before, "no row sent per message")
        self.assertEqual(list(work.chat_ids), chat.ids, "one row for two messages")
        event._send_work(work)
        self.env.cr.precommit.run()
        self.assertGreater(Bus.search_count(rows), before)
        self.assertFalse(work.chat_ids)

    def test_events_taken_together_go_on_after_a_turn_while_others_work(self):
        """A processor takes several events at once and processes them all,
        turns given included, while another processor works: the turns are
        taken outside its transaction, and nobody waits for its commit to
        see them."""
        for wa_id in ("32470999002", "32470999003"):
            self.post_webhook(self.payload([self.message(wa_id, body="Hi")]))
        Event = self.env["whatsapp.webhook.event"]
        events = Event.with_context(**{PROCESSOR_BATCH: ProcessorBatch()})
        taken, _waiting = events._take(25, processors=1)
        self.assertEqual(len(taken), 2)
        with self.other_connection() as other:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(-42)")
            events.browse(taken)._process_together()
        self.assertEqual(Event.browse(taken).mapped("state"), ["done", "done"])
        chats = self.env["whatsapp.conversation"].search(
            [("wa_id", "in", ["32470999002", "32470999003"])], order="id"
        )
        self.assertEqual([c.user_id for c in chats], [self.ana, self.ben])

    def test_chats_given_by_a_transaction_still_running_count(self):
        """A turn taken for a transaction that has not committed yet counts
        as one more open chat of the member for as long as that transaction
        runs (its chat is in nobody else's view yet); once it is rolled back
        or committed the claim is dropped: nothing, or its chats, count."""
        member_ana, member_ben, member_cleo = self.members
        member_ana.whatsapp_max_open = 1
        member_ben.whatsapp_max_open = 1
        member_cleo.whatsapp_optout = True
        with self.other_connection() as running:
            with running.cursor() as cursor:
                cursor.execute("SELECT txid_current()")
                running_xact = cursor.fetchone()[0]
            self.add_claims((member_ana, running_xact), (member_ben, self.ended_xact()))
            chat = self.new_chat()
            # Ana is full with the running transaction's chat; Ben's claim
            # is of a transaction rolled back
            self.assertEqual(chat.user_id, self.ben)
            self.assertEqual(
                self.claims_of(member_ana), [(member_ana.id, running_xact)]
            )
            self.assertEqual(
                self.claims_of(member_ben),
                [(member_ben.id, self.xact())],
                "the rolled-back claim is gone, the test's own turn is there",
            )
            running.rollback()
            # the running transaction rolled back: Ana has room again
            self.assertEqual(self.new_chat().user_id, self.ana)
        self.assertFalse(self.new_chat().user_id, "both full now")

    def test_a_chat_taken_by_hand_drops_claims_of_ended_transactions(self):
        """A team whose chats are given by hand never reads its standings:
        a member's claims of ended transactions go when she takes a chat."""
        self.team.whatsapp_assignment = "manual"
        member_ben = self.members[1]
        chat = self.new_chat()
        self.add_claims((member_ben, self.ended_xact()))
        self.reply(chat, self.ben)
        self.assertEqual(chat.user_id, self.ben)
        self.assertEqual(self.claims_of(member_ben), [(member_ben.id, self.xact())])
        self.assertTrue(member_ben.whatsapp_last_assigned_at)

    def test_a_claim_of_another_cluster_is_dropped_not_fatal(self):
        """A database restored into another PostgreSQL cluster may hold a
        claim whose transaction id is ahead of this cluster's: it is not
        running here, so it is dropped (PostgreSQL's ``txid_status()``
        refuses such an id), and chats are still given."""
        member_ana = self.members[0]
        self.add_claims((member_ana, 2**50))
        self.assertEqual(self.new_chat().user_id, self.ana)
        self.assertEqual(self.claims_of(member_ana), [(member_ana.id, self.xact())])

    def test_the_upkeep_drops_every_claim_of_an_ended_transaction(self):
        """Claims of members never given a chat again (or gone) go with the
        upkeep's run."""
        member_cleo = self.members[2]
        self.add_claims(
            (member_cleo, self.ended_xact(commit=True)), (member_cleo, self.xact())
        )
        self.env["whatsapp.conversation"]._cron_upkeep()
        self.assertEqual(
            self.claims_of(member_cleo), [(member_cleo.id, self.xact())], "running kept"
        )

    def xact(self):
        self.env.cr.execute("SELECT txid_current()")
        return self.env.cr.fetchone()[0]

    def ended_xact(self, commit=False):
        """The id of a transaction of another connection, ended (committed
        or rolled back)."""
        with self.other_connection() as other:
            with other.cursor() as cursor:
                cursor.execute("SELECT txid_current()")
                xact = cursor.fetchone()[0]
            other.commit() if commit else other.rollback()
        return xact

    def add_claims(self, *claims):
        """Claims ``(member, transaction id)`` as a short transaction leaves
        them."""
        self.env.flush_all()
        for member, xact in claims:
            self.env.cr.execute(
                f"INSERT INTO {turns.TABLE} (member_id, xact) VALUES (%s, %s)",
                [member.id, xact],
            )

    def claims_of(self, member):
        self.env.cr.execute(
            f"SELECT member_id, xact FROM {turns.TABLE} WHERE member_id = %s"
            " ORDER BY id",
            member.ids,
        )
        return self.env.cr.fetchall()

    def test_a_processor_queues_web_pushes_and_rings_once(self):
        """Under a processor, the salesperson's web push of a customer
        message is queued in the transaction (Odoo's push cron sends it):
        events processed together and rolled back by a failing one ring
        once each, when processed again one by one."""
        for number in (2, 3, 4):
            self.env.ref(
                f"whatsapp_team.ir_cron_process_webhook_events_{number}"
            ).active = False
        devices = self.env["mail.push.device"].sudo()
        for user in (self.ana, self.ben, self.cleo):
            devices |= devices.create(
                {
                    "partner_id": user.partner_id.id,
                    "endpoint": f"https://push.example.com/{user.login}",
                    "keys": json.dumps({"p256dh": "key", "auth": "auth"}),
                }
            )
        Push = self.env["mail.push"].sudo()
        push_cron = self.env.ref("mail.ir_cron_web_push_notification")
        Trigger = self.env["ir.cron.trigger"].sudo()
        triggers_before = Trigger.search_count([("cron_id", "=", push_cron.id)])
        for message in (
            self.message("32470999004", body="Hi"),
            self.message(wa_id=None, body="broken"),
            self.message("32470999005", body="Hello"),
        ):
            self.post_webhook(self.payload([message]))
        self.process()
        self.assertEqual(
            Trigger.search_count([("cron_id", "=", push_cron.id)]) - triggers_before,
            1,
            "Odoo's push cron woken once for the processor's commit",
        )
        chats = self.env["whatsapp.conversation"].search(
            [("wa_id", "in", ["32470999004", "32470999005"])]
        )
        self.assertEqual(len(chats), 2)
        pushes = Push.search([("mail_push_device_id", "in", devices.ids)])
        self.assertEqual(
            sorted(pushes.mail_push_device_id.partner_id.ids),
            sorted(chats.user_id.partner_id.ids),
            "one push each, to the chat's salesperson",
        )

    def test_a_processor_tells_each_message_live_once(self):
        """Under a processor, the live notices of its messages (Discuss's
        inbox notice: counter, sound, desktop notice) are sent together
        before it commits: one per message and salesperson, the message
        first in it, none for a message rolled back with a failing event."""
        for number in (2, 3, 4):
            self.env.ref(
                f"whatsapp_team.ir_cron_process_webhook_events_{number}"
            ).active = False
        for message in (
            self.message("32470999006", body="First words"),
            self.message(wa_id=None, body="broken"),
            self.message("32470999006", body="Second words"),
            self.message("32470999007", body="Other customer"),
        ):
            self.post_webhook(self.payload([message]))
        self.env["bus.bus"].sudo().search([]).unlink()
        self.process()
        Message = self.env["whatsapp.message"]
        first, second, other = (
            Message.search([("body", "=", body)])
            for body in ("First words", "Second words", "Other customer")
        )
        self.assertEqual((first | second).conversation_id.user_id, self.ana)
        self.assertEqual(other.conversation_id.user_id, self.ben)
        for user, messages in ((self.ana, first | second), (self.ben, other)):
            notices = self.inbox_notices(user)
            self.assertEqual(
                [notice["mail.message"][0]["id"] for notice in notices],
                messages.mail_message_id.ids,
                "one notice per message, in their order",
            )
            for notice, message in zip(notices, messages, strict=True):
                told = notice["mail.message"][0]
                self.assertIn(message.body, told["body"])
                # what Odoo's own notice of the message says
                odoo_says = Store(
                    message.mail_message_id.with_user(user).with_context(
                        allowed_company_ids=[]
                    ),
                    msg_vals={"scheduled_date": False},
                    for_current_user=True,
                    add_followers=True,
                ).get_result()
                self.assertEqual(
                    told, json.loads(json_dump(odoo_says["mail.message"][0]))
                )
                self.assertTrue(told["needaction"])
                # the chat as in Odoo's notice, its reply window included,
                # without rating's figures of the chat, which no screen reads
                chat = message.conversation_id
                ours, odoos = (
                    next(
                        thread
                        for thread in json.loads(json_dump(threads))
                        if (thread["model"], thread["id"]) == (chat._name, chat.id)
                    )
                    for threads in (notice["mail.thread"], odoo_says["mail.thread"])
                )
                self.assertIn("rating_avg", odoos)
                self.assertTrue(odoos["whatsapp_window_open"])
                self.assertEqual(
                    ours,
                    {
                        key: value
                        for key, value in odoos.items()
                        if key not in ("rating_avg", "rating_count")
                    },
                )
        self.assertFalse(self.inbox_notices(self.cleo))
        failed = self.events().filtered("error")
        self.assertEqual(len(failed), 1, "the broken one, kept to be retried")
        self.assertNotEqual(failed.state, "done")

    def test_live_notices_that_fail_cost_only_the_notices(self):
        self.post_webhook(self.payload([self.message("32470999008", body="Kept")]))
        self.env["bus.bus"].sudo().search([]).unlink()
        Conversation = type(self.env["whatsapp.conversation"])
        with (
            patch.object(
                Conversation, "_inbox_notice_payloads", side_effect=ValueError("x")
            ),
            self.assertLogs(
                "odoo.addons.whatsapp_team.models.whatsapp_conversation_notify",
                "ERROR",
            ),
        ):
            self.process()
        message = self.env["whatsapp.message"].search([("body", "=", "Kept")])
        self.assertEqual(message.conversation_id.user_id, self.ana)
        self.assertEqual(
            message.mail_message_id.notification_ids.res_partner_id,
            self.ana.partner_id,
            "in her Odoo inbox all the same",
        )
        self.assertFalse(self.inbox_notices(self.ana))
        self.assertEqual(self.events().mapped("state"), ["done"])

    def test_least_loaded_picks_the_fewest_open_chats(self):
        self.team.whatsapp_assignment = "least_loaded"
        first, second = self.new_chat(), self.new_chat()
        self.assertEqual((first.user_id, second.user_id), (self.ana, self.ben))
        # Ana closes hers: Cleo (never given one) and Ana have none open
        first.with_user(self.ana).action_done()
        self.assertEqual(self.new_chat().user_id, self.cleo)
        self.assertEqual(self.new_chat().user_id, self.ana)

    def test_customer_owner_first(self):
        partner = self.env["res.partner"].create(
            {"name": "Known", "mobile": "+32 470 11 22 33", "user_id": self.cleo.id}
        )
        chat = self.new_chat(wa_id="32470112233")
        self.assertEqual(chat.partner_id, partner)
        self.assertEqual(chat.user_id, self.cleo, "sticky before round-robin")
        # no salesperson on the partner: their open lead's
        lead_customer = self.env["res.partner"].create(
            {"name": "Lead Customer", "mobile": "+32 470 44 55 66"}
        )
        self.env["crm.lead"].create(
            {"name": "Sofa", "partner_id": lead_customer.id, "user_id": self.ben.id}
        )
        self.assertEqual(self.new_chat(wa_id="32470445566").user_id, self.ben)

    def test_customer_leads_looked_up_once_per_message(self):
        """The team, the salesperson and the lead of a first message come
        from one look at the customer's open leads; later messages of a chat
        with its team, salesperson and open lead need none."""
        self.account.create_leads = True
        # Dan's turn by round-robin, Cleo's as the lead's salesperson
        self.env["crm.team.member"].create(
            {"crm_team_id": self.other_team.id, "user_id": self.cleo.id}
        )
        lead_customer = self.env["res.partner"].create(
            {"name": "Lead Customer", "mobile": "+32 470 44 55 67"}
        )
        lead = self.env["crm.lead"].create(
            {
                "name": "Sofa",
                "partner_id": lead_customer.id,
                "team_id": self.other_team.id,
                "user_id": self.cleo.id,
            }
        )
        with self.lead_lookups() as lookups:
            chat = self.new_chat(wa_id="32470445567")
        self.assertEqual(len(lookups), 1)
        self.assertEqual(chat.team_id, self.other_team, "the lead's team")
        self.assertEqual(chat.user_id, self.cleo, "the lead's salesperson")
        self.assertEqual(chat.lead_id, lead)
        with self.lead_lookups() as lookups:
            self.new_chat(wa_id="32470445567", body="Still there?")
        self.assertEqual(lookups, [])

    def test_owner_unavailable_goes_by_the_method(self):
        self.env["res.partner"].create(
            {"name": "Known", "mobile": "+32 470 11 22 34", "user_id": self.cleo.id}
        )
        self.set_online(self.cleo, "offline")
        self.assertEqual(self.new_chat(wa_id="32470112234").user_id, self.ana)

    def test_lead_in_another_team_routes_there(self):
        customer = self.env["res.partner"].create(
            {"name": "Exporter", "mobile": "+32 470 77 88 99"}
        )
        self.env["crm.lead"].create(
            {
                "name": "Container",
                "partner_id": customer.id,
                "team_id": self.other_team.id,
            }
        )
        chat = self.new_chat(wa_id="32470778899")
        self.assertEqual((chat.team_id, chat.user_id), (self.other_team, self.dan))

    def test_only_online_members(self):
        self.set_online(self.ana, "offline")
        self.set_online(self.ben, "away")
        self.assertEqual(self.new_chat().user_id, self.cleo)

    def test_working_hours_leaves_and_holidays(self):
        calendar = self.env["resource.calendar"].create(
            {
                "name": "Mornings",
                "tz": "UTC",
                "attendance_ids": [
                    (
                        0,
                        0,
                        {
                            "name": f"d{day}",
                            "dayofweek": str(day),
                            "hour_from": 8,
                            "hour_to": 12,
                        },
                    )
                    for day in range(5)
                ],
            }
        )
        for user in (self.ana, self.ben):
            self.env["resource.resource"].create(
                {"name": user.name, "user_id": user.id, "calendar_id": calendar.id}
            )
        self.team.whatsapp_assignment = "least_loaded"
        monday_10 = datetime(2026, 11, 23, 10, 0)
        with freeze_time(monday_10):
            self.assertEqual(self.new_chat().user_id, self.ana)
        with freeze_time(datetime(2026, 11, 23, 15, 0)):
            # afternoon: only Cleo, who has no working hours set, is in
            self.assertEqual(self.new_chat().user_id, self.cleo)
        # Ben is on leave on Tuesday morning
        self.env["resource.calendar.leaves"].create(
            {
                "name": "Dentist",
                "calendar_id": calendar.id,
                "resource_id": self.ben.resource_ids.id,
                "date_from": datetime(2026, 11, 24, 8, 0),
                "date_to": datetime(2026, 11, 24, 12, 0),
            }
        )
        with freeze_time(datetime(2026, 11, 24, 10, 0)):
            member_ben = self.members.filtered(lambda m: m.user_id == self.ben)
            self.assertFalse(
                member_ben._whatsapp_in_working_hours(fields.Datetime.now())
            )
        # a public holiday on Wednesday closes the whole calendar
        self.env["resource.calendar.leaves"].create(
            {
                "name": "Holiday",
                "calendar_id": calendar.id,
                "date_from": datetime(2026, 11, 25, 0, 0),
                "date_to": datetime(2026, 11, 25, 23, 59),
            }
        )
        with freeze_time(datetime(2026, 11, 25, 10, 0)):
            in_hours = self.members._whatsapp_available(fields.Datetime.now())
            self.assertEqual(in_hours.user_id, self.cleo)

    def test_capacity_and_opt_out(self):
        member_ana, member_ben, _member_cleo = self.members
        member_ana.whatsapp_max_open = 1
        member_ben.whatsapp_optout = True
        chats = [self.new_chat() for _i in range(3)]
        self.assertEqual([c.user_id for c in chats], [self.ana, self.cleo, self.cleo])
        self.assertEqual(member_ana.whatsapp_open_count, 1)

    def test_nobody_available_waits_then_the_cron_assigns(self):
        for user in (self.ana, self.ben, self.cleo):
            self.set_online(user, "offline")
        chat = self.new_chat()
        self.assertFalse(chat.user_id)
        self.assertEqual(chat.team_id, self.team)
        self.env["whatsapp.conversation"]._cron_upkeep()
        self.assertFalse(chat.user_id)
        self.set_online(self.ben)
        self.env["whatsapp.conversation"]._cron_upkeep()
        self.assertEqual(chat.user_id, self.ben)
        self.assertEqual(self.reply_activities(chat).user_id, self.ben)

    def test_manual_team_leaves_chats_to_claim(self):
        self.team.whatsapp_assignment = "manual"
        chat = self.new_chat()
        self.env["whatsapp.conversation"]._cron_upkeep()
        self.assertFalse(chat.user_id)
        self.assertFalse(self.reply_activities(chat))
        # the salesperson who answers takes it
        self.reply(chat, self.ben)
        self.assertEqual(chat.user_id, self.ben)


@tagged("post_install", "-at_install", "whatsapp_team")
class TestActivitiesAndStatus(TeamCase):
    def test_reply_activity_due_after_the_response_time_done_on_reply(self):
        chat = self.new_chat()
        activity = self.reply_activities(chat)
        self.assertEqual(activity.user_id, self.ana)
        self.assertEqual(
            activity.activity_type_id,
            self.env.ref("whatsapp_team.mail_activity_type_whatsapp_reply"),
        )
        self.assertAlmostEqual(
            chat.reply_deadline,
            chat.waiting_since + timedelta(minutes=15),
            delta=timedelta(seconds=1),
        )
        # more messages from the customer: still one reminder
        self.deliver(self.message(chat.wa_id, body="Hello??"))
        self.assertEqual(len(self.reply_activities(chat)), 1)
        self.reply(chat, self.ana)
        self.assertFalse(self.reply_activities(chat))
        self.assertFalse(chat.reply_deadline)
        self.assertFalse(
            chat.message_ids.filtered("mail_activity_type_id"),
            "the answer is in the chat: no line about the reminder",
        )
        # the customer writes again: a new reminder
        self.deliver(self.message(chat.wa_id, body="Thanks! One more thing"))
        self.assertEqual(self.reply_activities(chat).user_id, self.ana)

    def test_reassigning_moves_the_reminder(self):
        chat = self.new_chat()
        chat.with_user(self.leader).user_id = self.cleo
        self.assertEqual(self.reply_activities(chat).user_id, self.cleo)

    def test_the_new_salesperson_follows_once_and_the_reminder_looks_no_more(self):
        """Odoo subscribes the salesperson a chat is given to; the reply
        reminder made just after does not subscribe them a second time (a
        look at the followers per new chat). A salesperson who stopped
        following still gets the chat's next reminder with the subscription
        Odoo's activities make."""
        Followers = type(self.env["mail.followers"])
        with patch.object(
            Followers,
            "_insert_followers",
            autospec=True,
            side_effect=Followers._insert_followers,
        ) as insert:
            chat = self.new_chat()
        self.assertEqual(chat.user_id, self.ana)
        self.assertEqual(self.reply_activities(chat).user_id, self.ana)
        self.assertIn(self.ana.partner_id, chat.message_partner_ids)
        given = [
            call.args[3]
            for call in insert.call_args_list
            if call.args[1] == chat._name and call.args[3]
        ]
        self.assertEqual(given, [[self.ana.partner_id.id]], "subscribed once")
        # she answers, stops following, and the customer writes again
        self.reply(chat, self.ana)
        chat.with_user(self.ana).message_unsubscribe(self.ana.partner_id.ids)
        self.assertNotIn(self.ana.partner_id, chat.message_partner_ids)
        self.deliver(self.message(chat.wa_id, body="Anyone?"))
        self.assertEqual(self.reply_activities(chat).user_id, self.ana)
        self.assertIn(self.ana.partner_id, chat.message_partner_ids)

    def test_a_message_tracks_the_reopening_and_nothing_else(self):
        """A customer message moves the chat's preview, counters and clocks
        without a line in the chatter; reopening a done chat is a tracked
        change of status, as any other."""
        chat = self.new_chat()
        chat.with_user(self.ana).action_done()
        tracked_before = chat.message_ids.tracking_value_ids
        self.deliver(self.message(chat.wa_id, body="One more question"))
        self.assertEqual(chat.state, "open")
        self.assertEqual(chat.unread_count, 2)
        self.assertTrue(chat.waiting_since)
        new_lines = chat.message_ids.tracking_value_ids - tracked_before
        self.assertEqual(new_lines.field_id.mapped("name"), ["state"])
        self.deliver(self.message(chat.wa_id, body="And another"))
        self.assertEqual(chat.unread_count, 3)
        self.assertEqual(
            chat.message_ids.tracking_value_ids - tracked_before, new_lines
        )

    def test_no_rpc_context_skips_a_subscription(self):
        chat = self.new_chat()
        partner = self.cleo.partner_id
        self.assertNotIn(partner, chat.message_partner_ids)
        # what a caller of the external API can put in a context: a list
        chat.with_user(self.leader).with_context(
            whatsapp_following=[chat.id, partner.id]
        ).message_subscribe(partner_ids=partner.ids)
        self.assertIn(partner, chat.message_partner_ids)

    def test_assignee_is_notified_in_odoo_not_by_email(self):
        chat = self.new_chat()
        self.env["mail.mail"].search([]).unlink()
        self.deliver(self.message(chat.wa_id, body="Still there?"))
        message = chat.message_ids.filtered(lambda m: "Still there?" in (m.body or ""))
        self.assertIn(self.ana.partner_id, message.notification_ids.res_partner_id)
        self.assertEqual(
            set(message.notification_ids.mapped("notification_type")), {"inbox"}
        )
        self.assertFalse(
            self.env["mail.mail"].search([("mail_message_id", "=", message.id)])
        )

    def test_late_reply_tells_the_team_leader(self):
        chat = self.new_chat()
        with freeze_time(fields.Datetime.now() + timedelta(minutes=10)):
            self.env["whatsapp.conversation"]._cron_upkeep()
        self.assertFalse(chat.escalated_at)
        self.assertFalse(chat.is_late)
        with freeze_time(fields.Datetime.now() + timedelta(minutes=16)):
            self.env["whatsapp.conversation"]._cron_upkeep()
            self.env["whatsapp.conversation"]._cron_upkeep()
            chat.invalidate_recordset(["is_late"])
            self.assertTrue(chat.is_late, "shown late on its card")
        self.assertTrue(chat.escalated_at)
        alerts = self.env["mail.message"].search(
            [
                ("model", "=", "crm.team"),
                ("res_id", "=", self.team.id),
                ("partner_ids", "in", self.leader.partner_id.ids),
            ]
        )
        self.assertEqual(len(alerts), 1, "told once")
        self.assertIn(chat.partner_id.name, alerts.body)
        self.assertEqual(chat.user_id, self.ana, "the chat stays with Ana")
        self.assertIn(
            chat, self.env["whatsapp.conversation"].with_user(self.leader).search([])
        )

    def test_late_reply_reassigns_when_the_team_says_so(self):
        self.team.whatsapp_escalation = "reassign"
        chat = self.new_chat()
        self.assertEqual(chat.user_id, self.ana)
        with freeze_time(fields.Datetime.now() + timedelta(minutes=16)):
            self.env["whatsapp.conversation"]._cron_upkeep()
            self.assertEqual(chat.user_id, self.ben)
            self.assertEqual(self.reply_activities(chat).user_id, self.ben)
            self.assertGreater(chat.reply_deadline, fields.Datetime.now())

    def test_escalation_cron_is_triggered_for_the_deadline(self):
        cron = self.env.ref("whatsapp_team.ir_cron_conversation_upkeep")
        self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]).unlink()
        chat = self.new_chat()
        triggers = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)])
        self.assertIn(chat.reply_deadline, triggers.mapped("call_at"))

    def test_chats_due_together_wake_the_upkeep_once(self):
        """A campaign's replies start many chats at the same second: the
        processor wakes the upkeep once at their common deadline, and once
        at each other deadline, not once a chat."""
        cron = self.env.ref("whatsapp_team.ir_cron_conversation_upkeep")
        Trigger = self.env["ir.cron.trigger"]
        Trigger.search([("cron_id", "=", cron.id)]).unlink()
        now = int(time.time())
        messages = self.deliver(
            *(
                self.message(str(next(self._numbers)), body="Hi", timestamp=at)
                for at in (now, now, now, now - 60)
            )
        )
        deadlines = messages.conversation_id.mapped("reply_deadline")
        self.assertEqual(len(messages.conversation_id), 4)
        self.assertEqual(len(set(deadlines)), 2)
        triggers = Trigger.search([("cron_id", "=", cron.id)])
        self.assertEqual(sorted(triggers.mapped("call_at")), sorted(set(deadlines)))

    def test_status_pending_done_and_customer_reopens(self):
        chat = self.new_chat()
        self.reply(chat, self.ana)
        chat.with_user(self.ana).action_set_pending()
        self.assertEqual(chat.state, "pending")
        self.deliver(self.message(chat.wa_id, body="Here is the photo"))
        self.assertEqual(chat.state, "open")
        chat.with_user(self.ana).action_done()
        self.assertEqual(chat.state, "done")
        self.assertFalse(self.reply_activities(chat), "closing drops the reminder")
        self.deliver(self.message(chat.wa_id, body="Actually, one more question"))
        self.assertEqual(chat.state, "open")
        self.assertEqual(chat.user_id, self.ana, "stays with its salesperson")

    def test_reaction_does_not_wait_for_an_answer(self):
        chat = self.new_chat()
        message = chat.message_ids_wa[:1]
        self.reply(chat, self.ana)
        self.deliver(
            self.message(
                chat.wa_id,
                kind="reaction",
                reaction={"message_id": message.wa_message_id, "emoji": "👍"},
            )
        )
        self.assertFalse(chat.waiting_since)

    def test_snooze_until_a_date_or_a_customer_message(self):
        chat = self.new_chat()
        wizard = (
            self.env["whatsapp.snooze"]
            .with_user(self.ana)
            .create({"conversation_id": chat.id})
        )
        self.assertGreater(wizard.snoozed_until, fields.Datetime.now())
        wizard.snoozed_until = fields.Datetime.now() + timedelta(hours=2)
        wizard.action_snooze()
        self.assertEqual(chat.state, "snoozed")
        self.env["whatsapp.conversation"]._cron_upkeep()
        self.assertEqual(chat.state, "snoozed")
        with freeze_time(fields.Datetime.now() + timedelta(hours=3)):
            self.env["whatsapp.conversation"]._cron_upkeep()
        self.assertEqual(chat.state, "open")
        # snoozed again, the customer writes first
        chat.write(
            {
                "state": "snoozed",
                "snoozed_until": fields.Datetime.now() + timedelta(days=1),
            }
        )
        self.deliver(self.message(chat.wa_id, body="Any news?"))
        self.assertEqual((chat.state, chat.snoozed_until), ("open", False))
        with self.assertRaises(UserError):
            self.env["whatsapp.snooze"].create(
                {
                    "conversation_id": chat.id,
                    "snoozed_until": fields.Datetime.now() - timedelta(hours=1),
                }
            ).action_snooze()

    def test_notes_and_mentions_stay_private(self):
        chat = self.new_chat()
        self.graph.reset()
        chat.with_user(self.ana).message_post(
            body="@Ben can you check stock?",
            message_type="comment",
            subtype_xmlid="mail.mt_note",
            partner_ids=self.ben.partner_id.ids,
        )
        self.env["whatsapp.message"]._cron_send_queue()
        self.assertFalse(self.graph.messages, "a note never reaches the customer")


@tagged("post_install", "-at_install", "whatsapp_team")
class TestTeamViews(TeamCase):
    def filter_domain(self, name, user):
        """The domain of a filter of the chats' search view, as ``user``'s."""
        arch = self.env.ref("whatsapp_team.whatsapp_conversation_view_search").arch
        node = etree.fromstring(arch).xpath(f"//filter[@name='{name}']")[0]
        return safe_eval(
            node.get("domain"), {"uid": user.id, "context_today": datetime.now}
        )

    def test_menu_filters_as_their_users(self):
        self.team.whatsapp_assignment = "manual"
        mine = self.new_chat()
        mine.user_id = self.ana
        free = self.new_chat()
        Conversation = self.env["whatsapp.conversation"]
        for name, user, expected in (
            ("my_chats", self.ana, mine),
            ("unassigned", self.ana, free),
            ("my_teams", self.leader, mine | free),
            ("my_teams", self.ana, mine | free),
            ("my_teams", self.dan, Conversation),
        ):
            found = Conversation.with_user(user).search(self.filter_domain(name, user))
            self.assertEqual(found & (mine | free), expected, name)
