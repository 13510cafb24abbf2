import base64

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged

from .common import WhatsappCase

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(200))


@tagged("post_install", "-at_install", "whatsapp_template")
class TestTemplateAuthoring(WhatsappCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account.app_id = "1234567890"
        cls.Template = cls.env["whatsapp.template"]

    def new_draft(self, **values):
        return self.Template.create(
            {
                "name": "order_ready",
                "account_id": self.account.id,
                "language": "en_US",
                "category": "utility",
                "body": "Hello {{1}}, your order is ready at {{2}}.",
                **values,
            }
        )

    def set_samples(self, template, samples):
        for line in template.variable_ids:
            line.sample_value = samples[(line.location, line.position)]

    def test_draft_is_written_in_a_form_and_submitted_as_meta_expects(self):
        form = Form(self.Template)
        form.name = "order_ready"
        form.account_id = self.account
        form.language = "en_US"
        form.category = "utility"
        form.header_type = "text"
        form.header_text = "Order {{1}}"
        form.body = "Hello {{1}}, your order is ready at {{2}}."
        form.footer = "Sent from Odoo"
        self.assertEqual(len(form.variable_ids), 3)
        samples = ["S0042", "Ana", "the shop"]
        for index, sample in enumerate(samples):
            with form.variable_ids.edit(index) as line:
                line.sample_value = sample
        for kind, text, extra in (
            ("quick_reply", "Thanks", {}),
            ("quick_reply", "Stop", {}),
            ("url", "Track", {"url": "https://shop.example.com/track"}),
            ("phone_number", "Call us", {"phone_number": "+55 11 4000-1234"}),
        ):
            with form.button_ids.new() as button:
                button.button_type = kind
                button.text = text
                for name, value in extra.items():
                    setattr(button, name, value)
        template = form.save()
        self.assertEqual(template.status, "draft")
        self.assertIn("Hello Ana, your order is ready at the shop.", template.preview)
        # {{1}} of the body is the customer's name by default
        first = template.variable_ids.filtered(
            lambda v: (v.location, v.position) == ("body", 1)
        )
        self.assertEqual((first.source, first.field_path), ("partner", "name"))

        template.action_submit()

        call = self.graph.calls[-1]
        self.assertEqual(call["method"], "POST")
        self.assertTrue(call["path"].endswith("/102290129340398/message_templates"))
        self.assertEqual(
            call["json"],
            {
                "name": "order_ready",
                "language": "en_US",
                "category": "UTILITY",
                "components": [
                    {
                        "type": "HEADER",
                        "format": "TEXT",
                        "text": "Order {{1}}",
                        "example": {"header_text": ["S0042"]},
                    },
                    {
                        "type": "BODY",
                        "text": "Hello {{1}}, your order is ready at {{2}}.",
                        "example": {"body_text": [["Ana", "the shop"]]},
                    },
                    {"type": "FOOTER", "text": "Sent from Odoo"},
                    {
                        "type": "BUTTONS",
                        "buttons": [
                            {"type": "QUICK_REPLY", "text": "Thanks"},
                            {"type": "QUICK_REPLY", "text": "Stop"},
                            {
                                "type": "URL",
                                "text": "Track",
                                "url": "https://shop.example.com/track",
                            },
                            {
                                "type": "PHONE_NUMBER",
                                "text": "Call us",
                                "phone_number": "+551140001234",
                            },
                        ],
                    },
                ],
            },
        )
        meta = self.graph.templates[-1]
        self.assertEqual(
            (template.status, template.wa_template_id), ("pending", meta["id"])
        )
        # what Meta reviews is frozen; the mapping is not
        self.env.flush_all()
        with self.assertRaisesRegex(UserError, "submitted to Meta"):
            template.body = "Something else {{1}} here."
        with self.assertRaisesRegex(UserError, "submitted to Meta"):
            template.button_ids[0].text = "Other"
        with self.assertRaisesRegex(UserError, "already submitted"):
            template.action_submit()
        first.fallback = "there"

        # Meta approves; the sync finds the same record and keeps its mapping
        meta["status"] = "APPROVED"
        self.account.action_sync_templates()
        self.assertEqual(template.status, "approved")
        self.assertEqual(len(template.button_ids), 4)
        self.assertEqual(first.fallback, "there")

    def test_drafts_respect_meta_limits_in_plain_words(self):
        cases = [
            ({"name": "Order Ready"}, "lowercase letters, digits and underscores"),
            ({"name": "a" * 513}, "longer than 512 characters"),
            ({"body": "x" * 1025}, "1025 characters: Meta takes at most 1024"),
            ({"body": "Hi {{1}} and {{3}}."}, "numbered in order from {{1}}"),
            (
                {"header_type": "text", "header_text": "x" * 61},
                "at most 60 characters",
            ),
            (
                {"header_type": "text", "header_text": "{{1}} {{2}}"},
                "at most one variable",
            ),
            ({"footer": "x" * 61}, "footer has at most 60 characters"),
            ({"footer": "Bye {{1}}"}, "footer cannot contain variables"),
        ]
        buttons = {
            "eleven": [("quick_reply", str(n), "") for n in range(11)],
            "three links": [("url", f"L{n}", "https://a.example") for n in range(3)],
            "two phones": [("phone_number", f"P{n}", "+5511400012") for n in range(2)],
            "split quick replies": [
                ("quick_reply", "Yes", ""),
                ("url", "Shop", "https://a.example"),
                ("quick_reply", "No", ""),
            ],
            "long text": [("quick_reply", "x" * 26, "")],
            "bad link": [("url", "Shop", "www.example.com")],
        }
        expected = {
            "eleven": "at most 10 buttons",
            "three links": "at most 2 buttons that open a web page",
            "two phones": "at most 1 button that calls a phone number",
            "split quick replies": "Quick reply buttons must follow each other",
            "long text": "longer than 25 characters",
            "bad link": "must start with https://",
        }
        for name, rows in buttons.items():
            commands = [
                (
                    0,
                    0,
                    {
                        "button_type": kind,
                        "text": text,
                        "url": value if kind == "url" else False,
                        "phone_number": value if kind == "phone_number" else False,
                    },
                )
                for kind, text, value in rows
            ]
            cases.append(({"button_ids": commands}, expected[name]))
        for values, message in cases:
            with self.subTest(message=message), self.assertRaises(ValidationError) as e:
                self.new_draft(**values)
            self.assertIn(message, str(e.exception))
        # within the limits
        self.new_draft(
            button_ids=[
                (0, 0, {"button_type": "quick_reply", "text": str(n)})
                for n in range(10)
            ]
        )

    def test_submitting_needs_what_meta_reviews(self):
        template = self.new_draft()
        with self.assertRaisesRegex(UserError, r"Give an example for \{\{2\}\}"):
            template.action_submit()
        draft = self.new_draft(name="greeting", body="Hello {{1}}")
        self.set_samples(draft, {("body", 1): "Ana"})
        with self.assertRaisesRegex(UserError, "may not start or end with a variable"):
            draft.action_submit()
        empty = self.new_draft(name="empty", body=False)
        with self.assertRaisesRegex(UserError, "Write the body"):
            empty.action_submit()
        self.assertFalse(
            [c for c in self.graph.calls if c["path"].endswith("/message_templates")],
            "nothing reached Meta",
        )

    def test_meta_refusal_is_shown_in_plain_words(self):
        self.graph.add_template(
            "order_ready",
            components=[{"type": "BODY", "text": "Made in WhatsApp Manager"}],
        )
        template = self.new_draft()
        self.set_samples(template, {("body", 1): "Ana", ("body", 2): "the shop"})
        with self.assertRaisesRegex(
            UserError, "Meta already has a template named order_ready in en_US"
        ):
            template.action_submit()
        self.graph.fail_next(190, path_contains="message_templates")
        with self.assertRaisesRegex(UserError, "paste a new one on the number"):
            template.action_submit()
        self.graph.fail_next(
            100,
            path_contains="message_templates",
            message="Invalid parameter",
            details="The body has too many variables for its length.",
        )
        with self.assertRaisesRegex(
            UserError, "Meta refused the template.*too many variables"
        ):
            template.action_submit()
        self.assertEqual(template.status, "draft")

    def test_media_header_sample_upload_sync_and_send(self):
        template = self.new_draft(
            header_type="image",
            header_file=base64.b64encode(PNG),
            header_filename="offer.png",
        )
        self.set_samples(template, {("body", 1): "Ana", ("body", 2): "the shop"})
        self.account.app_id = False
        self.env.flush_all()
        with self.assertRaisesRegex(UserError, "App ID"):
            template.action_submit()
        self.account.app_id = "1234567890"

        template.action_submit()

        self.assertEqual(self.graph.upload_handles[template.header_handle][0], PNG)
        opened = [c for c in self.graph.calls if c["path"].endswith("/uploads")]
        self.assertEqual(opened[0]["query"]["file_type"], "image/png")
        created = self.graph.calls[-1]["json"]
        self.assertEqual(
            created["components"][0],
            {
                "type": "HEADER",
                "format": "IMAGE",
                "example": {"header_handle": [template.header_handle]},
            },
        )
        self.graph.templates[-1]["status"] = "APPROVED"
        self.account.action_sync_templates()
        self.assertEqual((template.status, template.header_type), ("approved", "image"))

        conversation = self.deliver(
            self.message("5511987650010", name="Ana")
        ).conversation_id
        for _round in range(2):
            wizard = self.env["whatsapp.template.send"].create(
                {"conversation_id": conversation.id, "template_id": template.id}
            )
            wizard.line_ids.filtered(lambda line: line.position == 2).value = "the shop"
            wizard.action_send()
        self.env["whatsapp.message"]._cron_send_queue()
        sent = [m for m in self.graph.messages if m["type"] == "template"]
        self.assertEqual(len(sent), 2)
        header = sent[0]["template"]["components"][0]
        self.assertEqual(header["type"], "header")
        media_id = header["parameters"][0]["image"]["id"]
        self.assertEqual(self.graph.media[media_id][0], PNG)
        # the header is uploaded once, then reused
        self.assertEqual(
            sent[1]["template"]["components"][0]["parameters"][0]["image"]["id"],
            media_id,
        )
        self.assertEqual(
            len([c for c in self.graph.calls if c["path"].endswith("/media")]), 1
        )

    def test_synced_templates_show_media_header_and_buttons(self):
        self.graph.add_template(
            "brochure",
            components=[
                {
                    "type": "HEADER",
                    "format": "DOCUMENT",
                    "example": {"header_handle": ["4::aGVsbG8="]},
                },
                {"type": "BODY", "text": "Hi {{1}}, here is our brochure."},
                {
                    "type": "BUTTONS",
                    "buttons": [
                        {"type": "QUICK_REPLY", "text": "Interested"},
                        {"type": "URL", "text": "Shop", "url": "https://a.example"},
                    ],
                },
            ],
        )
        self.account.action_sync_templates()
        template = self.Template.search([("name", "=", "brochure")])
        self.assertEqual(
            (template.header_type, template.header_handle, template.status),
            ("document", "4::aGVsbG8=", "approved"),
        )
        self.assertEqual(
            template.button_ids.mapped("button_type"), ["quick_reply", "url"]
        )
        self.assertIn("Interested", template.preview)
        # no file to send yet: said before anything is queued
        conversation = self.deliver(self.message("5511987650011")).conversation_id
        with self.assertRaisesRegex(UserError, "must add the file to send"):
            self.env["whatsapp.message"]._queue_template(
                conversation, template, {1: "Ana"}
            )

    def test_sandbox_numbers_approve_templates_at_once(self):
        sandbox = self.env["whatsapp.account"].create(
            {"name": "Sandbox", "mode": "sandbox"}
        )
        template = self.new_draft(account_id=sandbox.id, body="Welcome to our shop!")
        template.action_submit()
        self.assertEqual(template.status, "approved")
        sandbox.action_sync_templates()
        self.assertEqual(template.status, "approved")

    def test_a_button_changed_alone_answers_to_the_limits(self):
        template = self.new_draft(
            button_ids=[
                (
                    0,
                    0,
                    {
                        "button_type": "phone_number",
                        "text": "Call",
                        "phone_number": "+1 555",
                    },
                ),
                (0, 0, {"button_type": "quick_reply", "text": "Yes"}),
            ]
        )
        with self.assertRaisesRegex(ValidationError, "at most 1 button that calls"):
            template.button_ids[1].write(
                {"button_type": "phone_number", "phone_number": "+1 556"}
            )

    def test_duplicating_gives_an_editable_draft(self):
        self.graph.add_template(
            "promo_old", components=[{"type": "BODY", "text": "Hi"}]
        )
        self.account.action_sync_templates()
        synced = self.Template.search([("name", "=", "promo_old")])
        copy = synced.copy()
        self.assertEqual((copy.status, copy.name), ("draft", "promo_old_copy"))
        self.assertFalse(copy.wa_template_id)
        copy.body = "Hi there, new offer."


@tagged("post_install", "-at_install", "whatsapp_template")
class TestTemplateVariables(WhatsappCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesperson = new_test_user(
            cls.env,
            login="wa_var_seller",
            name="Sam Seller",
            groups="whatsapp_team.group_whatsapp_user,sales_team.group_sale_salesman",
        )
        cls.account.user_ids += cls.salesperson
        cls.partner = cls.env["res.partner"].create(
            {"name": "Ana Lima", "mobile": "+55 11 91111-1111", "function": False}
        )
        cls.lead = cls.env["crm.lead"].create(
            {
                "name": "Chairs for the office",
                "partner_id": cls.partner.id,
                "user_id": cls.salesperson.id,
                "expected_revenue": 1500,
            }
        )
        cls.graph.add_template(
            "proposal",
            components=[
                {
                    "type": "BODY",
                    "text": "Hi {{1}}, {{2}} for {{3}}: {{4}} will call you, {{5}}.",
                }
            ],
        )
        cls.account.action_sync_templates()
        cls.template = cls.env["whatsapp.template"].search([("name", "=", "proposal")])
        mapping = {
            2: {"source": "record", "field_path": "name"},
            3: {
                "source": "record",
                "field_path": "expected_revenue",
                "fallback": "our offer",
            },
            4: {"source": "user", "field_path": "name"},
            5: {"source": "partner", "field_path": "function", "fallback": "friend"},
        }
        for line in cls.template.variable_ids:
            if line.position in mapping:
                line.write(mapping[line.position])

    def values(self, record, user=None):
        template = self.template.with_user(user) if user else self.template
        values = template._resolve_values(record.with_user(user) if user else record)
        return [values[("body", n)] for n in range(1, 6)]

    def test_resolution_from_a_lead_partner_and_conversation(self):
        revenue = self.values(self.lead)[2]
        self.assertIn("1,500.00", revenue)
        self.assertEqual(
            self.values(self.lead),
            ["Ana Lima", "Chairs for the office", revenue, "Sam Seller", "friend"],
        )
        # a partner has no expected revenue: the fallback; no salesperson:
        # the user sending
        self.assertEqual(
            self.values(self.partner, self.salesperson),
            ["Ana Lima", "Ana Lima", "our offer", "Sam Seller", "friend"],
        )
        self.partner.function = "Buyer"
        conversation = self.env["whatsapp.conversation"]._get_or_create_for_partner(
            self.account, self.partner
        )
        self.assertEqual(
            self.values(conversation),
            ["Ana Lima", "Ana Lima", "our offer", self.env.user.name, "Buyer"],
        )

    def test_single_send_from_a_lead_prefills_and_stays_editable(self):
        action = self.lead.with_user(self.salesperson).action_send_whatsapp_template()
        form = Form(
            self.env[action["res_model"]]
            .with_user(self.salesperson)
            .with_context(**action["context"])
        )
        form.template_id = self.template
        self.assertEqual(form.line_ids.edit(1).value, "Chairs for the office")
        with form.line_ids.edit(4) as line:
            line.value = "see you soon"
        self.assertIn("Sam Seller will call you, see you soon.", form.preview)
        wizard = form.save()
        wizard.action_send()
        message = self.env["whatsapp.message"].search(
            [("message_type", "=", "template")]
        )
        self.assertEqual(message.conversation_id.partner_id, self.partner)
        self.assertEqual(message.author_user_id, self.salesperson)
        self.assertTrue(message.body.startswith("Hi Ana Lima, Chairs for the office"))
        self.assertTrue(
            message.body.endswith("Sam Seller will call you, see you soon.")
        )
        self.env["whatsapp.message"]._cron_send_queue()
        parameters = self.graph.messages[-1]["template"]["components"][0]["parameters"]
        self.assertEqual(parameters[0], {"type": "text", "text": "Ana Lima"})

    def test_mass_send_skips_records_with_an_empty_variable(self):
        self.template.variable_ids.filtered(lambda v: v.position == 5).fallback = False
        other = self.env["res.partner"].create(
            {"name": "Bia Costa", "mobile": "+55 11 93333-3333", "function": "CEO"}
        )
        wizard = (
            self.env["whatsapp.template.mass.send"]
            .with_user(self.salesperson)
            .with_context(
                active_model="res.partner", active_ids=(self.partner | other).ids
            )
            .create({"account_id": self.account.id, "template_id": self.template.id})
        )
        self.assertEqual(
            wizard.line_ids.mapped("description")[2],
            "Field of the record: expected_revenue (else “our offer”)",
        )
        wizard.action_send()
        self.assertIn("1 messages queued", wizard.report)
        self.assertIn("Ana Lima: nothing to put in {{5}}", wizard.report)
        message = self.env["whatsapp.message"].search(
            [("message_type", "=", "template")]
        )
        self.assertEqual(
            message.body,
            "Hi Bia Costa, Bia Costa for our offer: Sam Seller will call you, CEO.",
        )

    def test_salesperson_cannot_edit_templates(self):
        template = self.template.with_user(self.salesperson)
        self.assertEqual(template.body[:5], "Hi {{")  # may read and send it
        with self.assertRaises(AccessError):
            template.write({"active": False})
        with self.assertRaises(AccessError):
            template.variable_ids[0].write({"field_path": "email"})
        with self.assertRaises(AccessError):
            self.env["whatsapp.template"].with_user(self.salesperson).create(
                {"name": "mine", "account_id": self.account.id, "body": "Hi there."}
            )
        with self.assertRaises(AccessError):
            template.action_submit()

    def test_fields_the_user_may_not_read_are_never_sent(self):
        # an administrator points a variable at the number's access token
        token_line = self.template.variable_ids.filtered(lambda v: v.position == 2)
        token_line.write(
            {
                "source": "record",
                "field_path": "account_id.access_token",
                "fallback": "hidden",
            }
        )
        conversation = self.env["whatsapp.conversation"]._get_or_create_for_partner(
            self.account, self.partner
        )
        self.assertEqual(self.values(conversation)[1], self.account.access_token)
        # even with the token in the cache, a salesperson gets the fallback
        self.account.sudo().access_token  # noqa: B018
        self.assertEqual(self.values(conversation, self.salesperson)[1], "hidden")
        # and so does an automation rule they trigger (run with sudo)
        token_line.write(
            {
                "source": "partner",
                "field_path": "whatsapp_conversation_ids.account_id.access_token",
            }
        )
        action = self.env["ir.actions.server"].create(
            {
                "name": "Proposal follow-up",
                "model_id": self.env.ref("crm.model_crm_lead").id,
                "state": "whatsapp",
                "whatsapp_account_id": self.account.id,
                "whatsapp_template_id": self.template.id,
            }
        )
        action.with_user(self.salesperson).with_context(
            active_model="crm.lead", active_ids=self.lead.ids
        ).sudo().run()
        message = self.env["whatsapp.message"].search(
            [("message_type", "=", "template")]
        )
        self.assertEqual(len(message), 1)
        self.assertNotIn(self.account.access_token, message.body)
        self.assertIn("Ana Lima, hidden for", message.body)
