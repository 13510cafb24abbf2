from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools import phone as phone_tools


class ResPartner(models.Model):
    _inherit = "res.partner"

    # Canonical digits of each number (see tools/phone.py), stored and indexed
    # so that an incoming WhatsApp id finds its partner with one index lookup
    # instead of scanning every number with ilike.
    whatsapp_phone_key = fields.Char(
        compute="_compute_whatsapp_keys", store=True, index="btree_not_null"
    )
    whatsapp_mobile_key = fields.Char(
        compute="_compute_whatsapp_keys", store=True, index="btree_not_null"
    )
    whatsapp_conversation_ids = fields.One2many(
        "whatsapp.conversation",
        "partner_id",
        string="WhatsApp Chats",
        groups="whatsapp_team.group_whatsapp_user",
    )
    whatsapp_conversation_count = fields.Integer(
        compute="_compute_whatsapp_conversation_count",
        groups="whatsapp_team.group_whatsapp_user",
    )

    @api.depends("phone", "mobile", "country_id")
    def _compute_whatsapp_keys(self):
        default_region = self.env.company.country_id.code or None
        for partner in self:
            region = partner.country_id.code or default_region
            partner.whatsapp_phone_key = phone_tools.match_key(partner.phone, region)
            partner.whatsapp_mobile_key = phone_tools.match_key(partner.mobile, region)

    def _compute_whatsapp_conversation_count(self):
        counts = dict(
            self.env["whatsapp.conversation"]._read_group(
                [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]
            )
        )
        for partner in self:
            partner.whatsapp_conversation_count = counts.get(partner, 0)

    whatsapp_message_ids = fields.One2many(
        "whatsapp.message",
        compute="_compute_whatsapp_message_ids",
        string="WhatsApp History",
        groups="whatsapp_team.group_whatsapp_user",
    )

    def _compute_whatsapp_message_ids(self):
        # the latest 200, read as a chat: oldest first
        for partner in self:
            partner.whatsapp_message_ids = self.env["whatsapp.message"].search(
                [("conversation_id.partner_id", "=", partner.id)],
                order="wa_timestamp desc, id desc",
                limit=200,
            )[::-1]

    def action_open_whatsapp(self):
        """Open the WhatsApp chat with this partner, starting it if needed.

        With several numbers the salesperson may use, they choose one first.
        """
        self.ensure_one()
        accounts = self.env["whatsapp.account"].search([])
        if not accounts:
            raise UserError(
                _(
                    "You may not use any WhatsApp number yet: ask an administrator "
                    "to add you to one."
                )
            )
        if len(accounts) > 1:
            return {
                "type": "ir.actions.act_window",
                "name": _("Chat on WhatsApp from…"),
                "res_model": "whatsapp.open.chat",
                "view_mode": "form",
                "target": "new",
                "context": {"default_partner_id": self.id},
            }
        return self._whatsapp_open_on(accounts)

    def _whatsapp_open_on(self, account):
        self.ensure_one()
        account.check_access("read")
        conversation = self.env["whatsapp.conversation"]._get_or_create_for_partner(
            account, self
        )
        if not conversation.has_access("read"):
            conversation_sudo = conversation.sudo()
            raise UserError(
                _(
                    "The chat with %(customer)s on %(number)s is handled by "
                    "%(user)s: ask them or a manager to pass it on to you.",
                    customer=self.display_name,
                    number=account.name,
                    user=conversation_sudo.user_id.name
                    or conversation_sudo.team_id.name
                    or _("another team"),
                )
            )
        return {
            "type": "ir.actions.act_window",
            "res_model": "whatsapp.conversation",
            "res_id": conversation.id,
            "view_mode": "form",
            "target": "current",
        }

    def action_send_whatsapp_template(self):
        """Send a template to this customer, its variables read from here."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Send a WhatsApp template"),
            "res_model": "whatsapp.template.send",
            "view_mode": "form",
            "target": "new",
            "context": {"default_res_model": self._name, "default_res_id": self.id},
        }

    def action_whatsapp_button(self):
        """The smart button: every chat with this customer, across all
        numbers; with none yet, start one."""
        self.ensure_one()
        if not self.whatsapp_conversation_count:
            return self.action_open_whatsapp()
        return self.action_view_whatsapp_conversations()

    def action_view_whatsapp_conversations(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "whatsapp_team.whatsapp_conversation_action"
        )
        action["domain"] = [("partner_id", "=", self.id)]
        return action

    @api.model
    def _whatsapp_find_by_key(self, key, account):
        """Return the one partner a WhatsApp number belongs to, or an empty set.

        Several partners may carry the same number. The choice is
        deterministic: a partner already chatting on this WhatsApp number,
        then one chatting on another of our numbers, then a person rather than
        a company, then the oldest record. Partners of internal users are
        never matched. Searched among all partners, as superuser; returned
        in the caller's environment.
        """
        if not key:
            return self.browse()
        candidates_sudo = self.sudo().browse(self._whatsapp_partner_ids(key, account))
        if len(candidates_sudo) <= 1:
            return candidates_sudo.with_env(self.env)
        linked = (
            self.env["whatsapp.conversation"]
            .sudo()
            ._read_group(
                [("partner_id", "in", candidates_sudo.ids)],
                ["partner_id", "account_id"],
            )
        )
        on_this_number = {p.id for p, a in linked if a == account}
        on_any_number = {p.id for p, _a in linked}

        def rank(partner):
            return (
                partner.id not in on_this_number,
                partner.id not in on_any_number,
                bool(partner.is_company),
                partner.id,
            )

        return min(candidates_sudo, key=rank).with_env(self.env)

    @api.model
    def _whatsapp_partner_ids(self, key, account):
        """Ids of the partners whose phone or mobile has match ``key``, by
        id: active, of ``account``'s company or shared, and none a colleague
        (the partner of an active internal user).

        One SQL statement on the two key indexes: the ORM's search builds
        the same query with more than a millisecond of Python around it, as
        much as the lookup itself among a million partners (see
        ``benchmarks/partner_matching.py``).
        """
        self.env["res.partner"].flush_model(
            ["whatsapp_phone_key", "whatsapp_mobile_key", "active", "company_id"]
        )
        self.env["res.users"].flush_model(["partner_id", "active", "share"])
        self.env.cr.execute(
            SQL(
                """
                SELECT p.id FROM res_partner p
                 WHERE (p.whatsapp_phone_key = %(key)s
                        OR p.whatsapp_mobile_key = %(key)s)
                   AND p.active
                   AND (p.company_id IS NULL OR p.company_id = %(company)s)
                   AND NOT EXISTS (
                       SELECT 1 FROM res_users u
                        WHERE u.partner_id = p.id AND u.active
                          AND u.share IS NOT TRUE)
                 ORDER BY p.id
                """,
                key=key,
                company=account.company_id.id or None,
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]
