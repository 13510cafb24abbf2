from odoo import fields, models


def sum_costs(records, group_field):
    """``{record: total cost}`` of the messages whose ``group_field`` is one
    of ``records``, each cost converted to the currency of the record's
    company (today's rate). Read with the reader's rights: a total counts
    the messages they may see."""
    env = records.env
    totals = dict.fromkeys(records, 0.0)
    today = fields.Date.context_today(env.user)
    for record, currency, cost in env["whatsapp.message"]._read_group(
        [(group_field, "in", records.ids), ("cost", "!=", 0)],
        [group_field, "cost_currency_id"],
        ["cost:sum"],
    ):
        totals[record] += in_company_currency(
            cost, currency, record.company_id or env.company, today
        )
    return totals


def in_company_currency(cost, currency, company, date):
    """``cost`` in ``currency`` converted to ``company``'s currency at the
    rate of ``date`` (a free message has no currency: nothing to convert)."""
    if currency and currency != company.currency_id:
        return currency._convert(cost, company.currency_id, company, date)
    return cost


# one concern of the model per file, as Odoo's mail spreads res.partner
class WhatsappConversation(models.Model):
    """What the chat cost: the sum of its messages' costs (Meta's pricing)."""

    _inherit = "whatsapp.conversation"  # pylint: disable=consider-merging-classes-inherited

    company_currency_id = fields.Many2one(related="company_id.currency_id")
    # a message costs a fraction of a cent: four digits, as Meta's rates
    whatsapp_cost = fields.Float(
        "WhatsApp Cost",
        compute="_compute_whatsapp_cost",
        digits=(16, 4),
        help="What Meta charges for this chat's messages, as their statuses "
        "told it and priced by the number's rates.",
    )

    def _compute_whatsapp_cost(self):
        totals = sum_costs(self, "conversation_id")
        for conversation in self:
            conversation.whatsapp_cost = totals[conversation]
