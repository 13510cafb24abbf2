from odoo import fields, models

from .whatsapp_conversation_pricing import sum_costs


class CrmLead(models.Model):
    """What the lead's WhatsApp chats cost (Meta's pricing)."""

    _inherit = "crm.lead"  # pylint: disable=consider-merging-classes-inherited

    # a message costs a fraction of a cent: four digits, as Meta's rates
    whatsapp_cost = fields.Float(
        "WhatsApp Cost",
        compute="_compute_whatsapp_cost",
        digits=(16, 4),
        groups="whatsapp_team.group_whatsapp_user",
        help="What Meta charges for the messages of the chats linked to this "
        "lead that you may read.",
    )

    def _compute_whatsapp_cost(self):
        totals = sum_costs(self, "lead_id")
        for lead in self:
            lead.whatsapp_cost = totals[lead]
