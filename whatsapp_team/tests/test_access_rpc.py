"""Access over RPC: paths that must refuse what the screens do not offer.

Each test asserts what the product promises (docs/access.md) and was seen
failing before its fix, when it has one.
"""

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .test_access_side_doors import ProbeCase, rpc_kw


@tagged("post_install", "-at_install", "whatsapp_security")
class TestAccessRpc(ProbeCase):
    # ------------------------------------------------------------------
    # ratings: "written by nobody but the customer's answer"
    # ------------------------------------------------------------------

    def test_a_rating_of_another_record_is_not_moved_onto_a_chat(self):
        """Odoo lets every employee create and write ratings; the addon's
        rules refuse them on a chat's rating. Odoo checks record rules on a
        rating as it is before a write, not after: a rating of another
        record, moved onto a chat, becomes a customer's rating of that chat
        (the dashboard's satisfaction, the inbox's, the chat's last rating)."""
        chat_model = self.env["ir.model"]._get_id("whatsapp.conversation")
        partner_model = self.env["ir.model"]._get_id("res.partner")
        for user in (self.employee, self.ana):
            rating_id, fault = self.try_rpc(
                user,
                "rating.rating",
                "create",
                [{"res_model_id": partner_model, "res_id": user.partner_id.id}],
            )
            self.assertFalse(fault, f"{user.login} rates a contact")
            _res, fault = self.try_rpc(
                user,
                "rating.rating",
                "write",
                [
                    [rating_id],
                    {
                        "res_model_id": chat_model,
                        "res_id": self.dan_chat.id,
                        "rating": 1,
                        "consumed": True,
                        "feedback": f"FORGED by {user.login}",
                        "rated_partner_id": self.dan.partner_id.id,
                    },
                ],
            )
            self.assertTrue(fault, f"{user.login} moves a rating onto Dan's chat")
        forged = self.env["rating.rating"].search(
            [
                ("res_model", "=", "whatsapp.conversation"),
                ("res_id", "=", self.dan_chat.id),
            ]
        )
        self.assertFalse(forged, f"ratings of Dan's chat: {forged.mapped('feedback')}")

    # ------------------------------------------------------------------
    # fields of a chat only the addon writes
    # ------------------------------------------------------------------

    def test_the_chats_last_call_is_kept_by_whatsapp(self):
        """The inbox's preview shows the chat's latest call (its direction,
        state and length) read as superuser: a salesperson pointing her own
        chat at a call of Dan's chat reads that call in her inbox."""
        call = self.env["whatsapp.call"].create(
            {
                "conversation_id": self.dan_chat.id,
                "wa_call_id": "wacid.PROBE_LAST_CALL",
                "direction": "in",
                "state": "missed",
            }
        )
        with self.assertRaises(AccessError):
            call.with_user(self.ana).read(["state"])
        _res, fault = self.try_rpc(
            self.ana,
            "whatsapp.conversation",
            "write",
            [self.ana_chat.ids, {"last_call_id": call.id}],
        )
        self.assertTrue(fault, "Ana writes her chat's last call")
        self.assertNotEqual(self.ana_chat.last_call_id, call)

    # ------------------------------------------------------------------
    # what the customer wrote, and what went out, stays as it was
    # ------------------------------------------------------------------

    def test_the_chat_lines_of_whatsapp_messages_are_not_rewritten_over_rpc(self):
        """The chatter refuses to edit or delete a message that came in from
        the customer or went out on WhatsApp (``_check_can_update_message_
        content``): the customer's phone keeps it as it was. ``mail.message``
        ``write`` and ``unlink`` over RPC do not ask it: Odoo lets whoever may
        write the document change or delete any of its messages."""
        inbound = self.env["whatsapp.message"].search(
            [("conversation_id", "=", self.ana_chat.id), ("direction", "=", "in")],
            limit=1,
        )
        line = inbound.mail_message_id
        self.assertTrue(line)
        body = line.body
        _res, fault = self.try_rpc(
            self.ana,
            "mail.message",
            "write",
            [line.ids, {"body": "<p>FORGED: I accept the 10,000 EUR offer</p>"}],
        )
        self.assertTrue(fault, "Ana rewrites the customer's words in her chat")
        _res, fault = self.try_rpc(self.ana, "mail.message", "unlink", [line.ids])
        self.assertTrue(fault, "Ana deletes the customer's message from her chat")
        self.assertTrue(line.exists())
        self.assertEqual(line.body, body)
        # her own answer, gone out on WhatsApp
        sent_id = rpc_kw(
            self,
            self.ana,
            "whatsapp.conversation",
            "message_post",
            [self.ana_chat.ids],
            {
                "body": "Our price is 100 EUR",
                "message_type": "comment",
                "subtype_xmlid": "mail.mt_comment",
            },
        )
        sent = self.env["mail.message"].browse(sent_id)
        self.assertTrue(self.queued(self.ana_chat))
        _res, fault = self.try_rpc(
            self.ana, "mail.message", "write", [sent.ids, {"body": "<p>Free</p>"}]
        )
        self.assertTrue(fault, "Ana rewrites what went out on WhatsApp")
        _res, fault = self.try_rpc(self.ana, "mail.message", "unlink", [sent.ids])
        self.assertTrue(fault, "Ana deletes what went out on WhatsApp")
        self.assertIn("100 EUR", sent.body)
        # her notes stay hers to change
        note_id = rpc_kw(
            self,
            self.ana,
            "whatsapp.conversation",
            "message_post",
            [self.ana_chat.ids],
            {
                "body": "call back",
                "message_type": "comment",
                "subtype_xmlid": "mail.mt_note",
            },
        )
        _res, fault = self.try_rpc(
            self.ana, "mail.message", "write", [[note_id], {"body": "<p>done</p>"}]
        )
        self.assertFalse(fault)

    # ------------------------------------------------------------------
    # a chat's customer: a contact the user may read
    # ------------------------------------------------------------------

    def test_a_chats_customer_is_a_contact_she_may_read(self):
        """The chat's name is its customer's, computed as superuser: a
        salesperson naming a contact of another company as her chat's
        customer reads its name on her chat (and its chatter's tracking)."""
        company2 = self.env["res.company"].create({"name": "Probe Co Hidden"})
        hidden = self.env["res.partner"].create(
            {
                "name": "Hidden Contact Of Company Two",
                "email": "hidden@co2.example.com",
                "mobile": "+32 470 71 99 99",
                "company_id": company2.id,
            }
        )
        with self.assertRaises(AccessError):
            hidden.with_user(self.ana).read(["name"])
        _res, fault = self.try_rpc(
            self.ana,
            "whatsapp.conversation",
            "write",
            [self.ana_chat.ids, {"partner_id": hidden.id}],
        )
        seen = rpc_kw(
            self,
            self.ana,
            "whatsapp.conversation",
            "read",
            [self.ana_chat.ids, ["name", "partner_id"]],
        )
        self.assertNotIn("Hidden Contact", str(seen), f"fault: {bool(fault)}")

    # ------------------------------------------------------------------
    # an employee without WhatsApp rights sees nothing of WhatsApp
    # ------------------------------------------------------------------

    def test_an_employee_reads_no_chat_counts_on_sales_team_members(self):
        """``crm.team.member`` is readable by every employee; its
        ``whatsapp_open_count`` counts the member's open chats as superuser,
        and when they were last given one is kept beside it. The team form
        shows them to WhatsApp managers only."""
        member = self.env["crm.team.member"].search(
            [("user_id", "=", self.dan.id), ("crm_team_id", "=", self.other_team.id)]
        )
        self.assertEqual(member.whatsapp_open_count, 1)
        for user in (self.employee, self.salesman):
            result, fault = self.try_rpc(
                user,
                "crm.team.member",
                "read",
                [
                    member.ids,
                    [
                        "whatsapp_open_count",
                        "whatsapp_last_assigned_at",
                        "whatsapp_turn",
                    ],
                ],
            )
            self.assertTrue(
                fault, f"{user.login} reads Dan's open WhatsApp chats: {result}"
            )
        # the team's manager still reads them
        result = rpc_kw(
            self,
            self.exlead,
            "crm.team.member",
            "read",
            [member.ids, ["whatsapp_open_count"]],
        )
        self.assertEqual(result[0]["whatsapp_open_count"], 1)

    # ------------------------------------------------------------------
    # the leads report and CRM's own rules
    # ------------------------------------------------------------------

    def test_the_leads_report_shows_no_lead_crm_hides(self):
        """The inbox leaves out a lead CRM hides from the caller
        (``_inbox_lead``); the leads report (an SQL view read under the
        chat's manager rule) gives its stage and revenue all the same. The
        leader of Showroom is a CRM salesperson (own leads only)."""
        lead = self.env["crm.lead"].create(
            {
                "name": "Ana's secret deal",
                "partner_id": self.ana_chat.partner_id.id,
                "user_id": self.ana.id,
                "team_id": self.team.id,
                "expected_revenue": 987654,
            }
        )
        self.ana_chat.sudo().lead_id = lead
        with self.assertRaises(AccessError):
            lead.with_user(self.leader).read(["expected_revenue"])
        self.assertFalse(self.ana_chat.with_user(self.leader).inbox_open()["lead"])
        self.env.flush_all()
        rows = rpc_kw(
            self,
            self.leader,
            "whatsapp.lead.report",
            "search_read",
            [[("conversation_id", "=", self.ana_chat.id)], ["expected_revenue"]],
        )
        self.assertNotIn(987654, [row["expected_revenue"] for row in rows], rows)
