import json
import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..tools import outbound
from ..tools.graph_api import GraphError

_logger = logging.getLogger(__name__)

STATUSES = [
    ("approved", "Approved"),
    ("pending", "In review"),
    ("rejected", "Rejected"),
    ("paused", "Paused"),
    ("disabled", "Disabled"),
    ("in_appeal", "In appeal"),
    ("pending_deletion", "Being deleted"),
    ("deleted", "Deleted"),
    ("limit_exceeded", "Limit exceeded"),
    ("archived", "Archived"),
]
CATEGORIES = [
    ("marketing", "Marketing"),
    ("utility", "Utility"),
    ("authentication", "Authentication"),
]


class WhatsappTemplate(models.Model):
    """A message template approved by Meta: the only way to write first, or
    to write again once the customer's 24-hour window has closed."""

    _name = "whatsapp.template"
    _description = "WhatsApp Template"
    _order = "name, language"

    name = fields.Char(required=True, readonly=True)
    active = fields.Boolean(default=True)
    account_id = fields.Many2one(
        "whatsapp.account",
        string="WhatsApp Number",
        required=True,
        ondelete="cascade",
        index=True,
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True)
    wa_template_id = fields.Char("Meta Template ID", readonly=True, index=True)
    language = fields.Char(required=True, readonly=True)
    category = fields.Selection(CATEGORIES, readonly=True)
    status = fields.Selection(STATUSES, default="pending", readonly=True, index=True)
    rejected_reason = fields.Char(readonly=True)
    header_text = fields.Char(readonly=True)
    body = fields.Text(readonly=True)
    footer = fields.Char(readonly=True)
    components = fields.Text(readonly=True, help="Meta's definition, as synced.")
    variable_count = fields.Integer(compute="_compute_variable_count")

    _sql_constraints = [
        (
            "account_template_uniq",
            "unique(account_id, wa_template_id)",
            "A Meta template is synced once per number.",
        ),
    ]

    @api.depends("body")
    def _compute_variable_count(self):
        for template in self:
            template.variable_count = len(outbound.template_variables(template.body))

    @api.depends("name", "language")
    def _compute_display_name(self):
        for template in self:
            template.display_name = f"{template.name} ({template.language})"

    # ------------------------------------------------------------
    # Sync with Meta
    # ------------------------------------------------------------

    @api.model
    def _values_from_meta(self, account, data):
        components = data.get("components") or []
        texts = {
            (component.get("type") or "").upper(): component
            for component in components
            if isinstance(component, dict)
        }
        header = texts.get("HEADER", {})
        return {
            "account_id": account.id,
            "wa_template_id": str(data.get("id") or ""),
            "name": data.get("name") or "",
            "language": data.get("language") or "",
            "category": (data.get("category") or "").lower() or False,
            "status": _status(data.get("status")),
            "rejected_reason": _reason(data.get("rejected_reason")),
            "header_text": header.get("text")
            if header.get("format") == "TEXT"
            else False,
            "body": texts.get("BODY", {}).get("text") or "",
            "footer": texts.get("FOOTER", {}).get("text") or False,
            "components": json.dumps(components),
            "active": True,
        }

    def _sync_account(self, account):
        """Bring every template of ``account``'s business account from Meta.

        Follows every page. Templates Meta no longer has are archived.
        Returns the number of templates read.
        """
        if not account.business_account_id:
            raise UserError(
                _(
                    "Templates belong to a WhatsApp Business Account: fill in the "
                    "WhatsApp Business Account ID of %(number)s first.",
                    number=account.name,
                )
            )
        client = account._get_graph_client()
        Template = self.sudo().with_context(active_test=False)
        existing = {
            t.wa_template_id: t
            for t in Template.search([("account_id", "=", account.id)])
        }
        seen = set()
        to_create = []
        for data in client.iter_templates():
            values = self._values_from_meta(account, data)
            seen.add(values["wa_template_id"])
            template = existing.get(values["wa_template_id"])
            if template:
                template.write(values)
            else:
                to_create.append(values)
        Template.create(to_create)
        gone = [t for key, t in existing.items() if key not in seen and t.active]
        if gone:
            Template.browse([t.id for t in gone]).write({"active": False})
        return len(seen)

    @api.model
    def _cron_sync(self):
        accounts = (
            self.env["whatsapp.account"].sudo().search([("token_state", "=", "valid")])
        )
        # templates belong to a business account: numbers without one have none
        for account in accounts.filtered("business_account_id"):
            try:
                with self.env.cr.savepoint():
                    self._sync_account(account)
            except GraphError as error:
                _logger.warning(
                    "WhatsApp templates of %s not synced: %s", account.name, error
                )

    @api.model
    def _apply_status_update(self, business_account_id, value):
        """Meta's ``message_template_status_update`` webhook."""
        templates = (
            self.sudo()
            .with_context(active_test=False)
            .search(
                [
                    (
                        "wa_template_id",
                        "=",
                        str(value.get("message_template_id") or ""),
                    ),
                    ("account_id.business_account_id", "=", business_account_id),
                ]
            )
        )
        status = _status(value.get("event"))
        reason = _reason(value.get("reason"))
        if templates and status:
            templates.write({"status": status, "rejected_reason": reason})
        return templates

    # ------------------------------------------------------------
    # Sending
    # ------------------------------------------------------------

    def _check_sendable(self):
        self.ensure_one()
        if self.status != "approved":
            raise UserError(
                _(
                    "The template %(name)s is %(status)s at Meta: only approved "
                    "templates can be sent.",
                    name=self.display_name,
                    status=dict(STATUSES).get(self.status, self.status),
                )
            )


def _status(value):
    value = (value or "").lower()
    return value if value in dict(STATUSES) else False


def _reason(value):
    return False if not value or value == "NONE" else str(value)
