"""The figures kept on every chat: response times, resolution, messages each
way, reopenings. They are stored as messages come and go, so that reports
group and filter on them without recomputing history.

What counts (the business's decisions, also in the README):

- A customer message that asks for an answer starts a turn: any customer
  message but reactions and WhatsApp's system notices. Later messages of
  the customer before the answer belong to the same turn: the customer
  waits since the first one.
- The answer is the business's next message written by a person: a
  salesperson's message from Odoo (text, file, template, buttons), or a
  message sent from the WhatsApp Business app on a shared number (the
  business answered, even if nobody in Odoo did). Automatic replies
  (greeting, away message, anything the system sends on its own) answer
  nobody: the customer still waits for a person.
- The WhatsApp Business app's imported history is left out: it was served
  before the chat came to Odoo.
- Times are counted from when the customer wrote (WhatsApp's timestamp)
  to when the answer was written, both on the clock and in the team's
  working hours (``crm.team.whatsapp_calendar_id``; none: around the
  clock). A message that arrives late, before the chat's last counted
  message, recomputes the chat's figures from its messages.
- An opening runs from the first customer message (or the first after the
  chat was done, or a reopening by hand) to the chat being done: its first
  turn gives the first response time, its end the resolution time. A chat
  done and opened again counts as reopened.
"""

from odoo import SUPERUSER_ID, api, fields, models

# customer messages that ask for no answer
NOT_ASKING_TYPES = ("reaction", "system")


class WhatsappConversation(models.Model):
    _inherit = "whatsapp.conversation"  # pylint: disable=consider-merging-classes-inherited

    response_ids = fields.One2many(
        "whatsapp.conversation.response", "conversation_id", string="Responses"
    )
    pending_response_id = fields.Many2one(
        "whatsapp.conversation.response", readonly=True, copy=False
    )
    # the first turn of the current opening
    opening_response_id = fields.Many2one(
        "whatsapp.conversation.response", readonly=True, copy=False
    )
    inbound_count = fields.Integer("Customer Messages", readonly=True, copy=False)
    outbound_count = fields.Integer("Messages Sent", readonly=True, copy=False)
    answered_count = fields.Integer("Answers", readonly=True, copy=False)
    breach_count = fields.Integer("Targets Missed", readonly=True, copy=False)
    opened_at = fields.Datetime("Opened", readonly=True, copy=False)
    closed_at = fields.Datetime("Done At", readonly=True, copy=False)
    reopen_count = fields.Integer("Times Reopened", readonly=True, copy=False)
    first_response_seconds = fields.Integer(
        "First Response (s)",
        readonly=True,
        copy=False,
        help="Of the chat's latest opening, on the clock.",
    )
    first_response_work_seconds = fields.Integer(
        "First Response in Working Hours (s)", readonly=True, copy=False
    )
    resolution_seconds = fields.Integer(
        "Resolution (s)",
        readonly=True,
        copy=False,
        help="Of the chat's latest opening: opened to done, on the clock.",
    )
    resolution_work_seconds = fields.Integer(
        "Resolution in Working Hours (s)", readonly=True, copy=False
    )
    figures_at = fields.Datetime(
        readonly=True, copy=False, help="The latest message counted in the figures."
    )

    def _whatsapp_system_fields(self):
        return super()._whatsapp_system_fields() | {
            "pending_response_id",
            "opening_response_id",
            "inbound_count",
            "outbound_count",
            "answered_count",
            "breach_count",
            "opened_at",
            "closed_at",
            "reopen_count",
            "first_response_seconds",
            "first_response_work_seconds",
            "resolution_seconds",
            "resolution_work_seconds",
            "figures_at",
        }

    # ------------------------------------------------------------
    # Where messages and states come in
    # ------------------------------------------------------------

    def _on_inbound(self, wa_message):
        # counted first: an automatic reply it sets off comes after it
        # (the chat's team and salesperson, found after, follow in write)
        self.sudo()._figures_on_message(wa_message)
        return super()._on_inbound(wa_message)

    def _on_app_echo(self, message):
        result = super()._on_app_echo(message)
        self.sudo()._figures_on_message(message)
        return result

    def write(self, vals):
        reopening = closing = self.browse()
        if "state" in vals:
            if vals["state"] == "done":
                closing = self.filtered(lambda c: c.state != "done")
            else:
                reopening = self.filtered(lambda c: c.state == "done")
        result = super().write(vals)
        if {"user_id", "team_id"} & set(vals):
            # the waiting customer is now this salesperson's to answer
            for conversation in self.filtered("pending_response_id"):
                conversation.pending_response_id.sudo().write(
                    {
                        "user_id": conversation.user_id.id,
                        "team_id": conversation.team_id.id,
                    }
                )
        when = fields.Datetime.now()
        for conversation in closing:
            conversation.sudo()._figures_close(when)
        for conversation in reopening:
            conversation.sudo()._figures_reopen(when)
        return result

    def _escalate(self):
        # a chat escalated as late has missed the target, answered or not
        self.pending_response_id.sudo().breached = True
        return super()._escalate()

    # ------------------------------------------------------------
    # Keeping the figures
    # ------------------------------------------------------------

    @api.model
    def _figures_kind(self, message):
        """What ``message`` does to the figures: ``ask``, ``answer``,
        ``app`` (answered from the WhatsApp Business app), ``in``/``out``
        (counted only), or ``None`` (left out)."""
        if message.app_origin == "history":
            return None
        if message.direction == "in":
            return "in" if message.message_type in NOT_ASKING_TYPES else "ask"
        if message.app_origin == "echo":
            return "app"
        author = message.author_user_id
        root_id = self.env["ir.model.data"]._xmlid_to_res_id("base.partner_root")
        if (
            author
            and author.id != SUPERUSER_ID
            and not author.share
            and message.mail_message_id.author_id.id != root_id
        ):
            return "answer"
        return "out"

    @api.model
    def _figures_time(self, message):
        """When ``message`` was written: WhatsApp's time for what the
        customer or the app wrote, our own for what Odoo queued."""
        if message.direction == "in" or message.app_origin:
            return message.wa_timestamp or message.create_date
        return message.written_at or message.wa_timestamp or message.create_date

    def _figures_on_message(self, messages):
        """Count ``messages`` (of this chat, just stored) in the figures."""
        self.ensure_one()
        for message in messages.sorted(lambda m: (self._figures_time(m), m.id)):
            kind = self._figures_kind(message)
            if kind is None:
                continue
            when = self._figures_time(message)
            if self.figures_at and when < self.figures_at:
                # written before what is counted already: count the chat again
                self._figures_recompute()
                continue
            self._figures_step(message, kind, when)

    def _figures_step(self, message, kind, when):
        """Move the figures on by one message of ``kind`` written at
        ``when``, after every message counted so far."""
        values = {"figures_at": when}
        if message.direction == "in":
            values["inbound_count"] = self.inbound_count + 1
        else:
            values["outbound_count"] = self.outbound_count + 1
        if kind == "ask":
            if self.closed_at:
                # the customer writes to a done chat: it opens again
                self._figures_reopen(when)
            if not self.opened_at:
                values["opened_at"] = when
            if not self.pending_response_id:
                turn = self._figures_open_turn(
                    when, values.get("opened_at") or self.opened_at
                )
                values["pending_response_id"] = turn.id
                if turn.is_first:
                    values["opening_response_id"] = turn.id
        elif kind in ("answer", "app") and self.pending_response_id:
            turn = self.pending_response_id
            answerer = (
                message.author_user_id if kind == "answer" else self.env["res.users"]
            )
            turn._answer(when, answerer, "person" if kind == "answer" else "app")
            values.update(
                pending_response_id=False,
                answered_count=self.answered_count + 1,
                breach_count=self.breach_count + int(turn.breached),
            )
            if turn.is_first:
                values.update(
                    first_response_seconds=turn.wall_seconds,
                    first_response_work_seconds=turn.work_seconds,
                )
        self._figures_write(values)

    def _figures_write(self, values):
        # the chat's own figures: nothing to track in its chatter
        self._write_bookkeeping(values)

    def _figures_open_turn(self, when, opening_at):
        Response = self.env["whatsapp.conversation.response"]
        first = not self.opening_response_id
        return Response.create(
            {
                "conversation_id": self.id,
                "account_id": self.account_id.id,
                "company_id": self.company_id.id,
                "team_id": self.team_id.id,
                "user_id": self.user_id.id,
                "asked_at": when,
                "opening_at": opening_at,
                "is_first": first,
                "target_seconds": self._target_seconds(),
            }
        )

    def _figures_close(self, when):
        """The chat is done at ``when``: its opening's resolution."""
        self.ensure_one()
        if not self.opened_at or self.closed_at:
            return
        calendar = self.team_id.whatsapp_calendar_id
        wall = max(int((when - self.opened_at).total_seconds()), 0)
        work = calendar._whatsapp_work_seconds(self.opened_at, when)
        self._figures_write(
            {
                "closed_at": when,
                "resolution_seconds": wall,
                "resolution_work_seconds": work,
            }
        )
        self.opening_response_id.write(
            {
                "resolved_at": when,
                "resolution_seconds": wall,
                "resolution_work_seconds": work,
            }
        )

    def _figures_reopen(self, when):
        """The done chat opens again at ``when``: a new opening."""
        self.ensure_one()
        if not self.closed_at:
            return
        self._figures_write(
            {
                "opened_at": when,
                "closed_at": False,
                "opening_response_id": False,
                "reopen_count": self.reopen_count + 1,
                "first_response_seconds": 0,
                "first_response_work_seconds": 0,
                "resolution_seconds": 0,
                "resolution_work_seconds": 0,
            }
        )

    def _figures_recompute(self):
        """Count the chat's figures again from its messages in the order
        they were written. The openings (when the chat was opened and done)
        are kept: they are not messages."""
        self.ensure_one()
        Response = self.env["whatsapp.conversation.response"]
        old = Response.search([("conversation_id", "=", self.id)], order="asked_at")
        openings = sorted({t.opening_at for t in old if t.opening_at})
        if self.opened_at and self.opened_at not in openings:
            openings.append(self.opened_at)
            openings.sort()
        resolved = {t.opening_at: t.resolved_at for t in old if t.resolved_at}
        escalated = {t.asked_at for t in old if t.breached and not t.answered_at}
        old.unlink()
        current_opening = self.opened_at
        closed_at, reopen_count = self.closed_at, self.reopen_count
        self._figures_write(
            {
                "closed_at": False,
                "pending_response_id": False,
                "opening_response_id": False,
                "inbound_count": 0,
                "outbound_count": 0,
                "answered_count": 0,
                "breach_count": 0,
                "figures_at": False,
                "opened_at": openings[0] if openings else False,
            }
        )
        messages = self.env["whatsapp.message"].search(
            [("conversation_id", "=", self.id)]
        )
        for message in messages.sorted(lambda m: (self._figures_time(m), m.id)):
            kind = self._figures_kind(message)
            if kind is None:
                continue
            when = self._figures_time(message)
            # the opening the message falls in
            opening = max((o for o in openings if o <= when), default=False)
            if opening and opening != self.opened_at:
                self._figures_write(
                    {"opened_at": opening, "opening_response_id": False}
                )
            self._figures_step(message, kind, when)
        calendar = self.team_id.whatsapp_calendar_id
        for turn in Response.search([("conversation_id", "=", self.id)]):
            if turn.asked_at in escalated and not turn.answered_at:
                turn.breached = True
            if turn.is_first and turn.opening_at in resolved:
                end = resolved[turn.opening_at]
                turn.write(
                    {
                        "resolved_at": end,
                        "resolution_seconds": int(
                            (end - turn.opening_at).total_seconds()
                        ),
                        "resolution_work_seconds": calendar._whatsapp_work_seconds(
                            turn.opening_at, end
                        ),
                    }
                )
        latest = Response.search(
            [("conversation_id", "=", self.id), ("is_first", "=", True)],
            order="opening_at desc",
            limit=1,
        )
        opened_at = current_opening or self.opened_at
        self._figures_write(
            {
                "opened_at": opened_at,
                "opening_response_id": latest.id
                if latest.opening_at == opened_at
                else False,
                "closed_at": closed_at,
                "reopen_count": reopen_count,
                "first_response_seconds": latest.wall_seconds,
                "first_response_work_seconds": latest.work_seconds,
            }
        )
