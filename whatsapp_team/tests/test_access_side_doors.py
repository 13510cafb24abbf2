"""Side doors: every way a user has into a chat, tried as each role would.

A salesperson of the same team, of another team, of another number, a
WhatsApp manager of another team, an employee without WhatsApp rights, a
CRM manager, a portal user and the public user; over XML-RPC, the web
client's JSON routes and the ORM as those call them. Each test asserts what
must hold. ``TestAccessSideDoors`` holds the paths that once let a user
through (each test failed before its fix); ``TestAccessRefused`` the paths
that were refused from the start and must stay so.
"""

import json
import logging
import xmlrpc.client

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .test_team import MANAGER, SALES, TeamCase

_logger = logging.getLogger(__name__)

SECRET = b"%PDF secret contract of Dan's customer"


def rpc_kw(case, user, model, method, args, kw=None):
    """``model.method(*args, **kw)`` over XML-RPC as ``user``."""
    password = user.login + "x" * (8 - len(user.login))
    return case.xmlrpc_object.execute_kw(
        case.env.cr.dbname, user.id, password, model, method, args, kw or {}
    )


def password(user):
    return user.login + "x" * (8 - len(user.login))


class ProbeCase(TeamCase):
    """Ana (Showroom) has a chat; Dan (Export) has a chat with a customer's
    file; one Showroom chat is unassigned."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.exlead = new_test_user(cls.env, login="wa_exlead", groups=MANAGER)
        cls.other_team.user_id = cls.exlead
        cls.employee = new_test_user(
            cls.env, login="wa_p_emp", groups="base.group_user"
        )
        cls.salesman = new_test_user(
            cls.env, login="wa_p_salesman", groups="sales_team.group_sale_salesman"
        )
        cls.crm_boss = new_test_user(
            cls.env, login="wa_p_crmboss", groups="sales_team.group_sale_manager"
        )
        cls.portal = new_test_user(
            cls.env, login="wa_p_portal", groups="base.group_portal"
        )
        cls.admin = new_test_user(
            cls.env,
            login="wa_p_admin",
            groups="whatsapp_team.group_whatsapp_admin,sales_team.group_sale_salesman",
        )
        # Eve answers another number only
        cls.eve = new_test_user(cls.env, login="wa_p_eve", name="Eve", groups=SALES)
        cls.account2 = cls.env["whatsapp.account"].create(
            {
                "name": "Support",
                "mode": "cloud",
                "phone_number_id": "999000111222",
                "business_account_id": "102290129340398",
                "access_token": "test-access-token",
                "app_secret": "test-app-secret",
                "graph_base_url": cls.graph_server.url,
                "user_ids": [(6, 0, cls.eve.ids)],
            }
        )
        cls.template = cls.env["whatsapp.template"].create(
            {
                "name": "probe_hello",
                "language": "en_US",
                "account_id": cls.account.id,
                "category": "utility",
                "status": "approved",
                "body": "Hello",
            }
        )

    def setUp(self):
        super().setUp()
        self.team.whatsapp_assignment = "manual"
        self.other_team.whatsapp_assignment = "manual"
        media_id = self.graph.add_media(SECRET, "application/pdf")
        self.dan_msg = self.deliver(
            self.message(
                "32470700001",
                kind="document",
                name="Dan Customer",
                document={
                    "id": media_id,
                    "mime_type": "application/pdf",
                    "filename": "contract.pdf",
                },
            )
        )
        self.dan_chat = self.dan_msg.conversation_id
        self.dan_chat.sudo().write(
            {"team_id": self.other_team.id, "user_id": self.dan.id}
        )
        self.secret = self.dan_msg.attachment_ids
        self.assertEqual(self.secret.raw, SECRET)
        self.ana_chat = self.new_chat(wa_id="32470700002", name="Ana Customer")
        self.ana_chat.sudo().user_id = self.ana
        self.free_chat = self.new_chat(wa_id="32470700003", name="Free Customer")
        self.assertFalse(self.free_chat.user_id)
        self.assertEqual(self.free_chat.team_id, self.team)

    def queued(self, conversation):
        return self.env["whatsapp.message"].search(
            [("conversation_id", "=", conversation.id), ("direction", "=", "out")]
        )

    def try_rpc(self, *args, **kwargs):
        """Run an RPC; return (result, fault)."""
        try:
            return rpc_kw(self, *args, **kwargs), None
        except xmlrpc.client.Fault as fault:
            return None, fault
        finally:
            self.env.invalidate_all()

    def try_json(self, user, route, params):
        self.authenticate(user.login, password(user))
        try:
            return self.make_jsonrpc_request(route, params), None
        except Exception as error:  # noqa: BLE001 - any refusal will do
            return None, error
        finally:
            self.env.invalidate_all()

    def readable_secret_copies(self, user):
        """Attachments ``user`` can read that hold Dan's customer's file."""
        self.env.invalidate_all()
        return (
            self.env["ir.attachment"]
            .with_user(user)
            .search([("checksum", "=", self.secret.checksum)])
        )


@tagged("post_install", "-at_install", "whatsapp_security")
class TestAccessSideDoors(ProbeCase):
    """Paths that once let a user through."""

    # ------------------------------------------------------------------
    # forged context key "whatsapp_inbound" over the API
    # ------------------------------------------------------------------

    def test_02_forged_inbound_context_posts_unsent_customer_message(self):
        """Ana writes 'the customer said …' in her chat and its lead's chatter,
        nothing sent, nothing checked: the context key and the author are
        the caller's to set over the API."""
        self.ana_chat.with_user(self.ana).action_create_lead()
        lead = self.ana_chat.lead_id
        customer = self.ana_chat.partner_id
        self.try_rpc(
            self.ana,
            "whatsapp.conversation",
            "message_post",
            [[self.ana_chat.id]],
            {
                "body": "I cancel my order FORGED42",
                "message_type": "comment",
                "subtype_xmlid": "mail.mt_comment",
                "author_id": customer.id,
                "context": {"whatsapp_inbound": True},
            },
        )
        forged = self.env["mail.message"].search(
            [("body", "ilike", "FORGED42"), ("author_id", "=", customer.id)]
        )
        self.assertFalse(
            forged,
            "a message as the customer's, never received from WhatsApp, is in "
            f"{sorted(set(forged.mapped('model')))}",
        )
        # what she wrote is her reply: sent to the customer, copied to the
        # lead in her name
        copies = lead.message_ids.filtered(lambda m: "FORGED42" in m.body)
        self.assertEqual(copies.author_id, self.ana.partner_id)
        self.assertTrue(
            self.queued(self.ana_chat).filtered(lambda m: "FORGED42" in m.body)
        )

    def test_03_forged_inbound_context_over_the_chatter_route(self):
        """The web client's own route takes a context too: a 'sent' reply that
        never leaves and is copied to the lead."""
        self.ana_chat.with_user(self.ana).action_create_lead()
        _result, error = self.try_json(
            self.ana,
            "/mail/message/post",
            {
                "thread_model": "whatsapp.conversation",
                "thread_id": self.ana_chat.id,
                "post_data": {
                    "body": "Your price is 10 EUR ROUTE42",
                    "message_type": "comment",
                    "subtype_xmlid": "mail.mt_comment",
                },
                "context": {"whatsapp_inbound": True},
            },
        )
        posted = self.ana_chat.message_ids.filtered(lambda m: "ROUTE42" in m.body)
        if posted:
            self.assertTrue(
                self.queued(self.ana_chat).filtered(lambda m: "ROUTE42" in m.body),
                "shown in the chat as sent, never queued to the customer",
            )

    # ------------------------------------------------------------------
    # server actions "Send WhatsApp template"
    # ------------------------------------------------------------------

    def whatsapp_action(self):
        return self.env["ir.actions.server"].create(
            {
                "name": "WhatsApp reminder",
                "model_id": self.env.ref("crm.model_crm_lead").id,
                "state": "whatsapp",
                "whatsapp_account_id": self.account.id,
                "whatsapp_template_id": self.template.id,
            }
        )

    def test_04_server_action_run_by_employee_without_whatsapp(self):
        action = self.whatsapp_action()
        partner = self.env["res.partner"].create(
            {"name": "Lead Customer", "mobile": "+32 470 71 00 01"}
        )
        lead = self.env["crm.lead"].create(
            {"name": "Own lead", "partner_id": partner.id, "user_id": self.salesman.id}
        )
        self.try_rpc(
            self.salesman,
            "ir.actions.server",
            "run",
            [[action.id]],
            {
                "context": {
                    "active_model": "crm.lead",
                    "active_id": lead.id,
                    "active_ids": lead.ids,
                }
            },
        )
        sent = self.env["whatsapp.message"].search(
            [("template_id", "=", self.template.id)]
        )
        self.assertFalse(
            sent, "an employee without WhatsApp rights sent a template to a customer"
        )

    def test_05_server_action_run_by_salesperson_into_colleagues_chat(self):
        action = self.whatsapp_action()
        lead = self.env["crm.lead"].create(
            {
                "name": "Ana's lead for Dan's customer",
                "partner_id": self.dan_chat.partner_id.id,
                "user_id": self.ana.id,
            }
        )
        self.try_rpc(
            self.ana,
            "ir.actions.server",
            "run",
            [[action.id]],
            {
                "context": {
                    "active_model": "crm.lead",
                    "active_id": lead.id,
                    "active_ids": lead.ids,
                }
            },
        )
        self.assertFalse(
            self.queued(self.dan_chat), "a template went out in Dan's chat, by Ana"
        )

    # ------------------------------------------------------------------
    # the customer of a chat decides which lead the system links
    # ------------------------------------------------------------------

    def test_06_chat_customer_swap_links_a_colleagues_lead(self):
        big = self.env["res.partner"].create(
            {"name": "Big Account", "mobile": "+32 470 71 00 09"}
        )
        dan_lead = self.env["crm.lead"].create(
            {
                "name": "Big deal",
                "partner_id": big.id,
                "user_id": self.dan.id,
                "team_id": self.other_team.id,
            }
        )
        with self.assertRaises(AccessError):
            dan_lead.with_user(self.ana).read(["name"])
        _res, fault = self.try_rpc(
            self.ana,
            "whatsapp.conversation",
            "write",
            [[self.ana_chat.id], {"partner_id": big.id}],
        )
        self.deliver(self.message(self.ana_chat.wa_id, body="Any news?"))
        self.assertNotEqual(
            self.ana_chat.lead_id,
            dan_lead,
            "Dan's lead, which Ana may not change, is linked to her chat",
        )

    # ------------------------------------------------------------------
    # followers who lost the chat
    # ------------------------------------------------------------------

    def test_07_stale_follower_posts_in_a_chat_she_no_longer_sees(self):
        self.try_rpc(
            self.ana,
            "whatsapp.conversation",
            "message_post",
            [[self.free_chat.id]],
            {
                "body": "I'll look",
                "message_type": "comment",
                "subtype_xmlid": "mail.mt_note",
            },
        )
        self.assertIn(self.ana.partner_id, self.free_chat.message_partner_ids)
        self.free_chat.with_user(self.leader).user_id = self.ben
        with self.assertRaises(AccessError):
            self.free_chat.with_user(self.ana).read(["name"])
        _res, fault = self.try_rpc(
            self.ana,
            "whatsapp.conversation",
            "message_post",
            [[self.free_chat.id]],
            {
                "body": "STALE42",
                "message_type": "comment",
                "subtype_xmlid": "mail.mt_note",
            },
        )
        self.assertFalse(
            self.free_chat.message_ids.filtered(lambda m: "STALE42" in m.body),
            "Ana wrote in Ben's chat, which she may not read",
        )

    # ------------------------------------------------------------------
    # the lead shows the partner's chats as superuser
    # ------------------------------------------------------------------

    def test_08_lead_form_with_a_colleagues_chat(self):
        customer = self.ana_chat.partner_id
        self.dan_chat.sudo().partner_id = customer
        lead = self.env["crm.lead"].create(
            {"name": "Ana's", "partner_id": customer.id, "user_id": self.ana.id}
        )
        spec = {
            "whatsapp_conversation_count": {},
            "whatsapp_conversation_ids": {
                "fields": {
                    "account_id": {"fields": {"display_name": {}}},
                    "last_message_at": {},
                    "window_expires_at": {},
                }
            },
        }
        result, fault = self.try_rpc(
            self.ana, "crm.lead", "web_read", [lead.ids], {"specification": spec}
        )
        if fault:
            self.fail(
                "Ana cannot open her own lead: "
                + fault.faultString.strip().splitlines()[-1][:150]
            )
        values = result[0]
        ids = [v["id"] for v in values["whatsapp_conversation_ids"]]
        self.assertEqual(ids, self.ana_chat.ids, "Dan's chat listed on Ana's lead")
        self.assertEqual(values["whatsapp_conversation_count"], 1)

    # ------------------------------------------------------------------
    # wizards' related fields are read as superuser
    # ------------------------------------------------------------------

    def test_09_wizard_fields_describe_a_chat_she_cannot_read(self):
        _res, fault = self.try_rpc(
            self.eve,
            "whatsapp.conversation",
            "read",
            [self.dan_chat.ids, ["window_expires_at"]],
        )
        self.assertTrue(fault)
        leaked = {}
        for model, field, vals in (
            ("whatsapp.reply", "window_expires_at", {}),
            ("whatsapp.reply", "window_open", {}),
            ("whatsapp.transfer", "account_id", {"user_id": self.eve.id}),
            ("whatsapp.template.send", "account_id", {"template_id": self.template.id}),
        ):
            res, fault = self.try_rpc(
                self.eve,
                model,
                "create",
                [{"conversation_id": self.dan_chat.id, **vals}],
            )
            if fault:
                continue
            values, fault = self.try_rpc(self.eve, model, "read", [[res], [field]])
            if not fault and values[0][field]:
                leaked[f"{model}.{field}"] = values[0][field]
        self.assertFalse(leaked, "another number's chat, described to Eve")

    # ------------------------------------------------------------------
    # what starting a chat from a partner writes on someone else's chat
    # ------------------------------------------------------------------

    def test_10_mass_send_skip_rewrites_a_colleagues_chat_identity(self):
        chat = self.deliver(
            self.message("5215512345678", body="Hola", name="Cliente")
        ).conversation_id
        chat.sudo().write({"team_id": self.other_team.id, "user_id": self.dan.id})
        chat.partner_id.name = "Renamed in CRM"
        before = chat.read(["wa_id", "profile_name"])[0]
        wizard_id, fault = self.try_rpc(
            self.ana,
            "whatsapp.template.mass.send",
            "create",
            [
                {
                    "res_model": "res.partner",
                    "res_ids": chat.partner_id.ids,
                    "account_id": self.account.id,
                    "template_id": self.template.id,
                }
            ],
        )
        self.assertFalse(fault)
        _res, fault = self.try_rpc(
            self.ana, "whatsapp.template.mass.send", "action_send", [[wizard_id]]
        )
        self.assertFalse(fault)
        wizard = self.env["whatsapp.template.mass.send"].browse(wizard_id)
        self.assertIn("handled by Dan", wizard.report)
        self.env.invalidate_all()
        self.assertEqual(
            chat.read(["wa_id", "profile_name"])[0],
            before,
            "WhatsApp's own fields of Dan's chat rewritten by Ana's skipped send",
        )

    # ------------------------------------------------------------------
    # who decides the users of a number
    # ------------------------------------------------------------------

    def test_11_a_sales_team_gives_its_number_to_whatsapp_users_only(self):
        """A number answered by a sales team is open to its members: the
        team's manager in CRM decides who is in it, and only users an
        administrator made WhatsApp users get the chats."""
        self.try_rpc(
            self.crm_boss,
            "crm.team.member",
            "create",
            [{"crm_team_id": self.team.id, "user_id": self.salesman.id}],
        )
        self.assertIn(self.salesman, self.team.member_ids)
        self.assertNotIn(self.salesman, self.account.allowed_user_ids)
        with self.assertRaises(AccessError):
            self.env["whatsapp.conversation"].with_user(self.salesman).search([])
        self.try_rpc(
            self.crm_boss,
            "crm.team.member",
            "create",
            [{"crm_team_id": self.team.id, "user_id": self.eve.id}],
        )
        self.assertIn(self.eve, self.account.allowed_user_ids)
        self.assertIn(
            self.free_chat,
            self.env["whatsapp.conversation"].with_user(self.eve).search([]),
        )

    # ------------------------------------------------------------------
    # the chatter's route answers as superuser
    # ------------------------------------------------------------------

    def test_12_answering_from_the_chatter_takes_the_chat(self):
        """README: an unassigned chat becomes the salesperson's who answers."""
        _res, error = self.try_json(
            self.ana,
            "/mail/message/post",
            {
                "thread_model": "whatsapp.conversation",
                "thread_id": self.free_chat.id,
                "post_data": {
                    "body": "Hello, Ana here",
                    "message_type": "comment",
                    "subtype_xmlid": "mail.mt_comment",
                },
            },
        )
        self.assertFalse(error)
        self.assertTrue(self.queued(self.free_chat))
        self.assertEqual(self.free_chat.user_id, self.ana)

    # ------------------------------------------------------------------
    # a reply quoting another customer's message
    # ------------------------------------------------------------------

    def test_13_reply_to_another_chats_message(self):
        self.try_rpc(
            self.ana,
            "whatsapp.conversation",
            "message_post",
            [[self.ana_chat.id]],
            {
                "body": "about this",
                "message_type": "comment",
                "subtype_xmlid": "mail.mt_comment",
                "parent_id": self.dan_msg.mail_message_id.id,
            },
        )
        self.env.invalidate_all()
        out = self.queued(self.ana_chat)
        self.assertTrue(out)
        self.assertNotIn(
            self.dan_msg.wa_message_id,
            out.mapped("reply_to_wa_id"),
            "Ana's customer gets a reply quoting Dan's customer's message",
        )

    def test_19_sent_and_received_messages_stay_as_they_were(self):
        """Mail lets an author edit or delete their message: not what went
        out on WhatsApp, nor the customer's words; notes may change."""
        reply = self.ana_chat.with_user(self.ana).message_post(
            body="Price: 100 EUR",
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        customer_words = self.ana_chat.message_ids.filtered(
            lambda m: m.author_id == self.ana_chat.partner_id
        )[:1]
        self.assertTrue(customer_words)
        for message in (reply, customer_words):
            _result, error = self.try_json(
                self.ana,
                "/mail/message/update_content",
                {
                    "message_id": message.id,
                    "body": "Price: 10 EUR",
                    "attachment_ids": [],
                },
            )
            self.assertTrue(error, f"{message.body} changed")
            self.assertNotIn("10 EUR", message.body)
        note = self.ana_chat.with_user(self.ana).message_post(
            body="call back tomorrow",
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )
        _result, error = self.try_json(
            self.ana,
            "/mail/message/update_content",
            {"message_id": note.id, "body": "call back Monday", "attachment_ids": []},
        )
        self.assertFalse(error)
        self.assertIn("Monday", note.body)

    def test_18_customer_number_on_an_employees_contact(self):
        """An employee without WhatsApp rights whose contact carries the
        number a customer writes from reads that chat's messages."""
        self.employee.partner_id.mobile = "+32 470 70 00 50"
        chat = self.new_chat(wa_id="32470700050", body="my IBAN is BE00 SECRET50")
        self.reply(chat, self.leader, body="Thanks REPLY50")
        seen, _fault = self.try_rpc(
            self.employee,
            "mail.message",
            "search_read",
            [[("model", "=", "whatsapp.conversation")], ["body"]],
        )
        self.assertFalse(
            [m["body"] for m in seen or []],
            f"chat partner {chat.partner_id.name}: an employee without WhatsApp "
            "rights reads the chat",
        )

    def test_16_xmlrpc_send_reports_failure_after_sending(self):
        """An integration posting a reply over XML-RPC must get an answer it
        can trust: an error means nothing was sent."""
        _res, fault = self.try_rpc(
            self.ana,
            "whatsapp.conversation",
            "message_post",
            [[self.ana_chat.id]],
            {
                "body": "RPC42",
                "message_type": "comment",
                "subtype_xmlid": "mail.mt_comment",
            },
        )
        sent = self.queued(self.ana_chat).filtered(lambda m: "RPC42" in (m.body or ""))
        if fault:
            self.assertFalse(
                sent,
                f"the client got an error, the customer got the message: "
                f"{fault.faultString[-120:]}",
            )

    # ------------------------------------------------------------------
    # mentions and e-mail
    # ------------------------------------------------------------------

    def test_14_note_mentioning_an_outsider_is_readable_by_them(self):
        self.ana_chat.with_user(self.ana).message_post(
            body="customer wants 20% MENTION42",
            message_type="comment",
            subtype_xmlid="mail.mt_note",
            partner_ids=self.employee.partner_id.ids,
        )
        seen, _fault = self.try_rpc(
            self.employee,
            "mail.message",
            "search_read",
            [[("model", "=", "whatsapp.conversation")], ["body"]],
        )
        self.assertFalse(
            [m for m in seen or [] if "MENTION42" in m["body"]],
            "a chat note read by an employee without WhatsApp rights",
        )

    def test_15_mass_mail_composer_emails_the_customer(self):
        """Cosmetic: the chat's customer gets an e-mail from Odoo's composer
        (mass mode) on her own chat."""
        self.ana_chat.partner_id.email = "ana.customer@example.com"
        res, fault = self.try_rpc(
            self.ana,
            "mail.compose.message",
            "create",
            [
                {
                    "model": "whatsapp.conversation",
                    "res_ids": repr(self.ana_chat.ids),
                    "composition_mode": "mass_mail",
                    "subject": "Offer",
                    "body": "<p>Buy EMAIL42</p>",
                }
            ],
        )
        if not fault:
            self.try_rpc(self.ana, "mail.compose.message", "action_send_mail", [[res]])
        mails = self.env["mail.mail"].sudo().search([("body_html", "ilike", "EMAIL42")])
        self.assertFalse(
            mails,
            f"e-mail to the chat's customer: {mails.recipient_ids.mapped('email')}",
        )


@tagged("post_install", "-at_install", "whatsapp_security")
class TestAccessRefused(ProbeCase):
    """Paths refused from the start."""

    def test_20_colleagues_chat_over_xmlrpc(self):
        chat = [self.dan_chat.id]
        calls = [
            ("read", [chat, ["name", "phone"]], {}),
            ("search_read", [[("id", "=", self.dan_chat.id)], ["name"]], {}),
            ("write", [chat, {"state": "done"}], {}),
            ("write", [chat, {"user_id": self.ana.id}], {}),
            ("action_claim", [chat], {}),
            ("action_done", [chat], {}),
            ("action_mark_read", [chat], {}),
            ("action_typing", [chat], {}),
            ("action_create_lead", [chat], {}),
            ("unlink", [chat], {}),
            ("copy", [chat], {}),
            (
                "message_post",
                [chat],
                {
                    "body": "hi",
                    "message_type": "comment",
                    "subtype_xmlid": "mail.mt_comment",
                },
            ),
            (
                "message_post",
                [chat],
                {
                    "body": "note",
                    "message_type": "comment",
                    "subtype_xmlid": "mail.mt_note",
                },
            ),
            (
                "message_post",
                [chat],
                {
                    "body": "ctx",
                    "message_type": "comment",
                    "subtype_xmlid": "mail.mt_comment",
                    "context": {"whatsapp_inbound": True},
                },
            ),
        ]
        allowed = []
        for method, args, kw in calls:
            result, fault = self.try_rpc(
                self.ana, "whatsapp.conversation", method, args, kw
            )
            if not fault and result:
                allowed.append((method, result))
        searched = rpc_kw(
            self,
            self.ana,
            "whatsapp.conversation",
            "search_read",
            [[("id", "=", self.dan_chat.id)], ["name"]],
        )
        self.assertFalse(searched)
        self.assertFalse([a for a in allowed if a[0] != "search_read"], allowed)
        self.assertEqual(self.dan_chat.user_id, self.dan)
        self.assertEqual(self.dan_chat.state, "open")
        self.assertFalse(self.queued(self.dan_chat))
        self.assertFalse(self.dan_chat.lead_id)

    def test_21_mail_side_doors(self):
        ana = self.ana
        res, fault = self.try_rpc(
            ana,
            "whatsapp.conversation",
            "message_subscribe",
            [[self.dan_chat.id]],
            {"partner_ids": ana.partner_id.ids},
        )
        self.assertNotIn(ana.partner_id, self.dan_chat.message_partner_ids)
        res, fault = self.try_rpc(
            ana,
            "whatsapp.conversation",
            "message_subscribe",
            [[self.ana_chat.id]],
            {"partner_ids": self.employee.partner_id.ids},
        )
        # her own chat: the follower gets nothing (no read access)
        self.deliver(self.message(self.ana_chat.wa_id, body="FOLLOW42"))
        notified = self.env["mail.notification"].search(
            [("res_partner_id", "=", self.employee.partner_id.id)]
        )
        self.assertFalse(notified)
        for model, vals in (
            (
                "mail.activity",
                {
                    "res_model_id": self.env["ir.model"]._get_id(
                        "whatsapp.conversation"
                    ),
                    "res_id": self.dan_chat.id,
                    "activity_type_id": self.env.ref("mail.mail_activity_data_todo").id,
                    "user_id": ana.id,
                },
            ),
            (
                "mail.followers",
                {
                    "res_model": "whatsapp.conversation",
                    "res_id": self.dan_chat.id,
                    "partner_id": ana.partner_id.id,
                },
            ),
            (
                "ir.attachment",
                {
                    "name": "x.txt",
                    "datas": "eA==",
                    "res_model": "whatsapp.conversation",
                    "res_id": self.dan_chat.id,
                },
            ),
        ):
            _res, fault = self.try_rpc(ana, model, "create", [vals])
            self.assertTrue(fault, f"{model} on Dan's chat")
        self.assertFalse(
            rpc_kw(
                self,
                ana,
                "ir.attachment",
                "search_read",
                [
                    [
                        ("res_model", "=", "whatsapp.conversation"),
                        ("res_id", "=", self.dan_chat.id),
                    ],
                    ["name"],
                ],
            )
        )
        self.assertFalse(
            rpc_kw(
                self,
                ana,
                "mail.message",
                "search_read",
                [
                    [
                        ("model", "=", "whatsapp.conversation"),
                        ("res_id", "=", self.dan_chat.id),
                    ],
                    ["body"],
                ],
            )
        )
        _res, fault = self.try_rpc(
            ana, "mail.message", "read", [self.dan_chat.message_ids.ids, ["body"]]
        )
        self.assertTrue(fault)
        _res, fault = self.try_rpc(
            ana, "ir.attachment", "read", [self.secret.ids, ["datas"]]
        )
        self.assertTrue(fault)
        self.assertFalse(self.readable_secret_copies(ana))

    def test_22_web_client_routes(self):
        for route, params in (
            (
                "/mail/thread/messages",
                {
                    "thread_model": "whatsapp.conversation",
                    "thread_id": self.dan_chat.id,
                },
            ),
            (
                "/mail/message/post",
                {
                    "thread_model": "whatsapp.conversation",
                    "thread_id": self.dan_chat.id,
                    "post_data": {
                        "body": "x",
                        "message_type": "comment",
                        "subtype_xmlid": "mail.mt_comment",
                    },
                },
            ),
            (
                "/mail/message/post",
                {
                    "thread_model": "whatsapp.conversation",
                    "thread_id": self.ana_chat.id,
                    "post_data": {
                        "body": "x",
                        "message_type": "comment",
                        "subtype_xmlid": "mail.mt_comment",
                        "attachment_ids": self.secret.ids,
                    },
                    "context": {"whatsapp_inbound": True},
                },
            ),
            (
                "/web/dataset/call_kw/whatsapp.conversation/web_search_read",
                {
                    "model": "whatsapp.conversation",
                    "method": "web_search_read",
                    "args": [],
                    "kwargs": {
                        "domain": [("id", "=", self.dan_chat.id)],
                        "specification": {"name": {}},
                    },
                },
            ),
        ):
            result, error = self.try_json(self.ana, route, params)
            if error:
                continue
            text = json.dumps(result)
            self.assertNotIn("Dan Customer", text, route)
            if route == "/web/dataset/call_kw/whatsapp.conversation/web_search_read":
                self.assertFalse(result["records"])
        data, _error = self.try_json(
            self.ana,
            "/mail/thread/data",
            {
                "thread_model": "whatsapp.conversation",
                "thread_id": self.dan_chat.id,
                "request_list": ["followers", "attachments", "activities"],
            },
        )
        self.assertNotIn("contract", json.dumps(data or {}))
        self.authenticate(self.ana.login, password(self.ana))
        response = self.url_open(f"/web/content/{self.secret.id}?download=true")
        self.assertNotEqual(response.content, SECRET)
        self.assertFalse(
            self.dan_chat.message_ids.filtered(lambda m: m.body == "<p>x</p>")
        )
        self.assertFalse(self.readable_secret_copies(self.ana))

    def test_23_aggregates_names_and_secret_searches(self):
        Conversation = self.env["whatsapp.conversation"].with_user(self.ana)
        groups = Conversation.read_group([], ["user_id"], ["user_id"])
        self.assertEqual(sum(g["user_id_count"] for g in groups), 2)  # hers + free
        web = Conversation.web_read_group([], ["state"], ["state"])
        self.assertEqual(sum(g["state_count"] for g in web["groups"]), 2)
        messages = (
            self.env["whatsapp.message"]
            .with_user(self.ana)
            .read_group([], ["conversation_id"], ["conversation_id"])
        )
        self.assertNotIn(self.dan_chat.id, [g["conversation_id"][0] for g in messages])
        self.assertFalse(Conversation.name_search("Dan Customer"))
        self.assertFalse(Conversation.search([("phone", "=", self.dan_chat.phone)]))
        for field in ("app_secret", "access_token", "verify_token"):
            _res, fault = self.try_rpc(
                self.ana,
                "whatsapp.account",
                "search_count",
                [[(field, "=like", "t%")]],
            )
            self.assertTrue(fault, field)
            _res, fault = self.try_rpc(
                self.ana,
                "whatsapp.conversation",
                "search_count",
                [[(f"account_id.{field}", "=like", "t%")]],
            )
            self.assertTrue(fault, field)
        fields = rpc_kw(self, self.leader, "whatsapp.account", "fields_get", [])
        self.assertNotIn("app_secret", fields)
        account = rpc_kw(
            self,
            self.ana,
            "whatsapp.account",
            "read",
            [self.account.ids, ["conversation_ids", "conversation_count"]],
        )[0]
        self.assertNotIn(self.dan_chat.id, account["conversation_ids"])
        self.assertEqual(account["conversation_count"], 2)
        partner = rpc_kw(
            self,
            self.ana,
            "res.partner",
            "read",
            [
                self.dan_chat.partner_id.ids,
                [
                    "whatsapp_conversation_ids",
                    "whatsapp_conversation_count",
                    "whatsapp_message_ids",
                ],
            ],
        )[0]
        self.assertEqual(
            (
                partner["whatsapp_conversation_ids"],
                partner["whatsapp_conversation_count"],
                partner["whatsapp_message_ids"],
            ),
            ([], 0, []),
        )

    def test_24_wizards_on_a_colleagues_chat(self):
        ana = self.ana
        dan_lead = self.env["crm.lead"].create(
            {
                "name": "Dan's",
                "partner_id": self.dan_chat.partner_id.id,
                "user_id": self.dan.id,
            }
        )
        label = self.env["whatsapp.label"].create({"name": "VIP probe"})
        attempts = {
            "template.send chat": lambda: self.env["whatsapp.template.send"]
            .with_user(ana)
            .create(
                {"conversation_id": self.dan_chat.id, "template_id": self.template.id}
            )
            .action_send(),
            "template.send lead": lambda: self.env["whatsapp.template.send"]
            .with_user(ana)
            .create(
                {
                    "res_model": "crm.lead",
                    "res_id": dan_lead.id,
                    "account_id": self.account.id,
                    "template_id": self.template.id,
                }
            )
            .action_send(),
            "reply": lambda: self.env["whatsapp.reply"]
            .with_user(ana)
            .create({"conversation_id": self.dan_chat.id, "body": "hi"})
            .action_send(),
            "transfer to herself": lambda: self.env["whatsapp.transfer"]
            .with_user(ana)
            .create({"conversation_id": self.dan_chat.id, "user_id": ana.id})
            .action_transfer(),
            "snooze": lambda: self.env["whatsapp.snooze"]
            .with_user(ana)
            .create({"conversation_id": self.dan_chat.id})
            .action_snooze(),
            "labels": lambda: self.env["whatsapp.label.assign"]
            .with_user(ana)
            .create(
                {
                    "conversation_ids": [(6, 0, self.dan_chat.ids)],
                    "label_ids": [(6, 0, label.ids)],
                }
            )
            .action_apply(),
            "open chat": lambda: self.env["whatsapp.open.chat"]
            .with_user(ana)
            .create(
                {
                    "partner_id": self.dan_chat.partner_id.id,
                    "account_id": self.account.id,
                }
            )
            .action_open(),
        }
        done = []
        for name, attempt in attempts.items():
            try:
                with self.env.cr.savepoint():
                    attempt()
                done.append(name)
            except (AccessError, UserError, ValidationError) as refusal:
                _logger.info("%s refused: %s", name, refusal)
        self.assertFalse(done)
        self.assertEqual(self.dan_chat.user_id, self.dan)
        self.assertEqual(self.dan_chat.state, "open")
        self.assertFalse(self.dan_chat.label_ids)
        self.assertFalse(self.queued(self.dan_chat))

    def test_25_mass_send_crafted_models_and_ids(self):
        dan_lead = self.env["crm.lead"].create(
            {
                "name": "Dan's",
                "partner_id": self.dan_chat.partner_id.id,
                "user_id": self.dan.id,
            }
        )
        for res_model, res_ids in (
            ("whatsapp.conversation", self.dan_chat.ids),
            ("res.users", self.dan.ids),
            ("crm.lead", dan_lead.ids),
        ):
            wizard = (
                self.env["whatsapp.template.mass.send"]
                .with_user(self.ana)
                .create(
                    {
                        "res_model": res_model,
                        "res_ids": res_ids,
                        "account_id": self.account.id,
                        "template_id": self.template.id,
                    }
                )
            )
            with self.assertRaises(UserError, msg=res_model):
                with self.env.cr.savepoint():
                    wizard.action_send()
        # another number's account
        wizard = (
            self.env["whatsapp.template.mass.send"]
            .with_user(self.eve)
            .create(
                {
                    "res_model": "res.partner",
                    "res_ids": self.ana_chat.partner_id.ids,
                    "account_id": self.account.id,
                    "template_id": self.template.id,
                }
            )
        )
        with self.assertRaises(AccessError):
            wizard.action_send()
        self.assertFalse(self.queued(self.dan_chat) | self.queued(self.ana_chat))

    def test_26_chat_write_side_doors(self):
        ana = self.ana
        dan_lead = self.env["crm.lead"].create(
            {
                "name": "Dan's",
                "partner_id": self.dan_chat.partner_id.id,
                "user_id": self.dan.id,
            }
        )
        label = self.env["whatsapp.label"].create({"name": "Hot"})
        own = [self.ana_chat.id]
        for vals in (
            {"message_ids_wa": [(4, self.dan_msg.id)]},
            {"message_ids_wa": [(1, self.dan_msg.id, {"body": "x"})]},
            {"lead_id": dan_lead.id},
            {"team_id": self.other_team.id},
            {"user_opted_out": True},
            {"label_ids": [(0, 0, {"name": "New label"})]},
            {"label_ids": [(1, label.id, {"name": "Renamed"})]},
            {"wa_id": "32470700001"},
            {"account_id": self.account2.id},
        ):
            _res, fault = self.try_rpc(
                ana, "whatsapp.conversation", "write", [own, vals]
            )
            self.assertTrue(fault, vals)
        _res, fault = self.try_rpc(
            ana,
            "whatsapp.conversation",
            "write",
            [[self.free_chat.id], {"user_id": self.ben.id}],
        )
        self.assertTrue(fault)
        _res, fault = self.try_rpc(
            ana,
            "res.partner",
            "write",
            [
                self.dan_chat.partner_id.ids,
                {
                    "whatsapp_conversation_ids": [
                        (1, self.dan_chat.id, {"user_id": ana.id})
                    ]
                },
            ],
        )
        self.assertTrue(fault)
        _res, fault = self.try_rpc(
            ana,
            "crm.lead",
            "write",
            [[dan_lead.id], {"whatsapp_chat_ids": [(4, self.ana_chat.id)]}],
        )
        self.assertTrue(fault)
        self.assertEqual(self.dan_msg.conversation_id, self.dan_chat)
        self.assertEqual(self.dan_chat.user_id, self.dan)
        self.assertEqual(label.name, "Hot")

    def test_27_copy_and_duplicate(self):
        for user, model, record in (
            (self.ana, "whatsapp.conversation", self.ana_chat),
            (self.leader, "whatsapp.conversation", self.ana_chat),
            (self.admin, "whatsapp.conversation", self.ana_chat),
            (self.ana, "whatsapp.template", self.template),
            (self.leader, "whatsapp.account", self.account),
        ):
            _res, fault = self.try_rpc(user, model, "copy", [record.ids])
            self.assertTrue(fault, f"{user.login} copies {model}")

    def test_28_manager_of_another_team(self):
        exlead = self.exlead
        for chat in (self.free_chat, self.ana_chat):
            with self.assertRaises(AccessError):
                chat.with_user(exlead).read(["name"])
            _res, fault = self.try_rpc(
                exlead,
                "whatsapp.conversation",
                "write",
                [chat.ids, {"team_id": self.other_team.id}],
            )
            self.assertTrue(fault)
        wizard = (
            self.env["whatsapp.transfer"]
            .with_user(exlead)
            .create({"conversation_id": self.free_chat.id, "user_id": self.dan.id})
        )
        with self.assertRaises(UserError):
            wizard.action_transfer()
        self.assertEqual(self.free_chat.team_id, self.team)
        self.assertFalse(self.free_chat.user_id)
        # he sees his team's chat, and only that
        self.assertEqual(
            self.env["whatsapp.conversation"].with_user(exlead).search([]),
            self.dan_chat,
        )

    def test_29_employee_portal_public(self):
        lead = self.env["crm.lead"].create(
            {"name": "Emp", "partner_id": self.ana_chat.partner_id.id}
        )
        for user in (self.employee, self.salesman, self.crm_boss, self.portal):
            for model, method, args in (
                ("whatsapp.conversation", "search_read", [[]]),
                ("whatsapp.message", "search_read", [[]]),
                ("whatsapp.template", "search_read", [[]]),
                ("whatsapp.account", "search_read", [[]]),
                ("whatsapp.label", "search_read", [[]]),
                (
                    "res.partner",
                    "read",
                    [self.ana_chat.partner_id.ids, ["whatsapp_conversation_ids"]],
                ),
                (
                    "res.partner",
                    "read",
                    [self.ana_chat.partner_id.ids, ["whatsapp_message_ids"]],
                ),
                ("res.partner", "action_open_whatsapp", [self.ana_chat.partner_id.ids]),
                ("crm.lead", "read", [lead.ids, ["whatsapp_chat_ids"]]),
                (
                    "whatsapp.template.send",
                    "create",
                    [
                        {
                            "conversation_id": self.ana_chat.id,
                            "template_id": self.template.id,
                        }
                    ],
                ),
                (
                    "whatsapp.reply",
                    "create",
                    [{"conversation_id": self.ana_chat.id, "body": "x"}],
                ),
                (
                    "whatsapp.template.mass.send",
                    "create",
                    [
                        {
                            "res_model": "res.partner",
                            "res_ids": self.ana_chat.partner_id.ids,
                            "account_id": self.account.id,
                            "template_id": self.template.id,
                        }
                    ],
                ),
                (
                    "mail.message",
                    "search_read",
                    [[("model", "=", "whatsapp.conversation")], ["body"]],
                ),
                (
                    "ir.attachment",
                    "search_read",
                    [[("res_model", "=", "whatsapp.conversation")], ["name"]],
                ),
            ):
                result, fault = self.try_rpc(user, model, method, args)
                self.assertTrue(
                    fault or not result, f"{user.login}: {model}.{method} {result}"
                )
        self.assertFalse(self.queued(self.ana_chat))
        # the public user: no session
        response = self.url_open(
            "/web/dataset/call_kw/whatsapp.conversation/search_read",
            data=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "call",
                    "params": {
                        "model": "whatsapp.conversation",
                        "method": "search_read",
                        "args": [[]],
                        "kwargs": {},
                    },
                }
            ).encode(),
            headers={"Content-Type": "application/json"},
        )
        self.assertIn("error", response.json())
        response = self.url_open(f"/web/content/{self.secret.id}?download=true")
        self.assertNotEqual(response.content, SECRET)
        response = self.url_open(
            "/whatsapp/webhook?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1"
        )
        self.assertEqual(response.status_code, 403)
        response = self.url_open(
            "/whatsapp/webhook",
            data=b"{}",
            headers={"Content-Type": "application/json"},
        )
        self.assertNotEqual(response.status_code, 200)

    def test_30_salesperson_of_another_number(self):
        eve = self.eve
        self.assertFalse(self.env["whatsapp.conversation"].with_user(eve).search([]))
        self.assertFalse(
            self.env["whatsapp.template"]
            .with_user(eve)
            .search([("account_id", "=", self.account.id)])
        )
        self.assertFalse(
            self.env["whatsapp.template.variable"]
            .with_user(eve)
            .search([("template_id.account_id", "=", self.account.id)])
        )
        with self.assertRaises(AccessError):
            self.template.with_user(eve).read(["body"])
        with self.assertRaises(UserError):
            self.env["whatsapp.template.send"].with_user(eve).create(
                {"conversation_id": self.ana_chat.id, "template_id": self.template.id}
            ).action_send()
        # her own number is hers: opening a partner starts a chat there
        action = self.ana_chat.partner_id.with_user(eve).action_open_whatsapp()
        chat = self.env["whatsapp.conversation"].browse(action["res_id"])
        self.assertEqual(chat.account_id, self.account2)
        self.assertFalse(self.queued(self.ana_chat))

    def test_31_multi_company(self):
        company2 = self.env["res.company"].create({"name": "Probe Co 2"})
        account = self.env["whatsapp.account"].create(
            {
                "name": "Co2",
                "mode": "cloud",
                "company_id": company2.id,
                "phone_number_id": "555000111222",
                "access_token": "test-access-token",
                "app_secret": "test-app-secret",
                "graph_base_url": self.graph_server.url,
                "user_ids": [(6, 0, (self.ana | self.admin).ids)],
            }
        )
        msg = self.deliver(self.message("32470700099", body="co2"), account=account)
        chat = msg.conversation_id
        self.assertEqual(chat.company_id, company2)
        for user in (self.ana, self.admin):
            self.assertNotIn(
                chat, self.env["whatsapp.conversation"].with_user(user).search([])
            )
            with self.assertRaises(AccessError):
                chat.with_user(user).read(["name"])
            self.assertFalse(
                self.env["whatsapp.message"]
                .with_user(user)
                .search([("id", "=", msg.id)])
            )
        wizard = (
            self.env["whatsapp.template.mass.send"]
            .with_user(self.ana)
            .create(
                {
                    "res_model": "res.partner",
                    "res_ids": chat.partner_id.ids,
                    "account_id": account.id,
                    "template_id": self.template.id,
                }
            )
        )
        with self.assertRaises(AccessError):
            wizard.action_send()

    def test_32_who_sets_up_sending_automations(self):
        for user in (self.admin, self.leader, self.ana):
            _res, fault = self.try_rpc(
                user,
                "ir.actions.server",
                "create",
                [
                    {
                        "name": "x",
                        "model_id": self.env.ref("crm.model_crm_lead").id,
                        "state": "whatsapp",
                        "whatsapp_account_id": self.account.id,
                        "whatsapp_template_id": self.template.id,
                    }
                ],
            )
            self.assertTrue(fault, user.login)

    def test_33_sending_a_file_she_cannot_read(self):
        self.ana_chat.with_user(self.ana).action_create_lead()
        _res, fault = self.try_rpc(
            self.ana,
            "whatsapp.conversation",
            "message_post",
            [[self.ana_chat.id]],
            {
                "body": "see",
                "message_type": "comment",
                "subtype_xmlid": "mail.mt_comment",
                "attachment_ids": self.secret.ids,
            },
        )
        self.assertTrue(fault)
        self.assertFalse(
            self.queued(self.ana_chat).filtered(
                lambda m: m.attachment_ids & self.secret
            )
        )
        self.assertFalse(self.readable_secret_copies(self.ana))

    def test_34_admin_buttons_and_webhook_events(self):
        event = self.env["whatsapp.webhook.event"].search([], limit=1)
        self.assertTrue(event)
        for user in (self.ana, self.leader, self.employee):
            for model, method, args in (
                ("whatsapp.account", "action_sync_templates", [self.account.ids]),
                (
                    "whatsapp.account",
                    "action_regenerate_verify_token",
                    [self.account.ids],
                ),
                ("whatsapp.account", "action_simulate_message", [self.account.ids]),
                ("whatsapp.webhook.event", "action_process", [event.ids]),
                ("whatsapp.webhook.event", "read", [event.ids, ["payload"]]),
                ("whatsapp.template", "action_submit", [self.template.ids]),
                ("whatsapp.template", "write", [self.template.ids, {"body": "x"}]),
                ("whatsapp.account", "read", [self.account.ids, ["access_token"]]),
                (
                    "whatsapp.account",
                    "write",
                    [self.account.ids, {"user_ids": [(4, user.id)]}],
                ),
            ):
                _res, fault = self.try_rpc(user, model, method, args)
                self.assertTrue(fault, f"{user.login} {model}.{method}")
        _res, fault = self.try_rpc(
            self.ana, "whatsapp.label", "create", [{"name": "L"}]
        )
        self.assertTrue(fault)

    def test_35_mass_mail_composer_on_a_chat_she_cannot_read(self):
        """Odoo's e-mail composer (mass mode) on a chat: who may e-mail its
        customer, and what the rendered body reveals."""
        self.dan_chat.partner_id.email = "dan.customer@example.com"
        before = self.dan_chat.message_ids
        report = []
        for user, body in (
            (self.employee, "<p>EMP42 static</p>"),
            (self.ana, "<p>ANA42 static</p>"),
            (self.ana, '<p>DYN42 <t t-out="object.phone"/></p>'),
        ):
            res, fault = self.try_rpc(
                user,
                "mail.compose.message",
                "create",
                [
                    {
                        "model": "whatsapp.conversation",
                        "res_ids": repr(self.dan_chat.ids),
                        "composition_mode": "mass_mail",
                        "subject": "Offer",
                        "body": body,
                        "partner_ids": [(6, 0, user.partner_id.ids)],
                    }
                ],
            )
            if not fault:
                _r, fault = self.try_rpc(
                    user, "mail.compose.message", "action_send_mail", [[res]]
                )
            report.append(
                (
                    user.login,
                    body[:12],
                    bool(fault),
                    fault and fault.faultString.strip().splitlines()[-1][:100],
                )
            )
        _logger.warning("composer attempts: %s", report)
        mails = (
            self.env["mail.mail"]
            .sudo()
            .search(
                [
                    "|",
                    "|",
                    ("body_html", "ilike", "EMP42"),
                    ("body_html", "ilike", "ANA42"),
                    ("body_html", "ilike", "DYN42"),
                ]
            )
        )
        self.assertFalse(
            mails,
            f"mails: {[(m.body_html, m.recipient_ids.mapped('email')) for m in mails]} "
            f"new messages in Dan's chat: "
            f"{(self.dan_chat.message_ids - before).mapped('message_type')} "
            f"attempts: {report}",
        )

    def test_36_colleague_of_the_same_team(self):
        chat = [self.ana_chat.id]
        for user in (self.ben, self.cleo):
            for method, args, kw in (
                ("read", [chat, ["name"]], {}),
                ("write", [chat, {"user_id": user.id}], {}),
                ("write", [chat, {"state": "done"}], {}),
                ("action_claim", [chat], {}),
                (
                    "message_post",
                    [chat],
                    {
                        "body": "x",
                        "message_type": "comment",
                        "subtype_xmlid": "mail.mt_comment",
                    },
                ),
                (
                    "message_post",
                    [chat],
                    {
                        "body": "x",
                        "message_type": "comment",
                        "subtype_xmlid": "mail.mt_note",
                    },
                ),
                ("message_subscribe", [chat], {"partner_ids": user.partner_id.ids}),
            ):
                result, fault = self.try_rpc(
                    user, "whatsapp.conversation", method, args, kw
                )
                self.assertTrue(fault or not result, f"{user.login} {method}")
            res, fault = self.try_rpc(
                user,
                "whatsapp.transfer",
                "create",
                [{"conversation_id": self.ana_chat.id, "user_id": user.id}],
            )
            if not fault:
                _r, fault = self.try_rpc(
                    user, "whatsapp.transfer", "action_transfer", [[res]]
                )
            self.assertTrue(fault)
        self.assertEqual(self.ana_chat.user_id, self.ana)
        self.assertEqual(self.ana_chat.state, "open")
        self.assertNotIn(self.ben.partner_id, self.ana_chat.message_partner_ids)
        self.assertFalse(self.queued(self.ana_chat))

    def test_37_forged_inbound_context_cannot_copy_an_unreadable_file(self):
        """Ana links any attachment id to a 'customer message' of her own
        chat; the lead copy made as superuser is hers to read."""
        self.ana_chat.with_user(self.ana).action_create_lead()
        lead = self.ana_chat.lead_id
        self.assertEqual(lead.user_id, self.ana)
        with self.assertRaises(AccessError):
            self.secret.with_user(self.ana).read(["raw"])
        self.try_rpc(
            self.ana,
            "whatsapp.conversation",
            "message_post",
            [[self.ana_chat.id]],
            {
                "body": "here",
                "message_type": "comment",
                "subtype_xmlid": "mail.mt_comment",
                "attachment_ids": self.secret.ids,
                "context": {"whatsapp_inbound": True},
            },
        )
        self.assertFalse(
            self.readable_secret_copies(self.ana),
            "Ana reads a copy of a file of Dan's chat on her lead",
        )

    def test_38_mentions_and_recipients_never_email_the_customer(self):
        customer = self.ana_chat.partner_id
        customer.email = "ana.customer@example.com"
        for subtype in ("mail.mt_note", "mail.mt_comment"):
            _res, error = self.try_json(
                self.ana,
                "/mail/message/post",
                {
                    "thread_model": "whatsapp.conversation",
                    "thread_id": self.ana_chat.id,
                    "post_data": {
                        "body": f"RCPT42 {subtype}",
                        "message_type": "comment",
                        "subtype_xmlid": subtype,
                        "partner_ids": (customer | self.employee.partner_id).ids,
                    },
                },
            )
            self.assertFalse(error)
        mails = self.env["mail.mail"].sudo().search([("body_html", "ilike", "RCPT42")])
        self.assertFalse(mails.recipient_ids)
        self.assertFalse(
            self.env["mail.notification"].search(
                [("res_partner_id", "=", self.employee.partner_id.id)]
            )
        )

    def test_39_crm_user_without_whatsapp_moves_no_chat_through_its_lead(self):
        lead = self.env["crm.lead"].create(
            {"name": "Free", "partner_id": self.free_chat.partner_id.id}
        )
        self.free_chat.sudo().lead_id = lead
        for user in (self.salesman, self.crm_boss):
            self.try_rpc(
                user,
                "crm.lead",
                "write",
                [lead.ids, {"user_id": user.id, "team_id": self.other_team.id}],
            )
        self.assertEqual(lead.user_id, self.crm_boss)
        self.assertFalse(self.free_chat.user_id)
        self.assertEqual(self.free_chat.team_id, self.team)

    def test_40_a_message_never_points_at_another_records_line(self):
        """A customer's edit or deletion rewrites a message's chat line and
        lead copy and removes its files, as superuser: a WhatsApp
        administrator cannot point a message at another record's line or
        file, over RPC or in code run as them."""
        message = self.ana_chat.message_ids[:1]
        other_line = self.env["mail.message"].create(
            {"model": "res.partner", "res_id": self.employee.partner_id.id, "body": "x"}
        )
        secret = self.env["ir.attachment"].create({"name": "hr.pdf", "raw": b"pay"})
        stored = self.env["whatsapp.message"].search(
            [("conversation_id", "=", self.ana_chat.id)], limit=1
        )
        self.assertTrue(message and stored)
        before = stored.read(["mail_message_id", "lead_message_id", "attachment_ids"])
        for field, value in (
            ("mail_message_id", other_line.id),
            ("lead_message_id", other_line.id),
            ("attachment_ids", [(4, secret.id)]),
        ):
            _result, fault = self.try_rpc(
                self.admin, "whatsapp.message", "write", [stored.ids, {field: value}]
            )
            self.assertTrue(fault, field)
            _result, fault = self.try_rpc(
                self.admin,
                "whatsapp.message",
                "create",
                [
                    {
                        "conversation_id": self.ana_chat.id,
                        "wa_message_id": f"wamid.forged.{field}",
                        "direction": "in",
                        field: value,
                    }
                ],
            )
            self.assertTrue(fault, field)
            with self.assertRaises(AccessError):
                stored.with_user(self.admin).write({field: value})
        self.assertEqual(
            stored.read(["mail_message_id", "lead_message_id", "attachment_ids"]),
            before,
        )
        # what an administrator may change, they still change
        stored.with_user(self.admin).write({"error_message": "checked"})
        # the same for a call's lines, rewritten as superuser at its next event
        call = self.env["whatsapp.call"].create(
            {
                "conversation_id": self.ana_chat.id,
                "wa_call_id": "wacid.PROBE40",
                "direction": "in",
                "state": "missed",
            }
        )
        for field in ("mail_message_id", "lead_message_id"):
            _result, fault = self.try_rpc(
                self.admin, "whatsapp.call", "write", [call.ids, {field: other_line.id}]
            )
            self.assertTrue(fault, field)
        self.assertFalse(call.mail_message_id | call.lead_message_id)
