from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..tools import replies


# one concern of the model per file, as Odoo's mail spreads res.partner
class WhatsappConversation(models.Model):
    """Opt-out keywords (STOP) and opt-in keywords (START): the phone
    blacklist, or the chat itself for a customer without a number."""

    _inherit = "whatsapp.conversation"  # pylint: disable=consider-merging-classes-inherited

    opted_out = fields.Boolean(
        compute="_compute_opted_out",
        search="_search_opted_out",
        help="The customer's number is on the phone blacklist (they wrote STOP, "
        "or someone put it there): marketing templates are refused.",
    )
    # customers known only by their username have no number for the phone
    # blacklist: their opt-out is kept on the chat itself
    user_opted_out = fields.Boolean(readonly=True, copy=False)

    def write(self, vals):
        if "user_opted_out" in vals and not self.env.su:
            # the customer's own choice: only their STOP and START change it
            raise AccessError(_("Only the customer can opt out or back in."))
        return super().write(vals)

    @api.depends("wa_id", "user_opted_out")
    def _compute_opted_out(self):
        """The phone blacklist is the one truth for a number: whoever edits
        it, the chat follows. A customer who opted out while known only by
        their username stays out when their number shows up later."""
        numbers = {c.id: c._e164() for c in self}
        listed = set(
            self.env["phone.blacklist"]
            .sudo()
            .search([("number", "in", [n for n in numbers.values() if n])])
            .mapped("number")
        )
        for conversation in self:
            conversation.opted_out = (
                numbers[conversation.id] in listed or conversation.user_opted_out
            )

    def _search_opted_out(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(_("Search on opted out with = or != only."))
        # the blacklist may be long (SMS marketing): a subquery, not a list
        listed = SQL(
            "(SELECT substr(number, 2) FROM phone_blacklist"
            " WHERE active AND number LIKE %s)",
            "+%",
        )
        if (operator == "=") == value:
            return ["|", ("wa_id", "in", listed), ("user_opted_out", "=", True)]
        return [
            "&",
            "|",
            ("wa_id", "=", False),
            ("wa_id", "not in", listed),
            ("user_opted_out", "=", False),
        ]

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
        number = self._e164()
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
        number = self._e164()
        if self.user_opted_out:
            self.sudo().user_opted_out = False
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
