from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools import satisfaction


class CrmTeam(models.Model):
    """Whether and how a sales team asks its WhatsApp customers how a chat
    went, once the chat is done."""

    _inherit = "crm.team"  # pylint: disable=consider-merging-classes-inherited

    whatsapp_rating_enabled = fields.Boolean(
        "Ask How It Went",
        help="When a chat is marked done, the customer is asked to rate it "
        "with one tap; the answer is a rating of the chat's salesperson.",
    )
    whatsapp_rating_question = fields.Char(
        "Question",
        translate=True,
        default=lambda self: self._whatsapp_rating_question(),
        help="Sent with three buttons (Great, OK, Bad) while the customer's "
        "24-hour window is open.",
    )
    whatsapp_rating_delay = fields.Integer(
        "Ask After (minutes)",
        default=30,
        help="Time between the chat being marked done and the question. "
        "Reopening the chat before that cancels it.",
    )
    whatsapp_rating_template_id = fields.Many2one(
        "whatsapp.template",
        string="Template When the Window Is Closed",
        domain=[("status", "=", "approved"), ("category", "=", "utility")],
        help="An approved utility template whose quick reply buttons are the "
        "answers, happiest first (two or three buttons). Without one, a "
        "customer whose 24-hour window has closed is not asked.",
    )

    @api.constrains("whatsapp_rating_template_id", "whatsapp_rating_delay")
    def _check_whatsapp_rating(self):
        for team in self:
            if team.whatsapp_rating_delay < 0:
                raise ValidationError(_("The survey cannot be sent before the end."))
            template = team.whatsapp_rating_template_id
            texts = team._whatsapp_rating_answers()
            if template and len(texts) not in satisfaction.VALUES_BY_COUNT:
                raise ValidationError(
                    _(
                        "The template %(template)s cannot ask how it went: it "
                        "needs two or three quick reply buttons, the happiest "
                        "answer first.",
                        template=template.display_name,
                    )
                )

    def _whatsapp_rating_answers(self):
        """The texts of the quick reply buttons of the team's survey
        template, in their order: the happiest answer first."""
        self.ensure_one()
        buttons = self.whatsapp_rating_template_id.sudo().button_ids
        return buttons.filtered(lambda b: b.button_type == "quick_reply").mapped("text")

    def _whatsapp_rating_question(self):
        """The team's survey question, or the usual one."""
        return self[:1].whatsapp_rating_question or self.env._(
            "How did we do? One tap tells us."
        )
