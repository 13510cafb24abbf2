from odoo import api, fields, models


class WhatsappLabel(models.Model):
    """A label on chats, shown as its CRM tag on the chat's lead."""

    _name = "whatsapp.label"
    _description = "WhatsApp Label"
    _order = "name"

    name = fields.Char(required=True, translate=True)
    color = fields.Integer()
    tag_id = fields.Many2one(
        "crm.tag",
        string="CRM Tag",
        required=True,
        ondelete="cascade",
        help="The lead of a chat carries this tag while the chat has the label, "
        "and the other way round. Created when missing.",
    )
    conversation_count = fields.Integer(compute="_compute_conversation_count")

    _sql_constraints = [
        ("tag_uniq", "unique(tag_id)", "A CRM tag is mapped to one label."),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        Tag = self.env["crm.tag"].sudo()
        for vals in vals_list:
            if not vals.get("tag_id") and vals.get("name"):
                tag = Tag.search([("name", "=ilike", vals["name"])], limit=1)
                vals["tag_id"] = (
                    tag
                    or Tag.create({"name": vals["name"], "color": vals.get("color", 0)})
                ).id
        return super().create(vals_list)

    def _compute_conversation_count(self):
        counts = dict(
            self.env["whatsapp.conversation"]._read_group(
                [("label_ids", "in", self.ids)], ["label_ids"], ["__count"]
            )
        )
        for label in self:
            label.conversation_count = counts.get(label, 0)
