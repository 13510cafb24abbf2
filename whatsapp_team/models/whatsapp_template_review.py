"""What Meta says of a template after it was submitted: its status with the
reasons (rejection, pause, disabling), its quality score and its category.

Kept in fields on the template, shown on its form, and told to the
administrator who submitted it when Meta rejects, pauses, flags or disables
it. An update about a template Odoo does not have yet is never dropped: the
template is created from what the update says and the templates are synced
to bring the rest.
"""

import logging
from datetime import datetime, timezone

from markupsafe import Markup

from odoo import api, fields, models

from .whatsapp_template import CATEGORIES, _reason, _status

_logger = logging.getLogger(__name__)

QUALITY_SCORES = [
    ("green", "High"),
    ("yellow", "Medium"),
    ("red", "Low"),
    ("unknown", "Not rated yet"),
]
# status events that are no status of their own
EVENT_STATUS = {"REINSTATED": "approved", "UNPAUSED": "approved"}
# status events that leave the status as it is
STATUSLESS_EVENTS = ("FLAGGED", "LOCKED", "UNLOCKED")
# what the template's author hears of
TOLD_EVENTS = ("REJECTED", "PAUSED", "DISABLED", "FLAGGED")


def _when(timestamp):
    if not timestamp:
        return False
    return datetime.fromtimestamp(int(timestamp), tz=timezone.utc).replace(tzinfo=None)


def _category(value):
    value = (value or "").lower()
    return value if value in dict(CATEGORIES) else False


def _quality(value):
    value = (value or "").lower()
    return value if value in dict(QUALITY_SCORES) else False


# one concern of the model per file, as the conversation's
class WhatsappTemplate(models.Model):
    _inherit = "whatsapp.template"  # pylint: disable=consider-merging-classes-inherited

    submitted_by_id = fields.Many2one(
        "res.users",
        readonly=True,
        copy=False,
        help="Who submitted the template to Meta: told when Meta rejects, "
        "pauses, flags or disables it.",
    )
    status_updated_at = fields.Datetime(
        "Status Updated", readonly=True, copy=False, help="When Meta said so."
    )
    rejection_info = fields.Text("Why Meta Rejected It", readonly=True, copy=False)
    rejection_recommendation = fields.Text(
        "Meta's Recommendation", readonly=True, copy=False
    )
    status_info_title = fields.Char(
        "Status Event",
        readonly=True,
        copy=False,
        help="Meta's name of the last pause or lock event (FIRST_PAUSE, "
        "SECOND_PAUSE, UNPAUSE…).",
    )
    status_info = fields.Text(
        "Status Details",
        readonly=True,
        copy=False,
        help="Meta's explanation of the last pause, lock or unpause.",
    )
    flagged = fields.Boolean(
        readonly=True,
        copy=False,
        help="Customers' feedback puts the template at risk of being paused "
        "or disabled.",
    )
    disabled_at = fields.Datetime(readonly=True, copy=False)
    quality_score = fields.Selection(
        QUALITY_SCORES,
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="Meta's rating of the template from customers' reactions: low "
        "quality leads to pauses, then to disabling.",
    )
    previous_quality_score = fields.Selection(QUALITY_SCORES, readonly=True, copy=False)
    quality_updated_at = fields.Datetime("Quality Updated", readonly=True, copy=False)
    previous_category = fields.Selection(
        CATEGORIES,
        readonly=True,
        copy=False,
        help="The category before Meta changed it.",
    )
    category_updated_at = fields.Datetime("Category Changed", readonly=True, copy=False)
    upcoming_category = fields.Selection(
        CATEGORIES,
        readonly=True,
        copy=False,
        help="The category Meta announced it will give the template.",
    )
    upcoming_category_at = fields.Datetime(
        "Category Changes On", readonly=True, copy=False
    )

    # ------------------------------------------------------------
    # Meta's updates
    # ------------------------------------------------------------

    @api.model
    def _apply_template_update(self, update, accounts):
        """Apply a template webhook (``tools.payload.TemplateUpdate``) to
        the templates of ``accounts`` (the numbers that signed it). A
        template one of them does not have is created from the update and
        the templates are synced from Meta: the update is never dropped."""
        Template_sudo = self.sudo().with_context(
            active_test=False, whatsapp_from_meta=True
        )
        templates_sudo = Template_sudo.search(
            [
                ("wa_template_id", "=", update.template_id),
                ("account_id", "in", accounts.ids),
            ]
        )
        missing = accounts - templates_sudo.account_id
        if missing:
            _logger.info(
                "WhatsApp template %s (%s) unknown to %s: created, and synced",
                update.template_id,
                update.name,
                missing.mapped("name"),
            )
            if update.name and update.language:
                templates_sudo |= Template_sudo.create(
                    [self._values_from_update(update, account) for account in missing]
                )
            self.env["ir.cron"]._whatsapp_wake("whatsapp_team.ir_cron_sync_templates")
        for template in templates_sudo:
            if update.field == "message_template_status_update":
                template._apply_status_event(update)
            elif update.field == "message_template_quality_update":
                template._apply_quality_update(update)
            elif update.field == "template_category_update":
                template._apply_category_update(update)
        return templates_sudo

    @api.model
    def _values_from_update(self, update, account):
        """A template as far as an update tells it; the sync brings the rest
        (its body, header, buttons)."""
        return {
            "account_id": account.id,
            "wa_template_id": update.template_id,
            "name": update.name,
            "language": update.language.replace("-", "_"),
            "category": _category(update.category)
            or _category(update.new_category)
            or "utility",
            "status": _status(update.event)
            or EVENT_STATUS.get(update.event)
            or "pending",
            "header_type": "none",
            "body": False,
        }

    def _apply_status_event(self, update):
        self.ensure_one()
        when = _when(update.time)
        if when and self.status_updated_at and when < self.status_updated_at:
            _logger.info(
                "WhatsApp template %s: status event %s older than the last one, "
                "ignored",
                self.display_name,
                update.event,
            )
            return
        status = _status(update.event) or EVENT_STATUS.get(update.event)
        values = {
            "status_updated_at": when or fields.Datetime.now(),
            "rejection_info": update.rejection_reason or False,
            "rejection_recommendation": update.rejection_recommendation or False,
            "status_info_title": update.info_title or False,
            "status_info": update.info_description or False,
        }
        if status:
            values.update(status=status, rejected_reason=_reason(update.reason))
            if status != "disabled":
                values["disabled_at"] = False
        if update.event == "FLAGGED":
            values["flagged"] = True
        elif status in ("approved", "disabled", "rejected"):
            values["flagged"] = False
        if update.event == "DISABLED":
            values["disabled_at"] = (
                _when(update.disabled_at) or when or (fields.Datetime.now())
            )
        category = _category(update.category)
        if category and category != self.category:
            values.update(previous_category=self.category, category=category)
        self.write(values)
        if not status and update.event not in STATUSLESS_EVENTS:
            # an event we cannot read a status from (UNARCHIVED…): Meta's
            # list of templates says where it stands
            self.env["ir.cron"]._whatsapp_wake("whatsapp_team.ir_cron_sync_templates")
        if update.event in TOLD_EVENTS:
            self._tell_author(update)

    def _apply_quality_update(self, update):
        self.ensure_one()
        when = _when(update.time)
        if when and self.quality_updated_at and when < self.quality_updated_at:
            return
        self.write(
            {
                "quality_score": _quality(update.new_quality),
                "previous_quality_score": _quality(update.previous_quality),
                "quality_updated_at": when or fields.Datetime.now(),
            }
        )

    def _apply_category_update(self, update):
        self.ensure_one()
        when = _when(update.time)
        if update.correct_category:
            # announced: Meta changes it in 24 hours, new_category is the
            # current one
            self.write(
                {
                    "upcoming_category": _category(update.correct_category),
                    "upcoming_category_at": _when(update.category_change_at),
                }
            )
            return
        if when and self.category_updated_at and when < self.category_updated_at:
            return
        values = {
            "previous_category": _category(update.previous_category) or self.category,
            "category_updated_at": when or fields.Datetime.now(),
            "upcoming_category": False,
            "upcoming_category_at": False,
        }
        category = _category(update.new_category)
        if category:
            values["category"] = category
        self.write(values)

    # ------------------------------------------------------------
    # Telling the author
    # ------------------------------------------------------------

    def _author(self):
        """Who hears of Meta's verdicts on this template: who submitted it,
        else who brought it into Odoo; never the system, nor a former
        employee."""
        self.ensure_one()
        author = self.submitted_by_id or self.create_uid
        if not author or not author.active or author._is_superuser():
            return self.env["res.users"]
        if not author._is_internal():
            return self.env["res.users"]
        return author

    def _tell_author(self, update):
        """The author's Odoo inbox (or their e-mail, as they chose) hears
        what Meta decided and why, with a link to the template."""
        self.ensure_one()
        author = self._author()
        if not author:
            return
        template = self.with_context(lang=author.lang)
        env = template.env
        status = dict(self._fields["status"]._description_selection(env)).get(
            self.status, self.status
        )
        if update.event == "FLAGGED":
            headline = env._(
                "Meta flagged the WhatsApp template %(template)s: customers' "
                "feedback puts it at risk of being paused.",
                template=self.display_name,
            )
        else:
            headline = env._(
                "Meta changed the WhatsApp template %(template)s to “%(status)s”.",
                template=self.display_name,
                status=status,
            )
        lines = [headline]
        if self.rejected_reason and update.event == "REJECTED":
            lines.append(env._("Reason: %(reason)s", reason=self.rejected_reason))
        if self.rejection_info:
            lines.append(env._("Why: %(why)s", why=self.rejection_info))
        if self.rejection_recommendation:
            lines.append(
                env._("What to do: %(what)s", what=self.rejection_recommendation)
            )
        if self.status_info:
            lines.append(self.status_info)
        body = Markup("").join(Markup("<p>%s</p>") % line for line in lines)
        self.env["mail.thread"].sudo().message_notify(
            model=self._name,
            res_id=self.id,
            record_name=self.display_name,
            partner_ids=author.partner_id.ids,
            subject=headline,
            body=body,
        )
