from odoo import api, fields, models, tools
from odoo.osv import expression
from odoo.tools import SQL


class WhatsappLeadReport(models.Model):
    """What chats bring in: one line per chat linked to a lead, with the
    lead's stage and its expected and won revenue. A line's id is its chat's:
    the chat's labels group it."""

    _name = "whatsapp.lead.report"
    _description = "WhatsApp Leads"
    _auto = False
    _rec_name = "lead_id"
    _order = "date desc"

    conversation_id = fields.Many2one("whatsapp.conversation", "Chat", readonly=True)
    lead_id = fields.Many2one("crm.lead", readonly=True)
    partner_id = fields.Many2one("res.partner", "Customer", readonly=True)
    account_id = fields.Many2one("whatsapp.account", "WhatsApp Number", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    team_id = fields.Many2one("crm.team", "Sales Team", readonly=True)
    user_id = fields.Many2one("res.users", "Salesperson", readonly=True)
    stage_id = fields.Many2one("crm.stage", readonly=True)
    label_ids = fields.Many2many(
        "whatsapp.label",
        "whatsapp_conversation_whatsapp_label_rel",
        "whatsapp_conversation_id",
        "whatsapp_label_id",
        string="Labels",
        readonly=True,
    )
    date = fields.Datetime("Lead Created", readonly=True)
    from_whatsapp = fields.Boolean(
        "Created From a Chat",
        readonly=True,
        help="The lead's source is WhatsApp: it was created for a chat.",
    )
    is_won = fields.Boolean("Won", readonly=True)
    lead_active = fields.Boolean(readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    lead_count = fields.Integer("Leads", readonly=True, aggregator="sum")
    won_count = fields.Integer("Leads Won", readonly=True, aggregator="sum")
    expected_revenue = fields.Monetary(readonly=True, aggregator="sum")
    prorated_revenue = fields.Monetary(readonly=True, aggregator="sum")
    won_revenue = fields.Monetary(readonly=True, aggregator="sum")

    @api.model
    def _search(self, domain, *args, **kwargs):
        """Lines of the leads CRM lets the user read, lost leads included:
        a salesperson's deal is not shown to a manager whom CRM's rules keep
        out of it (the inbox leaves such a lead out as well), and none to
        whoever may not read leads at all."""
        if not self.env.su:
            readable = (
                [("lead_id", "any", [])]
                if self.env["crm.lead"].has_access("read")
                else expression.FALSE_DOMAIN
            )
            domain = expression.AND([domain, readable])
        return super()._search(domain, *args, **kwargs)

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
                CREATE OR REPLACE VIEW %s AS (
                    SELECT c.id,
                           c.id AS conversation_id,
                           l.id AS lead_id,
                           c.partner_id,
                           c.account_id,
                           c.company_id,
                           l.team_id,
                           l.user_id,
                           l.stage_id,
                           l.create_date AS date,
                           COALESCE(l.source_id = imd.res_id, FALSE)
                               AS from_whatsapp,
                           COALESCE(s.is_won, FALSE) AS is_won,
                           l.active AS lead_active,
                           co.currency_id,
                           1 AS lead_count,
                           COALESCE(s.is_won, FALSE)::int AS won_count,
                           l.expected_revenue,
                           l.prorated_revenue,
                           CASE WHEN s.is_won THEN l.expected_revenue ELSE 0 END
                               AS won_revenue
                      FROM whatsapp_conversation c
                      JOIN crm_lead l ON l.id = c.lead_id
                      LEFT JOIN crm_stage s ON s.id = l.stage_id
                      LEFT JOIN res_company co ON co.id = c.company_id
                      LEFT JOIN ir_model_data imd
                        ON imd.module = 'whatsapp_team'
                       AND imd.name = 'utm_source_whatsapp'
                )
                """,
                SQL.identifier(self._table),
            )
        )
