from odoo import fields, models, tools
from odoo.tools import SQL


class WhatsappWorkloadReport(models.Model):
    """The load now: one line per chat not done, with whether the customer
    waits for an answer and whether that answer is late (the team's target,
    in its working hours: the chat's reply deadline)."""

    _name = "whatsapp.workload.report"
    _description = "WhatsApp Workload"
    _auto = False
    _rec_name = "conversation_id"
    _order = "waiting_since"

    conversation_id = fields.Many2one("whatsapp.conversation", "Chat", readonly=True)
    partner_id = fields.Many2one("res.partner", "Customer", readonly=True)
    account_id = fields.Many2one("whatsapp.account", "WhatsApp Number", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    team_id = fields.Many2one("crm.team", "Sales Team", readonly=True)
    user_id = fields.Many2one("res.users", "Salesperson", readonly=True)
    state = fields.Selection(
        [
            ("open", "Open"),
            ("pending", "Waiting for the customer"),
            ("snoozed", "Snoozed"),
        ],
        "Status",
        readonly=True,
    )
    waiting_since = fields.Datetime("Customer Waiting Since", readonly=True)
    reply_deadline = fields.Datetime("Reply Due", readonly=True)
    is_waiting = fields.Boolean("Customer Waiting", readonly=True)
    is_late = fields.Boolean("Reply Late", readonly=True)
    chat_count = fields.Integer("Chats", readonly=True, aggregator="sum")
    waiting_count = fields.Integer("Waiting", readonly=True, aggregator="sum")
    late_count = fields.Integer("Late", readonly=True, aggregator="sum")
    waiting_minutes = fields.Float(
        "Waiting For (min)", readonly=True, aggregator="avg", digits=(16, 1)
    )

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
                CREATE OR REPLACE VIEW %s AS (
                    SELECT c.id,
                           c.id AS conversation_id,
                           c.partner_id,
                           c.account_id,
                           c.company_id,
                           c.team_id,
                           c.user_id,
                           c.state,
                           c.waiting_since,
                           c.reply_deadline,
                           c.waiting_since IS NOT NULL AS is_waiting,
                           COALESCE(c.reply_deadline < (now() AT TIME ZONE 'UTC'),
                                    FALSE) AS is_late,
                           1 AS chat_count,
                           (c.waiting_since IS NOT NULL)::int AS waiting_count,
                           COALESCE(c.reply_deadline < (now() AT TIME ZONE 'UTC'),
                                    FALSE)::int AS late_count,
                           EXTRACT(EPOCH FROM (now() AT TIME ZONE 'UTC')
                                   - c.waiting_since) / 60.0 AS waiting_minutes
                      FROM whatsapp_conversation c
                     WHERE c.state != 'done'
                )
                """,
                SQL.identifier(self._table),
            )
        )
