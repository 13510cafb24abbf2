"""What Meta charges a number per delivered message, by category and market.

Meta prices per message since July 2025: each billable message costs the
rate of its category (marketing, utility, authentication…) in the market
of the customer's phone number, in the currency of the business account.
Meta publishes its rate card; an administrator enters the lines that matter
to the business here, and each message's cost is read from them when its
pricing arrives with a status webhook.
"""

from odoo import api, fields, models
from odoo.exceptions import ValidationError

# Meta's pricing categories (statuses[].pricing.category)
PRICING_CATEGORIES = [
    ("marketing", "Marketing"),
    ("marketing_lite", "Marketing (Lite)"),
    ("utility", "Utility"),
    ("authentication", "Authentication"),
    ("authentication_international", "Authentication (international)"),
    ("service", "Service"),
    ("referral_conversion", "Referral conversion"),
]


class WhatsappRate(models.Model):
    """One line of a number's rate card: the price of one delivered message
    of a category, to customers of a market (a country; no country: every
    other market)."""

    _name = "whatsapp.rate"
    _description = "WhatsApp Message Rate"
    _order = "account_id, category, country_id"

    account_id = fields.Many2one(
        "whatsapp.account",
        string="WhatsApp Number",
        required=True,
        ondelete="cascade",
        index=True,
    )
    company_id = fields.Many2one(
        related="account_id.company_id", store=True, index=True
    )
    category = fields.Selection(PRICING_CATEGORIES, required=True)
    country_id = fields.Many2one(
        "res.country",
        string="Market",
        help="The country of the customers' phone numbers. Empty: every "
        'market without a line of its own (Meta\'s "Other").',
    )
    # a sum of prices means nothing
    price = fields.Float(
        "Price per Message", digits=(16, 4), required=True, default=0.0, aggregator=None
    )
    currency_id = fields.Many2one(
        "res.currency",
        required=True,
        default=lambda self: self.env.company.currency_id,
        help="The currency Meta bills the business account in.",
    )
    note = fields.Char(help="Where the figure comes from, e.g. Meta's rate card.")

    @api.constrains("account_id", "category", "country_id")
    def _check_one_rate_per_market(self):
        for rate in self:
            clash = self.search_count(
                [
                    ("id", "!=", rate.id),
                    ("account_id", "=", rate.account_id.id),
                    ("category", "=", rate.category),
                    ("country_id", "=", rate.country_id.id),
                ],
                limit=1,
            )
            if clash:
                raise ValidationError(
                    self.env._(
                        "%(number)s already has a rate for %(category)s "
                        "messages to %(market)s.",
                        number=rate.account_id.display_name,
                        category=dict(PRICING_CATEGORIES)[rate.category],
                        market=rate.country_id.name or self.env._("other markets"),
                    )
                )

    @api.depends("account_id", "category", "country_id")
    def _compute_display_name(self):
        categories = dict(PRICING_CATEGORIES)
        for rate in self:
            rate.display_name = " · ".join(
                filter(
                    None,
                    [
                        rate.account_id.name,
                        categories.get(rate.category),
                        rate.country_id.name or self.env._("Other markets"),
                    ],
                )
            )

    @api.model
    def _rate_for(self, account, category, country):
        """The rate of ``account`` for a message of ``category`` to a customer
        of ``country``: the market's own line, else the line for other
        markets; an empty recordset when the number has neither."""
        rates = self.search(
            [
                ("account_id", "=", account.id),
                ("category", "=", category),
                ("country_id", "in", [country.id, False] if country else [False]),
            ]
        )
        return rates.filtered("country_id")[:1] or rates[:1]

    def action_apply_to_messages(self):
        """Price again, with these rates, the messages already priced by the
        rate card of their numbers (a figure corrected after the fact).
        Administrators only: they alone may change the rates."""
        self.check_access("write")
        messages_sudo = (
            self.env["whatsapp.message"]
            .sudo()
            .search(
                [
                    ("account_id", "in", self.account_id.ids),
                    ("pricing_category", "in", self.mapped("category")),
                    ("pricing_billable", "=", True),
                ]
            )
        )
        messages_sudo._price_from_rates()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "info",
                "message": self.env._(
                    "%(count)s messages priced again.", count=len(messages_sudo)
                ),
            },
        }
