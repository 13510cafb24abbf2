import logging
from datetime import datetime, timezone

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.osv import expression
from odoo.tools import SQL

from ..tools import phone as phone_tools
from ..tools import replies

_logger = logging.getLogger(__name__)


# one concern of the model per file, as Odoo's mail spreads res.partner
class WhatsappConversation(models.Model):
    """Opt-out keywords (STOP) and opt-in keywords (START): the phone
    blacklist, or the chat itself where the blacklist cannot hold the number
    (a customer known by username only, a number phone_validation refuses)."""

    _inherit = "whatsapp.conversation"  # pylint: disable=consider-merging-classes-inherited

    opted_out = fields.Boolean(
        compute="_compute_opted_out",
        search="_search_opted_out",
        help="The customer's number is on the phone blacklist (they wrote STOP, "
        "or someone put it there), or they opted out where the blacklist "
        "cannot hold their number: marketing templates are refused.",
    )
    # customers known only by their username, and numbers the phone blacklist
    # refuses (Meta's test numbers, ids libphonenumber calls invalid): their
    # opt-out is kept on the chat itself
    user_opted_out = fields.Boolean(readonly=True, copy=False)

    # the customer's number as the phone blacklist stores it (phone_validation
    # may rewrite it: Brazil's ninth digit added, Mexico's old "1" dropped),
    # else as WhatsApp sends it
    phone_sanitized = fields.Char(
        "Sanitized Number",
        compute="_compute_phone_sanitized",
        store=True,
        index="btree_not_null",
        copy=False,
    )

    # the customer's own setting in WhatsApp (user_preferences webhook):
    # marketing messages stopped or resumed, and when they said so
    marketing_preference = fields.Selection(
        [("stop", "Stopped"), ("resume", "Resumed")],
        string="Marketing in WhatsApp",
        readonly=True,
        copy=False,
        help="What the customer chose in WhatsApp's own settings for our "
        "marketing messages. Stopped, it is honoured as an opt-out keyword: "
        "marketing templates are refused, other messages still go.",
    )
    marketing_preference_at = fields.Datetime(
        "Marketing Choice Made", readonly=True, copy=False
    )

    def _whatsapp_system_fields(self):
        return super()._whatsapp_system_fields() | {
            "user_opted_out",
            "phone_sanitized",
            "marketing_preference",
            "marketing_preference_at",
        }

    def write(self, vals):
        if "user_opted_out" in vals and not self.env.su:
            # the customer's own choice: only their STOP and START change it
            raise AccessError(_("Only the customer can opt out or back in."))
        result = super().write(vals)
        if "user_opted_out" in vals:
            # the choice holds for the customer's number on all our numbers
            self.invalidate_model(["opted_out"])
        return result

    @api.depends("wa_id")
    def _compute_phone_sanitized(self):
        no_country = self.env["res.country"]
        for conversation in self:
            number = conversation._e164()
            conversation.phone_sanitized = number and (
                self._phone_format_number(
                    number, country=no_country, force_format="E164"
                )
                or number
            )

    @api.depends("phone_sanitized", "phone_key", "user_opted_out")
    def _compute_opted_out(self):
        """The phone blacklist is the one truth for a number it holds:
        whoever edits it, the chat follows. A customer who opted out where
        it cannot hold their number (known by username only, or a number it
        refuses) stays out, on every chat of that number, until their START."""
        numbers = tuple({n for n in self.mapped("phone_sanitized") if n})
        keys = tuple({key for key in self.mapped("phone_key") if key})
        # both lists in one query: a chat's row reads this with every message
        parts = []
        if numbers:
            self.env["phone.blacklist"].flush_model(["number", "active"])
            parts.append(
                SQL(
                    "SELECT number, FALSE FROM phone_blacklist"
                    " WHERE active AND number IN %s",
                    numbers,
                )
            )
        if keys:
            self.flush_model(["phone_key", "user_opted_out"])
            parts.append(
                SQL(
                    "SELECT phone_key, TRUE FROM whatsapp_conversation"
                    " WHERE user_opted_out AND phone_key IN %s",
                    keys,
                )
            )
        listed, flagged = set(), set()
        if parts:
            for value, is_key in self.env.execute_query(SQL(" UNION ").join(parts)):
                (flagged if is_key else listed).add(value)
        for conversation in self:
            conversation.opted_out = (
                conversation.phone_sanitized in listed
                or conversation.user_opted_out
                or conversation.phone_key in flagged
            )

    def _search_opted_out(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(_("Search on opted out with = or != only."))
        # the blacklist may be long (SMS marketing): subqueries, not lists,
        # over what is written so far
        self.env["phone.blacklist"].flush_model(["number", "active"])
        self.flush_model(["phone_key", "user_opted_out"])
        listed = SQL("(SELECT number FROM phone_blacklist WHERE active)")
        flagged = SQL(
            "(SELECT phone_key FROM whatsapp_conversation"
            " WHERE user_opted_out AND phone_key IS NOT NULL)"
        )
        if (operator == "=") == value:
            return [
                "|",
                "|",
                ("phone_sanitized", "in", listed),
                ("user_opted_out", "=", True),
                ("phone_key", "in", flagged),
            ]
        return [
            "&",
            "&",
            "|",
            ("phone_sanitized", "=", False),
            ("phone_sanitized", "not in", listed),
            ("user_opted_out", "=", False),
            "|",
            ("phone_key", "=", False),
            ("phone_key", "not in", flagged),
        ]

    def _blacklist_number(self):
        """The number for the phone blacklist, or False when there is none or
        the blacklist would refuse it."""
        self.ensure_one()
        number = self.phone_sanitized
        if not number or not self._phone_format_number(
            number, country=self.env["res.country"], force_format="E164"
        ):
            return False
        return number

    def _handle_opt_keywords(self, wa_message):
        """STOP (and its translations) blacklists the number, START lifts it.
        Returns whether the message was one of them."""
        self.ensure_one()
        account = self.account_id
        text = (wa_message.body or "").strip()
        if not (self.wa_id or self.wa_user_id) or wa_message.message_type not in (
            "text",
            "button",
            "interactive",
        ):
            return False
        if replies.matches_keyword(text, account.optout_keywords):
            self._opt_out(text)
            return True
        if replies.matches_keyword(text, account.optin_keywords) and self.opted_out:
            self._opt_in(text)
            return True
        return False

    def _opt_out(self, word):
        if self._opt_out_number(_("Opted out on WhatsApp (%(word)s).", word=word)):
            body = _(
                "The customer wrote “%(word)s”: their number is on the blacklist "
                "and marketing templates are no longer sent to them.",
                word=word,
            )
        else:
            body = _(
                "The customer wrote “%(word)s”: marketing templates are no longer "
                "sent to them.",
                word=word,
            )
        self.message_post(body=body, message_type="notification")

    def _opt_out_number(self, reason):
        """Put the customer's number on the blacklist with ``reason``, or,
        where the blacklist cannot hold it, keep their choice on the chat.
        Returns whether the number went on the blacklist."""
        self.ensure_one()
        number = self._blacklist_number()
        if number:
            self.env["phone.blacklist"].sudo()._add([number], message=reason)
            return True
        self.sudo().user_opted_out = True
        return False

    def _opt_in(self, word):
        if self._opt_in_number(_("Opted in again on WhatsApp (%(word)s).", word=word)):
            body = _(
                "The customer wrote “%(word)s”: their number is off the blacklist.",
                word=word,
            )
        else:
            body = _(
                "The customer wrote “%(word)s”: marketing templates may be sent "
                "to them again.",
                word=word,
            )
        self.message_post(body=body, message_type="notification")

    def _opt_in_number(self, reason):
        """Lift the customer's opt-out: the number off the blacklist (with
        ``reason``) and the chat's own choice, on each chat of the number.
        Returns whether the number is one the blacklist holds."""
        self.ensure_one()
        number = self._blacklist_number()
        flagged_sudo = self.sudo().search(
            [
                ("user_opted_out", "=", True),
                "|",
                ("id", "=", self.id),
                "&",
                ("phone_key", "!=", False),
                ("phone_key", "=", self.phone_key),
            ]
        )
        if flagged_sudo:
            flagged_sudo.user_opted_out = False
        if number:
            self.env["phone.blacklist"].sudo()._remove([number], message=reason)
            return True
        return False

    # ------------------------------------------------------------
    # WhatsApp's own setting: user_preferences
    # ------------------------------------------------------------

    @api.model
    def _apply_marketing_preference(self, account, preference):
        """The customer stopped or resumed marketing messages in WhatsApp's
        settings (``tools.payload.UserPreference``): honoured as their STOP
        and START are, on their chat with ``account``. Without a chat, a
        number the blacklist holds goes on it (or off it) alone; any other
        customer gets a chat to keep their choice."""
        if preference.category != "marketing_messages" or preference.value not in (
            "stop",
            "resume",
        ):
            _logger.info(
                "WhatsApp preference %s=%s not handled",
                preference.category,
                preference.value,
            )
            return self.browse()
        when = (
            datetime.fromtimestamp(preference.timestamp, tz=timezone.utc).replace(
                tzinfo=None
            )
            if preference.timestamp
            else fields.Datetime.now()
        )
        user = preference.user
        phone_key = phone_tools.wa_id_key(user.wa_id) if user.wa_id else None
        self._lock_identity(phone_key, user.user_id or None)
        domains = []
        if phone_key:
            domains.append([("phone_key", "=", phone_key)])
        if user.user_id:
            domains.append([("wa_user_id", "=", user.user_id)])
        chat_sudo = self.sudo().search(
            expression.AND([[("account_id", "=", account.id)], expression.OR(domains)]),
            order="id",
            limit=1,
        )
        if not chat_sudo:
            number = self._preference_blacklist_number(user.wa_id)
            if number:
                Blacklist_sudo = self.env["phone.blacklist"].sudo()
                if preference.value == "stop":
                    Blacklist_sudo._add([number], message=self._stop_reason())
                else:
                    Blacklist_sudo._remove([number], message=self._resume_reason())
                return self.browse()
            chat_sudo = self.sudo()._get_or_create_for(account, user)
        chat_sudo._set_marketing_preference(preference.value, when)
        return chat_sudo

    @api.model
    def _preference_blacklist_number(self, wa_id):
        """The number of ``wa_id`` as the blacklist stores it, or False."""
        if not wa_id:
            return False
        return self._phone_format_number(
            "+" + wa_id.lstrip("+"),
            country=self.env["res.country"],
            force_format="E164",
        )

    def _stop_reason(self):
        return _("Stopped marketing messages in WhatsApp's settings.")

    def _resume_reason(self):
        return _("Resumed marketing messages in WhatsApp's settings.")

    def _set_marketing_preference(self, value, when):
        """Apply the customer's choice made at ``when``; an older choice
        Meta delivers late changes nothing."""
        self.ensure_one()
        if self.marketing_preference_at and when < self.marketing_preference_at:
            _logger.info(
                "WhatsApp chat %s: a marketing preference older than the last "
                "one, ignored",
                self.id,
            )
            return False
        self.sudo().write(
            {"marketing_preference": value, "marketing_preference_at": when}
        )
        if value == "stop":
            if self._opt_out_number(self._stop_reason()):
                body = _(
                    "The customer stopped marketing messages in WhatsApp's "
                    "settings: their number is on the blacklist and marketing "
                    "templates are no longer sent to them."
                )
            else:
                body = _(
                    "The customer stopped marketing messages in WhatsApp's "
                    "settings: marketing templates are no longer sent to them."
                )
        else:
            self._opt_in_number(self._resume_reason())
            body = _(
                "The customer resumed marketing messages in WhatsApp's settings: "
                "marketing templates may be sent to them again."
            )
        self.sudo().message_post(body=body, message_type="notification")
        return True
