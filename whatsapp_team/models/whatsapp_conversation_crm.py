import logging
from typing import NamedTuple

from markupsafe import Markup

from odoo import _, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL
from odoo.tools.mail import generate_tracking_message_id

from ..tools.batch import processor_batch

_logger = logging.getLogger(__name__)

# context key: a chat's open leads, looked up once for one customer message
# (see _with_open_leads)
OPEN_LEADS_KEY = "whatsapp_open_leads"


class KnownOpenLeads(NamedTuple):
    """A chat's open leads, for one customer and one message. Only this
    class is trusted under :data:`OPEN_LEADS_KEY`: a context sent over RPC
    can hold none of it, so no caller names the leads a chat links to."""

    chat: tuple  # (chat id, customer partner id)
    lead_ids: tuple


# one concern of the model per file, as Odoo's mail spreads res.partner
class WhatsappConversation(models.Model):
    """The CRM behind a chat: its lead, its labels (the lead's tags) and the
    copy of the chat in the lead's chatter."""

    _inherit = "whatsapp.conversation"  # pylint: disable=consider-merging-classes-inherited

    # the CRM behind the chat
    lead_id = fields.Many2one(
        "crm.lead",
        index="btree_not_null",
        tracking=True,
        domain="[('partner_id', '=', partner_id)]",
    )
    label_ids = fields.Many2many("whatsapp.label", string="Labels")

    def write(self, vals):
        syncing = self.env.context.get("whatsapp_sync")
        if vals.get("lead_id") and not self.env.su:
            # the lead's hands and tags follow the chat: only a lead the
            # user may change can be linked
            self.env["crm.lead"].browse(vals["lead_id"]).check_access("write")
        labels_before = (
            {conversation: conversation.label_ids for conversation in self}
            if "label_ids" in vals and not syncing
            else None
        )
        leads_before = (
            {conversation: conversation.lead_id for conversation in self}
            if "lead_id" in vals
            else None
        )
        result = super().write(vals)
        if labels_before is not None:
            for conversation in self:
                added = conversation.label_ids - labels_before[conversation]
                removed = labels_before[conversation] - conversation.label_ids
                conversation._push_labels_to_lead(added, removed)
        if leads_before is not None:
            for conversation in self.filtered(
                lambda c: c.lead_id and c.lead_id != leads_before[c]
            ):
                conversation._on_lead_linked()
        if not syncing and {"user_id", "team_id"} & set(vals):
            self._push_hands_to_lead(vals)
        return result

    # ------------------------------------------------------------
    # Leads
    # ------------------------------------------------------------

    def _open_leads_sudo(self):
        """The customer's open leads, newest first: not lost (archived), not
        won; as superuser, whoever the chat's user may read. Routing, the
        sticky owner and lead linking read them; what a user gets of them
        goes through the chat's lead field and CRM's own rules."""
        self.ensure_one()
        if not self.partner_id:
            return self.env["crm.lead"]
        known = self.env.context.get(OPEN_LEADS_KEY)
        if isinstance(known, KnownOpenLeads) and known.chat == (
            self.id,
            self.partner_id.id,
        ):
            return self.env["crm.lead"].sudo().browse(known.lead_ids)
        return self._find_open_leads_sudo()

    def _find_open_leads_sudo(self):
        """The look behind ``_open_leads_sudo``, made for every message of a
        chat without an open lead: the search CRM's domain would make (the
        customer's active leads in a stage not won, of the chat's company or
        none), written once as SQL."""
        self.ensure_one()
        Lead_sudo = self.env["crm.lead"].sudo()
        Lead_sudo.flush_model(["partner_id", "stage_id", "company_id", "active"])
        self.env["crm.stage"].flush_model(["is_won"])
        company = self.account_id.company_id.id
        self.env.cr.execute(
            SQL(
                """
                SELECT lead.id
                  FROM crm_lead lead
                  JOIN crm_stage stage ON stage.id = lead.stage_id
                 WHERE lead.partner_id = %s
                   AND lead.active
                   AND stage.is_won IS NOT TRUE
                   AND (lead.company_id IS NULL OR lead.company_id = %s)
                 ORDER BY lead.id DESC
                """,
                self.partner_id.id,
                company or None,
            )
        )
        return Lead_sudo.browse([lead_id for (lead_id,) in self.env.cr.fetchall()])

    def _with_open_leads(self):
        """This chat, carrying its customer's open leads for the work of one
        customer message (its team, its salesperson, its lead): searched once
        when one of them may need them, not at all otherwise."""
        self.ensure_one()
        account = self.account_id
        if not self.partner_id or not (
            # the team of their lead
            (not self.team_id and account.team_ids)
            # their lead's salesperson, when the team assigns the chat
            or (
                not self.user_id
                and not self.partner_id.user_id
                and (self.team_id or account.team_id or account.team_ids)
            )
            # their lead
            or not self._lead_is_open()
        ):
            return self
        leads_sudo = self._open_leads_sudo()
        return self.with_context(
            **{
                OPEN_LEADS_KEY: KnownOpenLeads(
                    (self.id, self.partner_id.id), tuple(leads_sudo.ids)
                )
            }
        )

    def _lead_is_open(self):
        """Whether the chat's lead is still open: not lost (archived), not won."""
        self.ensure_one()
        lead = self.lead_id
        if not lead:
            return False
        # what tells an open lead, not the whole lead
        lead.fetch(["active", "stage_id"])
        return lead.active and not lead.stage_id.is_won

    def _lead_setting(self, name):
        """A lead setting for this chat: its team's, else its number's."""
        self.ensure_one()
        return self.team_id.sudo()._whatsapp_lead_setting(self.account_id, name)

    def _link_or_create_lead(self):
        """A customer who writes: link their open lead, or create one when the
        number says so.

        As for a link made by hand, a chat that has a salesperson is linked
        only to a lead they may change in CRM: whoever chose the chat's
        customer, another salesperson's deal is not theirs to write in. A
        customer whose open leads are all out of their reach gets no second
        lead: the chat is linked once it reaches someone who may change one.
        """
        self.ensure_one()
        if self._lead_is_open():
            return self.lead_id
        open_leads_sudo = self._open_leads_sudo()
        salesperson = self.user_id
        lead = (
            open_leads_sudo.filtered(
                lambda lead: lead.with_user(salesperson).has_access("write")
            )[:1]
            if salesperson
            else open_leads_sudo[:1]
        )
        if (
            not open_leads_sudo
            and self._lead_setting("create_leads")
            and self.partner_id
        ):
            lead = self._create_lead_sudo()
        if lead and lead != self.lead_id:
            self.sudo().lead_id = lead
        return lead

    def _create_lead_sudo(self):
        self.ensure_one()
        IrModelData = self.env["ir.model.data"]
        lead = (
            self.env["crm.lead"]
            .sudo()
            # the salesperson is told of the chat already: no "you have been
            # assigned" mail for its lead
            .with_context(
                mail_create_nosubscribe=True, mail_auto_subscribe_no_notify=True
            )
            .create(
                {
                    "name": _("WhatsApp: %(customer)s", customer=self.partner_id.name),
                    "partner_id": self.partner_id.id,
                    "team_id": self.team_id.id,
                    "user_id": self.user_id.id,
                    # by their ids: no look at the records themselves
                    "source_id": IrModelData._xmlid_to_res_id(
                        "whatsapp_team.utm_source_whatsapp", raise_if_not_found=True
                    ),
                    "medium_id": IrModelData._xmlid_to_res_id(
                        "whatsapp_team.utm_medium_whatsapp", raise_if_not_found=True
                    ),
                    "tag_ids": [(6, 0, self.label_ids.tag_id.ids)],
                }
            )
        )
        # its chatter tells where it comes from: Odoo's note of the creation,
        # the source and medium above, and the note of the link to the chat
        # (_on_lead_linked), with the customer's last message
        return lead

    def action_create_lead(self):
        """The button: link the customer's open lead or create one, and open it."""
        self.ensure_one()
        self.check_access("write")
        if not self.partner_id:
            raise UserError(_("Set the customer of this chat first."))
        lead = self.lead_id or self._open_leads_sudo()[:1] or self._create_lead_sudo()
        self.lead_id = lead
        return {
            "type": "ir.actions.act_window",
            "res_model": "crm.lead",
            "res_id": lead.id,
            "view_mode": "form",
            "target": "current",
        }

    def _on_lead_linked(self):
        """Newly linked: the lead takes the chat's labels, the chat the lead's
        labelled tags, and its chatter says where the chat is."""
        self.ensure_one()
        lead_sudo = self.lead_id.sudo()
        last = (
            self.env["whatsapp.message"]
            .sudo()
            .search(
                [("conversation_id", "=", self.id), ("direction", "=", "in")],
                order="id desc",
                limit=1,
            )
        )
        note_sudo = lead_sudo._message_log(
            body=self._lead_link_body(last),
            message_type="notification",
            attachment_ids=self._copy_files_to(lead_sudo, last.attachment_ids),
        )
        if last:
            # the lead's copy of that message: changed with it
            last.lead_message_id = note_sudo
        missing_tags = self.label_ids.tag_id - lead_sudo.tag_ids
        if missing_tags:
            lead_sudo.with_context(whatsapp_sync=True).write(
                {"tag_ids": [(4, tag.id) for tag in missing_tags]}
            )
        labels = (
            self.env["whatsapp.label"]
            .sudo()
            .search([("tag_id", "in", lead_sudo.tag_ids.ids)])
        )
        if labels - self.label_ids:
            self.sudo().with_context(whatsapp_sync=True).write(
                {"label_ids": [(4, label.id) for label in labels - self.label_ids]}
            )

    def _push_hands_to_lead(self, vals):
        """The chat changed hands: its lead follows, where the number says
        so, as far as the user who moved the chat may change the lead (CRM's
        own rules). Otherwise the lead stays as it is."""
        for conversation in self.filtered(
            lambda c: c.lead_id and c._lead_setting("lead_follows_chat")
        ):
            lead = conversation.lead_id.with_env(self.env)
            values = _hands_to_copy(conversation, lead.sudo(), vals)
            if not values:
                continue
            if not lead.has_access("write"):
                _logger.info(
                    "WhatsApp chat %s changed hands; user %s may not change "
                    "its lead %s, which stays as it is",
                    conversation.id,
                    self.env.uid,
                    lead.id,
                )
                continue
            # the new salesperson hears of the chat, not of its lead too
            lead.with_context(
                whatsapp_sync=True, mail_auto_subscribe_no_notify=True
            ).write(values)
            # what CRM recomputes from the new hands (the team's lead
            # properties), now: at the end of the request it would be read
            # as the user, who may no longer read a lead passed on
            lead.sudo().flush_recordset()

    def _follow_lead(self, lead, vals):
        """``lead`` changed hands: its chats follow, where the number says so,
        as far as the user who changed the lead may move each chat by the
        chat's own rules (who may take it, pass it on, move it to another
        team, who may be given it). Otherwise the chat stays as it is.

        ``lead`` is in the environment of the user who changed it."""
        for conversation in self.filtered(
            lambda c: c._lead_setting("lead_follows_chat")
        ):
            values = _hands_to_copy(lead.sudo(), conversation.sudo(), vals)
            if not values:
                continue
            as_editor = conversation.with_env(lead.env).with_context(whatsapp_sync=True)
            try:
                as_editor.check_access("write")
                as_editor._check_hands_change(values)
            except (AccessError, UserError) as refusal:
                _logger.info(
                    "WhatsApp chat %s stays as it is while its lead %s changes "
                    "hands: %s",
                    conversation.id,
                    lead.id,
                    refusal,
                )
                continue
            as_editor.write(values)

    # ------------------------------------------------------------
    # Labels
    # ------------------------------------------------------------

    def _push_labels_to_lead(self, added, removed):
        # the link itself is guarded (see write): the chat's labels are the
        # lead's tags, whoever labels the chat
        lead_sudo = self.lead_id.sudo()
        if not lead_sudo or not (added or removed):
            return
        commands = [(4, tag.id) for tag in added.tag_id]
        commands += [(3, tag.id) for tag in removed.tag_id]
        lead_sudo.with_context(whatsapp_sync=True).write({"tag_ids": commands})
        # other chats of the same lead follow too
        others = lead_sudo.whatsapp_chat_ids - self
        others._apply_tag_changes(added.tag_id, removed.tag_id)

    def _apply_tag_changes(self, added_tags, removed_tags):
        """Tags added to or removed from the lead, as labels on its chats."""
        Label_sudo = self.env["whatsapp.label"].sudo()
        added = Label_sudo.search([("tag_id", "in", added_tags.ids)])
        removed = Label_sudo.search([("tag_id", "in", removed_tags.ids)])
        if added or removed:
            self.sudo().with_context(whatsapp_sync=True).write(
                {
                    "label_ids": [(4, label.id) for label in added]
                    + [(3, label.id) for label in removed]
                }
            )

    # ------------------------------------------------------------
    # The chat in the lead's chatter
    # ------------------------------------------------------------

    def _mirror_to_crm(self, mail_message, whatsapp_message=None):
        """The lead shows the chat in its chatter: a logged copy, internal and
        notifying nobody. Not the partner: every employee reads partners,
        while a chat is for its salesperson and their team. The copy is the
        ``lead_message_id`` of ``whatsapp_message``, the chat's message the
        line shows, which changes it with the line.

        In a webhook processor, the line is copied at the commit, with the
        others of the commit (:meth:`_make_lead_copies`): one create for all
        of them."""
        self.ensure_one()
        lead_sudo = self.lead_id.sudo()
        if not lead_sudo or not mail_message:
            return
        message_id = whatsapp_message.id if whatsapp_message else False
        work = processor_batch(self.env.context)
        if work is not None:
            work.add_lead_copy(mail_message.id, lead_sudo.id, message_id)
            return
        self._copy_lines_to_leads({mail_message.id: (lead_sudo.id, message_id)})

    def _make_lead_copies(self, work):
        """Make the lead copies a webhook processor kept in ``work``
        (``tools.batch.ProcessorBatch``) for its commit: all in one create,
        or, when that fails, one by one, each in a savepoint of its own. A
        copy that cannot be made costs only the copy (the line is in the
        chat, and the processor's messages must commit); the log says so."""
        pending = work.take_lead_copies()
        if not pending:
            return
        if not self._copy_lines_apart(pending):
            for line_id, copy in pending.items():
                self._copy_lines_apart({line_id: copy})

    def _copy_lines_apart(self, pending):
        """``_copy_lines_to_leads`` in a savepoint; whether it went through."""
        done, _result = self._run_apart(
            lambda: self._copy_lines_to_leads(pending),
            _logger,
            "WhatsApp: chat lines %s not copied to their leads",
            list(pending),
        )
        return done

    def _copy_lines_to_leads(self, pending):
        """The copies of ``pending`` (``{chat line id: (lead id,
        whatsapp.message id or False)}``, in their order), made in one
        create: each line as it reads now (edited or deleted since it was
        posted), with copies of its files, logged on the lead it was posted
        beside. A line rolled back since is skipped, and a message that got
        another copy since (the note of a lead linked after it) keeps that
        one."""
        rows = SQL(", ").join(
            SQL("(%s, %s, %s)", line_id, lead_id, message_id or None)
            for line_id, (lead_id, message_id) in pending.items()
        )
        # what is left of them, and which messages have no copy yet
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT v.line_id, v.lead_id,
                       message.id IS NOT NULL AND message.lead_message_id IS NULL
                  FROM (VALUES %s) AS v(line_id, lead_id, message_id)
                  JOIN mail_message line ON line.id = v.line_id
                  JOIN crm_lead lead ON lead.id = v.lead_id
             LEFT JOIN whatsapp_message message ON message.id = v.message_id::int
                 ORDER BY v.line_id
                """,
                rows,
            )
        )
        kept = self.env.cr.fetchall()
        if not kept:
            return
        Lead_sudo = self.env["crm.lead"].sudo()
        lines_sudo = self.env["mail.message"].sudo().browse(row[0] for row in kept)
        headers, reply_tos = {}, {}
        note = self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_note")
        values_list = []
        # the chats read together (their numbers' headers)
        chats = {chat.id: chat for chat in self.browse(lines_sudo.mapped("res_id"))}
        for line, (_line_id, lead_id, _unlinked) in zip(lines_sudo, kept, strict=True):
            chat = chats[line.res_id]
            if chat.account_id not in headers:
                headers[chat.account_id] = chat._lead_copy_header()
            email_from = line.author_id.email_formatted
            if email_from not in reply_tos:
                reply_tos[email_from] = self.env["mail.thread"]._notify_get_reply_to(
                    default=email_from
                )[False]
            # as Odoo's _message_log: an internal note, no notification
            values_list.append(
                {
                    "author_id": line.author_id.id,
                    "email_from": email_from,
                    "model": "crm.lead",
                    "res_id": lead_id,
                    "record_alias_domain_id": False,
                    "record_company_id": False,
                    "record_name": False,
                    "body": headers[chat.account_id] + (line.body or Markup()),
                    "attachment_ids": self._copy_files_to(
                        Lead_sudo.browse(lead_id), line.attachment_ids
                    ),
                    "message_type": "comment",
                    "is_internal": True,
                    "subtype_id": note,
                    "email_add_signature": False,
                    "message_id": generate_tracking_message_id("message-notify"),
                    "reply_to": reply_tos[email_from],
                }
            )
        copies_sudo = Lead_sudo._message_create(values_list)
        for copy_sudo, (line_id, _lead_id, unlinked) in zip(
            copies_sudo, kept, strict=True
        ):
            if unlinked:
                message_id = pending[line_id][1]
                self.env["whatsapp.message"].browse(
                    message_id
                ).lead_message_id = copy_sudo.id

    def _lead_copy_header(self):
        """The line over each message the lead copies from the chat."""
        return Markup('<p class="text-muted small mb-1">%s</p>') % _(
            "WhatsApp · %(number)s", number=self.account_id.name
        )

    def _lead_link_body(self, last):
        """The lead's note that it was linked to this chat, with the
        customer's ``last`` message as it reads now."""
        return Markup("<p>%s</p>") % _(
            "Linked to the WhatsApp chat with %(customer)s on %(number)s. "
            "Last message from the customer: %(text)s",
            customer=self.partner_id.name or self.name,
            number=self.account_id.name,
            text=last.body or "—",
        )

    def _lead_copy_body(self, message, copy_sudo):
        """What the lead's copy ``copy_sudo`` of ``message`` says now: the
        note of the link, or the message under its header."""
        if copy_sudo.message_type == "notification":
            return self._lead_link_body(message)
        return self._lead_copy_header() + message._chatter_body()

    def _copy_files_to(self, record, attachments):
        """Copies of the chat's files for ``record``'s chatter: its readers may
        open them without reading the chat. The file store keeps one file."""
        if not attachments:
            return []
        return (
            attachments.sudo()
            .copy(
                {
                    "res_model": record._name,
                    "res_id": record.id,
                    # the copy is the lead's file: no link or token of the chat's
                    "res_field": False,
                    "access_token": False,
                    "public": False,
                }
            )
            .ids
        )

    def _mirror_late_file(self, attachment, message):
        """A customer's file that could only be downloaded after ``message``
        was shown: the lead gets it too, on its copy of the message as in
        the chat (whose words ``_refresh_chatter_body`` brought up to date),
        or in a note of its own when the lead has no copy (the chat was
        linked to it after the message)."""
        self.ensure_one()
        copy_sudo = message.lead_message_id.sudo()
        if copy_sudo:
            record_sudo = self.env[copy_sudo.model].sudo().browse(copy_sudo.res_id)
            copy_sudo.write(
                {
                    "attachment_ids": [
                        (4, file_id)
                        for file_id in self._copy_files_to(record_sudo, attachment)
                    ]
                }
            )
            return
        lead_sudo = self.lead_id.sudo()
        if not lead_sudo:
            return
        # the lead's copy of the message from now on: changed with it
        message.lead_message_id = lead_sudo._message_log(
            body=Markup('<p class="text-muted small mb-1">%s</p>')
            % _(
                "WhatsApp · %(number)s: a file from the customer, downloaded late",
                number=self.account_id.name,
            ),
            author_id=self.partner_id.id or False,
            message_type="comment",
            attachment_ids=self._copy_files_to(lead_sudo, attachment),
        )


def _hands_to_copy(source, target, vals):
    """The salesperson and team of ``source`` that ``target`` lacks, for the
    fields written in ``vals``: a chat and its lead change hands together."""
    values = {}
    if "user_id" in vals and target.user_id != source.user_id:
        values["user_id"] = source.user_id.id
    if "team_id" in vals and source.team_id and target.team_id != source.team_id:
        values["team_id"] = source.team_id.id
    return values
