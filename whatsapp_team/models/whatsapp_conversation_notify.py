import json
import logging
from collections import defaultdict

from odoo import api, models

from odoo.addons.mail.tools.discuss import Store

from ..tools.batch import PROCESSOR_BATCH, WEB_PUSH_CRON, processor_batch
from .whatsapp_conversation_sending import CUSTOMER_SUBTYPE

_logger = logging.getLogger(__name__)

# Discuss's notice of a message in a user's inbox: the messaging menu's
# counter, its sound and the desktop notice
INBOX_NOTICE = "mail.message/inbox"
# What a live notice reads of the contact of the user it goes to: Odoo's
# filter of the notifications a web client shows, and the user's follower
# data (mail.followers' and res.partner's _to_store)
NOTICE_USER_PARTNER_FIELDS = (
    "partner_share",
    "active",
    "email",
    "is_company",
    "name",
    "write_date",
)

# What a live notice carries of each message: what Odoo's own notice does
# (``mail.message._to_store``'s fields and rating's ``rating_id``), without
# rating's figures of the chat itself ("record_rating"), which no screen of
# the web client reads and which cost, per user and chat, a rights check and
# the read of every other addon's thread data. The chat's reply window rides
# along as in Odoo's notice (``_whatsapp_composer_to_store``).
NOTICE_MESSAGE_FIELDS = (
    "body",
    "create_date",
    "date",
    "message_type",
    "model",
    "pinned_at",
    "res_id",
    "subject",
    "write_date",
    "rating_id",
)


# one concern of the model per file, as Odoo's mail spreads res.partner
class WhatsappConversation(models.Model):
    """Who hears of a chat's messages, and how: the inbox notifications of
    those who answer it, their live notices and web pushes."""

    _inherit = "whatsapp.conversation"  # pylint: disable=consider-merging-classes-inherited

    def _get_notify_valid_parameters(self):
        return super()._get_notify_valid_parameters() | {"whatsapp_announce"}

    def _notify_get_recipients(self, message, msg_vals, **kwargs):
        """Who hears of a message in a chat, in their Odoo inbox (never by
        email: the customer only ever hears from us on WhatsApp):

        - a customer's message: the chat's salesperson, or the users who may
          answer an unassigned chat, and the followers who asked for
          customer messages; once the chat has its people (``whatsapp_announce``,
          see ``whatsapp.message._announce_to_team``);
        - what the team sends the customer (replies, templates, automatic
          replies): nobody, it is the team's own words;
        - notes: as Odoo does, mentions and followers of notes.

        Only those the record rules let read the chat."""
        announce = kwargs.pop("whatsapp_announce", False)
        subtype_id = (
            msg_vals.get("subtype_id") if msg_vals else message.sudo().subtype_id.id
        )
        # ids from the registry's cache of xmlids: env.ref would check each
        # time that the subtype still exists, a query per call
        IrModelData = self.env["ir.model.data"]
        if subtype_id == IrModelData._xmlid_to_res_id("mail.mt_comment"):
            return []
        from_customer = subtype_id == IrModelData._xmlid_to_res_id(CUSTOMER_SUBTYPE)
        if from_customer and not announce:
            return []
        answerers = self.env["res.partner"]
        if from_customer:
            self.ensure_one()
            answerers = self._whatsapp_answerers().partner_id
            msg_vals = self._whatsapp_with_answerers(
                message, msg_vals, answerers, kwargs
            )
        recipients = super()._notify_get_recipients(message, msg_vals, **kwargs)
        known = {recipient["id"] for recipient in recipients}
        # answerers Odoo left out (the current user: Odoo tells nobody of
        # their own message), or not read with the followers: told all the
        # same when active
        answerers = answerers.filtered(lambda partner: partner.id not in known)
        if answerers:
            data = self.env["mail.followers"]._get_recipient_data(
                self, "comment", subtype_id, answerers.ids
            )[self.id]
            recipients += [
                data[partner.id]
                for partner in answerers
                if partner.id in data and data[partner.id]["active"]
            ]
        Users_sudo = self.env["res.users"].sudo()
        internal = [
            r
            for r in recipients
            if r.get("uid")
            and not r.get("share")
            # only those the record rules let see the chat
            and self.with_user(Users_sudo.browse(r["uid"])).has_access("read")
        ]
        for recipient in internal:
            recipient["notif"] = "inbox"
        return internal

    def _notify_thread_by_sms(
        self, message, recipients_data, msg_vals=False, sms_numbers=None, **kwargs
    ):
        """A chat's people hear of its messages in their Odoo inbox
        (``_notify_get_recipients``), never by SMS: with no SMS recipient
        and no number given, there is nothing to send, and the body is not
        turned into plain text for nothing at every post, as Odoo's SMS
        addon would. An SMS asked for (``sms_numbers``, a recipient told
        by SMS) goes out as Odoo sends it."""
        if not sms_numbers and not any(
            recipient["notif"] == "sms" for recipient in recipients_data
        ):
            return True
        return super()._notify_thread_by_sms(
            message,
            recipients_data,
            msg_vals=msg_vals,
            sms_numbers=sms_numbers,
            **kwargs,
        )

    def _notify_thread_by_web_push(
        self, message, recipients_data, msg_vals=False, **kwargs
    ):
        """Under a webhook processor, the web pushes of a customer message
        are queued in the transaction (``mail.push``, sent by Odoo's own
        cron) rather than sent at once: a processor may roll back several
        messages and process them again (they would ring twice), and a slow
        push service holds up no customer's message. Elsewhere, as Odoo
        does."""
        work = processor_batch(self.env.context)
        if work is None:
            return super()._notify_thread_by_web_push(
                message, recipients_data, msg_vals=msg_vals, **kwargs
            )
        msg_vals = dict(msg_vals or {})
        partner_ids = self._extract_partner_ids_for_notifications(
            message, msg_vals, recipients_data
        )
        if not partner_ids:
            return None
        devices_sudo = (
            self.env["mail.push.device"]
            .sudo()
            .search([("partner_id", "in", partner_ids)])
        )
        if not devices_sudo:
            return None
        payload = self._web_push_payload(message, msg_vals)
        self._queue_pushes([(device_id, payload) for device_id in devices_sudo.ids])
        # Odoo's push cron is woken once for all, before the commit
        work.wake_cron(WEB_PUSH_CRON)
        return None

    def _web_push_payload(self, message, msg_vals):
        """The web push of ``message`` (``mail.message``) posted in this
        chat, as Odoo's ``_notify_thread_by_web_push`` makes it."""
        return json.dumps(
            self._truncate_payload(
                self._notify_by_web_push_prepare_payload(message, msg_vals=msg_vals)
            )
        )

    @api.model
    def _queue_pushes(self, pushes):
        """Queue web pushes for Odoo's push cron: ``pushes`` is
        ``[(device id, payload)]``, inserted at once."""
        # sudo: mail.push - queued for Odoo's push cron, as Odoo does
        self.env["mail.push"].sudo().create(
            [
                {"mail_push_device_id": device_id, "payload": payload}
                for device_id, payload in pushes
            ]
        )

    def _whatsapp_with_answerers(self, message, msg_vals, answerers, kwargs):
        """The values Odoo finds a customer message's recipients with, the
        answerers named among them: the followers and the answerers are read
        together, in one query rather than two. Only for a comment, as the
        answerers were always looked up (``_notify_get_recipients``), and
        when Odoo is not asked to leave out those already notified."""
        msg_sudo = message.sudo()
        message_type = (
            msg_vals.get("message_type") if msg_vals else msg_sudo.message_type
        )
        if message_type != "comment" or kwargs.get("skip_existing") or not answerers:
            return msg_vals
        pids = msg_vals.get("partner_ids", []) if msg_vals else msg_sudo.partner_ids.ids
        values = dict(msg_vals or {})
        values.update(
            message_type=message_type,
            subtype_id=values.get("subtype_id") or msg_sudo.subtype_id.id,
            partner_ids=list(pids) + [pid for pid in answerers.ids if pid not in pids],
        )
        return values

    def _notify_thread_by_inbox(
        self, message, recipients_data, msg_vals=False, **kwargs
    ):
        """Under a webhook processor, a message's inbox notifications are
        created here, and the live notices of the users' browsers are kept
        for the processor's commit (``tools.batch.ProcessorBatch``): it sends
        those of all its messages together (``_send_inbox_notices``), with
        one read of the messages, their chats and followers rather than one
        per message. Elsewhere, as Odoo does."""
        work = processor_batch(self.env.context)
        if work is None:
            return super()._notify_thread_by_inbox(
                message, recipients_data, msg_vals=msg_vals, **kwargs
            )
        inbox = sorted(
            (r["id"], r["uid"]) for r in recipients_data if r["notif"] == "inbox"
        )
        if not inbox:
            return None
        # the notifications Odoo's own _notify_thread_by_inbox creates
        # sudo: mail.notification - creating notifications is the purpose of
        # notify methods
        self.env["mail.notification"].sudo().create(
            [
                self._inbox_notification_values(message, partner_id)
                for partner_id, _uid in inbox
            ]
        )
        for _partner_id, uid in inbox:
            if uid:
                work.add_inbox_notice(uid, message.id)
        return None

    @api.model
    def _announce_together(self, message_ids, work):
        """Announce a processor's customer messages (``message_ids``, the
        ``whatsapp.message`` records ``_announce_to_team`` kept in ``work``,
        the processor's ``tools.batch.ProcessorBatch``) before its commit:
        all together (``_announce_all``), or, when that fails, one by one as
        Odoo notifies a post, each in a savepoint of its own. An announce
        that cannot be made costs only its message's notices (the message
        is in the chat, and the processor's messages must commit); the log
        says so."""
        done, announced = self._run_apart(
            lambda: self._announce_all(message_ids),
            _logger,
            "WhatsApp: messages %s not announced together; one by one",
            message_ids,
        )
        if not done:
            self._announce_one_by_one(message_ids, work)
            return
        notices, pushes_queued = announced
        for uid, message_id in notices:
            work.add_inbox_notice(uid, message_id)
        if pushes_queued:
            work.wake_cron(WEB_PUSH_CRON)

    @api.model
    def _announce_one_by_one(self, message_ids, work):
        """The announces of ``_announce_together`` when made together they
        failed: each message as Odoo notifies a post, in a savepoint of its
        own, its notices forgotten with it when it fails."""
        Messages_sudo = (
            self.env["whatsapp.message"]
            .sudo()
            .with_context(**{PROCESSOR_BATCH: work})
            .browse(message_ids)
            .exists()
        )
        for message_sudo in Messages_sudo:
            notices = {uid: dict(ids) for uid, ids in work.inbox_notices.items()}
            done, _result = self._run_apart(
                message_sudo._announce_now,
                _logger,
                "WhatsApp: message %s not announced",
                message_sudo.id,
            )
            if not done:
                work.inbox_notices = notices

    @api.model
    def _run_apart(self, call, logger, failure, *args):
        """``call()`` in a savepoint of its own, for a processor's work
        before its commit; return ``(True, what it returned)``, or, when it
        fails, ``(False, None)``, logged on ``logger`` (``failure % args``)
        and undone: what fails there costs only itself, never the commit."""
        # what the processor wrote so far, written before the savepoint: its
        # rollback would undo what the ORM holds for written
        self.env.flush_all()
        try:
            # not a flushing savepoint: it would run (or, failing, clear) the
            # commit's hooks from in here
            with self.env.cr.savepoint(flush=False):
                result = call()
                self.env.flush_all()
        except Exception:
            logger.exception(failure, *args)
            # the ORM forgets what the savepoint's rollback undid, writing
            # none of it (what came before was written before the savepoint)
            self.env.transaction.clear()
            return False, None
        return True, result

    @api.model
    def _announce_all(self, message_ids):
        """Announce ``message_ids`` together (see ``_announce_together``);
        return the live notices to send (``[(user id, mail.message id)]``)
        and whether web pushes were queued.

        The same people hear of the same messages as through
        ``_notify_thread`` one message at a time (``_notify_get_recipients``):
        the followers of customer messages but the author, and those who
        answer each chat, when active internal users the record rules let
        read it. Here the followers, the answerers and the readers of all
        the chats are read at once, and the inbox notifications and web
        pushes inserted at once. A message rolled back since (its event
        failed) is left out."""
        messages_sudo = (
            self.env["whatsapp.message"].sudo().browse(message_ids).exists()
        ).filtered("mail_message_id")
        if not messages_sudo:
            return [], False
        chats_sudo = messages_sudo.conversation_id
        subtype_id = self.env["ir.model.data"]._xmlid_to_res_id(CUSTOMER_SUBTYPE)
        Followers = self.env["mail.followers"]
        followers = Followers._get_recipient_data(chats_sudo, "comment", subtype_id)
        answerer_users = {chat.id: chat._whatsapp_answerers() for chat in chats_sudo}
        # sudo: read into the cache only, what is asked of them here and of
        # the readers below, not the whole users
        answerers_sudo = self.env["res.users"].sudo().union(*answerer_users.values())
        answerers_sudo.fetch(["partner_id", "active", "share"])
        answerers = {
            chat_id: users.partner_id.ids for chat_id, users in answerer_users.items()
        }
        answerer_ids = sorted({pid for ids in answerers.values() for pid in ids})
        answerer_data = {}
        if answerer_ids:
            answerer_data = Followers._get_recipient_data(
                self.browse(), "comment", False, answerer_ids
            )[0]
        # as Odoo: nobody is told of their own message, and the one who
        # posts is the current user when active (a processor runs as the
        # inactive superuser: then the message's author)
        poster_id = self.env.user.active and self.env.user.partner_id.id
        told_of = {}
        for message in messages_sudo:
            chat = message.conversation_id
            author_id = poster_id or message.mail_message_id.author_id.id
            recipients = {
                pid: data
                for pid, data in followers[chat.id].items()
                if pid != author_id and data["active"] is not False
            }
            for pid in answerers[chat.id]:
                data = answerer_data.get(pid)
                if data and data["active"]:
                    recipients.setdefault(pid, data)
            told_of[message] = [
                (pid, data["uid"])
                for pid, data in sorted(recipients.items())
                if data["uid"] and not data["share"]
            ]
        # only those the record rules let read the chat: the rules of the
        # users to tell, asked once for all the chats
        uids = {uid for told in told_of.values() for _pid, uid in told}
        readers = {
            chat_id: set(users.ids)
            for chat_id, users in chats_sudo._inbox_readers(
                self.env["res.users"].sudo().browse(uids)
            ).items()
        }
        notifications = []
        notices = []
        pushes = []
        for message, told in told_of.items():
            mail_message = message.mail_message_id
            author_id = mail_message.author_id.id
            chat_readers = readers.get(message.conversation_id.id, ())
            told = [(pid, uid) for pid, uid in told if uid in chat_readers]
            if not told:
                continue
            for pid, uid in told:
                notifications.append(self._inbox_notification_values(mail_message, pid))
                notices.append((uid, mail_message.id))
            pushes.append((message, [pid for pid, _uid in told if pid != author_id]))
        # sudo: mail.notification - creating notifications is the purpose of
        # notify methods, as in Odoo's own _notify_thread_by_inbox
        self.env["mail.notification"].sudo().create(notifications)
        return notices, self._queue_web_pushes(pushes)

    @api.model
    def _queue_web_pushes(self, pushes):
        """Queue the web pushes of announced messages (``pushes``:
        ``[(whatsapp.message, partner ids)]``) for Odoo's push cron, as
        ``_notify_thread_by_web_push`` does under a processor: one look for
        the devices of all the partners. Returns whether any was queued."""
        partner_ids = {pid for _message, pids in pushes for pid in pids}
        if not partner_ids:
            return False
        # sudo: mail.push.device - the devices of the users told, as Odoo's
        # own _notify_thread_by_web_push reads them
        devices_sudo = (
            self.env["mail.push.device"]
            .sudo()
            .search([("partner_id", "in", list(partner_ids))])
        )
        if not devices_sudo:
            return False
        # the authors' names head the pushes: read for all at once
        self.env["whatsapp.message"].concat(
            *(message for message, _pids in pushes)
        ).mail_message_id.author_id.mapped("name")
        devices_of = defaultdict(list)
        for device in devices_sudo:
            devices_of[device.partner_id.id].append(device.id)
        queued = []
        for message, pids in pushes:
            devices = [device for pid in pids for device in devices_of[pid]]
            if not devices:
                continue
            chat = message.conversation_id._fallback_lang()
            payload = chat._web_push_payload(
                message.mail_message_id, message._announce_values(chat)
            )
            queued += [(device_id, payload) for device_id in devices]
        if not queued:
            return False
        self._queue_pushes(queued)
        return True

    @api.model
    def _inbox_notification_values(self, message, partner_id):
        """The inbox notification of ``message`` (``mail.message``) to
        ``partner_id``, as Odoo's own ``_notify_thread_by_inbox`` creates
        it."""
        return {
            "author_id": message.author_id.id,
            "mail_message_id": message.id,
            "notification_status": "sent",
            "notification_type": "inbox",
            "res_partner_id": partner_id,
        }

    @api.model
    def _send_inbox_notices(self, notices):
        """Send the live notices ``_notify_thread_by_inbox`` kept for a
        processor's commit: ``{user id: {message id: None}}``, in their order.

        A notice that cannot be made costs only the notices: a browser that
        misses one still shows the message when it next reads the chat, and
        the processor's messages must commit. Then none is sent, and the log
        says so."""
        done, payloads = self._run_apart(
            lambda: self._inbox_notice_payloads(notices),
            _logger,
            "WhatsApp: inbox notices not sent (user: messages): %s",
            {uid: list(ids) for uid, ids in notices.items()},
        )
        if not done:
            return
        for user, payload in payloads:
            user._bus_send(INBOX_NOTICE, payload)

    @api.model
    def _inbox_notice_payloads(self, notices):
        """``[(user, payload)]``: one notice per user and message, as Odoo
        sends it (``mail.thread._notify_thread_by_inbox``), made from one
        store of each user's messages read as that user. The message comes
        first in its notice, as the web client expects; the store's other
        records (chats, authors, the user's following, files) ride along.
        A message rolled back since (its event failed) is left out."""
        Message_sudo = self.env["mail.message"].sudo()
        messages_sudo = Message_sudo.browse(
            {message_id for ids in notices.values() for message_id in ids}
        ).exists()
        if not messages_sudo:
            return []
        kept = set(messages_sudo.ids)
        users = self.env["res.users"].browse(notices)
        # what the notices read of the users' own contacts (whether each is
        # a portal contact, and what their follower data shows), not the
        # whole contacts
        users.partner_id.fetch(NOTICE_USER_PARTNER_FIELDS)
        # sudo: mail.followers - reading followers of target users in batch to
        # send it to them (as Odoo's own notice does)
        followers_sudo = (
            self.env["mail.followers"]
            .sudo()
            .search(
                [
                    ("res_model", "=", self._name),
                    ("res_id", "in", list(set(messages_sudo.mapped("res_id")))),
                    ("partner_id", "in", users.partner_id.ids),
                ]
            )
        )
        payloads = []
        for user in users:
            # in the order the messages were made: a note a message caused
            # (an opt-out) comes after it, as in the chat
            own_ids = sorted(mid for mid in notices[user.id] if mid in kept)
            if not own_ids:
                continue
            own_messages = (
                Message_sudo.browse(own_ids)
                .with_user(user)
                .with_context(allowed_company_ids=[])
            )
            store = Store(
                own_messages,
                fields=list(NOTICE_MESSAGE_FIELDS),
                # as after a post: none of these messages is scheduled
                msg_vals={"scheduled_date": False},
                for_current_user=True,
                add_followers=True,
                followers=followers_sudo,
            )
            chats = self.browse(
                {
                    message.res_id
                    for message in Message_sudo.browse(own_ids)
                    if message.model == self._name
                }
            )
            chats._whatsapp_composer_to_store(store)
            result = store.get_result()
            stored = {values["id"]: values for values in result["mail.message"]}
            # messages the store adds of its own (a parent, for a channel)
            own = set(own_ids)
            besides = [values for mid, values in stored.items() if mid not in own]
            for message_id in own_ids:
                payload = dict(result)
                payload["mail.message"] = [stored[message_id], *besides]
                payloads.append((user, payload))
        return payloads
