from odoo import api, fields, models


class WhatsappLabelAssign(models.TransientModel):
    """Add or remove labels on many chats at once (list action)."""

    _name = "whatsapp.label.assign"
    _description = "Label WhatsApp chats"

    conversation_ids = fields.Many2many("whatsapp.conversation", required=True)
    label_ids = fields.Many2many("whatsapp.label", string="Labels", required=True)
    mode = fields.Selection(
        [("add", "Add these labels"), ("remove", "Remove these labels")],
        default="add",
        required=True,
    )

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if self.env.context.get("active_model") == "whatsapp.conversation":
            values["conversation_ids"] = [
                (6, 0, self.env.context.get("active_ids", []))
            ]
        return values

    def action_apply(self):
        self.ensure_one()
        command = 4 if self.mode == "add" else 3
        # one write per chat: each keeps its lead's tags in step
        for conversation in self.conversation_ids:
            conversation.write(
                {"label_ids": [(command, label.id) for label in self.label_ids]}
            )
        return {"type": "ir.actions.act_window_close"}
