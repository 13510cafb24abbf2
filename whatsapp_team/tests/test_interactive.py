from datetime import timedelta

from freezegun import freeze_time
from markupsafe import Markup

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import WhatsappCase


@tagged("post_install", "-at_install", "whatsapp_interactive")
class TestInteractive(WhatsappCase):
    """Messages the customer answers with a tap: reply buttons and lists,
    from the composer, quick replies and the server's own code."""

    def setUp(self):
        super().setUp()
        self.inbound = self.deliver(
            self.message("32470333444", name="Ana Tap", body="Which colours?")
        )
        self.conversation = self.inbound.conversation_id
        self.graph.reset()

    def send(self, body="", user=None, **kwargs):
        conversation = self.conversation.with_user(user or self.user_allowed)
        return conversation.message_post(
            body=body, message_type="comment", subtype_xmlid="mail.mt_comment", **kwargs
        )

    def outbound(self):
        return self.env["whatsapp.message"].search(
            [("direction", "=", "out"), ("conversation_id", "=", self.conversation.id)],
            order="id",
        )

    def run_queue(self):
        return self.env["whatsapp.message"]._cron_send_queue()

    def sent_interactive(self):
        return [m["interactive"] for m in self.graph.messages]

    def assert_nothing_happened(self, marker):
        self.assertFalse(self.outbound())
        self.assertFalse(
            self.conversation.message_ids.filtered(lambda m: marker in (m.body or ""))
        )
        self.run_queue()
        self.assertFalse(self.graph.calls)

    # ------------------------------------------------------------
    # Sending
    # ------------------------------------------------------------

    def test_buttons_from_the_composer_reach_the_customer_as_written(self):
        mail_message = self.send(
            Markup("<p>Which one do you <b>prefer</b>?</p>"),
            whatsapp_interactive={"buttons": ["Blue", "Green", "Très clair!"]},
        )
        message = self.outbound()
        self.assertEqual(
            (message.message_type, message.interactive_kind, message.body),
            ("interactive", "button", "Which one do you *prefer*?"),
        )
        self.assertEqual(
            message.interactive_option_ids.mapped(lambda o: (o.kind, o.code, o.title)),
            [
                ("button", "blue", "Blue"),
                ("button", "green", "Green"),
                ("button", "tres_clair", "Très clair!"),
            ],
        )
        # the chat shows the text with its buttons, as the customer sees it
        self.assertIn("<b>prefer</b>", mail_message.body)
        self.assertEqual(mail_message.body.count('class="o-whatsapp-choice"'), 3)
        self.assertIn("Très clair!", message.body_html)
        self.assertEqual(self.run_queue(), 1)
        self.assertEqual(
            self.graph.messages[0]["interactive"],
            {
                "type": "button",
                "body": {"text": "Which one do you *prefer*?"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": "blue", "title": "Blue"}},
                        {"type": "reply", "reply": {"id": "green", "title": "Green"}},
                        {
                            "type": "reply",
                            "reply": {"id": "tres_clair", "title": "Très clair!"},
                        },
                    ]
                },
            },
        )
        self.assertEqual(self.graph.messages[0]["to"], "32470333444")
        self.assertEqual(message.state, "sent")
        self.assertEqual(message.wa_message_id, self.graph.messages[0]["id"])

    def test_a_list_with_rows_from_the_composer(self):
        self.send(
            "Which delivery suits you?",
            whatsapp_interactive={
                "button": "Delivery options",
                "rows": [
                    {"title": "Express", "description": "Tomorrow, 9 EUR"},
                    {"title": "Standard", "description": "In 3 days, free"},
                    "Pick-up",
                ],
                "footer": "Prices include VAT",
            },
        )
        message = self.outbound()
        self.assertEqual(
            (message.interactive_kind, message.interactive_button),
            ("list", "Delivery options"),
        )
        self.run_queue()
        self.assertEqual(
            self.sent_interactive(),
            [
                {
                    "type": "list",
                    "body": {"text": "Which delivery suits you?"},
                    "footer": {"text": "Prices include VAT"},
                    "action": {
                        "button": "Delivery options",
                        "sections": [
                            {
                                "title": "Delivery options",
                                "rows": [
                                    {
                                        "id": "express",
                                        "title": "Express",
                                        "description": "Tomorrow, 9 EUR",
                                    },
                                    {
                                        "id": "standard",
                                        "title": "Standard",
                                        "description": "In 3 days, free",
                                    },
                                    {"id": "pick_up", "title": "Pick-up"},
                                ],
                            }
                        ],
                    },
                }
            ],
        )

    def test_a_quick_reply_carries_its_buttons(self):
        """A quick reply ends with its buttons in brackets; the composer puts
        its text in the message as is, the server fills its placeholders and
        sends the last line as buttons."""
        self.env["mail.canned.response"].create(
            {
                "source": "howdiditgo",
                "substitution": "How did it go, {first_name}?\n"
                "[Very well] [Not really]",
            }
        )
        # what the web client posts once the quick reply is in the composer
        mail_message = self.send(
            Markup("How did it go, {first_name}?<br/>[Very well] [Not really]")
        )
        message = self.outbound()
        self.assertEqual(message.body, "How did it go, Ana?")
        self.assertNotIn("[Very well]", mail_message.body)
        # brackets inside the text stay text: only the last lines count
        self.send("See the [new] catalogue, [page 4]. Which one?")
        self.run_queue()
        self.assertEqual(
            self.graph.messages[0]["interactive"]["action"]["buttons"],
            [
                {"type": "reply", "reply": {"id": "very_well", "title": "Very well"}},
                {"type": "reply", "reply": {"id": "not_really", "title": "Not really"}},
            ],
        )
        self.assertEqual(
            self.graph.messages[1]["text"]["body"],
            "See the [new] catalogue, [page 4]. Which one?",
        )

    def test_a_quick_reply_carries_a_list(self):
        self.send(
            Markup(
                "Which size, {first_name}?<br/>[See the sizes]<br/>"
                "- Small | 30 cm<br/>- Large | 60 cm"
            )
        )
        self.run_queue()
        sent = self.sent_interactive()[0]
        self.assertEqual(sent["body"], {"text": "Which size, Ana?"})
        self.assertEqual(
            sent["action"],
            {
                "button": "See the sizes",
                "sections": [
                    {
                        "title": "See the sizes",
                        "rows": [
                            {"id": "small", "title": "Small", "description": "30 cm"},
                            {"id": "large", "title": "Large", "description": "60 cm"},
                        ],
                    }
                ],
            },
        )

    def test_beyond_metas_limits_is_refused_before_anything(self):
        cases = [
            (
                {"buttons": ["Blue", "Green", "Red", "Yellow"]},
                r"1 to 3 buttons \(4 here\)",
            ),
            (
                {"buttons": ["A very long button title"]},
                r"“A very long button title” has 24 characters, WhatsApp takes "
                r"at most 20",
            ),
            ({"buttons": ["Blue", "blue"]}, "two buttons say “blue”"),
            ({"buttons": [""]}, "a button has no text"),
            (
                {"button": "Sizes", "rows": [f"Size {n}" for n in range(11)]},
                r"1 to 10 rows in all \(11 here\)",
            ),
            (
                {"button": "Sizes", "rows": ["An extra extra large size"]},
                r"the row “An extra extra large size” has 25 characters",
            ),
            (
                {"button": "Sizes", "rows": [("xl", "XL", "d" * 73)]},
                r"the description of “XL” has 73 characters, WhatsApp takes at "
                r"most 72",
            ),
            (
                {"button": "Open the list of sizes", "rows": ["S"]},
                r"the list's button “Open the list of sizes” has 22 characters",
            ),
            ({"buttons": ["Yes"], "footer": "f" * 61}, "footer takes at most 60"),
            ({"buttons": ["Yes"], "colour": "red"}, "could not be read"),
        ]
        for choices, message in cases:
            with self.subTest(choices=choices):
                with self.assertRaisesRegex(UserError, message):
                    self.send("LIMITS42 Which one?", whatsapp_interactive=choices)
                self.assert_nothing_happened("LIMITS42")
        # the body of a message with buttons takes 1,024 characters, a list's 4,096
        with self.assertRaisesRegex(UserError, r"at most 1024 characters \(1025 here"):
            self.send("b" * 1025, whatsapp_interactive={"buttons": ["Yes"]})
        with self.assertRaisesRegex(UserError, "need a text above them"):
            self.send(Markup("[Yes] [No]"))
        self.assert_nothing_happened("[Yes]")
        self.send("l" * 1025, whatsapp_interactive={"button": "Sizes", "rows": ["S"]})
        self.run_queue()
        self.assertEqual(len(self.sent_interactive()[0]["body"]["text"]), 1025)

    def test_window_closed_is_refused_before_anything(self):
        with freeze_time(fields.Datetime.now() + timedelta(hours=25)):
            with self.assertRaisesRegex(UserError, "within 24 hours"):
                self.send("WINDOW42", whatsapp_interactive={"buttons": ["Yes"]})
            with self.assertRaisesRegex(UserError, "within 24 hours"):
                self.env["whatsapp.message"]._queue_interactive(
                    self.conversation, "WINDOW42", buttons=["Yes"]
                )
        self.assert_nothing_happened("WINDOW42")

    def test_only_those_who_may_answer_the_chat_send_buttons(self):
        outsider = new_test_user(
            self.env,
            login="wa_interactive_outsider",
            groups="whatsapp_team.group_whatsapp_user",
        )
        with self.assertRaises(AccessError):
            self.send(
                "OUTSIDER42", user=outsider, whatsapp_interactive={"buttons": ["Y"]}
            )
        with self.assertRaises(AccessError):
            self.env["whatsapp.message"].with_user(outsider)._queue_interactive(
                self.conversation.with_user(outsider), "OUTSIDER42", buttons=["Y"]
            )
        # buttons are for the customer, never in a note
        with self.assertRaisesRegex(UserError, "not as a note"):
            self.conversation.with_user(self.user_allowed).message_post(
                body="NOTE42",
                message_type="comment",
                subtype_xmlid="mail.mt_note",
                whatsapp_interactive={"buttons": ["Y"]},
            )
        self.assert_nothing_happened("OUTSIDER42")
        self.assertFalse(
            self.conversation.message_ids.filtered(lambda m: "NOTE42" in m.body)
        )

    def test_the_web_clients_route_passes_the_buttons_on(self):
        """The composer posts through mail's route, which passes on only the
        keys the chat allows."""
        self.authenticate("wa_allowed", "wa_allowed")
        self.make_jsonrpc_request(
            "/mail/message/post",
            {
                "thread_model": "whatsapp.conversation",
                "thread_id": self.conversation.id,
                "post_data": {
                    "body": "Shall I call you?",
                    "message_type": "comment",
                    "subtype_xmlid": "mail.mt_comment",
                    "whatsapp_interactive": {"buttons": ["Yes, please", "No"]},
                },
            },
        )
        message = self.outbound()
        self.assertEqual(message.author_user_id, self.user_allowed)
        self.assertEqual(
            message.interactive_option_ids.mapped("title"), ["Yes, please", "No"]
        )

    def test_a_file_goes_after_the_buttons(self):
        attachment = (
            self.env["ir.attachment"]
            .with_user(self.user_allowed)
            .create(
                {
                    "name": "offer.pdf",
                    "raw": b"%PDF-1.4 offer",
                    "mimetype": "application/pdf",
                }
            )
        )
        self.send(
            "Our offer: shall we go ahead?",
            whatsapp_interactive={"buttons": ["Go ahead", "Not yet"]},
            attachment_ids=attachment.ids,
        )
        self.assertEqual(
            self.outbound().mapped("message_type"), ["interactive", "document"]
        )
        self.run_queue()
        self.assertEqual(
            [m["type"] for m in self.graph.messages], ["interactive", "document"]
        )
        self.assertNotIn("caption", self.graph.messages[1]["document"])

    def test_reply_to_a_customer_message_with_buttons(self):
        self.send(
            "Yes: which colour?",
            parent_id=self.inbound.mail_message_id.id,
            whatsapp_interactive={"buttons": ["Blue", "Green"]},
        )
        self.run_queue()
        self.assertEqual(
            self.graph.messages[0]["context"],
            {"message_id": self.inbound.wa_message_id},
        )

    # ------------------------------------------------------------
    # For other features: the server's own messages and the answers
    # ------------------------------------------------------------

    def test_server_code_asks_with_its_own_codes(self):
        """A satisfaction survey asks with three buttons of its own codes, as
        the system: the message shows as automatic, the codes go to Meta."""
        message = self.env["whatsapp.message"]._queue_interactive(
            self.conversation,
            "How did it go?",
            buttons=[
                ("csat_good", "Very well"),
                ("csat_fair", "OK"),
                ("csat_bad", "Bad"),
            ],
            footer="One tap is enough",
        )
        self.assertEqual(message, self.outbound())
        self.assertEqual(message.mail_message_id.author_id, self.env.user.partner_id)
        self.run_queue()
        sent = self.sent_interactive()[0]
        self.assertEqual(
            [b["reply"]["id"] for b in sent["action"]["buttons"]],
            ["csat_good", "csat_fair", "csat_bad"],
        )
        self.assertEqual(sent["footer"], {"text": "One tap is enough"})
        with self.assertRaisesRegex(UserError, "1 to 3 buttons"):
            self.env["whatsapp.message"]._queue_interactive(
                self.conversation, "Too many", buttons=["a", "b", "c", "d"]
            )

    def test_a_list_of_sections_from_server_code(self):
        self.env["whatsapp.message"]._queue_interactive(
            self.conversation,
            "When may we deliver?",
            button="Pick a slot",
            sections=[
                ("Monday", [("mon_am", "Morning", "8-12"), ("mon_pm", "Afternoon")]),
                ("Tuesday", [("tue_am", "Morning", "8-12")]),
            ],
            header="Delivery",
        )
        self.run_queue()
        sent = self.sent_interactive()[0]
        self.assertEqual(sent["header"], {"type": "text", "text": "Delivery"})
        self.assertEqual(
            [
                (s["title"], [r["id"] for r in s["rows"]])
                for s in sent["action"]["sections"]
            ],
            [("Monday", ["mon_am", "mon_pm"]), ("Tuesday", ["tue_am"])],
        )
        with self.assertRaisesRegex(UserError, "several sections needs a title"):
            self.env["whatsapp.message"]._queue_interactive(
                self.conversation,
                "When?",
                button="Pick a slot",
                sections=[("", ["Morning"]), ("Tuesday", ["Evening"])],
            )

    def tap(self, sent, kind, reply, **extra):
        """The customer's tap on our message ``sent``, delivered by Meta."""
        return self.deliver(
            self.message(
                "32470333444",
                kind="interactive",
                name="Ana Tap",
                interactive={"type": kind, kind: reply},
                context={"from": "15550100100", "id": sent.wa_message_id},
                **extra,
            )
        )

    def test_the_customers_tap_is_linked_to_the_message_it_answers(self):
        asked = self.env["whatsapp.message"]._queue_interactive(
            self.conversation,
            "How did it go?",
            buttons=[("csat_good", "Very well"), ("csat_bad", "Not well")],
        )
        listed = self.env["whatsapp.message"]._queue_interactive(
            self.conversation,
            "Which size?",
            button="Sizes",
            rows=[("size_s", "Small", "30 cm"), ("size_l", "Large", "60 cm")],
        )
        self.run_queue()
        answer = self.tap(
            asked, "button_reply", {"id": "csat_bad", "title": "Not well"}
        )
        self.assertEqual(answer.reply_to_id, asked)
        choice = answer._interactive_choice()
        self.assertEqual((choice.code, choice.title), ("csat_bad", "Not well"))
        self.assertEqual(choice.message_id, asked)

        picked = self.tap(
            listed,
            "list_reply",
            {"id": "size_l", "title": "Large", "description": "60 cm"},
        )
        self.assertEqual(picked.reply_to_id, listed)
        self.assertEqual(picked._interactive_choice().code, "size_l")
        self.assertEqual(picked._interactive_choice().kind, "row")
        # the chat quotes what was asked above the customer's choice
        self.assertIn("Which size?", picked.mail_message_id.body)
        self.assertIn("Large", picked.mail_message_id.body)
        # a salesperson of the chat reads the choice; a plain text has none
        self.assertEqual(
            answer.with_user(self.user_allowed)._interactive_choice().title, "Not well"
        )
        self.assertFalse(self.inbound._interactive_choice())
