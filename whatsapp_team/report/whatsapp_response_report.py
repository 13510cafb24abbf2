from odoo import fields, models, tools
from odoo.tools import SQL


class WhatsappResponseReport(models.Model):
    """Response times, one line per turn of a chat (a customer waiting for
    an answer, see ``whatsapp.conversation.response``). The first turn of
    each opening of a chat stands for the chat received: counts of chats
    received, answered and done sum those lines.

    Averages only: a pivot cannot aggregate a median. The managers'
    dashboard gives medians and 90th percentiles
    (``whatsapp.reporting.dashboard``)."""

    _name = "whatsapp.response.report"
    _description = "WhatsApp Response Times"
    _auto = False
    _rec_name = "conversation_id"
    _order = "date desc"

    conversation_id = fields.Many2one("whatsapp.conversation", "Chat", readonly=True)
    partner_id = fields.Many2one("res.partner", "Customer", readonly=True)
    account_id = fields.Many2one("whatsapp.account", "WhatsApp Number", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    team_id = fields.Many2one("crm.team", "Sales Team", readonly=True)
    user_id = fields.Many2one("res.users", "Salesperson", readonly=True)
    label_ids = fields.Many2many(
        "whatsapp.label",
        "whatsapp_response_report_label_rel",
        "response_id",
        "label_id",
        string="Labels",
        readonly=True,
    )
    date = fields.Datetime("Customer Wrote", readonly=True)
    answered_at = fields.Datetime(readonly=True)
    opening_at = fields.Datetime("Chat Opened", readonly=True)
    answer_source = fields.Selection(
        [("person", "A salesperson in Odoo"), ("app", "The WhatsApp Business app")],
        readonly=True,
    )
    is_first = fields.Boolean("First Response", readonly=True)
    is_answered = fields.Boolean("Answered", readonly=True)
    is_breached = fields.Boolean("Target Missed", readonly=True)
    state = fields.Selection(
        [
            ("open", "Open"),
            ("pending", "Waiting for the customer"),
            ("snoozed", "Snoozed"),
            ("done", "Done"),
        ],
        "Chat Status Now",
        readonly=True,
    )
    # measures
    chat_count = fields.Integer("Chats Received", readonly=True, aggregator="sum")
    answered_chat_count = fields.Integer(
        "Chats Answered", readonly=True, aggregator="sum"
    )
    done_chat_count = fields.Integer("Chats Done", readonly=True, aggregator="sum")
    response_count = fields.Integer("Customer Turns", readonly=True, aggregator="sum")
    answered_count = fields.Integer("Answers", readonly=True, aggregator="sum")
    breach_count = fields.Integer("Targets Missed", readonly=True, aggregator="sum")
    within_target_percent = fields.Float(
        "Answered Within Target (%)",
        readonly=True,
        aggregator="avg",
        digits=(16, 1),
    )
    first_response_minutes = fields.Float(
        "First Response (min)", readonly=True, aggregator="avg", digits=(16, 1)
    )
    first_response_work_minutes = fields.Float(
        "First Response, Working Hours (min)",
        readonly=True,
        aggregator="avg",
        digits=(16, 1),
    )
    response_minutes = fields.Float(
        "Response (min)", readonly=True, aggregator="avg", digits=(16, 1)
    )
    response_work_minutes = fields.Float(
        "Response, Working Hours (min)",
        readonly=True,
        aggregator="avg",
        digits=(16, 1),
    )
    resolution_hours = fields.Float(
        "Resolution (h)", readonly=True, aggregator="avg", digits=(16, 2)
    )
    resolution_work_hours = fields.Float(
        "Resolution, Working Hours (h)",
        readonly=True,
        aggregator="avg",
        digits=(16, 2),
    )

    def _select(self):
        return SQL(
            """
            SELECT r.id,
                   r.conversation_id,
                   c.partner_id,
                   r.account_id,
                   r.company_id,
                   r.team_id,
                   r.user_id,
                   r.asked_at AS date,
                   r.answered_at,
                   r.opening_at,
                   r.answer_source,
                   COALESCE(r.is_first, FALSE) AS is_first,
                   r.answered_at IS NOT NULL AS is_answered,
                   COALESCE(r.breached, FALSE) AS is_breached,
                   c.state,
                   COALESCE(r.is_first, FALSE)::int AS chat_count,
                   (r.is_first AND r.answered_at IS NOT NULL)::int
                       AS answered_chat_count,
                   (r.is_first AND r.resolved_at IS NOT NULL)::int
                       AS done_chat_count,
                   1 AS response_count,
                   (r.answered_at IS NOT NULL)::int AS answered_count,
                   COALESCE(r.breached, FALSE)::int AS breach_count,
                   CASE WHEN r.answered_at IS NOT NULL
                        THEN COALESCE(r.within_target, FALSE)::int * 100.0 END
                       AS within_target_percent,
                   CASE WHEN r.is_first AND r.answered_at IS NOT NULL
                        THEN r.wall_seconds / 60.0 END AS first_response_minutes,
                   CASE WHEN r.is_first AND r.answered_at IS NOT NULL
                        THEN r.work_seconds / 60.0 END
                       AS first_response_work_minutes,
                   CASE WHEN r.answered_at IS NOT NULL
                        THEN r.wall_seconds / 60.0 END AS response_minutes,
                   CASE WHEN r.answered_at IS NOT NULL
                        THEN r.work_seconds / 60.0 END AS response_work_minutes,
                   CASE WHEN r.resolved_at IS NOT NULL
                        THEN r.resolution_seconds / 3600.0 END AS resolution_hours,
                   CASE WHEN r.resolved_at IS NOT NULL
                        THEN r.resolution_work_seconds / 3600.0 END
                       AS resolution_work_hours
              FROM whatsapp_conversation_response r
              LEFT JOIN whatsapp_conversation c ON c.id = r.conversation_id
            """
        )

    def init(self):
        tools.drop_view_if_exists(self.env.cr, "whatsapp_response_report_label_rel")
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                "CREATE OR REPLACE VIEW %s AS (%s)",
                SQL.identifier(self._table),
                self._select(),
            )
        )
        # the chat's labels, for each of its lines: group and filter by label
        self.env.cr.execute(
            """
            CREATE OR REPLACE VIEW whatsapp_response_report_label_rel AS (
                SELECT r.id AS response_id, l.whatsapp_label_id AS label_id
                  FROM whatsapp_conversation_response r
                  JOIN whatsapp_conversation_whatsapp_label_rel l
                    ON l.whatsapp_conversation_id = r.conversation_id
            )
            """
        )
