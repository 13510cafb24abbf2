"""What each message costs, from the pricing Meta's status webhooks carry.

The status bodies follow Meta's "Status messages webhook reference"
(developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/
reference/messages/status/): ``statuses[].pricing`` with ``billable``,
``pricing_model`` (``PMP`` per message since July 2025; ``CBP`` before, with
a ``conversation`` object), ``category`` and ``type`` (``regular``,
``free_customer_service``, ``free_entry_point``). Values are made up.
"""

import xmlrpc.client

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import WhatsappCase

SALES = "whatsapp_team.group_whatsapp_user"
MANAGER = "whatsapp_team.group_whatsapp_manager"


def rpc(case, user, model, method, *args):
    """``model.method(*args)`` over XML-RPC as ``user`` (a ``new_test_user``,
    whose password is its login made 8 characters long)."""
    password = user.login + "x" * (8 - len(user.login))
    return case.xmlrpc_object.execute_kw(
        case.env.cr.dbname, user.id, password, model, method, list(args)
    )


def pricing(category="marketing", kind="regular", billable=True, model="PMP"):
    values = {"billable": billable, "pricing_model": model, "category": category}
    if kind:
        values["type"] = kind
    return values


@tagged("post_install", "-at_install", "whatsapp_pricing")
class TestPricing(WhatsappCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.leader = new_test_user(cls.env, login="wa_price_lead", groups=MANAGER)
        cls.ana = new_test_user(cls.env, login="wa_price_ana", groups=SALES)
        cls.dan = new_test_user(cls.env, login="wa_price_dan", groups=SALES)
        cls.team = cls.env["crm.team"].create(
            {"name": "Showroom", "user_id": cls.leader.id}
        )
        cls.other_team = cls.env["crm.team"].create({"name": "Export"})
        Member = cls.env["crm.team.member"]
        Member.create({"crm_team_id": cls.team.id, "user_id": cls.ana.id})
        Member.create({"crm_team_id": cls.other_team.id, "user_id": cls.dan.id})
        cls.account.user_ids |= cls.leader | cls.ana | cls.dan
        cls.currency = cls.env.company.currency_id
        Rate = cls.env["whatsapp.rate"]
        cls.rate_be_marketing = Rate.create(
            {
                "account_id": cls.account.id,
                "category": "marketing",
                "country_id": cls.env.ref("base.be").id,
                "price": 0.0592,
                "currency_id": cls.currency.id,
            }
        )
        cls.rate_other_marketing = Rate.create(
            {
                "account_id": cls.account.id,
                "category": "marketing",
                "price": 0.0604,
                "currency_id": cls.currency.id,
            }
        )

    def chat(self, wa_id, user=None, team=None):
        conversation = self.deliver(self.message(wa_id)).conversation_id
        conversation.sudo().write(
            {
                "user_id": user.id if user else False,
                "team_id": team.id if team else False,
            }
        )
        return conversation

    def outbound(self, conversation, **values):
        return self.env["whatsapp.message"].create(
            {
                "wa_message_id": self.new_wamid(),
                "conversation_id": conversation.id,
                "direction": "out",
                "message_type": "template",
                "body": "Our spring offer",
                "state": "sent",
                **values,
            }
        )

    def priced_status(self, message, status="sent", conversation=None, **kwargs):
        item = self.status(
            message.wa_message_id, status, wa_id=message.conversation_id.wa_id
        )
        item["pricing"] = pricing(**kwargs)
        if conversation:
            item["conversation"] = {
                "id": conversation,
                "origin": {"type": kwargs.get("category", "marketing")},
            }
        return item

    def send_statuses(self, *items):
        response = self.post_webhook(self.payload(statuses=items))
        self.assertEqual(response.status_code, 200, response.text)
        self.process()

    def test_signed_status_over_http_prices_a_marketing_message(self):
        conversation = self.chat("32470555001")
        message = self.outbound(conversation)
        self.send_statuses(self.priced_status(message))
        self.assertRecordValues(
            message,
            [
                {
                    "pricing_billable": True,
                    "pricing_model": "PMP",
                    "pricing_category": "marketing",
                    "pricing_type": "regular",
                    "market_country_id": self.env.ref("base.be").id,
                    "rate_id": self.rate_be_marketing.id,
                    "cost": 0.0592,
                    "cost_currency_id": self.currency.id,
                    "cost_state": "priced",
                }
            ],
        )
        self.assertAlmostEqual(conversation.whatsapp_cost, 0.0592, places=4)

    def test_free_customer_service_costs_nothing(self):
        conversation = self.chat("32470555002")
        reply = self.outbound(conversation, message_type="text")
        entry = self.outbound(conversation)
        self.send_statuses(
            self.priced_status(
                reply, category="service", kind="free_customer_service", billable=False
            ),
            self.priced_status(entry, kind="free_entry_point", billable=False),
        )
        self.assertEqual(reply.cost_state, "free")
        self.assertEqual(reply.pricing_type, "free_customer_service")
        self.assertEqual(entry.cost_state, "free")
        self.assertEqual(entry.pricing_category, "marketing")
        self.assertEqual(reply.cost + entry.cost, 0)
        self.assertEqual(conversation.whatsapp_cost, 0)

    def test_repeated_statuses_do_not_double_the_cost(self):
        conversation = self.chat("32470555003")
        lead = self.env["crm.lead"].create(
            {"name": "Spring offer", "partner_id": conversation.partner_id.id}
        )
        conversation.lead_id = lead
        message = self.outbound(conversation)
        for status in ("sent", "delivered", "read", "read"):
            self.send_statuses(self.priced_status(message, status=status))
        # the same pricing twice in one body, and once more delivered late
        self.send_statuses(
            self.priced_status(message, status="delivered"),
            self.priced_status(message, status="read"),
        )
        self.assertEqual(message.state, "read")
        self.assertAlmostEqual(message.cost, 0.0592, places=4)
        self.assertAlmostEqual(conversation.whatsapp_cost, 0.0592, places=4)
        self.assertAlmostEqual(lead.whatsapp_cost, 0.0592, places=4)
        total = self.env["whatsapp.message"]._read_group(
            [("conversation_id", "=", conversation.id)], [], ["cost:sum"]
        )[0][0]
        self.assertAlmostEqual(total, 0.0592, places=4)

    def test_market_without_a_line_of_its_own_and_without_any_line(self):
        # an Argentinian number: the line for other markets
        conversation = self.chat("5491155550001")
        marketing = self.outbound(conversation)
        utility = self.outbound(conversation)
        self.send_statuses(
            self.priced_status(marketing),
            self.priced_status(utility, category="utility"),
        )
        self.assertEqual(marketing.market_country_id, self.env.ref("base.ar"))
        self.assertEqual(marketing.rate_id, self.rate_other_marketing)
        self.assertAlmostEqual(marketing.cost, 0.0604, places=4)
        # no utility rate at all: known to be billed, not what it costs
        self.assertEqual(utility.cost_state, "no_rate")
        self.assertEqual(utility.cost, 0)
        # the administrator adds the rate and applies it to past messages
        rate = self.env["whatsapp.rate"].create(
            {
                "account_id": self.account.id,
                "category": "utility",
                "price": 0.0077,
                "currency_id": self.currency.id,
            }
        )
        rate.action_apply_to_messages()
        self.assertEqual(utility.cost_state, "priced")
        self.assertAlmostEqual(utility.cost, 0.0077, places=4)
        self.assertAlmostEqual(marketing.cost, 0.0604, places=4)

    def test_older_conversation_pricing_bills_a_conversation_once(self):
        conversation = self.chat("32470555004")
        first, second = self.outbound(conversation), self.outbound(conversation)
        meta_conversation = "c1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"
        self.send_statuses(
            self.priced_status(
                first, conversation=meta_conversation, kind=None, model="CBP"
            ),
            self.priced_status(
                second, conversation=meta_conversation, kind=None, model="CBP"
            ),
        )
        self.assertEqual(first.pricing_model, "CBP")
        self.assertEqual(first.meta_conversation_id, meta_conversation)
        self.assertEqual(first.cost_state, "priced")
        self.assertEqual(second.cost_state, "included")
        self.assertAlmostEqual(conversation.whatsapp_cost, 0.0592, places=4)

    def test_manager_report_sums_per_salesperson_of_his_teams_only(self):
        ours = self.chat("32470555005", user=self.ana, team=self.team)
        theirs = self.chat("32470555006", user=self.dan, team=self.other_team)
        statuses = []
        for conversation, count in ((ours, 2), (theirs, 3)):
            for _index in range(count):
                statuses.append(self.priced_status(self.outbound(conversation)))
        self.send_statuses(*statuses)
        groups = (
            self.env["whatsapp.message"]
            .with_user(self.leader)
            ._read_group(
                [("cost_state", "!=", False)], ["salesperson_id"], ["cost:sum"]
            )
        )
        totals = {user: round(cost, 4) for user, cost in groups}
        self.assertEqual(totals, {self.ana: round(2 * 0.0592, 4)})
        # the same over the external API, as the report's pivot asks it
        rows = rpc(
            self,
            self.leader,
            "whatsapp.message",
            "read_group",
            [("cost_state", "!=", False)],
            ["cost:sum"],
            ["salesperson_id"],
        )
        self.assertEqual([row["salesperson_id"][0] for row in rows], [self.ana.id])
        self.assertAlmostEqual(rows[0]["cost"], 2 * 0.0592, places=4)
        # the salesperson of the other team sees his own
        self.assertAlmostEqual(
            theirs.with_user(self.dan).whatsapp_cost, 3 * 0.0592, places=4
        )

    def test_rates_are_read_by_managers_and_kept_by_administrators(self):
        rate = self.rate_be_marketing
        self.assertEqual(rate.with_user(self.leader).price, 0.0592)
        for user in (self.ana, self.leader):
            with self.assertRaises(AccessError):
                rate.with_user(user).write({"price": 0})
            with self.assertRaises(AccessError):
                rate.with_user(user).action_apply_to_messages()
        with self.assertRaises(xmlrpc.client.Fault):
            rpc(self, self.ana, "whatsapp.rate", "write", [rate.id], {"price": 0})
        with self.assertRaises(xmlrpc.client.Fault):
            rpc(self, self.ana, "whatsapp.rate", "read", [rate.id], ["price"])
        with self.assertRaises(xmlrpc.client.Fault):
            rpc(
                self,
                self.leader,
                "whatsapp.rate",
                "create",
                {"account_id": self.account.id, "category": "utility", "price": 0},
            )
        self.assertEqual(rate.price, 0.0592)

    def test_mass_send_cost_is_summed_per_campaign(self):
        template = self.approved_template("spring_offer", category="marketing")
        partners = self.env["res.partner"].create(
            [
                {"name": "Customer A", "mobile": "+32 470 55 51 01"},
                {"name": "Customer B", "mobile": "+32 470 55 51 02"},
            ]
        )
        # a salesperson sends: the campaign is made with their own rights
        wizard = (
            self.env["whatsapp.template.mass.send"]
            .with_user(self.ana)
            .with_context(active_model="res.partner", active_ids=partners.ids)
            .create({"account_id": self.account.id, "template_id": template.id})
        )
        wizard.action_send()
        self.assertTrue(wizard.campaign_id)
        self.assertIn("spring_offer", wizard.campaign_id.title)
        messages = self.env["whatsapp.message"].search(
            [("campaign_id", "=", wizard.campaign_id.id)]
        )
        self.assertEqual(len(messages), 2)
        for message in messages:
            message.sudo().write({"wa_message_id": self.new_wamid(), "state": "sent"})
        self.send_statuses(*(self.priced_status(message) for message in messages))
        groups = self.env["whatsapp.message"]._read_group(
            [("campaign_id", "!=", False)], ["campaign_id"], ["cost:sum"]
        )
        self.assertEqual(groups[0][0], wizard.campaign_id)
        self.assertAlmostEqual(groups[0][1], 2 * 0.0592, places=4)

    def test_demo_costs_and_calls(self):
        sandbox = self.env["whatsapp.account"].create(
            {
                "name": "Try",
                "mode": "sandbox",
                "display_phone_number": "+1 555 010 0100",
            }
        )
        self.env["whatsapp.rate"].create(
            {
                "account_id": sandbox.id,
                "category": "marketing",
                "country_id": self.env.ref("base.br").id,
                "price": 0.0625,
                "currency_id": self.currency.id,
            }
        )
        Sandbox = self.env["whatsapp.sandbox.message"]
        # the customers the demo's conversations bring
        for name, phone in (
            ("Ana Souza", "+55 11 98765-4321"),
            ("Jorge Pérez", "+52 1 55 1234 5678"),
            ("Li Wei", "+86 138 0013 8000"),
        ):
            Sandbox._simulate(
                sandbox, {"name": name, "phone": phone, "type": "text", "body": "Hi"}
            )
        Sandbox._load_demo_costs_and_calls(sandbox.id)
        messages = self.env["whatsapp.message"].search(
            [("account_id", "=", sandbox.id), ("cost_state", "!=", False)]
        )
        self.assertEqual(sorted(messages.mapped("cost_state")), ["free", "priced"])
        self.assertAlmostEqual(sum(messages.mapped("cost")), 0.0625, places=4)
        # no customer of its own: the demo's chats stay the demo's
        self.assertEqual(
            len(
                self.env["whatsapp.conversation"].search(
                    [("account_id", "=", sandbox.id)]
                )
            ),
            3,
        )
        calls = self.env["whatsapp.call"].search([("account_id", "=", sandbox.id)])
        self.assertEqual(sorted(calls.mapped("state")), ["completed", "missed"])
