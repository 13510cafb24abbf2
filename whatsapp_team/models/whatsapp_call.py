"""WhatsApp calls (Meta's Calling API), as the ``calls`` webhook tells them.

A call is one record per Meta call id, whatever order its events come in and
however often Meta delivers them: ``connect`` (offered or placed),
``terminate`` (with how it ended and how long it lasted) and, for a call the
business placed, its statuses (``RINGING``, ``ACCEPTED``, ``REJECTED``). The
chat shows it as one discreet line of the system, updated as the call goes
on, and so does the lead's chatter. A call of the customer that nobody
answered gives the chat's salesperson an activity to call back.
"""

import logging
from datetime import datetime, timezone

from markupsafe import Markup

from odoo import api, fields, models

from .whatsapp_message import check_linked_records

_logger = logging.getLogger(__name__)

CALL_STATES = [
    ("ringing", "Ringing"),
    ("ongoing", "In progress"),
    ("completed", "Answered"),
    ("missed", "Missed"),
    ("rejected", "Declined"),
    ("failed", "Failed"),
]
ENDED = ("completed", "missed", "rejected", "failed")


def _from_epoch(timestamp):
    if not timestamp:
        return False
    return datetime.fromtimestamp(int(timestamp), tz=timezone.utc).replace(tzinfo=None)


def format_duration(seconds):
    """``95`` → ``"1 min 35 s"``: how long a call lasted, for people."""
    seconds = int(seconds or 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours} h")
    if minutes:
        parts.append(f"{minutes} min")
    if seconds or not parts:
        parts.append(f"{seconds} s")
    return " ".join(parts)


# the chatter lines of a call, rewritten as superuser as its events arrive
LINKED_LINES = frozenset({"mail_message_id", "lead_message_id"})


class WhatsappCall(models.Model):
    _name = "whatsapp.call"
    _description = "WhatsApp Call"
    _order = "started_at desc, id desc"
    _rec_name = "wa_call_id"

    wa_call_id = fields.Char("WhatsApp Call ID", required=True, readonly=True)
    conversation_id = fields.Many2one(
        "whatsapp.conversation",
        string="Chat",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    account_id = fields.Many2one(
        related="conversation_id.account_id", store=True, index=True
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True)
    partner_id = fields.Many2one(related="conversation_id.partner_id")
    salesperson_id = fields.Many2one(
        related="conversation_id.user_id", string="Salesperson"
    )
    direction = fields.Selection(
        [("in", "From the customer"), ("out", "To the customer")],
        required=True,
        readonly=True,
    )
    state = fields.Selection(CALL_STATES, required=True, readonly=True, index=True)
    started_at = fields.Datetime(readonly=True)
    ended_at = fields.Datetime(readonly=True)
    duration = fields.Integer(
        "Duration (seconds)", readonly=True, help="How long the call lasted."
    )
    duration_display = fields.Char("Duration", compute="_compute_duration_display")
    end_status = fields.Char(
        readonly=True, help="How WhatsApp said the call ended (COMPLETED, FAILED…)."
    )
    events = fields.Char(
        readonly=True,
        help="The events of the call received so far: each is applied once, "
        "however often WhatsApp delivers it.",
    )
    mail_message_id = fields.Many2one("mail.message", "Line in the Chat", readonly=True)
    lead_message_id = fields.Many2one("mail.message", "Line on the Lead", readonly=True)

    _sql_constraints = [
        (
            "wa_call_id_uniq",
            "unique(account_id, wa_call_id)",
            "A WhatsApp call is stored once per number.",
        ),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        check_linked_records(self.env, LINKED_LINES, vals_list)
        return super().create(vals_list)

    def write(self, vals):
        # the call's lines are rewritten as superuser as its events arrive
        check_linked_records(self.env, LINKED_LINES, [vals])
        return super().write(vals)

    @api.depends("duration", "state")
    def _compute_duration_display(self):
        for call in self:
            call.duration_display = (
                format_duration(call.duration) if call.state == "completed" else False
            )

    # ------------------------------------------------------------
    # Receiving
    # ------------------------------------------------------------

    @api.model
    def _receive_call_event(self, account, event):
        """Apply a call event (``tools.payload.CallEvent``) of ``account``.

        Idempotent: an event already applied to its call changes nothing.
        Returns the call."""
        Call_sudo = self.sudo()
        conversation = (
            self.env["whatsapp.conversation"]
            .sudo()
            ._get_or_create_for(account, event.customer)
        )
        # the customer's identity lock is held now: a concurrent delivery of
        # the same event has committed or waits for us
        call = Call_sudo.search(
            [("account_id", "=", account.id), ("wa_call_id", "=", event.call_id)]
        )
        key = event.event or event.kind
        if call and key in (call.events or "").split(","):
            return call
        if not call:
            call = Call_sudo.create(
                {
                    "wa_call_id": event.call_id,
                    "conversation_id": conversation.id,
                    "direction": "in" if event.incoming else "out",
                    "state": "ringing",
                    "started_at": _from_epoch(event.timestamp),
                }
            )
        was_missed = call.state == "missed"
        call.write(
            {
                **call._event_values(event),
                "events": ",".join(filter(None, [call.events, key])),
            }
        )
        call._show_in_chat()
        conversation._show_call_in_inbox(call)
        if call.state == "missed" and not was_missed:
            call._schedule_call_back()
        return call

    def _event_values(self, event):
        """What ``event`` changes of this call. An ended call stays ended:
        a late ``connect`` or ``RINGING`` changes nothing."""
        self.ensure_one()
        values = {}
        when = _from_epoch(event.timestamp)
        if event.kind == "status":
            if self.state in ENDED:
                return values
            if event.event == "ACCEPTED":
                values["state"] = "ongoing"
            elif event.event == "REJECTED":
                values.update(state="rejected", ended_at=when)
            return values
        if event.event == "connect":
            if not self.started_at and when:
                values["started_at"] = when
            return values
        if event.event != "terminate":
            return values
        start, end = _from_epoch(event.start_time), _from_epoch(event.end_time)
        duration = event.duration
        if duration is None and event.start_time and event.end_time:
            duration = max(event.end_time - event.start_time, 0)
        answered = bool(duration) or self.state == "ongoing"
        if answered:
            state = "completed"
        elif self.state == "rejected":
            state = "rejected"
        elif self.direction == "in":
            state = "missed"
        else:
            state = "failed" if event.status == "FAILED" else "missed"
        values.update(
            state=state,
            duration=duration or 0,
            end_status=event.status or False,
            ended_at=end or when,
        )
        if start:
            values["started_at"] = start
        return values

    # ------------------------------------------------------------
    # In the chat and on the lead
    # ------------------------------------------------------------

    def _time(self):
        """When the call happened, for the chat's order: its start, else
        when it was first heard of."""
        self.ensure_one()
        return self.started_at or self.create_date

    def _line(self):
        """The call as the chat tells it: one line, in plain words."""
        return Markup('<p class="text-muted">📞 %s</p>') % self._summary()

    def _summary(self):
        """What became of the call, in plain words (no icon)."""
        self.ensure_one()
        incoming = self.direction == "in"
        if self.state == "completed":
            duration = format_duration(self.duration)
            text = (
                self.env._("Call from the customer, %(duration)s", duration=duration)
                if incoming
                else self.env._("Call to the customer, %(duration)s", duration=duration)
            )
        elif self.state == "missed":
            text = (
                self.env._("Missed call from the customer")
                if incoming
                else self.env._("Call to the customer, not answered")
            )
        elif self.state == "rejected":
            text = self.env._("Call to the customer, declined")
        elif self.state == "failed":
            text = self.env._("Call to the customer, failed")
        elif self.state == "ongoing":
            text = self.env._("Call in progress")
        else:
            text = (
                self.env._("The customer is calling")
                if incoming
                else self.env._("Calling the customer")
            )
        return text

    def _show_in_chat(self):
        """Post the call's line in the chat and in its lead's chatter, or
        bring the lines up to date: a notification of the system, never in
        the customer's name nor announced to the team."""
        self.ensure_one()
        body = self._line()
        conversation_sudo = self.conversation_id.sudo()
        if self.mail_message_id:
            self.mail_message_id.sudo().write({"body": body})
        else:
            self.mail_message_id = conversation_sudo.with_context(
                mail_create_nosubscribe=True
            ).message_post(
                body=body,
                message_type="notification",
                date=self.started_at or fields.Datetime.now(),
            )
        lead_sudo = conversation_sudo.lead_id.sudo()
        if not lead_sudo:
            return
        lead_body = (
            Markup('<p class="text-muted small mb-1">%s</p>')
            % self.env._(
                "WhatsApp · %(number)s", number=conversation_sudo.account_id.name
            )
            + body
        )
        if self.lead_message_id:
            self.lead_message_id.sudo().write({"body": lead_body})
        else:
            self.lead_message_id = lead_sudo._message_log(
                body=lead_body, message_type="notification"
            )

    def _call_back_user(self):
        """Who calls the customer back: the chat's salesperson; for an
        unassigned chat, its team's leader, else the first who may answer
        it (as a customer's message would reach them)."""
        self.ensure_one()
        conversation_sudo = self.conversation_id.sudo()
        if conversation_sudo.user_id:
            user_sudo = conversation_sudo.user_id
        else:
            leader_sudo = conversation_sudo.team_id.user_id
            allowed_sudo = conversation_sudo.account_id.allowed_user_ids
            if leader_sudo and leader_sudo in allowed_sudo:
                user_sudo = leader_sudo
            else:
                user_sudo = conversation_sudo._whatsapp_answerers()[:1]
        return user_sudo.with_env(self.env)

    def _schedule_call_back(self):
        self.ensure_one()
        user = self._call_back_user()
        if not user:
            _logger.info(
                "Missed WhatsApp call %s: nobody may answer its chat", self.wa_call_id
            )
            return
        self.conversation_id.sudo().with_context(
            mail_activity_quick_update=True
        ).activity_schedule(
            "whatsapp_team.mail_activity_type_whatsapp_call_back",
            date_deadline=fields.Date.context_today(self),
            user_id=user.id,
            note=self.env._(
                "%(customer)s called on WhatsApp and nobody answered.",
                customer=self.conversation_id.display_name,
            ),
        )
