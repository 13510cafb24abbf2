from odoo import fields, models

from ..tools import satisfaction


# one concern of the model per file, as the conversation's
class WhatsappMessage(models.Model):
    """Satisfaction surveys and the customer's answers to them."""

    _inherit = "whatsapp.message"  # pylint: disable=consider-merging-classes-inherited

    rating_id = fields.Many2one(
        "rating.rating",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        help="The rating this survey asks for, or this answer gave.",
    )

    def _rating_answer(self):
        """``(rating, value)`` when this customer message answers a survey:
        a tap on its buttons, or on its template's quick reply buttons;
        ``(empty rating, None)`` for any other message."""
        self.ensure_one()
        nothing = (self.env["rating.rating"], None)
        if self.direction != "in":
            return nothing
        survey = self.reply_to_id if self.reply_to_id.rating_id else self.browse()
        if self.message_type == "interactive":
            code = self._interactive_reply_code()
            value = satisfaction.value_of_code(code)
            if value is None:
                return nothing
            # WhatsApp says which message a tap answers; without it, the
            # chat's last survey is the one answered
            if not self.reply_to_id:
                survey = self._last_survey()
            if not survey.interactive_option_ids.filtered(lambda o: o.code == code):
                return nothing
            return survey.rating_id, value
        if self.message_type == "button" and survey.template_id:
            buttons = survey.template_id.sudo().button_ids.filtered(
                lambda b: b.button_type == "quick_reply"
            )
            value = satisfaction.value_of_button(
                buttons.mapped("text"), [self.button_payload, self.button_text]
            )
            if value is not None:
                return survey.rating_id, value
        return nothing

    def _last_survey(self):
        self.ensure_one()
        return self.sudo().search(
            [
                ("conversation_id", "=", self.conversation_id.id),
                ("direction", "=", "out"),
                ("rating_id", "!=", False),
            ],
            order="id desc",
            limit=1,
        )

    def _announce_to_team(self):
        # a survey's answer is a rating, not a question: nobody is called
        if (
            self.direction == "in"
            and self.mail_message_id
            and self.rating_id.message_id == self.mail_message_id
        ):
            return
        super()._announce_to_team()
