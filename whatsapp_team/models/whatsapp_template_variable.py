from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools import templates as tpl_tools

SOURCES = [
    ("partner", "Customer field"),
    ("record", "Field of the record"),
    ("user", "Salesperson field"),
    ("free_text", "Free text"),
]
# the model a path of each source starts from; "record" depends on where the
# template is sent from, leads being where the interesting fields are
SOURCE_MODELS = {"partner": "res.partner", "user": "res.users", "record": "crm.lead"}


class WhatsappTemplateVariable(models.Model):
    """Where one ``{{n}}`` of a template takes its text from when sent."""

    _name = "whatsapp.template.variable"
    _description = "WhatsApp Template Variable"
    _order = "location desc, position"

    template_id = fields.Many2one(
        "whatsapp.template", required=True, ondelete="cascade", index=True
    )
    location = fields.Selection(
        [("header", "Header"), ("body", "Body")], required=True, default="body"
    )
    position = fields.Integer(required=True)
    name = fields.Char("Variable", compute="_compute_name")
    source = fields.Selection(
        SOURCES,
        string="Value",
        required=True,
        default="free_text",
        help="Customer field: a field of the customer (partner) the message goes "
        "to. Field of the record: a field of the lead, contact or conversation "
        "the message is sent from. Salesperson field: a field of the record's "
        "salesperson, or of the user sending when it has none. Free text: the "
        "same text for everyone, editable when sending.",
    )
    field_path = fields.Char(
        "Field",
        help="A field, or a path through related records, e.g. name, "
        "partner_id.name, expected_revenue.",
    )
    path_model = fields.Char(compute="_compute_path_model")
    fallback = fields.Char(
        "If Empty",
        help="Sent when the field is empty or the user sending may not read it.",
    )
    free_text = fields.Char("Text")
    sample_value = fields.Char(
        "Example",
        help="An example value Meta reviews the template with.",
    )

    _sql_constraints = [
        (
            "template_variable_uniq",
            "unique(template_id, location, position)",
            "Each variable of a template is mapped once.",
        ),
    ]

    @api.depends("location", "position")
    def _compute_name(self):
        for line in self:
            variable = f"{{{{{line.position}}}}}"
            line.name = (
                _("Header %(variable)s", variable=variable)
                if line.location == "header"
                else variable
            )

    @api.depends("source")
    def _compute_path_model(self):
        for line in self:
            line.path_model = SOURCE_MODELS.get(line.source, False)

    @api.constrains("source", "field_path")
    def _check_field_path(self):
        for line in self.filtered(lambda line: line.source != "free_text"):
            path = line.field_path or ""
            if not tpl_tools.valid_field_path(path):
                raise ValidationError(
                    _(
                        "Choose the field %(variable)s takes its value from, e.g. "
                        "name or partner_id.name.",
                        variable=line.name,
                    )
                )
            if line.source in ("partner", "user"):
                problem = self._path_problem(SOURCE_MODELS[line.source], path)
                if problem:
                    raise ValidationError(problem)

    @api.model
    def _path_problem(self, model_name, path):
        model = self.env[model_name]
        names = path.split(".")
        for index, name in enumerate(names):
            field = model._fields.get(name)
            if field is None:
                return _(
                    "%(model)s has no field %(field)s (in %(path)s).",
                    model=model._description,
                    field=name,
                    path=path,
                )
            if index < len(names) - 1:
                if not field.relational:
                    return _(
                        "%(field)s is not a link to other records: %(path)s cannot "
                        "go further.",
                        field=name,
                        path=path,
                    )
                model = self.env[field.comodel_name]
        return None

    @api.model
    def _default_values(self, location, position):
        """A new variable's mapping: the customer's name first, free text next."""
        values = {"location": location, "position": position}
        if location == "body" and position == 1:
            values.update(source="partner", field_path="name", sample_value="Ana")
        return values

    def _copy_values(self):
        self.ensure_one()
        return {
            name: self[name]
            for name in (
                "location",
                "position",
                "source",
                "field_path",
                "fallback",
                "free_text",
                "sample_value",
            )
        }
