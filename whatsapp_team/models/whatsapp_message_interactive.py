import json

from markupsafe import Markup

from odoo import Command, api, fields, models

from ..tools import outbound
from ..tools.formatting import whatsapp_to_html

# what a customer's answer to our buttons or list says it is
REPLY_KINDS = ("button_reply", "list_reply")


# one concern of the model per file, as Odoo's mail spreads res.partner
class WhatsappMessage(models.Model):
    """Messages the customer answers with a tap: reply buttons and lists,
    sent inside the 24-hour window, and the answers that come back."""

    _inherit = "whatsapp.message"  # pylint: disable=consider-merging-classes-inherited

    interactive_kind = fields.Selection(
        [("button", "Reply buttons"), ("list", "List")],
        string="Choices",
        readonly=True,
    )
    interactive_header = fields.Char("Header", readonly=True)
    interactive_footer = fields.Char("Footer", readonly=True)
    interactive_button = fields.Char(
        "List Button", readonly=True, help="The button that opens the list."
    )
    interactive_option_ids = fields.One2many(
        "whatsapp.message.option",
        "message_id",
        string="Buttons and Rows",
        readonly=True,
    )

    @api.depends("interactive_option_ids")
    def _compute_body_html(self):
        result = super()._compute_body_html()
        for message in self.filtered("interactive_kind"):
            # shown as the customer sees it: the text with its buttons
            message.body_html = message._interactive_html(message._interactive_spec())
        return result

    # ------------------------------------------------------------
    # Sending
    # ------------------------------------------------------------

    @api.model
    def _queue_interactive(
        self,
        conversation,
        body,
        buttons=None,
        sections=None,
        button="",
        rows=None,
        header="",
        footer="",
    ):
        """Queue a message the customer answers with a tap, shown in the
        chat as the customer sees it, and return it (``whatsapp.message``).

        Reply buttons: ``buttons``, up to 3, each ``(code, title)`` (or a
        title, whose code is then made from it), e.g. a survey's
        ``[("good", "Very well"), ("fair", "It was OK"), ("bad", "Not
        well")]``. A list: ``button`` is the text of the button that opens
        it and ``rows`` its rows, each ``(code, title, description)`` (or a
        title), or ``sections`` several ``(title, rows)``. ``header`` and
        ``footer`` are optional texts. Titles up to 20 characters for
        buttons, 24 for rows; see ``tools.outbound`` for all of Meta's
        limits.

        The customer's answer is a message whose ``reply_to_id`` is this
        one; its ``_interactive_choice()`` is the option they tapped, whose
        ``code`` is the one given here.

        Like free text, it goes only inside the 24-hour window and on a
        number whose token works; the caller must be allowed to answer the
        chat (the system is). Raises ``UserError``, with nothing posted nor
        sent, when any of that fails or WhatsApp would refuse the choices.
        """
        conversation.ensure_one()
        conversation.check_access("write")
        if rows is not None:
            sections = [("", rows)]
        spec = conversation._whatsapp_interactive_spec(
            body,
            {
                "buttons": buttons,
                "sections": sections,
                "button": button,
                "header": header,
                "footer": footer,
            },
        )
        conversation._check_can_send(self.env["ir.attachment"], spec["body"])
        mail_message = conversation.sudo()._message_post_whatsapp(
            body=self._interactive_html(spec),
            author_id=self.env.user.partner_id.id,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        return self._queue_outbound(
            conversation, mail_message, [self._prepare_interactive_values(spec)]
        )

    @api.model
    def _queue_interactive_from_chatter(
        self, conversation, mail_message, spec, attachments, reply_to_mail=None
    ):
        """Queue what a salesperson posted with buttons or a list (checked by
        ``whatsapp.conversation._whatsapp_interactive_of_post``): the message
        with its choices, then each attached file on its own (a file cannot
        go with buttons but as a header, which the chatter does not offer)."""
        reply_to = (
            self.sudo()
            .search([("mail_message_id", "=", reply_to_mail.id)], limit=1)
            .wa_message_id
            if reply_to_mail
            else False
        )
        common = {"reply_to_wa_id": reply_to or False}
        values_list = [{**common, **self._prepare_interactive_values(spec)}]
        for attachment in attachments:
            values_list.append(
                {
                    **common,
                    "message_type": outbound.media_kind(attachment.mimetype),
                    "attachment_ids": [Command.set(attachment.ids)],
                    "media_mime_type": attachment.mimetype,
                    "media_filename": attachment.name,
                }
            )
        return self._queue_outbound(conversation, mail_message, values_list)

    @api.model
    def _prepare_interactive_values(self, spec):
        """The ``whatsapp.message`` values of an interactive message (a
        ``tools.outbound.interactive_spec``)."""
        options = []
        if spec["kind"] == "button":
            choices = [("button", "", button) for button in spec["buttons"]]
        else:
            choices = [
                ("row", section["title"], row)
                for section in spec["sections"]
                for row in section["rows"]
            ]
        for sequence, (kind, section, choice) in enumerate(choices, 1):
            options.append(
                Command.create(
                    {
                        "sequence": sequence,
                        "kind": kind,
                        "section": section or False,
                        "code": choice["id"],
                        "title": choice["title"],
                        "description": choice.get("description") or False,
                    }
                )
            )
        return {
            "message_type": "interactive",
            "body": spec["body"],
            "interactive_kind": spec["kind"],
            "interactive_header": spec["header"] or False,
            "interactive_footer": spec["footer"] or False,
            "interactive_button": spec.get("button") or False,
            "interactive_option_ids": options,
        }

    def _interactive_spec(self):
        """This message's choices as ``tools.outbound.interactive_spec``
        gives them."""
        self.ensure_one()
        spec = {
            "kind": self.interactive_kind,
            "body": self.body or "",
            "header": self.interactive_header or "",
            "footer": self.interactive_footer or "",
        }
        options = self.interactive_option_ids.sorted(lambda o: (o.sequence, o.id))
        if self.interactive_kind == "button":
            spec["buttons"] = [{"id": o.code, "title": o.title} for o in options]
            return spec
        spec["button"] = self.interactive_button or ""
        sections = []
        for option in options:
            title = option.section or ""
            if not sections or sections[-1]["title"] != title:
                sections.append({"title": title, "rows": []})
            sections[-1]["rows"].append(
                {
                    "id": option.code,
                    "title": option.title,
                    "description": option.description or "",
                }
            )
        spec["sections"] = sections
        return spec

    def _prepare_send_payload(self, client):
        if self.message_type == "interactive" and self.direction == "out":
            conversation = self.conversation_id
            return outbound.interactive_payload(
                conversation.wa_id,
                conversation.wa_user_id,
                self._interactive_spec(),
                reply_to=self.reply_to_wa_id or "",
                callback=self.callback_ref,
            )
        return super()._prepare_send_payload(client)

    @api.model
    def _interactive_html(self, spec):
        """The chat's view of an interactive message: its header, text and
        footer as WhatsApp shows them, then its buttons, or the list's button
        and the rows it opens (safe HTML)."""
        parts = []
        if spec["header"]:
            parts.append(Markup("<p><b>%s</b></p>") % spec["header"])
        parts.append(Markup("<p>%s</p>") % Markup(whatsapp_to_html(spec["body"])))
        if spec["footer"]:
            parts.append(
                Markup('<p class="o-whatsapp-footer small text-muted">%s</p>')
                % spec["footer"]
            )
        if spec["kind"] == "button":
            choices = Markup("").join(
                Markup('<div class="o-whatsapp-choice">↩ %s</div>') % button["title"]
                for button in spec["buttons"]
            )
            parts.append(Markup('<div class="o-whatsapp-choices">%s</div>') % choices)
            return Markup("").join(parts)
        rows = []
        for section in spec["sections"]:
            if section["title"]:
                rows.append(
                    Markup('<li class="o-whatsapp-choice-section">%s</li>')
                    % section["title"]
                )
            for row in section["rows"]:
                description = (
                    Markup("<br/><small>%s</small>") % row["description"]
                    if row["description"]
                    else ""
                )
                rows.append(Markup("<li>%s%s</li>") % (row["title"], description))
        parts.append(
            Markup(
                '<div class="o-whatsapp-choices"><div class="o-whatsapp-choice">'
                '☰ %s</div><ul class="o-whatsapp-choice-rows">%s</ul></div>'
            )
            % (spec["button"], Markup("").join(rows))
        )
        return Markup("").join(parts)

    # ------------------------------------------------------------
    # The customer's answer
    # ------------------------------------------------------------

    def _interactive_reply_code(self):
        """The code of the button or row the customer tapped, read from the
        message WhatsApp delivered; empty for any other message."""
        self.ensure_one()
        if self.direction != "in" or self.message_type != "interactive":
            return ""
        try:
            content = json.loads(self.raw or "{}").get("interactive") or {}
        except (ValueError, AttributeError):
            return ""
        if not isinstance(content, dict) or content.get("type") not in REPLY_KINDS:
            return ""
        reply = content.get(content["type"])
        return str(reply.get("id") or "") if isinstance(reply, dict) else ""

    def _interactive_choice(self):
        """The button or row (``whatsapp.message.option``) of our message that
        this customer message answers, or an empty recordset: what automated
        flows read (its ``code``, ``title``, ``kind``). The message answered
        is ``reply_to_id``, from the context WhatsApp sends with the tap."""
        self.ensure_one()
        code = self._interactive_reply_code()
        if not code:
            return self.env["whatsapp.message.option"]
        return self.reply_to_id.interactive_option_ids.filtered(
            lambda option: option.code == code
        )[:1]
