"""What each message costs: Meta's pricing, as status webhooks tell it.

Since July 2025 Meta prices per message (``pricing_model`` ``PMP``): the
statuses of an outgoing message carry ``pricing`` (``billable``,
``category``, ``type``: ``regular``, ``free_customer_service`` or
``free_entry_point``). Older bodies (``CBP``) price per 24-hour
conversation and also carry a ``conversation`` object: only the first
message of a billed conversation costs.

The cost is read from the number's rate card (``whatsapp.rate``) when the
pricing arrives, and kept: a rate changed later does not change past
messages, unless an administrator applies it to them (a button on the rate).
"""

from odoo import api, fields, models

from ..tools import phone as phone_tools
from .whatsapp_rate import PRICING_CATEGORIES

PRICING_MODELS = [
    ("PMP", "Per message"),
    ("CBP", "Per conversation (before July 2025)"),
]
PRICING_TYPES = [
    ("regular", "Billed"),
    ("free_customer_service", "Free: customer service window"),
    ("free_entry_point", "Free: entry point (ad, page button)"),
]
PRICING_FIELDS = (
    "pricing_billable",
    "pricing_model",
    "pricing_category",
    "pricing_type",
    "meta_conversation_id",
)


def _known(value, selection):
    """``value`` when ``selection`` holds it, else False: a value Meta adds
    later is not an error, only not shown."""
    return value if value in dict(selection) else False


# one concern of the model per file, as the conversation's
class WhatsappMessage(models.Model):
    _inherit = "whatsapp.message"  # pylint: disable=consider-merging-classes-inherited

    pricing_billable = fields.Boolean(
        "Billable", readonly=True, help="Meta bills this message."
    )
    pricing_model = fields.Selection(PRICING_MODELS, readonly=True)
    pricing_category = fields.Selection(
        PRICING_CATEGORIES, readonly=True, index="btree_not_null"
    )
    pricing_type = fields.Selection(PRICING_TYPES, readonly=True)
    meta_conversation_id = fields.Char(
        "Meta Conversation ID",
        readonly=True,
        help="The 24-hour conversation Meta billed this message in (pricing "
        "per conversation, before July 2025).",
    )
    market_country_id = fields.Many2one(
        "res.country",
        string="Market",
        readonly=True,
        help="The country of the customer's phone number: Meta's rates differ "
        "by market.",
    )
    rate_id = fields.Many2one("whatsapp.rate", readonly=True, ondelete="set null")
    cost = fields.Float(digits=(16, 4), readonly=True, aggregator="sum")
    cost_currency_id = fields.Many2one("res.currency", readonly=True)
    cost_state = fields.Selection(
        [
            ("free", "Free"),
            ("priced", "Priced"),
            ("included", "In a conversation already billed"),
            ("no_rate", "No rate for its market"),
        ],
        readonly=True,
        index="btree_not_null",
        help='Empty until Meta tells this message\'s pricing. "No rate": the '
        "number's rate card has no line for its category and market; add one "
        "and apply it to the messages.",
    )
    # what the cost report groups by, kept with the message
    salesperson_id = fields.Many2one(
        related="conversation_id.user_id", store=True, string="Salesperson"
    )
    sales_team_id = fields.Many2one(
        related="conversation_id.team_id", store=True, string="Sales Team"
    )
    lead_id = fields.Many2one(
        related="conversation_id.lead_id", store=True, string="Lead"
    )
    campaign_id = fields.Many2one(
        "utm.campaign",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        help="The mass send that sent this message.",
    )

    @api.model
    def _receive_status(self, status, account=None):
        message = super()._receive_status(status, account=account)
        if message and message.direction == "out" and status.pricing:
            message._apply_pricing(status.pricing, status.conversation_id)
        return message

    def _apply_pricing(self, pricing, meta_conversation_id=""):
        """Keep Meta's ``pricing`` of this message and price it. Each status
        repeats it: the same pricing again changes nothing."""
        self.ensure_one()
        billable = bool(pricing.get("billable"))
        kind = _known(pricing.get("type"), PRICING_TYPES)
        values = {
            "pricing_billable": billable,
            "pricing_model": _known(pricing.get("pricing_model"), PRICING_MODELS),
            "pricing_category": _known(pricing.get("category"), PRICING_CATEGORIES),
            # before per-message pricing, no type: billable or not says it
            "pricing_type": kind or ("regular" if billable else False),
            "meta_conversation_id": meta_conversation_id
            or self.meta_conversation_id
            or False,
        }
        if self.cost_state and all(
            (self[name] or False) == values[name] for name in PRICING_FIELDS
        ):
            return
        self.write(values)
        self._price_from_rates()

    def _market_country(self):
        self.ensure_one()
        conversation = self.conversation_id
        number = conversation.phone or (
            conversation.wa_id and "+" + conversation.wa_id.lstrip("+")
        )
        code = phone_tools.region_of(number) if number else None
        if not code:
            return self.env["res.country"]
        return self.env["res.country"].search([("code", "=", code)], limit=1)

    def _price_from_rates(self):
        """The cost of these priced messages, from their numbers' rates."""
        Rate = self.env["whatsapp.rate"]
        for message in self:
            country = message._market_country()
            values = {
                "market_country_id": country.id,
                "rate_id": False,
                "cost": 0.0,
                "cost_currency_id": False,
            }
            free = not message.pricing_billable or (
                message.pricing_type or ""
            ).startswith("free")
            if free:
                values["cost_state"] = "free"
            elif message._billed_in_its_conversation():
                values["cost_state"] = "included"
            else:
                rate = Rate._rate_for(
                    message.account_id, message.pricing_category, country
                )
                values.update(
                    rate_id=rate.id,
                    cost=rate.price,
                    cost_currency_id=rate.currency_id.id,
                    cost_state="priced" if rate else "no_rate",
                )
            message.write(values)

    def _billed_in_its_conversation(self):
        """Priced per conversation: an earlier message of the same Meta
        conversation was billed already, this one is included."""
        self.ensure_one()
        if self.pricing_model != "CBP" or not self.meta_conversation_id:
            return False
        return bool(
            self.search_count(
                [
                    ("id", "!=", self.id),
                    ("account_id", "=", self.account_id.id),
                    ("meta_conversation_id", "=", self.meta_conversation_id),
                    ("cost_state", "in", ("priced", "no_rate")),
                ],
                limit=1,
            )
        )
