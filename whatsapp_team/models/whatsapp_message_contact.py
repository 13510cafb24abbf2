import json

from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..tools import phone as phone_tools
from ..tools.payload import shared_contacts

# what Meta writes as a number's, an address's or an e-mail's type
ENTRY_TYPES = {
    "CELL": "mobile",
    "MAIN": "main",
    "IPHONE": "iPhone",
    "HOME": "home",
    "WORK": "work",
}


class WhatsappMessageContact(models.Model):
    """A contact card a customer shared (a ``contacts`` message), with every
    field Meta sends. Read by those who may read the chat; a salesperson
    makes a contact of it by hand, with their own rights."""

    _name = "whatsapp.message.contact"
    _description = "WhatsApp Shared Contact"
    _order = "message_id, sequence, id"

    message_id = fields.Many2one(
        "whatsapp.message",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    # the chat's record rules read these, as the message's do
    conversation_id = fields.Many2one(
        related="message_id.conversation_id", store=True, index=True
    )
    account_id = fields.Many2one(related="message_id.account_id", store=True)
    sequence = fields.Integer(readonly=True)
    name = fields.Char(readonly=True)
    first_name = fields.Char(readonly=True)
    middle_name = fields.Char(readonly=True)
    last_name = fields.Char(readonly=True)
    name_prefix = fields.Char("Prefix", readonly=True)
    name_suffix = fields.Char("Suffix", readonly=True)
    phone = fields.Char(
        readonly=True, index="btree_not_null", help="The card's first number."
    )
    wa_id = fields.Char(
        "WhatsApp ID", readonly=True, help="The first number that uses WhatsApp."
    )
    email = fields.Char(readonly=True, help="The card's first e-mail address.")
    phones = fields.Text("Numbers", readonly=True)
    emails = fields.Text("E-mails", readonly=True)
    organization = fields.Char("Company", readonly=True)
    department = fields.Char(readonly=True)
    job_title = fields.Char(readonly=True)
    addresses = fields.Text(readonly=True)
    urls = fields.Text("Websites", readonly=True)
    birthday = fields.Char(readonly=True)
    raw = fields.Text("Card", readonly=True, help="The card as Meta sent it.")
    partner_id = fields.Many2one(
        "res.partner",
        string="Contact",
        readonly=True,
        ondelete="set null",
        help="The contact made from this card, or the one that already had "
        "its number.",
    )

    @api.depends("name", "phone")
    def _compute_display_name(self):
        for card in self:
            card.display_name = card.name or card.phone or _("Shared contact")

    # ------------------------------------------------------------
    # From Meta's card
    # ------------------------------------------------------------

    @api.model
    def _values_from_card(self, card, sequence=0):
        """The fields of a card of Meta's ``contacts`` message (a dict)."""
        (contact,) = shared_contacts([card]) or (None,)
        if contact is None:
            return {"sequence": sequence, "raw": json.dumps(card)}
        whatsapp = next((p for p in contact.phones if p.wa_id), None)
        return {
            "sequence": sequence,
            "name": contact.name or False,
            "first_name": contact.first_name or False,
            "middle_name": contact.middle_name or False,
            "last_name": contact.last_name or False,
            "name_prefix": contact.name_prefix or False,
            "name_suffix": contact.name_suffix or False,
            "phone": contact.phones[0].phone if contact.phones else False,
            "wa_id": whatsapp.wa_id if whatsapp else False,
            "email": contact.emails[0].value if contact.emails else False,
            "phones": "\n".join(self._phone_line(p) for p in contact.phones) or False,
            "emails": "\n".join(self._typed(e.value, e.type) for e in contact.emails)
            or False,
            "organization": contact.organization or False,
            "department": contact.department or False,
            "job_title": contact.job_title or False,
            "addresses": "\n".join(
                self._typed(self._address_text(a), a.type) for a in contact.addresses
            )
            or False,
            "urls": "\n".join(self._typed(u.value, u.type) for u in contact.urls)
            or False,
            "birthday": contact.birthday or False,
            "raw": json.dumps(card),
        }

    @api.model
    def _typed(self, text, kind):
        kind = ENTRY_TYPES.get((kind or "").upper(), (kind or "").lower())
        return f"{text} ({kind})" if kind else text

    @api.model
    def _phone_line(self, entry):
        text = self._typed(entry.phone, entry.type)
        return f"{text} · WhatsApp" if entry.wa_id else text

    @api.model
    def _address_text(self, address):
        city = " ".join(part for part in (address.zip, address.city) if part)
        return ", ".join(
            part
            for part in (
                address.street,
                city,
                address.state,
                address.country or address.country_code,
            )
            if part
        )

    def _card(self):
        """The card as ``tools.payload.SharedContact``."""
        self.ensure_one()
        try:
            card = json.loads(self.raw or "{}")
        except ValueError:
            card = {}
        (contact,) = shared_contacts([card]) or (None,)
        return contact

    # ------------------------------------------------------------
    # In the chat
    # ------------------------------------------------------------

    def _chatter_html(self):
        """The card as the chat shows it: every field, then a link opening
        the card (to make a contact of it) or the contact made from it."""
        self.ensure_one()
        lines = [Markup("👤 <b>%s</b>") % (self.name or _("Shared contact"))]
        for icon, text in (
            ("📞", self.phones),
            ("✉️", self.emails),
            (
                "🏢",
                ", ".join(
                    part
                    for part in (self.organization, self.department, self.job_title)
                    if part
                ),
            ),
            ("📍", self.addresses),
            ("🎂", self.birthday),
        ):
            for line in (text or "").splitlines():
                lines.append(Markup("%s %s") % (icon, line))
        contact = self._card()
        for url in contact.urls if contact else ():
            link = url.value
            if link.lower().startswith(("http://", "https://")):
                lines.append(
                    Markup('🔗 <a href="%s" target="_blank" rel="noopener">%s</a>')
                    % (link, self._typed(link, url.type))
                )
            else:
                lines.append(Markup("🔗 %s") % self._typed(link, url.type))
        if self.partner_id:
            lines.append(
                Markup('<a href="#" data-oe-model="res.partner" data-oe-id="%s">%s</a>')
                % (
                    self.partner_id.id,
                    _("Open %(contact)s", contact=self.partner_id.display_name),
                )
            )
        else:
            lines.append(
                Markup(
                    '<a href="#" data-oe-model="whatsapp.message.contact" '
                    'data-oe-id="%s">%s</a>'
                )
                % (self.id, _("Add to contacts"))
            )
        return Markup('<div class="o_whatsapp_shared_contact">%s</div>') % (
            Markup("<br/>").join(lines)
        )

    # ------------------------------------------------------------
    # A contact from the card
    # ------------------------------------------------------------

    def action_create_partner(self):
        """Make a contact (``res.partner``) of this card, as the user and
        with their own right to create contacts. Never twice for one
        number: a contact the user may see that has one of the card's
        numbers is offered instead; one they may not see refuses it."""
        self.ensure_one()
        # the card is the chat's: only its readers (the rules) may use it
        self.check_access("read")
        card_sudo = self.sudo()
        existing = card_sudo.partner_id.with_env(self.env)
        if existing and existing.exists() and existing.has_access("read"):
            return self._open_partner(existing)
        contact = self._card()
        if contact is None or not (contact.name or contact.phones):
            raise UserError(_("This card has no name or number to make a contact of."))
        keys = self._phone_keys(contact)
        Partner = self.env["res.partner"]
        if keys:
            key_domain = [
                "|",
                ("whatsapp_phone_key", "in", keys),
                ("whatsapp_mobile_key", "in", keys),
            ]
            existing = Partner.search(key_domain, order="id", limit=1)
            if existing:
                card_sudo.partner_id = existing
                card_sudo.message_id._refresh_chatter_body()
                return self._open_partner(
                    existing,
                    _(
                        "%(contact)s already has this number: no second contact "
                        "was made.",
                        contact=existing.display_name,
                    ),
                )
            if Partner.sudo().search_count(key_domain, limit=1):
                raise UserError(
                    _(
                        "A contact with this number exists already, which you may "
                        "not see: no second contact was made. Ask an administrator "
                        "to share it with you."
                    )
                )
        partner = Partner.create(self._partner_values(contact))
        card_sudo.partner_id = partner
        card_sudo.message_id._refresh_chatter_body()
        return self._open_partner(partner)

    def _phone_keys(self, contact):
        region = self._region(contact)
        keys = set()
        for entry in contact.phones:
            key = (
                phone_tools.wa_id_key(entry.wa_id)
                if entry.wa_id
                else phone_tools.match_key(entry.phone, region)
            )
            if key:
                keys.add(key)
        return sorted(keys)

    def _region(self, contact):
        codes = [a.country_code.upper() for a in contact.addresses if a.country_code]
        if codes:
            return codes[0]
        return self.sudo().account_id._default_region()

    def _partner_values(self, contact):
        region = self._region(contact)

        def number(entry):
            if entry.wa_id:
                e164 = phone_tools.wa_id_to_e164(entry.wa_id)
                return phone_tools.international(e164) if e164 else entry.phone
            e164 = phone_tools.to_e164(entry.phone, region)
            return phone_tools.international(e164) if e164 else entry.phone

        # the WhatsApp number is the mobile; the next one the phone
        phones = sorted(contact.phones, key=lambda entry: not entry.wa_id)
        values = {
            "name": contact.name or number(phones[0]),
            "mobile": number(phones[0]) if phones else False,
            "phone": number(phones[1]) if len(phones) > 1 else False,
            "email": contact.emails[0].value if contact.emails else False,
            "function": contact.job_title or False,
            "company_name": contact.organization or False,
            "website": contact.urls[0].value if contact.urls else False,
        }
        if contact.addresses:
            address = contact.addresses[0]
            Country = self.env["res.country"]
            country = (
                Country.search([("code", "=", address.country_code.upper())], limit=1)
                if address.country_code
                else Country.search([("name", "=ilike", address.country)], limit=1)
                if address.country
                else Country
            )
            state = (
                self.env["res.country.state"].search(
                    [
                        ("country_id", "=", country.id),
                        "|",
                        ("code", "=ilike", address.state),
                        ("name", "=ilike", address.state),
                    ],
                    limit=1,
                )
                if country and address.state
                else self.env["res.country.state"]
            )
            values.update(
                street=address.street or False,
                zip=address.zip or False,
                city=address.city or False,
                state_id=state.id,
                country_id=country.id,
            )
        # what a partner has no field for stays in its notes
        others = [
            *(self._phone_line(p) for p in phones[2:]),
            *(self._typed(e.value, e.type) for e in contact.emails[1:]),
            *(
                self._typed(self._address_text(a), a.type)
                for a in contact.addresses[1:]
            ),
            *(self._typed(u.value, u.type) for u in contact.urls[1:]),
            contact.department and _("Department: %(name)s", name=contact.department),
            contact.birthday and _("Birthday: %(date)s", date=contact.birthday),
        ]
        intro = _(
            "Shared on WhatsApp by %(customer)s.",
            customer=self.sudo().conversation_id.name,
        )
        values["comment"] = Markup("<p>%s</p>") % intro + Markup("").join(
            Markup("<p>%s</p>") % escape(line) for line in others if line
        )
        return values

    def _open_partner(self, partner, message=None):
        action = {
            "type": "ir.actions.act_window",
            "res_model": "res.partner",
            "res_id": partner.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
        }
        if not message:
            return action
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"type": "warning", "message": message, "next": action},
        }
