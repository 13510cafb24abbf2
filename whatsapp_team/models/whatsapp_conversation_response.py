from odoo import fields, models


class WhatsappConversationResponse(models.Model):
    """One turn of a chat: a customer waiting for an answer, and the answer.

    A turn starts with the first customer message nobody answered yet and
    ends with the next answer of the business: a salesperson's message from
    Odoo (a text, a template, buttons) or one the business sent from the
    WhatsApp Business app on a shared number. Automatic replies (greeting,
    away message, bots run by the system) answer nobody: the customer still
    waits for a person. The first turn of each opening of the chat (a first
    message, or one after the chat was done) gives its first response time
    and carries the opening's resolution.

    Written by the addon only (``whatsapp_conversation_figures.py``), as
    messages are stored; read by managers through the reports."""

    _name = "whatsapp.conversation.response"
    _description = "WhatsApp Response"
    _order = "asked_at desc, id desc"
    _rec_name = "conversation_id"

    conversation_id = fields.Many2one(
        "whatsapp.conversation", required=True, index=True, ondelete="cascade"
    )
    account_id = fields.Many2one(
        "whatsapp.account", string="WhatsApp Number", readonly=True, index=True
    )
    company_id = fields.Many2one("res.company", readonly=True, index=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    user_id = fields.Many2one(
        "res.users",
        string="Salesperson",
        readonly=True,
        help="Who answered; when the WhatsApp Business app answered, or "
        "nobody yet, the chat's salesperson.",
    )
    asked_at = fields.Datetime(
        "Customer Wrote", required=True, readonly=True, index=True
    )
    answered_at = fields.Datetime("Answered", readonly=True)
    answered_by_id = fields.Many2one("res.users", readonly=True)
    answer_source = fields.Selection(
        [("person", "A salesperson in Odoo"), ("app", "The WhatsApp Business app")],
        readonly=True,
    )
    opening_at = fields.Datetime(
        "Chat Opened", readonly=True, help="Start of the opening this turn is in."
    )
    is_first = fields.Boolean("First Response", readonly=True)
    wall_seconds = fields.Integer("Response Time (s)", readonly=True)
    work_seconds = fields.Integer("Response Time in Working Hours (s)", readonly=True)
    target_seconds = fields.Integer("Target (s)", readonly=True)
    within_target = fields.Boolean(readonly=True)
    breached = fields.Boolean(
        "Target Missed",
        readonly=True,
        help="Answered after the team's target, or escalated as late.",
    )
    resolved_at = fields.Datetime("Done", readonly=True)
    resolution_seconds = fields.Integer("Resolution Time (s)", readonly=True)
    resolution_work_seconds = fields.Integer(
        "Resolution Time in Working Hours (s)", readonly=True
    )

    def _answer(self, when, answerer, source):
        """Close this open turn with an answer at ``when``."""
        self.ensure_one()
        chat = self.conversation_id
        calendar = chat.team_id.whatsapp_calendar_id
        work = calendar._whatsapp_work_seconds(self.asked_at, when)
        target = chat._target_seconds()
        within = work <= target
        values = {
            "answered_at": when,
            "answered_by_id": answerer.id,
            "answer_source": source,
            "user_id": answerer.id or chat.user_id.id,
            "team_id": chat.team_id.id,
            "wall_seconds": int((when - self.asked_at).total_seconds()),
            "work_seconds": work,
            "target_seconds": target,
            "within_target": within,
        }
        if not within:
            values["breached"] = True
        self.write(values)
