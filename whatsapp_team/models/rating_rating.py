from odoo import api, fields, models

from odoo.addons.rating.models import rating_data

CHAT_MODEL = "whatsapp.conversation"


class RatingRating(models.Model):
    """A rating of a WhatsApp chat knows its chat: the record rules read
    the chat's, and reports group ratings by the chat's labels."""

    _inherit = "rating.rating"

    whatsapp_conversation_id = fields.Many2one(
        "whatsapp.conversation",
        string="WhatsApp Chat",
        compute="_compute_whatsapp_conversation_id",
        store=True,
        index="btree_not_null",
        ondelete="cascade",
    )
    whatsapp_label_ids = fields.Many2many(
        "whatsapp.label",
        "rating_rating_whatsapp_label_rel",
        "rating_id",
        "label_id",
        string="Chat Labels",
        compute="_compute_whatsapp_label_ids",
        store=True,
    )
    whatsapp_happy = fields.Float(
        "Happy Customers (%)",
        compute="_compute_whatsapp_happy",
        store=True,
        aggregator="avg",
        help="100 for a happy customer, 0 otherwise: its average is the share "
        "of happy customers.",
    )

    def write(self, vals):
        result = super().write(vals)
        if not self.env.su:
            # Odoo checks the rules on a rating as it was: one moved onto a
            # chat (its document changed) is checked as it is now, and no
            # rule lets anyone write a chat's rating
            self.filtered("whatsapp_conversation_id").check_access("write")
        return result

    @api.depends("res_model", "res_id")
    def _compute_whatsapp_conversation_id(self):
        for rating in self:
            rating.whatsapp_conversation_id = (
                rating.res_id if rating.res_model == CHAT_MODEL else False
            )

    @api.depends("whatsapp_conversation_id.label_ids")
    def _compute_whatsapp_label_ids(self):
        for rating in self:
            rating.whatsapp_label_ids = rating.whatsapp_conversation_id.label_ids

    @api.depends("rating", "consumed", "whatsapp_conversation_id")
    def _compute_whatsapp_happy(self):
        for rating in self:
            rating.whatsapp_happy = (
                100.0 * (rating.rating >= rating_data.RATING_LIMIT_SATISFIED)
                if rating.whatsapp_conversation_id and rating.consumed
                else 0.0
            )
