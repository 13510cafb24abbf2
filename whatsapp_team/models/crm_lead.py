from odoo import _, api, fields, models


class CrmLead(models.Model):
    _inherit = "crm.lead"

    whatsapp_message_ids = fields.One2many(
        "whatsapp.message",
        compute="_compute_whatsapp_message_ids",
        string="WhatsApp History",
        groups="whatsapp_team.group_whatsapp_user",
    )
    # the customer's chats the reader may see: related fields are read as
    # superuser unless told otherwise
    whatsapp_conversation_ids = fields.One2many(
        related="partner_id.whatsapp_conversation_ids",
        string="WhatsApp Chats",
        groups="whatsapp_team.group_whatsapp_user",
        compute_sudo=False,
    )
    whatsapp_conversation_count = fields.Integer(
        related="partner_id.whatsapp_conversation_count",
        groups="whatsapp_team.group_whatsapp_user",
        compute_sudo=False,
    )

    whatsapp_chat_ids = fields.One2many(
        "whatsapp.conversation",
        "lead_id",
        string="Linked WhatsApp Chats",
        groups="whatsapp_team.group_whatsapp_user",
    )

    def write(self, vals):
        """Tags and hands of a lead follow to its linked chats."""
        syncing = self.env.context.get("whatsapp_sync")
        tags_before = (
            {lead: lead.tag_ids for lead in self}
            if "tag_ids" in vals and not syncing
            else None
        )
        result = super().write(vals)
        if syncing:
            return result
        # the chats of a lead are found whoever edits it: its tags label
        # them whoever tags the lead; its hands are followed only as far as
        # that user may move each chat (see _follow_lead)
        if not self.sudo().whatsapp_chat_ids:
            return result
        for lead in self:
            chats_sudo = lead.sudo().whatsapp_chat_ids
            if tags_before is not None:
                added = lead.tag_ids - tags_before[lead]
                removed = tags_before[lead] - lead.tag_ids
                chats_sudo._apply_tag_changes(added, removed)
            if {"user_id", "team_id"} & set(vals):
                chats_sudo._follow_lead(lead, vals)
        return result

    @api.depends("partner_id")
    def _compute_whatsapp_message_ids(self):
        for lead in self:
            lead.whatsapp_message_ids = lead.partner_id.whatsapp_message_ids

    def action_open_whatsapp(self):
        """Chat with the lead's customer, creating the customer if needed."""
        self.ensure_one()
        if not self.partner_id:
            self._handle_partner_assignment(create_missing=True)
        return self.partner_id.action_open_whatsapp()

    def action_send_whatsapp_template(self):
        """Send a template to the lead's customer, its variables read from
        the lead (expected revenue, salesperson…)."""
        self.ensure_one()
        if not self.partner_id:
            self._handle_partner_assignment(create_missing=True)
        return {
            "type": "ir.actions.act_window",
            "name": _("Send a WhatsApp template"),
            "res_model": "whatsapp.template.send",
            "view_mode": "form",
            "target": "new",
            "context": {"default_res_model": self._name, "default_res_id": self.id},
        }

    def action_view_whatsapp_conversations(self):
        return self.partner_id.action_view_whatsapp_conversations()
