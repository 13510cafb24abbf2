from odoo import api, fields, models


class WhatsappMessage(models.Model):
    """Messages move the chat's figures as they are stored (see
    ``whatsapp_conversation_figures.py``)."""

    _inherit = "whatsapp.message"  # pylint: disable=consider-merging-classes-inherited

    written_at = fields.Datetime(
        readonly=True,
        help="When the message was written in Odoo (queued): the moment of an "
        "answer in the response times, whenever WhatsApp took it.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        now = fields.Datetime.now()
        for vals in vals_list:
            vals.setdefault("written_at", now)
        return super().create(vals_list)

    @api.model
    def _queue_outbound(self, conversation, mail_message, values_list):
        messages = super()._queue_outbound(conversation, mail_message, values_list)
        conversation.sudo()._figures_on_message(messages.sudo())
        return messages
