import logging
from collections import defaultdict
from typing import NamedTuple

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_datetime

_logger = logging.getLogger(__name__)

STATES = [
    ("open", "Open"),
    ("pending", "Waiting for the customer"),
    ("snoozed", "Snoozed"),
    ("done", "Done"),
]
DEFAULT_RESPONSE_MINUTES = 15
# the context key with which the automatic assignment, which took the
# member's turn itself, gives a chat; a context sent over RPC cannot hold its
# value, so a user's change of hands always takes a turn
TURN_TAKEN = "whatsapp_turn_taken"
_TURN_TAKEN = object()
# the context key under which the reply activity of a chat just given to a
# salesperson is made: Odoo subscribed them with the change of hands, and the
# activity need not look again
FOLLOWING_KEY = "whatsapp_following"


class Following(NamedTuple):
    """A partner known to follow a chat. Only this class is trusted under
    :data:`FOLLOWING_KEY`: a context sent over RPC can hold none of it, so no
    caller skips a subscription."""

    chat_id: int
    partner_id: int


# one concern of the model per file, as Odoo's mail spreads res.partner
class WhatsappConversation(models.Model):
    """The team behind a chat: its sales team and salesperson, its status,
    the reply activity and the escalation of late replies."""

    _inherit = "whatsapp.conversation"  # pylint: disable=consider-merging-classes-inherited

    # the team
    team_id = fields.Many2one(
        "crm.team", string="Sales Team", index=True, tracking=True
    )
    user_id = fields.Many2one(
        "res.users",
        string="Assigned To",
        index=True,
        tracking=True,
        domain=lambda self: [
            ("groups_id", "in", self.env.ref("whatsapp_team.group_whatsapp_user").id)
        ],
    )
    state = fields.Selection(
        STATES,
        string="Status",
        default="open",
        required=True,
        index=True,
        tracking=True,
        group_expand=True,
    )
    snoozed_until = fields.Datetime(tracking=True, copy=False)
    waiting_since = fields.Datetime(
        "Customer Waiting Since",
        readonly=True,
        copy=False,
        help="The customer's first message not answered yet.",
    )
    reply_deadline = fields.Datetime(
        "Reply Due", readonly=True, copy=False, index="btree_not_null"
    )
    escalated_at = fields.Datetime("Escalated", readonly=True, copy=False)
    is_late = fields.Boolean("Reply Late", compute="_compute_is_late")
    is_manager = fields.Boolean(compute="_compute_is_manager")

    @api.depends("reply_deadline")
    def _compute_is_late(self):
        now = fields.Datetime.now()
        for conversation in self:
            conversation.is_late = bool(
                conversation.reply_deadline and conversation.reply_deadline < now
            )

    def _compute_is_manager(self):
        is_manager = self.env.user.has_group("whatsapp_team.group_whatsapp_manager")
        for conversation in self:
            conversation.is_manager = is_manager

    def _whatsapp_system_fields(self):
        # the reply clock: customer messages and answers move it
        return super()._whatsapp_system_fields() | {
            "waiting_since",
            "reply_deadline",
            "escalated_at",
        }

    def write(self, vals):
        self._check_hands_change(vals)
        if "user_id" in vals:
            before = {conversation: conversation.user_id for conversation in self}
        result = super().write(vals)
        if {"user_id", "team_id"} & set(vals):
            self._withdraw_notifications_of_outsiders()
        if "user_id" in vals:
            for conversation in self.filtered(lambda c: c.user_id != before[c]):
                previous = before[conversation]
                if previous:
                    # the chat is out of their sight now: so are its messages
                    conversation.sudo().message_unsubscribe(
                        partner_ids=previous.partner_id.ids
                    )
                # the acting user may have just given the chat away
                conversation.sudo()._on_assignee_changed()
        if vals.get("state") == "snoozed":
            for conversation in self.filtered("snoozed_until"):
                conversation._trigger_upkeep(conversation.snoozed_until)
        return result

    def _withdraw_notifications_of_outsiders(self):
        """The chat changed hands or team: those who may no longer read it
        lose its messages from their Odoo inbox (the team told of a message
        while the chat was unassigned, a previous salesperson). Odoo lets
        whoever was notified of a message read it."""
        Notification_sudo = self.env["mail.notification"].sudo()
        for conversation in self:
            notifications = Notification_sudo.search(
                [
                    ("mail_message_id.model", "=", self._name),
                    ("mail_message_id.res_id", "=", conversation.id),
                    ("notification_type", "=", "inbox"),
                ]
            )
            outsiders = notifications.res_partner_id.filtered(
                lambda partner, c=conversation: not any(
                    c.with_user(user).has_access("read")
                    for user in partner.sudo().user_ids
                    if not user.share
                )
            )
            withdrawn = notifications.filtered(
                lambda n, o=outsiders: n.res_partner_id in o
            )
            if withdrawn:
                # not unlink(): it empties the whole cache, and the write
                # goes on reading the chats as the user who gave them away
                self.env.cr.execute(
                    "DELETE FROM mail_notification WHERE id IN %s",
                    [tuple(withdrawn.ids)],
                )
                self.env["mail.notification"].invalidate_model()
                self.env["mail.message"].invalidate_model(
                    ["notification_ids", "needaction", "notified_partner_ids"]
                )

    def _check_hands_change(self, vals):
        """May the current user give these chats the team and salesperson of
        ``vals``? Raises when not. Every path that changes hands comes here:
        the form, RPC, the buttons and wizards, and a lead the chat follows."""
        if "team_id" in vals and not (
            self.env.su
            or self.env.user.has_group("whatsapp_team.group_whatsapp_manager")
        ):
            raise UserError(
                _("Only a WhatsApp manager can move a chat to another team.")
            )
        if "user_id" in vals:
            self._check_assignment(vals["user_id"])

    def _check_assignment(self, user_id):
        """Only users of the chat's number may be given it, whoever gives it.
        Salespeople claim unassigned chats and pass on their own; managers
        assign any chat they see."""
        user = self.env["res.users"].browse(user_id or [])
        for conversation in self:
            account_sudo = conversation.account_id.sudo()
            if user and user not in account_sudo.allowed_user_ids:
                raise UserError(
                    _(
                        "%(user)s may not use the WhatsApp number %(number)s: "
                        "only its users can be given its chats. An administrator "
                        "can add them to the number or to one of its sales teams.",
                        user=user.sudo().name,
                        number=account_sudo.name,
                    )
                )
        if self.env.su or self.env.user.has_group(
            "whatsapp_team.group_whatsapp_manager"
        ):
            return
        for conversation in self:
            current = conversation.user_id
            claiming = not current and user == self.env.user
            passing_on = current == self.env.user
            if not (claiming or passing_on):
                raise UserError(
                    _(
                        "Only a WhatsApp manager can reassign %(chat)s: it is "
                        "%(user)s's chat.",
                        chat=conversation.display_name,
                        user=current.name or _("nobody"),
                    )
                )

    # ------------------------------------------------------------
    # Assignment
    # ------------------------------------------------------------

    def _target_seconds(self):
        """The team's target for an answer, in seconds of working time."""
        minutes = self.team_id.whatsapp_response_minutes or DEFAULT_RESPONSE_MINUTES
        return minutes * 60

    def _reply_due(self, since):
        """When a customer waiting since ``since`` is late: the team's target
        counted in its working hours (the figure the reports count breaches
        against)."""
        return self.team_id.whatsapp_calendar_id._whatsapp_plan(
            since, self._target_seconds()
        )

    def _whatsapp_owner(self):
        """The customer's own salesperson: the partner's, else their open
        lead's."""
        self.ensure_one()
        partner = self.partner_id
        if not partner:
            return self.env["res.users"]
        if partner.user_id:
            return partner.user_id
        return self._open_leads_sudo().filtered("user_id")[:1].user_id

    def _set_team(self):
        """The team of the customer's open lead when it answers this number,
        else the number's team."""
        self.ensure_one()
        teams = self.account_id.team_ids
        lead_team = (
            self._open_leads_sudo()
            .filtered(lambda lead: lead.team_id in teams)[:1]
            .team_id
            if teams
            else self.env["crm.team"]
        )
        team = lead_team or self.account_id.team_id or teams[:1]
        if team:
            self.sudo().team_id = team

    def _auto_assign(self, exclude_users=None):
        """Give the chat to the team member chosen by the team's method.

        Returns the user given the chat, or an empty recordset when nobody is
        available now (the upkeep cron tries again).
        """
        self.ensure_one()
        if not self.team_id:
            return self.env["res.users"]
        member = self.team_id._whatsapp_pick_member(self, exclude_users=exclude_users)
        if member:
            # her turn is taken already
            self.sudo().with_context(
                **{TURN_TAKEN: _TURN_TAKEN}
            ).user_id = member.user_id
        return member.user_id

    def _on_assignee_changed(self):
        """The new assignee takes over the waiting reply; their turn is noted."""
        self.ensure_one()
        member = (
            self.env["crm.team.member"]
            .sudo()
            .search(
                [
                    ("crm_team_id", "=", self.team_id.id),
                    ("user_id", "=", self.user_id.id),
                ],
                limit=1,
            )
            if self.team_id and self.user_id
            else self.env["crm.team.member"]
        )
        if member and self.env.context.get(TURN_TAKEN) is not _TURN_TAKEN:
            member._whatsapp_took(fields.Datetime.now())
        activities = self._reply_activities_sudo()
        if not self.user_id:
            activities.sudo().unlink()
        elif activities:
            # in their activities, not in their inbox: the customer's
            # messages are what they hear of
            activities.sudo().with_context(mail_activity_quick_update=True).write(
                {"user_id": self.user_id.id}
            )
        elif self.waiting_since:
            self._schedule_reply_activity(
                # Odoo's write subscribed them with the change of hands
                followed=not self.env.context.get("tracking_disable")
            )

    def _message_auto_subscribe_notify(self, partner_ids, template):
        # no "You have been assigned to …" per chat: the change of hands is
        # in the chatter, and the new salesperson hears from the customer
        return

    def _whatsapp_answerers(self):
        """Who is told of a customer message: the chat's salesperson; for an
        unassigned chat, the users who may answer it: the members of its team
        who may use the number, or the number's users when it has no team.
        The record rules still decide (see ``_notify_get_recipients``)."""
        self.ensure_one()
        if self.user_id:
            return self.user_id
        allowed = self.account_id.sudo().allowed_user_ids
        if self.team_id:
            return self.team_id.sudo()._whatsapp_members().user_id & allowed
        return allowed

    def _reply_activities_sudo(self):
        activity_type = self.env.ref("whatsapp_team.mail_activity_type_whatsapp_reply")
        return self.sudo().activity_ids.filtered(
            lambda a: a.activity_type_id == activity_type
        )

    def _schedule_reply_activity(self, followed=False):
        """The reminder to answer, for the chat's salesperson. ``followed``:
        they follow the chat already (just given it), so the activity does
        not subscribe them again, as Odoo's activities do."""
        self.ensure_one()
        if not self.user_id or self._reply_activities_sudo():
            return
        deadline = self.reply_deadline or fields.Datetime.now()
        context = {"mail_activity_quick_update": True}
        if followed:
            context[FOLLOWING_KEY] = Following(self.id, self.user_id.partner_id.id)
        # no "activity assigned to you" notice per chat: the reminder waits
        # in the salesperson's activities, the customer's words in their inbox
        self.sudo().with_context(**context).activity_schedule(
            "whatsapp_team.mail_activity_type_whatsapp_reply",
            date_deadline=fields.Date.context_today(self, deadline),
            user_id=self.user_id.id,
            note=_("The customer is waiting for an answer."),
        )

    def message_subscribe(self, partner_ids=None, subtype_ids=None):
        following = self.env.context.get(FOLLOWING_KEY)
        if (
            isinstance(following, Following)
            and not subtype_ids
            and self.ids == [following.chat_id]
            and set(partner_ids or ()) <= {following.partner_id}
        ):
            return True
        return super().message_subscribe(
            partner_ids=partner_ids, subtype_ids=subtype_ids
        )

    def _on_agent_reply(self):
        """A salesperson answered: an unassigned chat becomes theirs, and the
        chat no longer waits.

        The one who answered is the current user, also when the chatter's
        route posts as superuser (after checking they may write the chat);
        the system itself (crons, automation) claims nothing."""
        answerer = self.env.user
        for conversation in self:
            if (
                not conversation.user_id
                and not answerer._is_superuser()
                and answerer in conversation.account_id.sudo().allowed_user_ids
            ):
                # claiming an unassigned chat of theirs: what _check_assignment
                # lets them do
                conversation.sudo().user_id = answerer
            if conversation.waiting_since:
                conversation.sudo().write(
                    {"waiting_since": False, "reply_deadline": False}
                )
                # the answer is in the chat: the reminder goes, without a
                # "done" line among the customer's messages
                conversation._reply_activities_sudo().unlink()

    # ------------------------------------------------------------
    # Buttons
    # ------------------------------------------------------------

    def action_claim(self):
        for conversation in self:
            if conversation.user_id:
                raise UserError(
                    _(
                        "%(user)s already took this chat.",
                        user=conversation.user_id.name,
                    )
                )
            conversation.user_id = self.env.user

    def action_transfer(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Pass the chat on"),
            "res_model": "whatsapp.transfer",
            "view_mode": "form",
            "target": "new",
            "context": {"default_conversation_id": self.id},
        }

    def action_set_pending(self):
        self.write({"state": "pending", "snoozed_until": False})

    def action_done(self):
        self.write({"state": "done", "snoozed_until": False})
        for conversation in self.filtered("waiting_since"):
            # closing a chat answers nobody: the reminder goes away with it
            conversation.sudo().write({"waiting_since": False, "reply_deadline": False})
            conversation._reply_activities_sudo().unlink()

    def action_reopen(self):
        self.write({"state": "open", "snoozed_until": False})

    def action_snooze(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Snooze the chat"),
            "res_model": "whatsapp.snooze",
            "view_mode": "form",
            "target": "new",
            "context": {"default_conversation_id": self.id},
        }

    # ------------------------------------------------------------
    # Upkeep: snoozes, late replies, waiting chats
    # ------------------------------------------------------------

    def _trigger_upkeep(self, when):
        """Wake the upkeep cron at ``when``. Under a webhook processor, once
        before its commit for all the chats due at that moment
        (``tools.batch.ProcessorBatch``), not once for each."""
        self.env["ir.cron"]._whatsapp_wake(
            "whatsapp_team.ir_cron_conversation_upkeep", when
        )

    @api.model
    def _cron_upkeep(self):
        """Wake snoozed chats, escalate late replies, give waiting chats to
        whoever became available."""
        self._wake_snoozed()
        self._escalate_late()
        self._assign_waiting()
        self.env["crm.team.member"]._whatsapp_settle_claims()

    @api.model
    def _wake_snoozed(self):
        due = self.sudo().search(
            [("state", "=", "snoozed"), ("snoozed_until", "<=", fields.Datetime.now())]
        )
        due.write({"state": "open", "snoozed_until": False})
        return due

    @api.model
    def _assign_waiting(self):
        waiting = self.sudo().search(
            [
                ("user_id", "=", False),
                ("state", "=", "open"),
                ("team_id.whatsapp_assignment", "!=", "manual"),
            ],
            order="waiting_since, id",
        )
        given = self.browse()
        now = fields.Datetime.now()
        for team in waiting.team_id:
            # at night nobody is available: one check per team, not per chat
            if not team._whatsapp_members()._whatsapp_available(now):
                continue
            chats = waiting.filtered(lambda c, t=team: c.team_id == t)
            given |= chats.filtered(lambda c: c._auto_assign())
        return given

    @api.model
    def _escalate_late(self):
        """Escalate the chats whose reply is late. A team leader is told
        once per run, of all their late chats together."""
        late = self.sudo().search(
            [
                ("reply_deadline", "<=", fields.Datetime.now()),
                ("waiting_since", "!=", False),
                ("escalated_at", "=", False),
                ("state", "=", "open"),
            ],
            order="waiting_since, id",
        )
        to_tell = defaultdict(lambda: self.sudo().browse())
        for conversation in late:
            leader = conversation._escalate()
            if leader:
                to_tell[leader] |= conversation
        for leader, conversations in to_tell.items():
            conversations._tell_leader_late(leader)
        return late

    def _escalate(self):
        """The reply is late: per the team, another member takes the chat, or
        the team leader is to be told. Returns the leader to tell, if any:
        ``_escalate_late`` tells each one of all their late chats at once."""
        self.ensure_one()
        now = fields.Datetime.now()
        team = self.team_id
        late_user = self.user_id
        if team.whatsapp_escalation == "reassign":
            exclude = late_user
            if self._auto_assign(exclude_users=exclude):
                self.message_post(
                    body=_(
                        "No reply from %(user)s in time: the chat went to %(new)s.",
                        user=late_user.name or _("the team"),
                        new=self.user_id.name,
                    ),
                    message_type="comment",
                    subtype_xmlid="mail.mt_note",
                    # the customer is already waiting: the new salesperson
                    # is told at once
                    partner_ids=self.user_id.partner_id.ids,
                )
                self.write(
                    {
                        "reply_deadline": self._reply_due(now),
                        "escalated_at": False,
                    }
                )
                self._trigger_upkeep(self.reply_deadline)
                return self.env["res.users"]
        self.escalated_at = now
        leader = team.user_id
        if not leader:
            _logger.info("WhatsApp chat %s is late and its team has no leader", self.id)
            return leader
        # the chat keeps a trace; the leader hears of it in the run's summary
        self._message_log(
            body=_(
                "Escalated to the team leader, %(leader)s: no answer since %(since)s.",
                leader=leader.name,
                since=format_datetime(self.env, self.waiting_since),
            ),
            message_type="notification",
        )
        return leader

    def _tell_leader_late(self, leader):
        """One notice to ``leader`` in their Odoo inbox listing these late
        chats (those they may read): customer, waiting since, salesperson and
        a link to each chat."""
        readable = self.filtered(lambda c: c.with_user(leader).has_access("read"))
        if not readable:
            return
        # a space between the items: the messaging menu's one-line preview
        # keeps the names apart
        lines = Markup(" ").join(
            Markup(
                '<li><a href="/odoo/%s/%s" data-oe-model="%s" data-oe-id="%s">%s</a>'
                " · %s</li>"
            )
            % (
                self._name,
                conversation.id,
                self._name,
                conversation.id,
                conversation.partner_id.name or conversation.name,
                _(
                    "waiting since %(since)s, %(user)s has the chat",
                    since=format_datetime(
                        self.env, conversation.waiting_since, tz=leader.tz
                    ),
                    user=conversation.user_id.name or _("nobody"),
                ),
            )
            for conversation in readable
        )
        intro = _(
            "These customers have been waiting for an answer past the team's "
            "response time:"
        )
        team = readable.team_id[:1]
        team.sudo().message_notify(
            partner_ids=leader.partner_id.ids,
            subject=_("Late WhatsApp chats: %(count)s", count=len(readable)),
            body=Markup("<p>%s</p> <ul>%s</ul>") % (intro, lines),
            subtype_xmlid="whatsapp_team.mt_late_chats",
            record_name=team.display_name,
        )
