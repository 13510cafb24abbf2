from odoo import fields, models

OPTION_KINDS = [("button", "Reply button"), ("row", "List row")]


class WhatsappMessageOption(models.Model):
    """A reply button or a list row of a message we sent: what the customer
    could tap, and the code their answer carries back."""

    _name = "whatsapp.message.option"
    _description = "WhatsApp Message Button or Row"
    _order = "sequence, id"
    _rec_name = "title"

    message_id = fields.Many2one(
        "whatsapp.message", required=True, index=True, ondelete="cascade"
    )
    sequence = fields.Integer(readonly=True)
    kind = fields.Selection(OPTION_KINDS, required=True, readonly=True)
    section = fields.Char(readonly=True, help="The list's section holding this row.")
    code = fields.Char(
        required=True,
        readonly=True,
        help="Sent to WhatsApp as the button's or row's id: the customer's "
        "answer carries it back.",
    )
    title = fields.Char(required=True, readonly=True)
    description = fields.Char(readonly=True)
