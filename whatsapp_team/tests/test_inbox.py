"""The team inbox's server side: its list, a chat opened, who else is on it,
and the live updates sent over Odoo's bus, each as the lowest user who
could see too much."""

import json
import time
from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.modules.migration import load_script
from odoo.tests import new_test_user, tagged

from .test_inbound_types import PNG
from .test_team import MANAGER, TeamCase

ROW = "whatsapp_team.inbox/row"
PRESENCE = "whatsapp_team.inbox/presence"
INBOX_LOGGER = "odoo.addons.whatsapp_team.models.whatsapp_conversation_inbox"


class InboxCase(TeamCase):
    """Showroom (Ana, Ben, Cleo; led by the manager) and Export (Dan) answer
    one number; chats are handed out by hand."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.team.whatsapp_assignment = "manual"
        cls.other_team.whatsapp_assignment = "manual"
        cls.Chat = cls.env["whatsapp.conversation"]

    def chat(self, name, user=None, team=None, body="Hello", **kwargs):
        chat = self.new_chat(body=body, name=name, **kwargs)
        values = {}
        if team:
            values["team_id"] = team.id
        if user:
            values["user_id"] = user.id
        if values:
            chat.write(values)
        return chat

    def fetch(self, user, **kwargs):
        return self.Chat.with_user(user).inbox_fetch(**kwargs)

    @staticmethod
    def ids(result):
        return [row["id"] for row in result["rows"]]

    def row(self, chat, user=None):
        user = user or self.leader
        rows = self.fetch(
            user, tab="all", states=["open", "pending", "snoozed", "done"]
        )
        return next(row for row in rows["rows"] if row["id"] == chat.id)

    # the bus

    def reset_bus(self):
        self.env.flush_all()
        self.env.cr.precommit.run()
        self.env["bus.bus"].sudo().search([]).unlink()

    def bus(self, user, kind=ROW):
        """What ``user``'s browser got: the payloads of ``kind``."""
        self.env.flush_all()
        self.env.cr.precommit.run()
        channel = json.dumps(
            [self.env.cr.dbname, "res.partner", user.partner_id.id],
            separators=(",", ":"),
        )
        notifications = self.env["bus.bus"].sudo().search([("channel", "=", channel)])
        messages = [json.loads(n.message) for n in notifications]
        return [m["payload"] for m in messages if m["type"] == kind]


@tagged("post_install", "-at_install", "whatsapp_inbox")
class TestInboxList(InboxCase):
    def setUp(self):
        super().setUp()
        now = int(time.time())
        self.anas = self.chat("Alice Martin", self.ana, timestamp=now - 50)
        self.free = self.chat("Bruno Free", timestamp=now - 40)
        self.bens = self.chat("Carla Ben", self.ben, timestamp=now - 30)
        self.export_free = self.chat(
            "Dora Export", team=self.other_team, timestamp=now - 20
        )
        self.export_dans = self.chat(
            "Emil Export", self.dan, team=self.other_team, timestamp=now - 10
        )

    def test_a_salesperson_sees_her_chats_and_her_teams_unassigned(self):
        result = self.fetch(self.ana)
        self.assertEqual(self.ids(result), self.anas.ids)
        self.assertEqual(result["total"], 1)
        self.assertEqual(
            self.ids(self.fetch(self.ana, tab="unassigned")), self.free.ids
        )
        self.assertEqual(
            self.ids(self.fetch(self.ana, tab="all")), (self.free | self.anas).ids
        )
        self.assertEqual(
            result["counts"],
            {
                "mine": {"total": 1, "unread": 1},
                "unassigned": {"total": 1, "unread": 1},
                "team": None,
                "all": {"total": 2, "unread": 2},
            },
        )
        with self.assertRaises(AccessError):
            self.fetch(self.ana, tab="team")

    def test_another_teams_salesperson_sees_nothing_of_showroom(self):
        result = self.fetch(self.dan, tab="all")
        self.assertEqual(self.ids(result), (self.export_dans | self.export_free).ids)
        self.assertEqual(result["counts"]["all"], {"total": 2, "unread": 2})
        self.assertEqual(result["counts"]["unassigned"]["total"], 1)
        # not even by searching for a Showroom customer or their words
        self.assertFalse(self.fetch(self.dan, tab="all", search="Alice")["rows"])
        self.assertEqual(
            self.fetch(self.dan, tab="all", search="Hello")["counts"]["all"]["total"],
            2,
        )

    def test_a_manager_sees_the_team_tab(self):
        result = self.fetch(self.leader, tab="team")
        self.assertEqual(self.ids(result), (self.bens | self.free | self.anas).ids)
        self.assertEqual(result["counts"]["team"], {"total": 3, "unread": 3})
        self.assertEqual(result["counts"]["mine"]["total"], 0)
        self.assertEqual(
            self.ids(self.fetch(self.leader, tab="unassigned")), self.free.ids
        )
        # a manager of the other team only: Export
        export_manager = new_test_user(self.env, login="wa_export_mgr", groups=MANAGER)
        self.other_team.user_id = export_manager
        self.assertEqual(
            self.ids(self.fetch(export_manager, tab="team")),
            (self.export_dans | self.export_free).ids,
        )

    def test_employees_without_whatsapp_rights_get_nothing(self):
        employee = new_test_user(
            self.env, login="wa_inbox_emp", groups="base.group_user"
        )
        with self.assertRaises(AccessError):
            self.fetch(employee, tab="all")
        with self.assertRaises(AccessError):
            self.anas.with_user(employee).inbox_open()

    def test_states_labels_numbers(self):
        self.anas.with_user(self.ana).action_done()
        self.assertEqual(self.fetch(self.ana)["rows"], [], "done is not active")
        done = self.fetch(self.ana, states=["done"])
        self.assertEqual(self.ids(done), self.anas.ids)
        self.assertEqual(
            self.ids(self.fetch(self.ana, states=["done", "open"])), self.anas.ids
        )
        with self.assertRaises(UserError):
            self.fetch(self.ana, states=["closed"])
        vip = self.env["whatsapp.label"].create({"name": "VIP inbox", "color": 3})
        self.free.with_user(self.ben).label_ids = vip
        labelled = self.fetch(self.ana, tab="all", label_ids=vip.ids)
        self.assertEqual(self.ids(labelled), self.free.ids)
        self.assertEqual(
            labelled["rows"][0]["labels"],
            [{"id": vip.id, "name": "VIP inbox", "color": 3}],
        )
        self.assertEqual(labelled["counts"]["unassigned"]["total"], 1)
        other_number = self.env["whatsapp.account"].create(
            {"name": "Other", "phone_number_id": "999000", "user_ids": self.ana.ids}
        )
        self.assertFalse(
            self.fetch(self.ana, tab="all", account_ids=other_number.ids)["rows"]
        )
        self.assertEqual(
            self.ids(self.fetch(self.ana, tab="all", account_ids=self.account.ids)),
            self.free.ids,
        )

    def test_search_by_name_partner_number_username_and_words(self):
        leader = self.leader
        self.assertEqual(
            self.ids(self.fetch(leader, tab="all", search="alice")), self.anas.ids
        )
        self.bens.partner_id.name = "Zoe Quinn"
        self.assertEqual(
            self.ids(self.fetch(leader, tab="all", search="QUINN")), self.bens.ids
        )
        digits = self.free.wa_id[-6:]
        spaced = f"{digits[:3]} {digits[3:]}"
        self.assertEqual(
            self.ids(self.fetch(leader, tab="all", search=spaced)), self.free.ids
        )
        self.assertEqual(
            self.ids(self.fetch(leader, tab="all", search=self.free.phone)),
            self.free.ids,
        )
        with_name = self.deliver(
            self.message(None, user_id="BE.4242", username="zebra.fan", name="Zed")
        ).conversation_id
        self.assertEqual(
            self.ids(self.fetch(leader, tab="all", search="Zebra.FAN")), with_name.ids
        )
        self.deliver(self.message(self.bens.wa_id, body="Is the Oak Table in stock?"))
        self.deliver(self.message(self.bens.wa_id, body="Thanks"))
        self.assertEqual(
            self.ids(self.fetch(leader, tab="all", search="oak table")), self.bens.ids
        )
        self.assertEqual(self.fetch(leader, tab="all", search="100%")["rows"], [])
        self.assertEqual(
            self.fetch(leader, tab="all", search="nobody says this")["total"], 0
        )

    def test_order_and_pages(self):
        never = self.Chat._get_or_create_for_partner(
            self.account,
            self.env["res.partner"].create({"name": "Quiet", "mobile": "+32470999111"}),
        )
        never.user_id = self.ana
        self.assertFalse(never.last_message_at)
        self.anas.sudo().last_message_at = self.bens.last_message_at
        chats = self.fetch(self.leader, tab="all")
        order = self.bens | self.anas | self.free
        if self.anas.id > self.bens.id:
            order = self.anas | self.bens | self.free
        self.assertEqual(
            self.ids(chats), order.ids + never.ids, "same time: newest id first"
        )
        first = self.fetch(self.leader, tab="all", limit=2)
        second = self.fetch(self.leader, tab="all", limit=2, offset=2)
        self.assertEqual(self.ids(first) + self.ids(second), self.ids(chats))
        self.assertEqual((first["total"], second["total"]), (4, 4))
        self.assertEqual(
            len(self.fetch(self.leader, tab="all", limit=10**6)["rows"]), 4
        )

    def test_over_json_rpc_as_the_web_client_calls_it(self):
        password = self.ana.login + "x" * (8 - len(self.ana.login))
        self.authenticate(self.ana.login, password)
        result = self.make_jsonrpc_request(
            "/web/dataset/call_kw/whatsapp.conversation/inbox_fetch",
            {
                "model": "whatsapp.conversation",
                "method": "inbox_fetch",
                "args": [],
                "kwargs": {"tab": "all", "search": "Bruno"},
            },
        )
        self.assertEqual(self.ids(result), self.free.ids)
        self.assertIsNone(result["counts"]["team"])
        opened = self.make_jsonrpc_request(
            "/web/dataset/call_kw/whatsapp.conversation/inbox_open",
            {
                "model": "whatsapp.conversation",
                "method": "inbox_open",
                "args": [self.anas.ids],
                "kwargs": {},
            },
        )
        self.assertEqual(opened["row"]["id"], self.anas.id)


@tagged("post_install", "-at_install", "whatsapp_inbox")
class TestInboxRows(InboxCase):
    def test_a_row(self):
        chat = self.chat("Alice Row", self.ana, body="Do you *deliver*   on\nSundays?")
        row = self.fetch(self.ana)["rows"][0]
        self.assertEqual(
            row,
            {
                "id": chat.id,
                "name": "Alice Row",
                "partner_id": chat.partner_id.id,
                "avatar_url": f"/web/image/res.partner/{chat.partner_id.id}/avatar_128",
                "phone": chat.phone,
                "wa_username": False,
                "account": {"id": self.account.id, "name": "Sales"},
                "last_message_at": fields.Datetime.to_string(chat.last_message_at),
                "preview": {
                    "body": "Do you *deliver* on Sundays?",
                    "direction": "in",
                    "state": "received",
                    "author": "customer",
                },
                "unread": 1,
                "state": "open",
                "reply_deadline": fields.Datetime.to_string(chat.reply_deadline),
                "is_late": False,
                "labels": [],
                "user": {"id": self.ana.id, "name": "Ana"},
                "team": {"id": self.team.id, "name": "Showroom"},
                "window_expires_at": fields.Datetime.to_string(chat.window_expires_at),
                "opted_out": False,
            },
        )

    def test_previews_and_unread_follow_the_messages(self):
        chat = self.chat("Preview", self.ana)
        first = chat.last_wa_message_id
        self.deliver(self.message(chat.wa_id, body="x" * 300))
        row = self.row(chat)
        self.assertEqual(len(row["preview"]["body"]), 120)
        self.assertTrue(row["preview"]["body"].endswith("…"))
        self.assertEqual(row["unread"], 2)
        self.deliver(
            self.message(
                chat.wa_id,
                "reaction",
                reaction={"message_id": first.wa_message_id, "emoji": "👍"},
            )
        )
        row = self.row(chat)
        self.assertEqual(row["preview"]["body"], "Reacted 👍")
        self.assertEqual(row["unread"], 2, "a reaction is nothing to read")
        image = self.graph.add_media(PNG, "image/png")
        self.deliver(
            self.message(
                chat.wa_id, "image", image={"id": image, "mime_type": "image/png"}
            )
        )
        self.assertEqual(self.row(chat)["preview"]["body"], "📷 Photo")
        pdf = self.graph.add_media(b"%PDF", "application/pdf")
        self.deliver(
            self.message(
                chat.wa_id,
                "document",
                document={
                    "id": pdf,
                    "mime_type": "application/pdf",
                    "filename": "quote.pdf",
                },
            )
        )
        self.assertEqual(self.row(chat)["preview"]["body"], "📄 quote.pdf")
        voice = self.graph.add_media(b"ogg", "audio/ogg")
        self.deliver(
            self.message(
                chat.wa_id, "audio", audio={"id": voice, "mime_type": "audio/ogg"}
            )
        )
        self.deliver(
            self.message(
                chat.wa_id, "location", location={"latitude": 50.8, "longitude": 4.3}
            )
        )
        row = self.row(chat)
        self.assertEqual(row["preview"]["body"], "📍 Location")
        self.assertEqual(row["unread"], 6)
        # an older message delivered late changes the count, not the preview
        self.deliver(
            self.message(chat.wa_id, body="late", timestamp=int(time.time()) - 3600)
        )
        row = self.row(chat)
        self.assertEqual((row["preview"]["body"], row["unread"]), ("📍 Location", 7))

    def test_an_answer_through_its_states(self):
        chat = self.chat("Answered", self.ana)
        self.deliver(self.message(chat.wa_id, body="Second question"))
        self.assertEqual(self.row(chat)["unread"], 2)
        self.reply(chat, self.ana, "We deliver on Sundays")
        row = self.row(chat)
        self.assertEqual(
            row["preview"],
            {
                "body": "We deliver on Sundays",
                "direction": "out",
                "state": "queued",
                "author": "agent",
            },
        )
        self.assertEqual(row["unread"], 0, "she answered: she read it")
        self.env["whatsapp.message"]._cron_send_queue()
        self.assertEqual(self.row(chat)["preview"]["state"], "sent")
        wamid = chat.last_wa_message_id.wa_message_id
        for status in ("delivered", "read"):
            self.deliver(statuses=[self.status(wamid, status, wa_id=chat.wa_id)])
            self.assertEqual(self.row(chat)["preview"]["state"], status)

    def test_a_failed_message_and_an_automatic_reply(self):
        self.account.write(
            {"greeting_enabled": True, "greeting_message": "Hi {customer}!"}
        )
        chat = self.chat("Greeted", self.ana)
        row = self.row(chat)
        self.assertEqual(
            row["preview"],
            {
                "body": "Hi Greeted!",
                "direction": "out",
                "state": "queued",
                "author": "system",
            },
        )
        self.assertEqual(row["unread"], 1, "a greeting answers nobody")
        self.graph.fail_next(131026, path_contains="/messages")
        self.env["whatsapp.message"]._cron_send_queue()
        self.assertEqual(self.row(chat)["preview"]["state"], "failed")

    def test_unread_empties_only_for_the_salesperson(self):
        chat = self.chat("Mia's customer", self.ana)
        self.deliver(self.message(chat.wa_id, body="Still there?"))
        self.assertEqual(chat.unread_count, 2)
        self.graph.reset()
        chat.with_user(self.leader).inbox_open()
        self.assertEqual(chat.unread_count, 2, "a manager looking in reads for nobody")
        self.assertEqual(self.graph.read_receipts, [], "nor tells the customer so")
        chat.with_user(self.ana).inbox_open()
        self.assertEqual(chat.unread_count, 0)
        self.assertEqual(
            [r["message_id"] for r in self.graph.read_receipts],
            [chat.last_wa_message_id.wa_message_id],
        )
        hello = self.deliver(self.message(chat.wa_id, body="Hello?"))
        chat.with_user(self.leader).inbox_mark_read()
        self.assertEqual(chat.unread_count, 1)
        chat.with_user(self.ana).inbox_mark_read()
        self.assertEqual(chat.unread_count, 0)
        self.assertEqual(
            self.graph.read_receipts[-1]["message_id"], hello.wa_message_id
        )
        # unassigned: whoever may answer it
        free = self.chat("Nobody's")
        free.with_user(self.ben).inbox_open()
        self.assertEqual(free.unread_count, 0)
        # nobody writes it by hand
        with self.assertRaises(AccessError):
            chat.with_user(self.ana).write({"unread_count": 5})
        with self.assertRaises(AccessError):
            chat.with_user(self.leader).write({"last_wa_message_id": False})

    def test_merged_chats_keep_the_latest_message_and_every_unread(self):
        by_phone = self.deliver(self.message("32479100001", name="Tom")).conversation_id
        by_user = self.deliver(
            self.message(None, user_id="BE.9001", name="Tom", body="From the app")
        ).conversation_id
        self.assertNotEqual(by_phone, by_user)
        both = self.deliver(
            self.message(
                "32479100001",
                user_id="BE.9001",
                name="Tom",
                body="Both",
                timestamp=int(time.time()) - 600,
            )
        )
        merged = both.conversation_id
        self.assertEqual(merged, by_phone)
        self.assertFalse(by_user.exists())
        self.assertEqual(merged.unread_count, 3)
        self.assertEqual(merged.last_wa_message_id.body, "From the app")


@tagged("post_install", "-at_install", "whatsapp_inbox")
class TestInboxOpen(InboxCase):
    def setUp(self):
        super().setUp()
        self.anas = self.chat("Open Alice", self.ana)
        self.free = self.chat("Open Free")

    def test_what_the_salesperson_sees(self):
        opened = self.anas.with_user(self.ana).inbox_open()
        self.assertEqual(opened["row"]["id"], self.anas.id)
        self.assertEqual(opened["row"]["unread"], 0)
        partner = self.anas.partner_id
        self.assertEqual(
            {k: v for k, v in opened["customer"].items() if k != "other_chats"},
            {
                "partner_id": partner.id,
                "name": "Open Alice",
                "phone": partner.phone or self.anas.phone,
                "mobile": partner.mobile,
                "email": False,
                "avatar_url": f"/web/image/res.partner/{partner.id}/avatar_128",
            },
        )
        self.assertEqual(opened["window"]["open"], True)
        self.assertEqual(
            opened["window"]["expires_at"],
            fields.Datetime.to_string(self.anas.window_expires_at),
        )
        self.assertFalse(opened["lead"])
        self.assertEqual(opened["viewers"], [])
        self.assertEqual(
            opened["permissions"],
            {
                "can_write": True,
                "can_claim": False,
                "can_transfer": True,
                "can_assign": False,
                "can_create_lead": True,
            },
        )

    def test_permissions_follow_the_rules(self):
        self.assertEqual(
            self.free.with_user(self.ben).inbox_open()["permissions"],
            {
                "can_write": True,
                "can_claim": True,
                "can_transfer": False,
                "can_assign": False,
                "can_create_lead": True,
            },
        )
        manager = self.anas.with_user(self.leader).inbox_open()["permissions"]
        self.assertTrue(manager["can_assign"] and manager["can_transfer"])
        self.assertFalse(manager["can_claim"])
        # no CRM rights: no lead to create
        no_crm = new_test_user(
            self.env, login="wa_no_crm", groups="whatsapp_team.group_whatsapp_user"
        )
        self.account.user_ids = no_crm
        no_team = self.chat("No team")
        no_team.team_id = False
        self.assertFalse(
            no_team.with_user(no_crm).inbox_open()["permissions"]["can_create_lead"]
        )
        for user in (self.ben, self.dan):
            with self.assertRaises(AccessError, msg=user.login):
                self.anas.with_user(user).inbox_open()
            with self.assertRaises(AccessError, msg=user.login):
                self.anas.with_user(user).inbox_presence("viewing")

    def test_templates_of_the_chats_number(self):
        approved = self.approved_template(
            "inbox_approved", body="Your order {{1}} shipped"
        )
        draft = self.approved_template("inbox_draft")
        draft.status = "draft"
        other_number = self.env["whatsapp.account"].create(
            {"name": "Other", "phone_number_id": "999001", "user_ids": self.ana.ids}
        )
        self.approved_template("inbox_other").account_id = other_number
        templates = self.anas.with_user(self.ana).inbox_open()["templates"]
        self.assertEqual(
            templates,
            [
                {
                    "id": approved.id,
                    "name": "inbox_approved",
                    "language": "en_US",
                    "category": "utility",
                    "body_preview": "Your order {{1}} shipped",
                }
            ],
        )

    def test_the_lead_as_far_as_crm_lets_her_read_it(self):
        self.account.lead_follows_chat = False
        lead = self.env["crm.lead"].create(
            {
                "name": "Corner sofa",
                "partner_id": self.anas.partner_id.id,
                "user_id": self.ana.id,
                "expected_revenue": 1234.5,
                "probability": 40,
                "tag_ids": [(0, 0, {"name": "Sofa", "color": 2})],
            }
        )
        self.anas.lead_id = lead
        block = self.anas.with_user(self.ana).inbox_open()["lead"]
        currency = lead.company_currency
        self.assertEqual(block["id"], lead.id)
        self.assertEqual(block["name"], "Corner sofa")
        self.assertEqual(block["stage"], lead.stage_id.name)
        self.assertIn("1,234.50", block["expected_revenue_display"])
        self.assertIn(currency.symbol, block["expected_revenue_display"])
        self.assertEqual(block["probability"], 40)
        self.assertEqual(
            block["tags"], [{"id": lead.tag_ids.id, "name": "Sofa", "color": 2}]
        )
        self.assertEqual(block["user_name"], "Ana")
        # Ben's lead on her chat: CRM keeps it from her
        lead.user_id = self.ben
        self.assertFalse(self.anas.with_user(self.ana).inbox_open()["lead"])

    def test_other_chats_only_those_she_may_read(self):
        partner = self.anas.partner_id
        second = self.env["whatsapp.account"].create(
            {
                "name": "Second",
                "phone_number_id": "999002",
                "team_ids": [(6, 0, (self.team | self.other_team).ids)],
                "team_id": self.team.id,
            }
        )
        hers = self.Chat._get_or_create_for_partner(second, partner)
        hers.sudo().write({"user_id": self.ana.id, "team_id": self.team.id})
        third = self.env["whatsapp.account"].create(
            {
                "name": "Third",
                "phone_number_id": "999003",
                "team_ids": [(6, 0, self.other_team.ids)],
            }
        )
        dans = self.Chat._get_or_create_for_partner(third, partner)
        dans.sudo().write({"user_id": self.dan.id, "team_id": self.other_team.id})
        others = self.anas.with_user(self.ana).inbox_open()["customer"]["other_chats"]
        self.assertEqual(
            others,
            [
                {
                    "id": hers.id,
                    "account_name": "Second",
                    "last_message_at": False,
                    "user_name": "Ana",
                }
            ],
        )
        self.assertEqual(
            [
                c["id"]
                for c in self.anas.with_user(self.leader).inbox_open()["customer"][
                    "other_chats"
                ]
            ],
            hers.ids,
        )

    def test_presence(self):
        self.reset_bus()
        self.free.with_user(self.ana).inbox_presence("viewing")
        expected = {
            "conversation_id": self.free.id,
            "user": {"id": self.ana.id, "name": "Ana"},
            "action": "viewing",
        }
        for reader in (self.ben, self.cleo, self.leader):
            self.assertEqual(self.bus(reader, PRESENCE), [expected], reader.login)
        self.assertEqual(self.bus(self.ana, PRESENCE), [], "not to herself")
        self.assertEqual(self.bus(self.dan, PRESENCE), [], "not to another team")
        opened = self.free.with_user(self.ben).inbox_open()
        self.assertEqual(opened["viewers"], [{"id": self.ana.id, "name": "Ana"}])
        self.assertEqual(
            self.free.with_user(self.ana).inbox_open()["viewers"],
            [{"id": self.ben.id, "name": "Ben"}],
        )
        self.free.with_user(self.ana).inbox_presence("typing")
        self.assertEqual(self.bus(self.ben, PRESENCE)[-1]["action"], "typing")
        self.free.with_user(self.ana).inbox_presence("left")
        self.assertEqual(self.bus(self.cleo, PRESENCE)[-1]["action"], "left")
        self.assertEqual(self.free.with_user(self.ben).inbox_open()["viewers"], [])
        with self.assertRaises(UserError):
            self.free.with_user(self.ana).inbox_presence("dancing")

    def test_a_viewer_not_renewed_for_a_minute_is_gone(self):
        now = fields.Datetime.now()
        with freeze_time(now):
            self.free.with_user(self.ana).inbox_presence("viewing")
        with freeze_time(now + timedelta(seconds=45)):
            viewers = self.free.with_user(self.ben).inbox_open()["viewers"]
            self.assertEqual([v["id"] for v in viewers], self.ana.ids)
        with freeze_time(now + timedelta(seconds=61)):
            viewers = self.free.with_user(self.cleo).inbox_open()["viewers"]
            self.assertEqual([v["id"] for v in viewers], self.ben.ids, "Ana is gone")
        with freeze_time(now + timedelta(seconds=200)):
            self.env["whatsapp.inbox.viewer"]._gc_expired()
        self.assertFalse(
            self.env["whatsapp.inbox.viewer"].search(
                [("conversation_id", "=", self.free.id)]
            )
        )


@tagged("post_install", "-at_install", "whatsapp_inbox")
class TestInboxBus(InboxCase):
    def test_a_customer_message_reaches_the_chats_readers_only(self):
        chat = self.chat("Bus Alice", self.ana)
        admin = new_test_user(
            self.env,
            login="wa_inbox_admin",
            groups="whatsapp_team.group_whatsapp_admin",
        )
        self.reset_bus()
        self.deliver(self.message(chat.wa_id, body="Any news?"))
        rows = self.bus(self.ana)
        self.assertEqual(len(rows), 1, "one update per chat and transaction")
        row = rows[0]["row"]
        self.assertEqual(row["id"], chat.id)
        self.assertEqual(row["preview"]["body"], "Any news?")
        self.assertEqual(row["unread"], 2)
        self.assertEqual(self.bus(self.leader), rows, "her team's manager")
        self.assertEqual(self.bus(admin), rows)
        for outsider in (self.ben, self.cleo, self.dan):
            self.assertEqual(self.bus(outsider), [], outsider.login)

    def test_who_loses_a_chat_hears_no_more_of_it(self):
        """Readers follow the rules as they are now: a manager who no longer
        leads the team, a member who lost WhatsApp hear nothing more, and
        the others still do."""
        chat = self.chat("Bus Lost", self.ana)
        self.reset_bus()
        self.deliver(self.message(chat.wa_id, body="One"))
        self.assertTrue(self.bus(self.leader))
        self.team.user_id = False
        self.ben.groups_id -= self.env.ref("whatsapp_team.group_whatsapp_user")
        self.reset_bus()
        self.deliver(self.message(chat.wa_id, body="Two"))
        self.assertEqual(self.bus(self.leader), [])
        self.assertEqual(self.bus(self.ben), [])
        self.assertEqual(self.bus(self.ana)[-1]["row"]["preview"]["body"], "Two")

    def test_an_unassigned_chat_reaches_its_team_not_the_other(self):
        self.reset_bus()
        chat = self.chat("Bus Free")
        for reader in (self.ana, self.ben, self.cleo, self.leader):
            self.assertEqual([p["row"]["id"] for p in self.bus(reader)], chat.ids)
        self.assertEqual(self.bus(self.dan), [])
        # taken by Ben: his colleagues no longer read it, and hear no more of it
        self.reset_bus()
        chat.with_user(self.ben).action_claim()
        self.assertEqual(self.bus(self.ben)[0]["row"]["user"]["id"], self.ben.id)
        self.assertEqual(self.bus(self.ana), [])
        self.assertEqual(len(self.bus(self.leader)), 1)

    def test_every_change_the_list_shows(self):
        chat = self.chat("Bus Changes", self.ana)
        vip = self.env["whatsapp.label"].create({"name": "Bus VIP"})
        changes = [
            lambda: chat.with_user(self.ana).action_set_pending(),
            lambda: chat.with_user(self.ana).write({"label_ids": [(4, vip.id)]}),
            lambda: chat.with_user(self.ana).inbox_open(),
            lambda: self.reply(chat, self.ana, "Here you are"),
            lambda: self.env["whatsapp.message"]._cron_send_queue(),
            lambda: self.deliver(
                statuses=[
                    self.status(
                        chat.last_wa_message_id.wa_message_id, "read", wa_id=chat.wa_id
                    )
                ]
            ),
            lambda: chat.with_user(self.leader).write({"user_id": self.cleo.id}),
        ]
        seen = []
        for change in changes:
            self.reset_bus()
            change()
            rows = self.bus(self.leader)
            self.assertEqual(len(rows), 1, change)
            seen.append(rows[0]["row"])
        self.assertEqual(
            [(r["state"], [lb["name"] for lb in r["labels"]]) for r in seen[:2]],
            [("pending", []), ("pending", ["Bus VIP"])],
        )
        self.assertEqual(seen[3]["preview"]["state"], "queued")
        self.assertEqual(seen[4]["preview"]["state"], "sent")
        self.assertEqual(seen[5]["preview"]["state"], "read")
        self.assertEqual(seen[6]["user"]["id"], self.cleo.id)
        # nothing the list shows: nothing sent
        self.reset_bus()
        chat.with_user(self.cleo).inbox_open()
        self.assertEqual(self.bus(self.leader), [])

    def test_a_failure_to_send_rows_undoes_nothing(self):
        chat = self.chat("Bus Failure", self.ana)
        self.reset_bus()
        Chat = self.registry["whatsapp.conversation"]
        with (
            patch.object(Chat, "_inbox_rows", side_effect=ValueError("broken")),
            self.assertLogs(INBOX_LOGGER, "ERROR"),
        ):
            chat.with_user(self.ana).action_set_pending()
            self.env.flush_all()
            self.env.cr.precommit.run()
        self.assertEqual(chat.state, "pending")
        tracked = chat.message_ids.tracking_value_ids.filtered(
            lambda t: t.field_id.name == "state"
        )
        self.assertEqual(tracked[:1].new_value_char, "Waiting for the customer")
        self.assertEqual(self.bus(self.ana), [])

    def test_rows_in_each_readers_language(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        label = self.env["whatsapp.label"].create({"name": "Hot"})
        label.with_context(lang="fr_FR").name = "Chaud"
        chat = self.chat("Bus Lang", self.ana)
        chat.label_ids = label
        self.ana.lang = "fr_FR"
        self.reset_bus()
        chat.sudo().state = "pending"
        self.assertEqual(self.bus(self.ana)[0]["row"]["labels"][0]["name"], "Chaud")
        self.assertEqual(self.bus(self.leader)[0]["row"]["labels"][0]["name"], "Hot")


@tagged("post_install", "-at_install", "whatsapp_inbox")
class TestInboxCost(InboxCase):
    def chats_of_ana(self, count):
        base = int(time.time()) - 3600
        wa_ids = [str(32471000000 + count * 1000 + n) for n in range(count)]
        self.deliver(
            *(
                self.message(wa_id, name=f"Cost {wa_id}", timestamp=base + n)
                for n, wa_id in enumerate(wa_ids)
            )
        )
        chats = self.Chat.search([("wa_id", "in", wa_ids)])
        vip = self.env["whatsapp.label"].create({"name": f"Cost {count}"})
        chats.write({"user_id": self.ana.id, "label_ids": [(4, vip.id)]})
        return chats

    def queries(self, function):
        self.env.flush_all()
        self.env.invalidate_all()
        self.env.registry.clear_cache()
        function()  # warm the caches the same way
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        result = function()
        return self.env.cr.sql_log_count - before, result

    def test_a_page_costs_the_same_queries_for_5_or_50_rows(self):
        few = self.chats_of_ana(5)
        few_queries, result = self.queries(lambda: self.fetch(self.ana))
        self.assertEqual(len(result["rows"]), 5)
        self.chats_of_ana(45)
        many_queries, result = self.queries(lambda: self.fetch(self.ana))
        self.assertEqual(len(result["rows"]), 50)
        self.assertEqual(many_queries, few_queries)
        self.assertLessEqual(many_queries, 25)
        self.assertIn(few[0].id, [row["id"] for row in result["rows"]])
        searched, result = self.queries(
            lambda: self.fetch(self.leader, tab="team", search="cost")
        )
        self.assertEqual(result["total"], 50)
        self.assertLessEqual(searched, 25)


@tagged("post_install", "-at_install", "whatsapp_inbox")
class TestInboxMigration(InboxCase):
    def test_update_fills_last_messages_and_unread(self):
        waiting = self.chat("Migrated waiting", self.ana)
        self.deliver(self.message(waiting.wa_id, body="Second"))
        self.deliver(
            self.message(
                waiting.wa_id,
                "reaction",
                reaction={
                    "message_id": waiting.last_wa_message_id.wa_message_id,
                    "emoji": "🙂",
                },
            )
        )
        answered = self.chat("Migrated answered", self.ana)
        self.reply(answered, self.ana, "Done")
        self.env["whatsapp.message"]._cron_send_queue()
        expected = {chat: chat.last_wa_message_id for chat in (waiting, answered)}
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE whatsapp_conversation SET last_wa_message_id = NULL,"
            " unread_count = 0 WHERE id IN %s",
            [tuple(chat.id for chat in expected)],
        )
        self.env.invalidate_all()
        migration = load_script(
            "whatsapp_team/migrations/18.0.1.3.0/post-migrate.py", "inbox_migration"
        )
        migration.migrate(self.env.cr, "18.0.1.2.0")
        self.env.invalidate_all()
        for chat, last in expected.items():
            self.assertEqual(chat.last_wa_message_id, last, chat.name)
        self.assertEqual(expected[waiting].message_type, "reaction")
        self.assertEqual(waiting.unread_count, 2)
        self.assertEqual(answered.unread_count, 0)
