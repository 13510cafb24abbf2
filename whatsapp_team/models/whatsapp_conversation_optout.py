from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..tools import replies


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

    def _whatsapp_system_fields(self):
        return super()._whatsapp_system_fields() | {"user_opted_out", "phone_sanitized"}

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
        listed = set(
            self.env["phone.blacklist"]
            .sudo()
            .search(
                [("number", "in", [n for n in self.mapped("phone_sanitized") if n])]
            )
            .mapped("number")
        )
        keys = [key for key in self.mapped("phone_key") if key]
        flagged = (
            set(
                self.sudo()
                .search([("phone_key", "in", keys), ("user_opted_out", "=", True)])
                .mapped("phone_key")
            )
            if keys
            else set()
        )
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
        number = self._blacklist_number()
        if number:
            self.env["phone.blacklist"].sudo()._add(
                [number], message=_("Opted out on WhatsApp (%(word)s).", word=word)
            )
            body = _(
                "The customer wrote “%(word)s”: their number is on the blacklist "
                "and marketing templates are no longer sent to them.",
                word=word,
            )
        else:
            self.sudo().user_opted_out = True
            body = _(
                "The customer wrote “%(word)s”: marketing templates are no longer "
                "sent to them.",
                word=word,
            )
        self.message_post(body=body, message_type="notification")

    def _opt_in(self, word):
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
            self.env["phone.blacklist"].sudo()._remove(
                [number],
                message=_("Opted in again on WhatsApp (%(word)s).", word=word),
            )
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
