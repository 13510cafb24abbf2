"""Who may see and change a chat, on every path a user has.

Each test acts as the lowest user who could misuse the path: a salesperson
of another team, an employee without WhatsApp rights, a portal user; over
the ORM as the web client calls it, and over XML-RPC where an integration
would.
"""

import xmlrpc.client

from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from .test_team import SALES, TeamCase


def rpc(case, user, model, method, *args):
    """``model.method(*args)`` over XML-RPC as ``user`` (a ``new_test_user``,
    whose password is its login padded to 8 characters)."""
    password = user.login + "x" * (8 - len(user.login))
    return case.xmlrpc_object.execute_kw(
        case.env.cr.dbname, user.id, password, model, method, list(args)
    )


# salespeople who may change every lead in CRM ("All Documents")
SALES_ALL_LEADS = (
    "whatsapp_team.group_whatsapp_user,sales_team.group_sale_salesman_all_leads"
)


@tagged("post_install", "-at_install", "whatsapp_security")
class TestThroughTheLead(TeamCase):
    """A lead's salesperson and team are followed by its chats only as far as
    the user who edits the lead may move each chat."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Dan answers for the Export team; he, Ana and the team leader may
        # change every lead in CRM
        all_leads = cls.env.ref("sales_team.group_sale_salesman_all_leads")
        for user in (cls.dan, cls.ana, cls.leader):
            user.groups_id += all_leads
        cls.account.create_leads = True

    def chat_with_lead(self, wa_id, user=None):
        chat = self.deliver(self.message(wa_id)).conversation_id
        chat.sudo().user_id = user or False
        self.assertTrue(chat.lead_id)
        chat.lead_id.user_id = user or False
        return chat

    def test_another_teams_unassigned_chat_is_not_taken_through_its_lead(self):
        self.set_online(self.ana, "offline")
        self.set_online(self.ben, "offline")
        self.set_online(self.cleo, "offline")
        chat = self.deliver(self.message("32470500001")).conversation_id
        self.assertEqual(chat.team_id, self.team)
        self.assertFalse(chat.user_id)
        lead = chat.lead_id.with_user(self.dan)
        lead.user_id = self.dan
        self.assertEqual(chat.lead_id.user_id, self.dan, "the lead is Dan's to change")
        self.assertFalse(chat.user_id, "another team's chat stays unassigned")
        self.assertEqual(chat.team_id, self.team)
        with self.assertRaises(AccessError):
            chat.with_user(self.dan).read(["name"])

    def test_a_colleagues_chat_is_not_taken_through_its_lead(self):
        chat = self.chat_with_lead("32470500002", self.ben)
        chat.lead_id.with_user(self.dan).write({"user_id": self.dan.id})
        self.assertEqual(chat.user_id, self.ben)
        # a member of the same team with All Documents: the same
        chat.lead_id.with_user(self.ana).write({"user_id": self.ana.id})
        self.assertEqual(chat.user_id, self.ben)

    def test_a_salesperson_moving_a_lead_to_another_team_leaves_the_chat(self):
        chat = self.chat_with_lead("32470500003", self.ana)
        chat.lead_id.with_user(self.ana).team_id = self.other_team
        self.assertEqual(chat.team_id, self.team, "only managers move chats")
        self.assertEqual(chat.user_id, self.ana)

    def test_her_own_lead_passed_on_takes_her_chat_along(self):
        chat = self.chat_with_lead("32470500004", self.ana)
        chat.lead_id.with_user(self.ana).user_id = self.ben
        self.assertEqual(chat.user_id, self.ben, "passing on her own chat")
        # a manager moves lead and chat to the other team
        chat.lead_id.with_user(self.leader).write(
            {"team_id": self.other_team.id, "user_id": self.dan.id}
        )
        self.assertEqual(chat.team_id, self.other_team)
        self.assertEqual(chat.user_id, self.dan)

    def test_a_lead_given_to_someone_off_the_number_leaves_the_chat(self):
        outsider = new_test_user(
            self.env, login="wa_outsider", groups="sales_team.group_sale_salesman"
        )
        chat = self.chat_with_lead("32470500005", self.ana)
        chat.lead_id.user_id = outsider  # even as superuser
        self.assertEqual(chat.lead_id.user_id, outsider)
        self.assertEqual(chat.user_id, self.ana)

    def test_chats_are_not_linked_to_a_lead_through_the_lead(self):
        chat = self.chat_with_lead("32470500006", self.ben)
        own = self.env["crm.lead"].create({"name": "Ana's", "user_id": self.ana.id})
        with self.assertRaises(AccessError):
            own.with_user(self.ana).write({"whatsapp_chat_ids": [(4, chat.id)]})
        self.assertNotEqual(chat.lead_id, own)


@tagged("post_install", "-at_install", "whatsapp_security")
class TestThroughWizards(TeamCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.template = cls.env["whatsapp.template"].create(
            {
                "name": "promo_paths",
                "language": "en_US",
                "account_id": cls.account.id,
                "category": "utility",
                "status": "approved",
                "body": "Hello",
            }
        )

    def mass_send(self, user, records):
        form = Form(
            self.env["whatsapp.template.mass.send"]
            .with_user(user)
            .with_context(active_model=records._name, active_ids=records.ids)
        )
        form.account_id = self.account
        form.template_id = self.template
        wizard = form.save()
        wizard.action_send()
        return wizard

    def test_mass_send_skips_chats_the_sender_may_not_answer(self):
        bens = self.deliver(self.message("32470510001", name="Bens")).conversation_id
        bens.sudo().user_id = self.ben
        other = self.deliver(self.message("32470510002", name="Other")).conversation_id
        other.sudo().write({"team_id": self.other_team.id, "user_id": False})
        new = self.env["res.partner"].create(
            {"name": "New", "mobile": "+32 470 51 00 03"}
        )
        posted = bens.message_ids | other.message_ids
        wizard = self.mass_send(self.ana, bens.partner_id | other.partner_id | new)
        self.assertIn("1 messages queued", wizard.report)
        self.assertIn("handled by Ben", wizard.report)
        self.assertIn("Export", wizard.report)
        self.assertEqual(bens.message_ids | other.message_ids, posted)
        sent = self.env["whatsapp.message"].search(
            [("template_id", "=", self.template.id)]
        )
        self.assertEqual(sent.conversation_id.partner_id, new)
        self.assertEqual(sent.conversation_id.user_id, self.ana)

    def test_mass_send_only_to_contacts_and_leads(self):
        wizard = (
            self.env["whatsapp.template.mass.send"]
            .with_user(self.ana)
            .create(
                {
                    "res_model": "res.users",
                    "res_ids": self.ben.ids,
                    "account_id": self.account.id,
                    "template_id": self.template.id,
                }
            )
        )
        with self.assertRaises(UserError):
            wizard.action_send()

    def test_pass_on_wizard_refuses_what_she_may_not_do(self):
        """An unassigned chat of her team: she may take it, not hand it to
        a colleague."""
        for user in (self.ana, self.ben, self.cleo):
            self.set_online(user, "offline")
        chat = self.deliver(self.message("32470510004")).conversation_id
        self.assertFalse(chat.user_id)
        wizard = (
            self.env["whatsapp.transfer"]
            .with_user(self.cleo)
            .create({"conversation_id": chat.id, "user_id": self.ben.id})
        )
        with self.assertRaisesRegex(UserError, "Only a WhatsApp manager"):
            wizard.action_transfer()
        self.assertFalse(chat.user_id)


@tagged("post_install", "-at_install", "whatsapp_security")
class TestHandingOn(TeamCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.employee = new_test_user(
            cls.env, login="wa_hand_emp", groups="base.group_user"
        )
        cls.portal = new_test_user(
            cls.env, login="wa_hand_portal", groups="base.group_portal"
        )
        # a WhatsApp user of another number only
        cls.elsewhere = new_test_user(cls.env, login="wa_elsewhere", groups=SALES)

    def test_only_users_of_the_number_receive_a_chat(self):
        chat = self.deliver(self.message("32470520001")).conversation_id
        chat.sudo().user_id = self.ana
        for stranger in (self.portal, self.employee, self.elsewhere):
            for user in (self.ana, self.leader):
                with self.assertRaises(
                    UserError, msg=f"{user.login} → {stranger.login}"
                ):
                    chat.with_user(user).user_id = stranger
            with self.assertRaises(UserError):
                chat.user_id = stranger  # not even as superuser
        self.assertEqual(chat.user_id, self.ana)
        chat.with_user(self.ana).user_id = self.dan  # of the number's other team
        self.assertEqual(chat.user_id, self.dan)

    def test_members_without_whatsapp_rights_are_never_given_chats(self):
        self.ana.groups_id -= self.env.ref("whatsapp_team.group_whatsapp_user")
        self.env["res.users"].browse(self.ana.id).invalidate_recordset()
        self.set_online(self.ben, "offline")
        self.set_online(self.cleo, "offline")
        chat = self.deliver(self.message("32470520002")).conversation_id
        self.assertFalse(chat.user_id, "Ana is a team member but no WhatsApp user")


@tagged("post_install", "-at_install", "whatsapp_security")
class TestSystemFields(TeamCase):
    def test_identity_and_window_are_written_by_whatsapp_only(self):
        chat = self.deliver(self.message("32470530001")).conversation_id
        other = self.deliver(self.message("32470530002")).conversation_id
        chat.sudo().user_id = self.ana
        before = chat.read(["wa_id", "phone_key", "last_inbound_at", "account_id"])[0]
        forged = {
            "wa_id": other.wa_id,
            "phone_key": "0000",
            "last_inbound_at": "2099-01-01 00:00:00",
            "waiting_since": False,
            "profile_name": "Someone else",
        }
        for field, value in forged.items():
            with self.assertRaises(AccessError, msg=field):
                chat.with_user(self.ana).write({field: value})
            with self.assertRaises(AccessError, msg=field):
                chat.with_user(self.leader).write({field: value})
        with self.assertRaises(AccessError):
            self.env["whatsapp.conversation"].with_user(self.leader).create(
                {"account_id": self.account.id, "wa_id": "32470530009"}
            )
        self.assertEqual(
            chat.read(["wa_id", "phone_key", "last_inbound_at", "account_id"])[0],
            before,
        )

    def test_over_xmlrpc_too(self):
        chat = self.deliver(self.message("32470530003")).conversation_id
        chat.sudo().user_id = self.ana
        with self.assertRaisesRegex(xmlrpc.client.Fault, "cannot be changed by hand"):
            rpc(
                self,
                self.ana,
                "whatsapp.conversation",
                "write",
                [chat.id],
                {"last_inbound_at": "2099-01-01 00:00:00"},
            )
        self.assertNotEqual(str(chat.last_inbound_at), "2099-01-01 00:00:00")
        # what she may change, she changes
        rpc(
            self,
            self.ana,
            "whatsapp.conversation",
            "write",
            [chat.id],
            {"state": "pending"},
        )
        self.assertEqual(chat.state, "pending")


@tagged("post_install", "-at_install", "whatsapp_security")
class TestAdministratorButtons(TeamCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.portal = new_test_user(
            cls.env, login="wa_btn_portal", groups="base.group_portal"
        )
        cls.employee = new_test_user(
            cls.env, login="wa_btn_emp", groups="base.group_user"
        )
        cls.admin = new_test_user(
            cls.env, login="wa_btn_admin", groups="whatsapp_team.group_whatsapp_admin"
        )

    def test_only_administrators_regenerate_the_verify_token(self):
        token = self.account.verify_token
        for user in (self.portal, self.employee, self.ana, self.leader):
            with self.assertRaises(AccessError, msg=user.login):
                self.account.with_user(user).action_regenerate_verify_token()
        self.assertEqual(self.account.verify_token, token)
        with self.assertRaises(xmlrpc.client.Fault):
            rpc(
                self,
                self.portal,
                "whatsapp.account",
                "action_regenerate_verify_token",
                [self.account.id],
            )
        self.assertEqual(self.account.verify_token, token)
        self.account.with_user(self.admin).action_regenerate_verify_token()
        self.assertNotEqual(self.account.verify_token, token)

    def test_only_administrators_sync_templates(self):
        for user in (self.ana, self.leader):
            with self.assertRaises(AccessError, msg=user.login):
                self.account.with_user(user).action_sync_templates()
        self.assertFalse(self.graph.calls)
        self.account.with_user(self.admin).action_sync_templates()
        self.assertTrue(self.graph.calls)

    def test_only_administrators_reprocess_webhook_events(self):
        self.deliver(self.message("32470540001"))
        event = self.env["whatsapp.webhook.event"].search([], limit=1)
        for user in (self.ana, self.leader):
            with self.assertRaises(AccessError, msg=user.login):
                event.with_user(user).action_process()


@tagged("post_install", "-at_install", "whatsapp_security")
class TestMultiCompany(TeamCase):
    def test_another_companys_messages_templates_and_events_are_hidden(self):
        self.deliver(self.message("32470550001"))
        template = self.approved_template("mc_template")
        other_company = self.env["res.company"].create({"name": "Other Co"})
        admin = new_test_user(
            self.env,
            login="wa_mc_admin",
            groups="whatsapp_team.group_whatsapp_admin",
            company_id=other_company.id,
            company_ids=[(6, 0, other_company.ids)],
        )
        self.assertNotEqual(self.account.company_id, other_company)
        for model in (
            "whatsapp.message",
            "whatsapp.template",
            "whatsapp.webhook.event",
        ):
            self.assertFalse(
                self.env[model].with_user(admin).search([]), f"{model} of Other Co"
            )
        with self.assertRaises(AccessError):
            template.with_user(admin).read(["name"])
        # their own company's number shows
        admin.write({"company_ids": [(4, self.account.company_id.id)]})
        self.assertTrue(
            self.env["whatsapp.template"]
            .with_user(admin)
            .with_context(allowed_company_ids=[self.account.company_id.id])
            .search([("id", "=", template.id)])
        )
