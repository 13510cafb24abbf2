"""WhatsApp calls from the ``calls`` webhook (Meta's Calling API).

The bodies follow Meta's Calling API pages (developers.facebook.com/
documentation/business-messaging/whatsapp/calling/user-initiated-calls and
business-initiated-calls, and the calling webhook reference): field
``calls``, ``value.calls[]`` with ``id``, ``from``, ``to``, ``event``
(``connect``, ``terminate``), ``timestamp``, ``direction``, and on
``terminate`` ``status``, ``start_time``, ``end_time``, ``duration``;
``value.statuses[]`` for the calls the business places (``RINGING``,
``ACCEPTED``, ``REJECTED``). Values are made up.
"""

import xmlrpc.client

from odoo import fields
from odoo.tests import new_test_user, tagged

from .common import PHONE_NUMBER_ID, WhatsappCase

BUSINESS = "15550100100"
T0 = 1764230400  # when the calls start


def password(user):
    return user.login + "x" * (8 - len(user.login))


@tagged("post_install", "-at_install", "whatsapp_calls")
class TestCalls(WhatsappCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.leader = new_test_user(
            cls.env, login="wa_call_lead", groups="whatsapp_team.group_whatsapp_manager"
        )
        cls.outsider = new_test_user(
            cls.env, login="wa_call_out", groups="whatsapp_team.group_whatsapp_user"
        )
        cls.team = cls.env["crm.team"].create(
            {"name": "Showroom", "user_id": cls.leader.id}
        )
        cls.other_team = cls.env["crm.team"].create({"name": "Export"})
        cls.env["crm.team.member"].create(
            [
                {"crm_team_id": cls.team.id, "user_id": cls.user_allowed.id},
                {"crm_team_id": cls.other_team.id, "user_id": cls.outsider.id},
            ]
        )
        cls.account.user_ids |= cls.leader | cls.outsider
        cls.call_back = cls.env.ref(
            "whatsapp_team.mail_activity_type_whatsapp_call_back"
        )

    def setUp(self):
        super().setUp()
        self.conversation = self.deliver(self.message("32470888001")).conversation_id
        self.conversation.sudo().write(
            {"user_id": self.user_allowed.id, "team_id": self.team.id}
        )

    # ------------------------------------------------------------
    # Meta's shapes
    # ------------------------------------------------------------

    def body(self, calls=(), statuses=(), contacts=None):
        value = {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": BUSINESS,
                "phone_number_id": PHONE_NUMBER_ID,
            },
        }
        if contacts:
            value["contacts"] = contacts
        if calls:
            value["calls"] = list(calls)
        if statuses:
            value["statuses"] = list(statuses)
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": self.account.business_account_id,
                    "changes": [{"field": "calls", "value": value}],
                }
            ],
        }

    def user_call(self, call_id, event, customer="32470888001", **fields):
        """A call the customer placed: from them to the business."""
        item = {
            "id": call_id,
            "from": customer,
            "to": BUSINESS,
            "event": event,
            "timestamp": str(fields.pop("timestamp", T0)),
            "direction": "USER_INITIATED",
        }
        if event == "connect":
            item["session"] = {"sdp_type": "offer", "sdp": "<RFC 8866 SDP>"}
        item.update(fields)
        return item

    def business_call(self, call_id, event, customer="32470888001", **fields):
        item = {
            "id": call_id,
            "from": BUSINESS,
            "to": customer,
            "event": event,
            "timestamp": str(fields.pop("timestamp", T0)),
            "direction": "BUSINESS_INITIATED",
        }
        item.update(fields)
        return item

    def call_status(self, call_id, status, customer="32470888001", timestamp=T0):
        return {
            "id": call_id,
            "timestamp": str(timestamp),
            "type": "call",
            "status": status,
            "recipient_id": customer,
        }

    def send(self, body):
        response = self.post_webhook(body)
        self.assertEqual(response.status_code, 200, response.text)
        self.process()

    def call_lines(self, record):
        return record.message_ids.filtered(lambda m: "📞" in (m.body or ""))

    def call_backs(self, conversation=None):
        return (conversation or self.conversation).activity_ids.filtered(
            lambda a: a.activity_type_id == self.call_back
        )

    # ------------------------------------------------------------
    # Tests
    # ------------------------------------------------------------

    def test_connect_then_terminate_is_one_line_with_its_duration(self):
        lead = self.env["crm.lead"].create(
            {"name": "Showroom visit", "partner_id": self.conversation.partner_id.id}
        )
        self.conversation.lead_id = lead
        call_id = "wacid.HBgLMzI0NzA4ODgwMDEVAgARGCAyODRQIAFRoA"
        self.send(
            self.body(
                [self.user_call(call_id, "connect")],
                contacts=[{"profile": {"name": "Customer"}, "wa_id": "32470888001"}],
            )
        )
        call = self.env["whatsapp.call"].search([("wa_call_id", "=", call_id)])
        self.assertEqual(call.state, "ringing")
        self.assertEqual(call.conversation_id, self.conversation)
        self.assertIn(
            "The customer is calling", self.call_lines(self.conversation).body
        )
        self.send(
            self.body(
                [
                    self.user_call(
                        call_id,
                        "terminate",
                        timestamp=T0 + 100,
                        status="COMPLETED",
                        start_time=str(T0 + 5),
                        end_time=str(T0 + 100),
                        duration=95,
                    )
                ]
            )
        )
        self.assertRecordValues(
            call,
            [
                {
                    "state": "completed",
                    "direction": "in",
                    "duration": 95,
                    "end_status": "COMPLETED",
                    "duration_display": "1 min 35 s",
                }
            ],
        )
        lines = self.call_lines(self.conversation)
        self.assertEqual(len(lines), 1)
        self.assertIn("Call from the customer, 1 min 35 s", lines.body)
        self.assertEqual(lines.message_type, "notification")
        self.assertFalse(lines.author_id == self.conversation.partner_id)
        lead_lines = self.call_lines(lead)
        self.assertEqual(len(lead_lines), 1)
        self.assertIn("1 min 35 s", lead_lines.body)
        self.assertFalse(self.call_backs())

    def test_missed_call_gives_the_salesperson_an_activity(self):
        call_id = "wacid.MISSED0001"
        self.send(
            self.body(
                [
                    self.user_call(call_id, "connect"),
                    self.user_call(
                        call_id, "terminate", timestamp=T0 + 30, status="FAILED"
                    ),
                ]
            )
        )
        call = self.env["whatsapp.call"].search([("wa_call_id", "=", call_id)])
        self.assertEqual(call.state, "missed")
        self.assertIn(
            "Missed call from the customer", self.call_lines(self.conversation).body
        )
        activity = self.call_backs()
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.user_allowed)
        self.assertEqual(self.call_back.category, "phonecall")

    def test_a_call_is_the_chats_latest_news_in_the_inbox(self):
        """As in WhatsApp's list of chats: the call moves the chat up and
        its line tells of it, until a message comes after it."""
        customer = "32470888002"
        chat = self.deliver(
            self.message(customer, body="Hello", timestamp=T0 - 600)
        ).conversation_id
        call_id = "wacid.INBOX0001"
        self.send(
            self.body(
                [
                    self.user_call(call_id, "connect", customer=customer),
                    self.user_call(
                        call_id,
                        "terminate",
                        customer=customer,
                        timestamp=T0 + 30,
                        status="FAILED",
                    ),
                ]
            )
        )
        self.assertEqual(chat.last_call_id.wa_call_id, call_id)
        self.assertEqual(
            chat.last_message_at, fields.Datetime.to_datetime("2025-11-27 08:00:00")
        )
        preview = chat._inbox_row()["preview"]
        self.assertEqual(preview["body"], "📞 Missed call from the customer")
        self.assertEqual(preview["author"], "customer")
        # the customer writes after it: the message is the news again
        self.deliver(
            self.message(customer, body="Call me back please", timestamp=T0 + 90)
        )
        self.assertEqual(chat._inbox_row()["preview"]["body"], "Call me back please")

    def test_duplicate_delivery_changes_nothing(self):
        call_id = "wacid.TWICE0001"
        body = self.body(
            [
                self.user_call(call_id, "connect"),
                self.user_call(
                    call_id, "terminate", timestamp=T0 + 20, status="FAILED"
                ),
            ]
        )
        self.send(body)
        self.send(body)
        # and the terminate once more, alone, late
        self.send(
            self.body(
                [
                    self.user_call(
                        call_id, "terminate", timestamp=T0 + 20, status="FAILED"
                    )
                ]
            )
        )
        calls = self.env["whatsapp.call"].search([("wa_call_id", "=", call_id)])
        self.assertEqual(len(calls), 1)
        self.assertEqual(calls.events, "connect,terminate")
        self.assertEqual(len(self.call_lines(self.conversation)), 1)
        self.assertEqual(len(self.call_backs()), 1)
        self.assertEqual(set(self.events().mapped("state")), {"done"})

    def test_terminate_before_connect(self):
        call_id = "wacid.LATE0001"
        self.send(
            self.body(
                [
                    self.user_call(
                        call_id,
                        "terminate",
                        timestamp=T0 + 65,
                        status="COMPLETED",
                        start_time=str(T0 + 5),
                        end_time=str(T0 + 65),
                    )
                ]
            )
        )
        self.send(self.body([self.user_call(call_id, "connect")]))
        call = self.env["whatsapp.call"].search([("wa_call_id", "=", call_id)])
        self.assertEqual(call.state, "completed")
        self.assertEqual(call.duration, 60)
        self.assertIn("1 min", self.call_lines(self.conversation).body)

    def test_business_initiated_calls(self):
        answered, declined = "wacid.OUT0001", "wacid.OUT0002"
        self.send(
            self.body(
                [self.business_call(answered, "connect")],
                statuses=[
                    self.call_status(answered, "RINGING"),
                    self.call_status(answered, "ACCEPTED", timestamp=T0 + 4),
                ],
            )
        )
        self.send(
            self.body(
                [
                    self.business_call(
                        answered,
                        "terminate",
                        timestamp=T0 + 64,
                        status="COMPLETED",
                        start_time=str(T0 + 4),
                        end_time=str(T0 + 64),
                        duration=60,
                    ),
                    self.business_call(declined, "connect", timestamp=T0 + 100),
                ],
                statuses=[self.call_status(declined, "REJECTED", timestamp=T0 + 105)],
            )
        )
        self.send(
            self.body(
                [
                    self.business_call(
                        declined, "terminate", timestamp=T0 + 106, status="COMPLETED"
                    )
                ]
            )
        )
        Call = self.env["whatsapp.call"]
        self.assertRecordValues(
            Call.search([("wa_call_id", "in", (answered, declined))], order="id"),
            [
                {"state": "completed", "direction": "out", "duration": 60},
                {"state": "rejected", "direction": "out", "duration": 0},
            ],
        )
        bodies = " ".join(self.call_lines(self.conversation).mapped("body"))
        self.assertIn("Call to the customer, 1 min", bodies)
        self.assertIn("Call to the customer, declined", bodies)
        # the salesperson called: nothing to call back
        self.assertFalse(self.call_backs())

    def test_unassigned_missed_call_goes_to_the_team_leader(self):
        conversation = self.deliver(self.message("32470888002")).conversation_id
        conversation.sudo().write({"user_id": False, "team_id": self.team.id})
        call_id = "wacid.UNASSIGNED1"
        self.send(
            self.body(
                [
                    self.user_call(call_id, "connect", customer="32470888002"),
                    self.user_call(
                        call_id,
                        "terminate",
                        customer="32470888002",
                        timestamp=T0 + 30,
                        status="FAILED",
                    ),
                ]
            )
        )
        self.assertEqual(self.call_backs(conversation).user_id, self.leader)

    def test_a_bad_item_does_not_block_the_others(self):
        good = "wacid.GOOD0001"
        self.send(
            self.body(
                [
                    {"from": "32470888001", "to": BUSINESS, "event": "connect"},
                    self.user_call(good, "connect"),
                ]
            )
        )
        self.assertTrue(self.env["whatsapp.call"].search([("wa_call_id", "=", good)]))
        events = self.events()
        self.assertIn("failed", events.mapped("state"))
        self.assertIn("done", events.mapped("state"))

    def test_calls_are_read_as_their_chat(self):
        call_id = "wacid.PRIVATE01"
        self.send(self.body([self.user_call(call_id, "connect")]))
        call = self.env["whatsapp.call"].search([("wa_call_id", "=", call_id)])
        self.assertTrue(call.with_user(self.user_allowed).read(["state"]))
        self.assertTrue(call.with_user(self.leader).read(["state"]))
        self.assertFalse(
            self.env["whatsapp.call"]
            .with_user(self.outsider)
            .search([("id", "=", call.id)])
        )
        with self.assertRaises(xmlrpc.client.Fault):
            self.xmlrpc_object.execute_kw(
                self.env.cr.dbname,
                self.outsider.id,
                password(self.outsider),
                "whatsapp.call",
                "read",
                [[call.id], ["state"]],
            )
        with self.assertRaises(xmlrpc.client.Fault):
            self.xmlrpc_object.execute_kw(
                self.env.cr.dbname,
                self.user_allowed.id,
                password(self.user_allowed),
                "whatsapp.call",
                "write",
                [[call.id], {"state": "completed"}],
            )
