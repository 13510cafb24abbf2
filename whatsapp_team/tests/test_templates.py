from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged

from .common import WhatsappCase


@tagged("post_install", "-at_install", "whatsapp_template")
class TestTemplates(WhatsappCase):
    def setUp(self):
        super().setUp()
        self.graph.add_template(
            "order_update",
            language="pt_BR",
            components=[
                {"type": "HEADER", "format": "TEXT", "text": "Pedido"},
                {"type": "BODY", "text": "Olá {{1}}, seu pedido {{2}} saiu hoje."},
                {"type": "FOOTER", "text": "Loja"},
            ],
        )
        self.graph.add_template("new_offer", category="MARKETING", status="PENDING")

    def sync(self):
        self.account.action_sync_templates()
        return self.env["whatsapp.template"].search(
            [("account_id", "=", self.account.id)]
        )

    def test_sync_follows_every_page_and_archives_removed_templates(self):
        for index in range(248):
            self.graph.add_template(f"bulk_{index:03d}")
        templates = self.sync()
        self.assertEqual(len(templates), 250)
        pages = [
            c for c in self.graph.calls if c["path"].endswith("/message_templates")
        ]
        self.assertGreaterEqual(len(pages), 3)
        order = templates.filtered(lambda t: t.name == "order_update")
        self.assertEqual(
            (
                order.language,
                order.status,
                order.header_text,
                order.footer,
                order.variable_count,
            ),
            ("pt_BR", "approved", "Pedido", "Loja", 2),
        )
        self.assertEqual(order.body, "Olá {{1}}, seu pedido {{2}} saiu hoje.")
        # Meta deleted one and approved another
        self.graph.templates = [
            t for t in self.graph.templates if t["name"] != "bulk_000"
        ]
        for template in self.graph.templates:
            if template["name"] == "new_offer":
                template["status"] = "APPROVED"
        templates = self.sync()
        self.assertEqual(len(templates), 249)
        self.assertEqual(
            templates.filtered(lambda t: t.name == "new_offer").status, "approved"
        )
        archived = (
            self.env["whatsapp.template"]
            .with_context(active_test=False)
            .search([("name", "=", "bulk_000")])
        )
        self.assertFalse(archived.active)

    def test_status_webhook_updates_the_template(self):
        offer = self.sync().filtered(lambda t: t.name == "new_offer")
        payload = {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": self.account.business_account_id,
                    "changes": [
                        {
                            "field": "message_template_status_update",
                            "value": {
                                "event": "REJECTED",
                                "message_template_id": int(offer.wa_template_id),
                                "message_template_name": "new_offer",
                                "message_template_language": "en_US",
                                "reason": "INCORRECT_CATEGORY",
                            },
                        }
                    ],
                }
            ],
        }
        self.assertEqual(self.post_webhook(payload).status_code, 200)
        self.process()
        self.assertEqual(
            (offer.status, offer.rejected_reason), ("rejected", "INCORRECT_CATEGORY")
        )
        self.assertEqual(self.events().state, "done")

    def send_template(self, conversation, name, values=(), user=None):
        template = self.env["whatsapp.template"].search([("name", "=", name)])
        wizard_env = self.env["whatsapp.template.send"]
        if user:
            wizard_env = wizard_env.with_user(user)
        form = Form(wizard_env.with_context(default_conversation_id=conversation.id))
        form.template_id = template.with_user(user) if user else template
        for index, value in enumerate(values):
            with form.line_ids.edit(index) as line:
                line.value = value
        wizard = form.save()
        wizard.action_send()
        return wizard

    def test_template_is_sent_when_the_window_is_closed(self):
        self.sync()
        conversation = self.deliver(
            self.message("5511987650000", name="Ana")
        ).conversation_id
        self.graph.reset()
        with freeze_time(fields.Datetime.now() + timedelta(days=3)):
            self.assertFalse(conversation.window_open)
            wizard = self.send_template(conversation, "order_update", ["Ana", "S0042"])
            self.assertIn("Olá Ana, seu pedido S0042 saiu hoje.", wizard.preview)
            self.env["whatsapp.message"]._cron_send_queue()
            conversation.invalidate_recordset(["window_open"])
            self.assertFalse(
                conversation.window_open, "our own messages never reopen the window"
            )
        sent = self.graph.messages[-1]
        self.assertEqual(sent["type"], "template")
        self.assertEqual(sent["template"]["name"], "order_update")
        self.assertEqual(sent["template"]["language"], {"code": "pt_BR"})
        self.assertEqual(
            [p["text"] for p in sent["template"]["components"][0]["parameters"]],
            ["Ana", "S0042"],
        )
        message = self.env["whatsapp.message"].search(
            [("message_type", "=", "template")]
        )
        self.assertEqual((message.state, message.wa_message_id), ("sent", sent["id"]))
        self.assertIn("seu pedido S0042", message.mail_message_id.body)

    def test_first_variable_defaults_to_the_customer_and_all_are_required(self):
        self.sync()
        conversation = self.deliver(
            self.message("5511987650001", name="Bia")
        ).conversation_id
        form = Form(
            self.env["whatsapp.template.send"].with_context(
                default_conversation_id=conversation.id
            )
        )
        form.template_id = self.env["whatsapp.template"].search(
            [("name", "=", "order_update")]
        )
        self.assertEqual(form.line_ids.edit(0).value, "Bia")
        wizard = form.save()
        with self.assertRaisesRegex(UserError, "Fill in every variable"):
            wizard.action_send()

    def test_only_approved_templates_are_sent(self):
        self.sync()
        conversation = self.deliver(self.message("5511987650002")).conversation_id
        pending = self.env["whatsapp.template"].search([("name", "=", "new_offer")])
        wizard = self.env["whatsapp.template.send"].create(
            {"conversation_id": conversation.id, "template_id": pending.id}
        )
        with self.assertRaisesRegex(UserError, "only approved templates"):
            wizard.action_send()

    def test_meta_template_error_is_explained(self):
        self.sync()
        conversation = self.deliver(
            self.message("5511987650003", name="Caio")
        ).conversation_id
        self.graph.fail_next(132001, path_contains="/messages")
        self.send_template(conversation, "order_update", ["Caio", "S1"])
        self.env["whatsapp.message"]._cron_send_queue()
        message = self.env["whatsapp.message"].search(
            [("message_type", "=", "template")]
        )
        self.assertEqual((message.state, message.error_code), ("failed", 132001))
        self.assertIn("does not exist in this language", message.mail_message_id.body)

    def test_template_whose_values_cannot_be_read_fails_at_once(self):
        self.sync()
        conversation = self.deliver(
            self.message("5511987650005", name="Eva")
        ).conversation_id
        self.graph.reset()
        self.send_template(conversation, "order_update", ["Eva", "S9"])
        template_message = self.env["whatsapp.message"].search(
            [("message_type", "=", "template")]
        )
        # damaged after it was queued
        template_message.write({"template_values": '{"body": ["Eva", '})
        conversation.with_user(self.user_allowed).message_post(
            body="Obrigada!", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        with self.assertLogs(
            "odoo.addons.whatsapp_team.models.whatsapp_message", "ERROR"
        ) as logs:
            self.assertEqual(self.env["whatsapp.message"]._cron_send_queue(), 2)
        self.assertTrue(logs.records[0].exc_info, "logged with its traceback")
        self.assertEqual(
            (template_message.state, template_message.failure_cause),
            ("failed", "preparation"),
        )
        self.assertIn("not sent", template_message.mail_message_id.body)
        self.assertEqual(
            [m["type"] for m in self.graph.messages], ["text"], "the text went out"
        )

    def test_salesperson_sends_a_template_on_an_allowed_number(self):
        self.sync()
        conversation = self.deliver(
            self.message("5511987650004", name="Duda")
        ).conversation_id
        self.send_template(
            conversation, "order_update", ["Duda", "S7"], user=self.user_allowed
        )
        message = self.env["whatsapp.message"].search(
            [("message_type", "=", "template")]
        )
        self.assertEqual(message.author_user_id, self.user_allowed)
        self.assertEqual(
            self.env["whatsapp.template"].with_user(self.user_allowed).search_count([]),
            2,
        )

    def test_sync_needs_the_business_account(self):
        self.account.business_account_id = False
        self.env.flush_all()  # not undone with the savepoint of assertRaises
        with self.assertRaisesRegex(UserError, "WhatsApp Business Account ID"):
            self.account.action_sync_templates()
        self.env["whatsapp.template"]._cron_sync()  # skips it quietly


@tagged("post_install", "-at_install", "whatsapp_template")
class TestTemplateMassSend(WhatsappCase):
    def setUp(self):
        super().setUp()
        self.graph.add_template(
            "promo",
            category="MARKETING",
            components=[{"type": "BODY", "text": "Hi {{1}}, {{2}} from {{3}}."}],
        )
        self.account.action_sync_templates()
        self.salesperson = self.env["res.users"].create(
            {
                "name": "Sam Seller",
                "login": "wa_mass_seller",
                "groups_id": [
                    (4, self.env.ref("whatsapp_team.group_whatsapp_user").id),
                    (4, self.env.ref("sales_team.group_sale_salesman_all_leads").id),
                ],
            }
        )
        self.account.user_ids += self.salesperson
        Partner = self.env["res.partner"]
        self.ok = Partner.create({"name": "Ana Lima", "mobile": "+55 11 91111-1111"})
        self.no_number = Partner.create({"name": "Bruno Sem"})
        self.opted_out = Partner.create(
            {"name": "Carla Stop", "mobile": "+55 11 92222-2222"}
        )
        self.env["phone.blacklist"].sudo().add("+5511922222222")

    def map_variables(self, mapping):
        """Set the promo template's variables: ``{position: values}``."""
        template = self.env["whatsapp.template"].search([("name", "=", "promo")])
        for line in template.variable_ids:
            if line.position in mapping:
                line.write(mapping[line.position])
        return template

    def mass_send(self, records, texts=None, account=None, template="promo"):
        form = Form(
            self.env["whatsapp.template.mass.send"]
            .with_user(self.salesperson)
            .with_context(active_model=records._name, active_ids=records.ids)
        )
        form.account_id = account or self.account
        form.template_id = self.env["whatsapp.template"].search(
            [("name", "=", template), ("account_id", "=", form.account_id.id)]
        )
        for index, text in (texts or {}).items():
            with form.line_ids.edit(index) as line:
                line.value = text
        wizard = form.save()
        wizard.action_send()
        return wizard

    def test_partners_skipping_blacklisted_and_unreachable_with_reasons(self):
        self.map_variables(
            {
                2: {"source": "free_text", "free_text": "10% off"},
                3: {"source": "user", "field_path": "company_id.name"},
            }
        )
        partners = self.ok | self.no_number | self.opted_out
        # the template's free text can be changed for one send
        wizard = self.mass_send(partners, {1: "20% off"})
        self.assertIn("1 messages queued", wizard.report)
        self.assertIn("Bruno Sem: no mobile or phone number", wizard.report)
        self.assertIn("Carla Stop: the number is on the blacklist", wizard.report)
        messages = self.env["whatsapp.message"].search(
            [("message_type", "=", "template")]
        )
        self.assertEqual(messages.conversation_id.partner_id, self.ok)
        self.assertEqual(
            messages.body, f"Hi Ana Lima, 20% off from {self.env.company.name}."
        )
        self.assertEqual(messages.author_user_id, self.salesperson)
        self.env["whatsapp.message"]._cron_send_queue()
        self.assertEqual(len(self.graph.messages), 1)
        self.assertEqual(self.graph.messages[0]["to"], "5511911111111")

    def test_customer_who_opted_out_by_username_is_skipped(self):
        """Their STOP came while we knew only their username: their number
        is not on the blacklist, and the send skips them all the same."""
        self.map_variables(
            {
                2: {"source": "free_text", "free_text": "10% off"},
                3: {"source": "user", "field_path": "company_id.name"},
            }
        )
        user_id = "BR.1502576394655997"
        self.deliver(self.message(None, user_id=user_id, name="Dora", body="STOP"))
        chat = self.deliver(
            self.message("5511933333333", user_id=user_id, name="Dora", body="Oi")
        ).conversation_id
        self.assertTrue(chat.opted_out)
        wizard = self.mass_send(self.ok | chat.partner_id)
        self.assertIn("1 messages queued", wizard.report)
        self.assertIn(
            f"{chat.partner_id.display_name}: the customer opted out", wizard.report
        )
        self.assertEqual(
            self.env["whatsapp.message"]
            .search([("message_type", "=", "template")])
            .conversation_id.partner_id,
            self.ok,
        )

    def test_customer_whose_number_the_blacklist_refuses_is_skipped(self):
        """A number the phone blacklist refuses (here one of Meta's test
        numbers): the customer's STOP is kept on their chat, and every send
        of a marketing template skips them, from any of our numbers, without
        opening a chat for them."""
        other = self.env["whatsapp.account"].create(
            {
                "name": "Support",
                "phone_number_id": "333",
                "business_account_id": "102290129340398",
                "access_token": self.account.access_token,
                "graph_base_url": self.graph_server.url,
                "user_ids": [(4, self.salesperson.id)],
            }
        )
        other.action_sync_templates()
        # the promo template of both numbers
        self.map_variables(
            {
                2: {"source": "free_text", "free_text": "10% off"},
                3: {"source": "free_text", "free_text": "the shop"},
            }
        )
        chat = self.deliver(
            self.message("15550100124", name="Eva Test", body="STOP")
        ).conversation_id
        self.assertTrue(chat.opted_out)
        wizard = self.mass_send(self.ok | chat.partner_id)
        self.assertIn("1 messages queued", wizard.report)
        self.assertIn("Eva Test: the customer opted out", wizard.report)
        wizard = self.mass_send(chat.partner_id, account=other)
        self.assertIn("0 messages queued", wizard.report)
        self.assertIn("Eva Test: the customer opted out", wizard.report)
        Conversation = self.env["whatsapp.conversation"]
        self.assertFalse(Conversation.search([("account_id", "=", other.id)]))
        # an automation rule goes through the same send
        action = self.env["ir.actions.server"].create(
            {
                "name": "Weekly promo",
                "model_id": self.env.ref("base.model_res_partner").id,
                "state": "whatsapp",
                "whatsapp_account_id": other.id,
                "whatsapp_template_id": self.env["whatsapp.template"]
                .search([("name", "=", "promo"), ("account_id", "=", other.id)])
                .id,
            }
        )
        action.with_context(
            active_model="res.partner", active_ids=chat.partner_id.ids
        ).run()
        self.assertEqual(
            self.env["whatsapp.message"]
            .search([("message_type", "=", "template")])
            .conversation_id.partner_id,
            self.ok,
        )
        self.assertFalse(Conversation.search([("account_id", "=", other.id)]))

    def test_variable_texts_over_meta_limits_are_refused_never_cut(self):
        """Meta takes 60 characters in a header variable and 1,024 in a body
        variable of a template with more than a body (32,768 when the body
        is all it has): longer is refused, or skipped when sending to many,
        never cut."""
        chat = self.deliver(
            self.message("5511944444444", name="Ana", body="Oi")
        ).conversation_id
        news = self.env["whatsapp.template"].create(
            {
                "name": "news",
                "language": "en_US",
                "account_id": self.account.id,
                "category": "utility",
                "status": "approved",
                "header_type": "text",
                "header_text": "News for {{1}}",
                "body": "Hi {{1}}, {{2}}",
                "footer": "Sofa & Co",
            }
        )
        Message = self.env["whatsapp.message"]
        with self.assertRaisesRegex(UserError, r"\{\{2\}\} has 1025 .* at most 1024"):
            Message._queue_template(chat, news, {1: "Ana", 2: "x" * 1025}, "you")
        with self.assertRaisesRegex(
            UserError, r"Header \{\{1\}\} has 61 .* at most 60"
        ):
            Message._queue_template(chat, news, {1: "Ana", 2: "x"}, "y" * 61)
        self.assertFalse(Message.search([("direction", "=", "out")]))
        self.assertFalse(chat.message_ids.filtered(lambda m: "xxxx" in (m.body or "")))
        Message._queue_template(chat, news, {1: "Ana", 2: "x" * 1024}, "y" * 60)
        body_only = self.approved_template("long_news", body="Hi {{1}}")
        Message._queue_template(chat, body_only, {1: "z" * 2000})
        with self.assertRaisesRegex(UserError, r"\{\{1\}\} has 32769 .* at most 32768"):
            Message._queue_template(chat, body_only, {1: "z" * 32769})
        self.assertEqual(
            [
                len(m.body)
                for m in Message.search([("direction", "=", "out")], order="id")
            ],
            [len("Hi Ana, ") + 1024, len("Hi ") + 2000],
        )

        # sending to many: the customer whose name is too long is skipped
        self.graph.add_template(
            "promo_footer",
            category="MARKETING",
            components=[
                {"type": "BODY", "text": "Hi {{1}}, {{2}}."},
                {"type": "FOOTER", "text": "Reply STOP to opt out"},
            ],
        )
        self.account.action_sync_templates()
        verbose = self.env["res.partner"].create(
            {"name": "N" * 1100, "mobile": "+55 11 95555-5555"}
        )
        wizard = self.mass_send(
            self.ok | verbose, {1: "10% off"}, template="promo_footer"
        )
        self.assertIn("1 messages queued", wizard.report)
        self.assertIn("{{1}} has 1100 characters", wizard.report)
        self.assertEqual(
            Message.search(
                [
                    ("message_type", "=", "template"),
                    ("template_id.name", "=", "promo_footer"),
                ]
            ).conversation_id.partner_id,
            self.ok,
        )

    def test_leads_use_their_customer_and_salesperson(self):
        self.map_variables(
            {
                2: {"source": "record", "field_path": "name"},
                3: {"source": "user", "field_path": "name"},
            }
        )
        lead = self.env["crm.lead"].create(
            {"name": "Chairs", "partner_id": self.ok.id, "user_id": self.salesperson.id}
        )
        orphan = self.env["crm.lead"].create(
            {"name": "Unknown", "user_id": self.salesperson.id}
        )
        wizard = self.mass_send(lead | orphan)
        self.assertIn("Unknown: no customer", wizard.report)
        message = self.env["whatsapp.message"].search(
            [("message_type", "=", "template")]
        )
        self.assertEqual(message.body, "Hi Ana Lima, Chairs from Sam Seller.")

    def test_only_numbers_the_user_may_use(self):
        outsider = self.env["res.users"].create(
            {
                "name": "Outsider",
                "login": "wa_mass_outsider",
                "groups_id": [
                    (4, self.env.ref("whatsapp_team.group_whatsapp_user").id)
                ],
            }
        )
        # neither preparing nor sending works on a number not granted
        with self.assertRaises(AccessError):
            wizard = (
                self.env["whatsapp.template.mass.send"]
                .with_user(outsider)
                .create(
                    {
                        "res_model": "res.partner",
                        "res_ids": self.ok.ids,
                        "account_id": self.account.id,
                        "template_id": self.env["whatsapp.template"]
                        .search([("name", "=", "promo")])
                        .id,
                    }
                )
            )
            wizard.action_send()
        self.assertFalse(
            self.env["whatsapp.message"].search([("direction", "=", "out")])
        )

    def test_server_action_for_automation_rules(self):
        action = self.env["ir.actions.server"].create(
            {
                "name": "Weekly promo",
                "model_id": self.env.ref("base.model_res_partner").id,
                "state": "whatsapp",
                "whatsapp_account_id": self.account.id,
                "whatsapp_template_id": self.env["whatsapp.template"]
                .search([("name", "=", "promo")])
                .id,
            }
        )
        self.map_variables(
            {
                2: {"source": "free_text", "free_text": "20% off"},
                3: {"source": "free_text", "free_text": "the Lisbon shop"},
            }
        )
        partners = self.ok | self.opted_out
        action.with_context(active_model="res.partner", active_ids=partners.ids).run()
        message = self.env["whatsapp.message"].search(
            [("message_type", "=", "template")]
        )
        self.assertEqual(message.conversation_id.partner_id, self.ok)
        self.assertEqual(message.body, "Hi Ana Lima, 20% off from the Lisbon shop.")
        with self.assertRaises(ValidationError):
            action.model_id = self.env.ref("base.model_res_country")
