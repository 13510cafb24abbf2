import json
import logging
import mimetypes
from datetime import timedelta

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Command
from odoo.tools import (
    format_amount,
    format_date,
    format_datetime,
    formatLang,
    html2plaintext,
)

from ..tools import outbound
from ..tools import templates as tpl_tools
from ..tools.formatting import whatsapp_to_html
from ..tools.graph_api import GraphError, TokenError
from ..tools.payload import OtherChange, parse_template_update

_logger = logging.getLogger(__name__)

STATUSES = [
    ("draft", "Draft"),
    ("pending", "In review"),
    ("approved", "Approved"),
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


HEADER_TYPES = [
    ("none", "None"),
    ("text", "Text"),
    ("image", "Image"),
    ("video", "Video"),
    ("document", "Document"),
]
# what Meta reviews: frozen once the template is submitted
META_FIELDS = frozenset(
    {
        "name",
        "language",
        "category",
        "header_type",
        "header_text",
        "body",
        "footer",
        "button_ids",
    }
)
# the sample media types Meta's Resumable Upload API takes, per header kind
SAMPLE_TYPES = {
    "image": {"image/jpeg", "image/png"},
    "video": {"video/mp4"},
    "document": {"application/pdf"},
}
# Meta keeps uploaded media 30 days: upload the header again before that
HEADER_MEDIA_REUSE = timedelta(days=25)
ADMIN_GROUP = "whatsapp_team.group_whatsapp_admin"


class WhatsappTemplate(models.Model):
    """A message template: the only way to write first, or to write again
    once the customer's 24-hour window has closed.

    Written here as a draft and submitted to Meta, or synced from Meta. Once
    submitted, what Meta reviewed is read-only; the variables' mapping to
    fields of the record sent from stays editable.
    """

    _name = "whatsapp.template"
    _description = "WhatsApp Template"
    _order = "name, language"

    name = fields.Char(
        required=True,
        help="Meta's name of the template: lowercase letters, digits and "
        "underscores, e.g. order_update.",
    )
    active = fields.Boolean(default=True)
    account_id = fields.Many2one(
        "whatsapp.account",
        string="WhatsApp Number",
        required=True,
        ondelete="cascade",
        index=True,
        default=lambda self: self.env["whatsapp.account"].search([], limit=1),
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True)
    wa_template_id = fields.Char(
        "Meta Template ID", readonly=True, index=True, copy=False
    )
    language = fields.Char(
        required=True,
        default=lambda self: self.env.lang or "en_US",
        help="Meta's language code, e.g. en_US, pt_BR, fr.",
    )
    category = fields.Selection(CATEGORIES, default="utility")
    status = fields.Selection(
        STATUSES, default="draft", readonly=True, index=True, copy=False
    )
    rejected_reason = fields.Char(readonly=True, copy=False)
    header_type = fields.Selection(
        HEADER_TYPES, string="Header", default="none", required=True
    )
    header_text = fields.Char(
        help="At most 60 characters and one variable, {{1}}.",
    )
    header_file = fields.Binary(
        attachment=True,
        help="The image, video or PDF sent as the header. Meta reviews the "
        "template with it as an example.",
    )
    header_filename = fields.Char()
    header_handle = fields.Char(
        "Sample Handle",
        readonly=True,
        copy=False,
        help="Meta's handle of the sample uploaded with the template.",
    )
    header_media_id = fields.Char(readonly=True, copy=False)
    header_media_uploaded_at = fields.Datetime(readonly=True, copy=False)
    body = fields.Text(
        help="Up to 1024 characters. Variables are written {{1}}, {{2}}… in "
        "order; WhatsApp formatting (*bold*, _italic_) is kept.",
    )
    footer = fields.Char(help="Up to 60 characters, no variables.")
    button_ids = fields.One2many(
        "whatsapp.template.button", "template_id", string="Buttons", copy=True
    )
    variable_ids = fields.One2many(
        "whatsapp.template.variable",
        "template_id",
        string="Variables",
        compute="_compute_variable_ids",
        store=True,
        readonly=False,
        copy=True,
    )
    components = fields.Text(
        readonly=True, copy=False, help="Meta's definition, as synced."
    )
    variable_count = fields.Integer(compute="_compute_variable_count")
    preview = fields.Html(compute="_compute_preview", sanitize=True)

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

    @api.depends("header_type", "header_text", "body")
    def _compute_variable_ids(self):
        for template in self:
            slots = tpl_tools.variable_slots(
                template.header_type, template.header_text, template.body
            )
            lines = template.variable_ids
            if [(line.location, line.position) for line in lines] == slots:
                template.variable_ids = lines
                continue
            kept = {(line.location, line.position): line for line in lines}
            template.variable_ids = [Command.clear()] + [
                Command.create(
                    kept[slot]._copy_values()
                    if slot in kept
                    else self.env["whatsapp.template.variable"]._default_values(*slot)
                )
                for slot in slots
            ]

    @api.depends(
        "header_type",
        "header_text",
        "header_filename",
        "body",
        "footer",
        "button_ids.text",
        "button_ids.button_type",
        "variable_ids.sample_value",
    )
    def _compute_preview(self):
        for template in self:
            samples = {
                (line.location, line.position): line.sample_value
                for line in template.variable_ids
                if line.sample_value
            }
            template.preview = template._render_preview(
                {n: v for (where, n), v in samples.items() if where == "body"},
                samples.get(("header", 1), ""),
            )

    @api.constrains(
        "name", "header_type", "header_text", "body", "footer", "button_ids"
    )
    def _check_meta_rules(self):
        # synced templates are Meta's own: only drafts are checked here
        for template in self.filtered(lambda t: t.status == "draft"):
            found = tpl_tools.problems(template._spec())
            if found:
                raise ValidationError(template._describe_problems(found))

    @api.constrains("header_type", "header_file", "header_filename")
    def _check_header_file(self):
        for template in self:
            if template.header_type not in SAMPLE_TYPES or not template.header_file:
                continue
            mime_type = template._header_mime_type()
            if mime_type not in SAMPLE_TYPES[template.header_type]:
                raise ValidationError(
                    _(
                        "The header file of %(template)s is %(type)s: a %(kind)s "
                        "header takes %(allowed)s.",
                        template=template.display_name,
                        type=mime_type or _("of an unknown type"),
                        kind=dict(HEADER_TYPES)[template.header_type].lower(),
                        allowed=", ".join(sorted(SAMPLE_TYPES[template.header_type])),
                    )
                )
            attachment = template._header_attachment()
            problem = outbound.media_problem(mime_type, attachment.file_size)
            if problem and problem[0] == "size":
                raise ValidationError(
                    _(
                        "The header file is too big: WhatsApp takes %(kind)s files "
                        "up to %(limit)s MB.",
                        **problem[1],
                    )
                )

    def write(self, vals):
        if META_FIELDS & vals.keys() and not self.env.context.get("whatsapp_from_meta"):
            self._check_editable()
        if "header_file" in vals:
            # a new file is uploaded again when next sent
            vals = {**vals, "header_media_id": False, "header_media_uploaded_at": False}
        return super().write(vals)

    def copy_data(self, default=None):
        vals_list = super().copy_data(default=default)
        default = default or {}
        for template, vals in zip(self, vals_list, strict=True):
            if "name" not in default:
                vals["name"] = f"{template.name}_copy"[: tpl_tools.MAX_NAME]
        return vals_list

    def _check_editable(self):
        submitted = self.filtered(lambda t: t.status != "draft")
        if submitted:
            raise UserError(
                _(
                    "%(template)s was submitted to Meta: what Meta reviewed can no "
                    "longer be changed. Duplicate it to write a new version.",
                    template=submitted[0].display_name,
                )
            )

    # ------------------------------------------------------------
    # Authoring
    # ------------------------------------------------------------

    def _spec(self, header_handle=""):
        self.ensure_one()
        examples = {"header": {}, "body": {}}
        for line in self.variable_ids:
            examples[line.location][line.position] = line.sample_value or ""
        return tpl_tools.TemplateSpec(
            name=self.name or "",
            language=self.language or "",
            category=self.category or "",
            body=self.body or "",
            header_type=self.header_type or "none",
            header_text=self.header_text or "",
            header_handle=header_handle,
            footer=self.footer or "",
            buttons=[
                tpl_tools.Button(
                    kind=button.button_type,
                    text=button.text or "",
                    url=button.url or "",
                    phone_number=button.phone_number or "",
                )
                for button in self.button_ids
            ],
            header_examples=examples["header"],
            body_examples=examples["body"],
        )

    def _describe_problems(self, found):
        where = {"header": _("header"), "body": _("body")}
        messages = {
            "name_format": _(
                "The name “%(name)s” may only hold lowercase letters, digits and "
                "underscores, e.g. order_update."
            ),
            "name_length": _("The name is longer than %(limit)s characters."),
            "name_missing": _("Give the template a name."),
            "language_missing": _("Choose the language, e.g. en_US."),
            "category_missing": _("Choose a category: marketing or utility."),
            "authentication": _(
                "Authentication templates (one-time codes) are made of Meta's "
                "own texts: create them in WhatsApp Manager."
            ),
            "body_missing": _("Write the body of the message."),
            "body_length": _(
                "The body has %(length)s characters: Meta takes at most %(limit)s."
            ),
            "variables_sequence": _(
                "The variables of the %(where)s must be numbered in order from "
                "{{1}}, without gaps; found %(found)s."
            ),
            "variable_malformed": _(
                "%(found)s in the %(where)s is not a variable: variables are "
                "written {{1}}, {{2}}…"
            ),
            "variable_at_edge": _(
                "The body may not start or end with a variable: add some text "
                "before or after it."
            ),
            "header_text_length": _("A text header has at most %(limit)s characters."),
            "header_variables": _("A text header has at most one variable, {{1}}."),
            "header_text_missing": _("Write the header text, or choose no header."),
            "header_sample_missing": _(
                "Add the header file (%(kind)s): Meta reviews a media header with "
                "an example."
            ),
            "example_missing": _(
                "Give an example for {{%(position)s}} of the %(where)s: Meta "
                "reviews templates with example values."
            ),
            "footer_length": _("The footer has at most %(limit)s characters."),
            "footer_variables": _("The footer cannot contain variables."),
            "buttons_count": _("A template has at most %(limit)s buttons."),
            "url_buttons_count": _(
                "A template has at most %(limit)s buttons that open a web page."
            ),
            "phone_buttons_count": _(
                "A template has at most %(limit)s button that calls a phone number."
            ),
            "quick_replies_not_grouped": _(
                "Quick reply buttons must follow each other: put them all before "
                "or all after the web page and phone buttons."
            ),
            "button_text_missing": _("Every button needs a text."),
            "button_text_length": _(
                "The button text “%(text)s” is longer than %(limit)s characters."
            ),
            "button_variables": _(
                "The button text “%(text)s” cannot contain variables."
            ),
            "url_missing": _("The button “%(text)s” needs a web address."),
            "url_length": _(
                "The web address of “%(text)s” is longer than %(limit)s characters."
            ),
            "url_scheme": _(
                "The web address of “%(text)s” must start with https:// or http://."
            ),
            "url_variables": _(
                "Web addresses with variables are not supported (“%(text)s”)."
            ),
            "phone_missing": _("The button “%(text)s” needs a phone number."),
            "phone_invalid": _(
                "The phone number of “%(text)s” is not valid: write it with its "
                "country code, e.g. +55 11 4000 1234."
            ),
        }
        lines = []
        for code, values in found:
            values = dict(values)
            if "where" in values:
                values["where"] = where.get(values["where"], values["where"])
            if "kind" in values:
                values["kind"] = dict(HEADER_TYPES).get(values["kind"], values["kind"])
            lines.append(messages.get(code, code) % values)
        return "\n".join(lines)

    def _render_text(self, body_values, header_value=""):
        """The message as the customer reads it, in WhatsApp formatting."""
        self.ensure_one()
        parts = []
        if self.header_type == "text" and self.header_text:
            header = outbound.fill_template(self.header_text, {1: header_value})
            parts.append(f"*{header}*" if header else "")
        parts.append(outbound.fill_template(self.body or "", body_values))
        if self.footer:
            parts.append(f"_{self.footer}_")
        return "\n\n".join(part for part in parts if part)

    def _render_preview(self, body_values, header_value=""):
        self.ensure_one()
        html = Markup()
        if self.header_type in SAMPLE_TYPES:
            html += Markup('<p class="text-muted">[%s%s]</p>') % (
                dict(HEADER_TYPES)[self.header_type],
                f": {self.header_filename}" if self.header_filename else "",
            )
        html += Markup(whatsapp_to_html(self._render_text(body_values, header_value)))
        for button in self.button_ids:
            html += Markup(
                '<p class="text-center text-primary border-top mb-0">%s</p>'
            ) % (button.text or "")
        return Markup('<div class="bg-success-subtle rounded p-3">%s</div>') % html

    def action_submit(self):
        """Submit the draft to Meta for review."""
        for template in self:
            template._submit()
        return True

    def _submit(self):
        self.ensure_one()
        self.check_access("write")
        if self.status != "draft":
            raise UserError(
                _("%(template)s was already submitted.", template=self.display_name)
            )
        account_sudo = self.account_id.sudo()
        media = self.header_type in SAMPLE_TYPES
        if not account_sudo.business_account_id:
            raise UserError(
                _(
                    "Templates belong to a WhatsApp Business Account: fill in the "
                    "WhatsApp Business Account ID of %(number)s first.",
                    number=account_sudo.name,
                )
            )
        found = tpl_tools.problems(
            self._spec(header_handle="file" if self.header_file else ""),
            complete=True,
        )
        if found:
            raise UserError(
                _(
                    "Meta would refuse %(template)s:\n%(problems)s",
                    template=self.display_name,
                    problems=self._describe_problems(found),
                )
            )
        if media and not account_sudo.app_id:
            raise UserError(
                _(
                    "A media header is reviewed with a sample Meta keeps for your "
                    "app: fill in the App ID of %(number)s (Meta for Developers > "
                    "App settings > Basic).",
                    number=account_sudo.name,
                )
            )
        client = account_sudo._get_graph_client()
        handle = ""
        try:
            if media:
                attachment = self._header_attachment()
                handle = client.upload_template_sample(
                    account_sudo.app_id,
                    attachment.raw,
                    self._header_mime_type(),
                    self.header_filename or "sample",
                )
            payload = tpl_tools.create_payload(self._spec(header_handle=handle))
            answer = client.create_template(payload)
        except GraphError as error:
            raise UserError(self._explain_meta_error(error)) from error
        self.with_context(whatsapp_from_meta=True).write(
            {
                "wa_template_id": str(answer.get("id") or ""),
                "status": _status(answer.get("status")) or "pending",
                "category": (answer.get("category") or "").lower() or self.category,
                "header_handle": handle or False,
                "components": json.dumps(payload["components"]),
                "rejected_reason": False,
                "submitted_by_id": self.env.uid,
            }
        )

    def _explain_meta_error(self, error):
        """Meta's refusal of a template, in words an administrator can act on."""
        if error.subcode == 2388024:
            return _(
                "Meta already has a template named %(name)s in %(language)s. "
                "Choose another name, or sync the templates to see it.",
                name=self.name,
                language=self.language,
            )
        if isinstance(error, TokenError):
            return _(
                "Meta refused the access token of %(number)s: paste a new one on "
                "the number, then submit again.",
                number=self.account_id.name,
            )
        if error.retryable:
            return _("Meta did not answer in time. Submit again in a few minutes.")
        if error.title or error.details:
            return _(
                "Meta refused the template: %(title)s. %(details)s",
                title=error.title or error.message,
                details=error.details,
            )
        return _("Meta refused the template (%(error)s).", error=error)

    def _header_attachment(self):
        self.ensure_one()
        return (
            self.env["ir.attachment"]
            .sudo()
            .search(
                [
                    ("res_model", "=", self._name),
                    ("res_id", "=", self.id),
                    ("res_field", "=", "header_file"),
                ],
                limit=1,
            )
        )

    def _header_mime_type(self):
        self.ensure_one()
        guessed = mimetypes.guess_type(self.header_filename or "")[0]
        return guessed or self._header_attachment().mimetype or ""

    # ------------------------------------------------------------
    # Sync with Meta
    # ------------------------------------------------------------

    @api.model
    def _values_from_meta(self, account, data):
        components = data.get("components") or []
        read = tpl_tools.read_components(components)
        return {
            "account_id": account.id,
            "wa_template_id": str(data.get("id") or ""),
            "name": data.get("name") or "",
            "language": data.get("language") or "",
            "category": (data.get("category") or "").lower() or False,
            "status": _status(data.get("status")),
            "rejected_reason": _reason(data.get("rejected_reason")),
            "header_type": read["header_type"],
            "header_text": read["header_text"] or False,
            "header_handle": read["header_handle"] or False,
            "body": read["body"],
            "footer": read["footer"] or False,
            "button_ids": [Command.clear()]
            + [
                Command.create(
                    {
                        "sequence": index,
                        "button_type": button.kind,
                        "text": button.text,
                        "url": button.url or False,
                        "phone_number": button.phone_number or False,
                    }
                )
                for index, button in enumerate(read["buttons"])
            ],
            "components": json.dumps(components),
            "active": True,
        }

    def _button_values(self):
        return [
            (b.button_type, b.text or "", b.url or "", b.phone_number or "")
            for b in self.button_ids
        ]

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
        Template_sudo = self.sudo().with_context(
            active_test=False, whatsapp_from_meta=True
        )
        existing = {
            t.wa_template_id: t
            for t in Template_sudo.search([("account_id", "=", account.id)])
        }
        seen = set()
        to_create = []
        for data in client.iter_templates():
            values = self._values_from_meta(account, data)
            seen.add(values["wa_template_id"])
            template = existing.get(values["wa_template_id"])
            if template:
                buttons = [
                    (c[2]["button_type"], c[2]["text"], c[2]["url"] or "")
                    + (c[2]["phone_number"] or "",)
                    for c in values["button_ids"][1:]
                ]
                if buttons == template._button_values():
                    del values["button_ids"]  # unchanged: keep the records
                template.write(values)
            else:
                to_create.append(values)
        Template_sudo.create(to_create)
        gone = [t for key, t in existing.items() if key not in seen and t.active]
        if gone:
            Template_sudo.browse([t.id for t in gone]).write({"active": False})
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
    def _apply_status_update(self, business_account_id, value, accounts=None):
        """Meta's ``message_template_status_update`` webhook (its change's
        value); only to the templates of ``accounts`` when given (the numbers
        that signed it), else of every number of the business account. See
        ``_apply_template_update``."""
        if accounts is None:
            accounts = (
                self.env["whatsapp.account"]
                .sudo()
                .with_context(active_test=False)
                .search([("business_account_id", "=", business_account_id)])
            )
        update = parse_template_update(
            OtherChange("message_template_status_update", business_account_id, value)
        )
        if not update:
            return self.sudo().browse()
        return self._apply_template_update(update, accounts)

    # ------------------------------------------------------------
    # Variables from the record sent from
    # ------------------------------------------------------------

    def _resolve_values(self, record):
        """The text of each variable for ``record``, as ``{(location, position):
        text}``; ``""`` when neither the field nor its fallback gives one.

        ``record`` is a partner, a lead or a conversation. Fields are read
        with the rights of the user sending, never with sudo: a field or a
        record that user may not read gives the fallback, so a template
        cannot show a salesperson what Odoo hides from them.
        """
        self.ensure_one()
        sources = self._variable_sources(record)
        lang = self._format_lang(sources["partner"])
        values = {}
        for line in self.variable_ids:
            key = (line.location, line.position)
            if line.source == "free_text":
                values[key] = tpl_tools.clean_parameter(line.free_text)
                continue
            start = sources[line.source]
            raw = self._read_path(start.with_context(lang=lang), line.field_path)
            values[key] = tpl_tools.pick_value(raw, line.fallback)
        return values

    @api.model
    def _variable_sources(self, record):
        """Where each kind of variable reads: the record itself, its customer
        and its salesperson (the user sending when it has none)."""
        user_env = self.env(su=False)
        record = record.with_env(user_env)
        Partner, Lead = user_env["res.partner"], user_env["crm.lead"]
        partner, lead = Partner, Lead
        try:
            if record._name == "res.partner":
                partner = record
            elif record._name == "crm.lead":
                partner, lead = record.partner_id, record
            elif record._name == "whatsapp.conversation":
                partner = record.partner_id
                # a conversation linked to a lead speaks for it
                if "lead_id" in record._fields:
                    lead = record.lead_id
            salesperson = lead.user_id or partner.user_id
        except AccessError:
            salesperson = user_env["res.users"]
        return {
            "record": record,
            "partner": partner,
            "user": salesperson or user_env.user,
        }

    def _format_lang(self, partner):
        # the message is read in the template's language when Odoo has it
        installed = dict(self.env["res.lang"].get_installed())
        for code in (self.language, partner.sudo().lang, self.env.lang):
            if code in installed:
                return code
        return self.env.lang

    @api.model
    def _read_path(self, records, path):
        """Follow ``path`` (``partner_id.name``) from ``records``, checking
        at each step that the user may read the records and the field.

        Returns the text found, ``""`` when the path leads nowhere: a field
        the model does not have, an empty value, a field or record the user
        may not read (checked explicitly: a value already in the cache would
        otherwise be returned without any check).
        """
        if not path or not tpl_tools.valid_field_path(path):
            return ""
        names = path.split(".")
        for index, name in enumerate(names):
            field = records._fields.get(name)
            if not records or field is None:
                return ""
            try:
                records.check_access("read")
                records.check_field_access_rights("read", [name])
            except AccessError:
                _logger.info(
                    "WhatsApp template %s: %s not readable by user %s",
                    self.display_name,
                    path,
                    self.env.uid,
                )
                return ""
            if field.type in ("many2one", "one2many", "many2many"):
                records = records.mapped(name)
                if index == len(names) - 1:
                    try:
                        records.check_access("read")
                    except AccessError:
                        return ""
                    return ", ".join(r.display_name or "" for r in records)
                continue
            if index != len(names) - 1:
                return ""  # only relations lead further
            return ", ".join(
                text
                for text in (self._format_field(record, field) for record in records)
                if text
            )
        return ""

    @api.model
    def _format_field(self, record, field):
        value = record[field.name]
        env = record.env
        if field.type == "boolean":
            return _("Yes") if value else _("No")
        if value is False or value is None:
            return ""
        if field.type == "selection":
            return dict(field._description_selection(env)).get(value, value)
        if field.type == "date":
            return format_date(env, value)
        if field.type == "datetime":
            return format_datetime(env, value, tz=env.user.tz)
        if field.type == "monetary":
            currency = record[field.get_currency_field(record)]
            return format_amount(env, value, currency) if currency else str(value)
        if field.type == "float":
            return formatLang(env, value)
        if field.type == "html":
            return html2plaintext(value)
        return str(value)

    # ------------------------------------------------------------
    # Sending
    # ------------------------------------------------------------

    def _check_sendable(self):
        self.ensure_one()
        if not self.body and self.status != "draft":
            raise UserError(
                _(
                    "The template %(name)s is known only from a notice of Meta: "
                    "sync the templates to bring its text first.",
                    name=self.display_name,
                )
            )
        if self.header_type in SAMPLE_TYPES and not self.header_file:
            raise UserError(
                _(
                    "The template %(name)s starts with a %(kind)s: an administrator "
                    "must add the file to send on the template first.",
                    name=self.display_name,
                    kind=dict(HEADER_TYPES)[self.header_type].lower(),
                )
            )
        if self.status != "approved":
            raise UserError(
                _(
                    "The template %(name)s is %(status)s at Meta: only approved "
                    "templates can be sent.",
                    name=self.display_name,
                    status=dict(STATUSES).get(self.status, self.status),
                )
            )

    def _values_too_long(self, body_values, header_value=""):
        """Which variables' texts Meta would refuse as too long, in words
        (``""`` when all fit): they are refused, never cut."""
        self.ensure_one()
        body_only = (
            self.header_type == "none" and not self.footer and not self.button_ids
        )
        problems = tpl_tools.long_parameters(body_values, header_value, body_only)
        # self.env._: the bare _ finds no language inside a generator
        return "; ".join(
            self.env._(
                "%(variable)s has %(length)s characters, WhatsApp takes at most "
                "%(limit)s there",
                variable=self.env._("Header %(variable)s", variable="{{1}}")
                if location == "header"
                else f"{{{{{position}}}}}",
                length=length,
                limit=limit,
            )
            for location, position, length, limit in problems
        )

    @api.model
    def _serialize_values(self, body_values, header_value=""):
        """What a queued message keeps of its variables (JSON)."""
        body = [body_values[n] for n in sorted(body_values)]
        if not header_value:
            return json.dumps(body)
        return json.dumps({"body": body, "header": header_value})

    def _prepare_message_payload(self, conversation, stored_values, client, **extra):
        """The ``/messages`` body sending this template to ``conversation``.

        ``stored_values`` is what :meth:`_serialize_values` kept. A media
        header sends the template's header file, uploaded to Meta when the
        last upload is older than Meta keeps media.
        """
        self.ensure_one()
        data = json.loads(stored_values or "[]")
        if isinstance(data, list):
            body, header_value = data, ""
        else:
            body, header_value = data.get("body") or [], data.get("header") or ""
        header = None
        if self.header_type == "text" and outbound.template_variables(self.header_text):
            header = outbound.header_parameter("text", header_value)
        elif self.header_type in SAMPLE_TYPES:
            header = outbound.header_parameter(
                self.header_type,
                self._header_media_id(client),
                self.header_filename or "",
            )
        return outbound.template_payload(
            conversation.wa_id,
            conversation.wa_user_id,
            self.name,
            self.language,
            body,
            header=header,
            **extra,
        )

    def _header_media_id(self, client):
        self.ensure_one()
        now = fields.Datetime.now()
        if (
            self.header_media_id
            and self.header_media_uploaded_at
            and self.header_media_uploaded_at > now - HEADER_MEDIA_REUSE
        ):
            return self.header_media_id
        attachment = self._header_attachment()
        media_id = client.upload_media(
            attachment.raw,
            self._header_mime_type(),
            self.header_filename or "header",
        )
        self.sudo().write(
            {"header_media_id": media_id, "header_media_uploaded_at": now}
        )
        return media_id


def _status(value):
    value = (value or "").lower()
    # "draft" is ours: a template Meta knows is never a draft
    return value if value in dict(STATUSES) and value != "draft" else False


def _reason(value):
    return False if not value or value == "NONE" else str(value)
