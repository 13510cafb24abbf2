from datetime import timedelta

from odoo.tests import new_test_user, tagged

from .common import PHONE_NUMBER_ID, WhatsappCase


@tagged("post_install", "-at_install", "whatsapp_ui")
class TestUi(WhatsappCase):
    def test_sandbox_tour(self):
        """In a real browser: simulate a customer, read the chat."""
        admin = self.env.ref("base.user_admin")
        admin.groups_id += self.env.ref("whatsapp_team.group_whatsapp_admin")
        sandbox = self.env["whatsapp.account"].create(
            {
                "name": "Tour Sandbox",
                "mode": "sandbox",
                "user_ids": [(4, admin.id)],
                "send_typing_indicator": True,
            }
        )
        self.start_tour(
            "/odoo/action-whatsapp_team.whatsapp_account_action",
            "whatsapp_team_sandbox_tour",
            login="admin",
        )
        conversation = self.env["whatsapp.conversation"].search(
            [("account_id", "=", sandbox.id)]
        )
        inbound = conversation.message_ids_wa.filtered(lambda m: m.direction == "in")
        # opening the chat told WhatsApp the customer's message was read;
        # writing the answer showed "typing…" to the customer
        receipts = sandbox._get_sandbox_graph().read_receipts
        self.assertEqual(
            [(r["message_id"], "typing_indicator" in r) for r in receipts],
            [(inbound.wa_message_id, False), (inbound.wa_message_id, True)],
        )
        self.assertEqual(conversation.partner_id.name, "Tour Customer")
        self.assertEqual(conversation.partner_id.country_id, self.env.ref("base.es"))
        self.assertIn("<b>precio</b>", inbound.mail_message_id.body)
        # the answer typed in the chatter is queued for WhatsApp, then sent
        answer = conversation.message_ids_wa.filtered(lambda m: m.direction == "out")
        self.assertEqual((answer.body, answer.state), ("Sí, 120 EUR", "queued"))
        self.env["whatsapp.message"]._cron_send_queue()
        self.assertEqual(answer.state, "sent")
        sent = sandbox._get_sandbox_graph().messages[-1]
        self.assertEqual(
            (sent["to"], sent["text"]["body"]), ("34612001122", "Sí, 120 EUR")
        )

    def test_failed_message_tour(self):
        """In a real browser: states of sent messages, a failure explained."""
        self.account.user_ids += self.env.ref("base.user_admin")
        self.env.ref("base.user_admin").groups_id += self.env.ref(
            "whatsapp_team.group_whatsapp_user"
        )
        conversation = self.deliver(self.message("32470999888", body="Open?"))
        conversation = conversation.conversation_id
        for body in ("We open at 9", "Your order is ready"):
            conversation.message_post(
                body=body, message_type="comment", subtype_xmlid="mail.mt_comment"
            )
        read, refused = conversation.message_ids_wa.filtered(
            lambda m: m.direction == "out"
        ).sorted("id")
        self.env["whatsapp.message"]._cron_send_queue(limit=1)
        self.deliver(statuses=[self.status(read.wa_message_id, "read")])
        self.graph.fail_next(131026, path_contains="/messages")
        self.env["whatsapp.message"]._cron_send_queue()
        self.assertEqual((read.state, refused.state), ("read", "failed"))
        # two days later, the window is closed
        conversation.last_inbound_at -= timedelta(days=2)
        self.start_tour(
            f"/odoo/action-whatsapp_team.whatsapp_conversation_action/{conversation.id}",
            "whatsapp_team_failed_message_tour",
            login="admin",
        )

    def test_lead_story(self):
        """The story salespeople live: a customer writes, the salesperson
        answers from the lead, and days later follows up with a template.
        Meta's API receives exactly those two messages."""
        salesperson = new_test_user(
            self.env,
            login="wa_story",
            password="wa_story_pw",
            name="Story Salesperson",
            groups="sales_team.group_sale_salesman,whatsapp_team.group_whatsapp_user",
        )
        self.account.user_ids += salesperson
        self.graph.add_template(
            "sofa_ready",
            components=[{"type": "BODY", "text": "Hello {{1}}, your sofa is ready."}],
        )
        self.account.action_sync_templates()
        inbound = self.deliver(
            self.message(
                "32470555666", name="Greta", body="Is the *green* sofa in stock?"
            )
        )
        # her own quick reply, picked with ":" in the reply dialog
        self.env["mail.canned.response"].with_user(salesperson).create(
            {"source": "two", "substitution": "Yes, we have *two* left."}
        )
        customer = inbound.conversation_id.partner_id
        customer.name = "Greta Green"
        lead = self.env["crm.lead"].create(
            {"name": "Green sofa", "partner_id": customer.id, "user_id": salesperson.id}
        )
        self.graph.reset()
        lead_url = f"/odoo/action-crm.crm_lead_all_leads/{lead.id}"

        self.start_tour(lead_url, "whatsapp_team_lead_reply_tour", login="wa_story")
        self.env["whatsapp.message"]._cron_send_queue()

        # three days later the customer has not written again
        inbound.conversation_id.last_inbound_at -= timedelta(days=3)
        self.start_tour(lead_url, "whatsapp_team_lead_template_tour", login="wa_story")
        self.env["whatsapp.message"]._cron_send_queue()

        recipient = {"messaging_product": "whatsapp", "recipient_type": "individual"}
        recipient["to"] = "32470555666"
        sent = [
            {k: v for k, v in call["json"].items() if k != "biz_opaque_callback_data"}
            for call in self.graph.calls
        ]
        self.assertEqual(
            [(call["method"], call["path"]) for call in self.graph.calls],
            [("POST", f"/{self.account.api_version}/{PHONE_NUMBER_ID}/messages")] * 2,
        )
        self.assertEqual(
            sent,
            [
                {
                    **recipient,
                    "type": "text",
                    "text": {"body": "Yes, we have *two* left.", "preview_url": False},
                },
                {
                    **recipient,
                    "type": "template",
                    "template": {
                        "name": "sofa_ready",
                        "language": {"code": "en_US"},
                        "components": [
                            {
                                "type": "body",
                                "parameters": [{"type": "text", "text": "Greta Green"}],
                            }
                        ],
                    },
                },
            ],
        )
        outbound = inbound.conversation_id.message_ids_wa.filtered(
            lambda m: m.direction == "out"
        )
        self.assertEqual(outbound.mapped("author_user_id"), salesperson)
        self.assertEqual(sorted(outbound.mapped("state")), ["sent", "sent"])

    def tour_team(self, leader=False):
        """A manual team of two salespeople answering the number, and a chat
        of each: Olga Own's (the salesperson's) and Carl Colleague's."""
        salesperson, colleague = (
            new_test_user(
                self.env,
                login=login,
                password=f"{login}_pw",
                name=name,
                groups="sales_team.group_sale_salesman,"
                "whatsapp_team.group_whatsapp_user",
            )
            for login, name in (
                ("wa_tour_sales", "Tour Salesperson"),
                ("wa_tour_colleague", "Tour Colleague"),
            )
        )
        team = self.env["crm.team"].create(
            {
                "name": "Tour Team",
                "user_id": leader and leader.id,
                "whatsapp_assignment": "manual",
            }
        )
        self.env["crm.team.member"].create(
            [
                {"crm_team_id": team.id, "user_id": user.id}
                for user in (salesperson, colleague)
            ]
        )
        self.account.write(
            {
                "user_ids": [(5, 0, 0)],
                "team_ids": [(6, 0, team.ids)],
                "team_id": team.id,
            }
        )
        mine, theirs = (
            self.deliver(self.message(wa_id, name=name)).conversation_id
            for wa_id, name in (
                ("32470100001", "Olga Own"),
                ("32470100002", "Carl Colleague"),
            )
        )
        mine.user_id = salesperson
        theirs.user_id = colleague
        return salesperson, colleague, mine, theirs

    def test_team_inbox_tour(self):
        """In a real browser: a salesperson's chats, the team's unassigned
        ones, taking one and closing it."""
        salesperson, colleague, _mine, theirs = self.tour_team()
        free = self.deliver(
            self.message("32470100003", name="Una Waiting")
        ).conversation_id
        self.start_tour(
            "/odoo/action-whatsapp_team.whatsapp_conversation_action_my",
            "whatsapp_team_team_inbox_tour",
            login="wa_tour_sales",
        )
        self.assertEqual(free.user_id, salesperson)
        self.assertEqual(free.state, "done")
        self.assertEqual(theirs.user_id, colleague)

    def test_manager_tour(self):
        """In a real browser, as the team leader: the team's chats by
        salesperson, the status filter, a chat handed on."""
        manager = new_test_user(
            self.env,
            login="wa_tour_manager",
            password="wa_tour_manager_pw",
            name="Tour Manager",
            groups="sales_team.group_sale_salesman_all_leads,"
            "whatsapp_team.group_whatsapp_manager",
        )
        salesperson, _colleague, olga, carl = self.tour_team(leader=manager)
        carl.action_set_pending()
        self.start_tour(
            "/odoo/action-whatsapp_team.whatsapp_conversation_action_team",
            "whatsapp_team_manager_tour",
            login="wa_tour_manager",
        )
        self.assertEqual(carl.user_id, salesperson)
        self.assertEqual(olga.user_id, salesperson)

    def test_labels_tour(self):
        """In a real browser: bulk labels from the list reach the leads as
        tags; a quick reply picked with ":" goes out with its placeholders
        filled."""
        salesperson = new_test_user(
            self.env,
            login="wa_tour_labels",
            password="wa_tour_labels_pw",
            name="Tour Labeller",
            groups="sales_team.group_sale_salesman,whatsapp_team.group_whatsapp_user",
        )
        self.account.write(
            {"user_ids": [(6, 0, salesperson.ids)], "create_leads": True}
        )
        self.env["whatsapp.label"].create([{"name": "VIP"}, {"name": "Wholesale"}])
        chats = self.env["whatsapp.conversation"]
        for wa_id, name in (
            ("32470200001", "Olga Label"),
            ("32470200002", "Pedro Label"),
        ):
            chats += self.deliver(self.message(wa_id, name=name)).conversation_id
        chats.user_id = salesperson
        self.env["mail.canned.response"].with_user(salesperson).create(
            {
                "source": "thanks",
                "substitution": "Thank you {first_name}, {salesperson} from "
                "{company} here.",
            }
        )
        self.start_tour(
            "/odoo/action-whatsapp_team.whatsapp_conversation_action",
            "whatsapp_team_labels_tour",
            login="wa_tour_labels",
        )
        vip = self.env["whatsapp.label"].search([("name", "=", "VIP")])
        self.assertEqual(chats.label_ids, vip)
        self.assertEqual(chats.lead_id.tag_ids, vip.tag_id, "labels are lead tags")
        self.assertEqual(len(chats.lead_id), 2)
        olga = chats[0]
        answer = olga.message_ids_wa.filtered(lambda m: m.direction == "out")
        expected = f"Thank you Olga, Tour Labeller from {self.env.company.name} here."
        self.assertEqual(answer.body, expected)
        self.env["whatsapp.message"]._cron_send_queue()
        self.assertEqual(self.graph.messages[-1]["text"]["body"], expected)
