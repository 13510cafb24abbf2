"""How the customer felt about a chat: a survey once the chat is done, the
answer kept as an Odoo rating of the chat's salesperson."""

import logging
from datetime import timedelta

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import AccessError, UserError

from odoo.addons.rating.models import rating_data

from ..tools import satisfaction

_logger = logging.getLogger(__name__)

# a text the customer writes this long after their rating is their comment
FEEDBACK_TIME = timedelta(hours=1)
SURVEY_BATCH = 100
UNHAPPY_ACTIVITY = "whatsapp_team.mail_activity_type_unhappy_customer"


# one concern of the model per file, as Odoo's mail spreads res.partner
class WhatsappConversation(models.Model):
    _name = "whatsapp.conversation"
    _inherit = ["rating.mixin", "whatsapp.conversation"]  # pylint: disable=consider-merging-classes-inherited

    rating_request_at = fields.Datetime(
        "Survey Due",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="When the customer is asked how the chat went: set when the chat "
        "is marked done, cancelled when it reopens.",
    )
    rating_feedback_until = fields.Datetime(
        "Comment Expected Until",
        readonly=True,
        copy=False,
        help="A text the customer writes until then, before anyone answers, "
        "is also their rating's comment.",
    )

    def _whatsapp_system_fields(self):
        # only the survey's schedule and the customer's answer move them
        return super()._whatsapp_system_fields() | {
            "rating_request_at",
            "rating_feedback_until",
        }

    def write(self, vals):
        closing = self.browse()
        if vals.get("state") == "done":
            closing = self.filtered(lambda c: c.state != "done")
        result = super().write(vals)
        if "state" in vals:
            if vals["state"] == "done":
                closing._schedule_rating_request()
            else:
                # reopened before the survey went: nobody asks how it ended
                self.filtered("rating_request_at").sudo().write(
                    {"rating_request_at": False}
                )
        return result

    # ------------------------------------------------------------
    # Asking
    # ------------------------------------------------------------

    def _schedule_rating_request(self):
        """The chats are done: their team's survey goes after its delay,
        unless the customer has not written since they were last asked."""
        now = fields.Datetime.now()
        for conversation in self:
            team = conversation.team_id
            if not team.whatsapp_rating_enabled:
                continue
            if not conversation._wrote_since_last_survey():
                continue
            when = now + timedelta(minutes=team.whatsapp_rating_delay)
            conversation.sudo().rating_request_at = when
            self.env["ir.cron"]._whatsapp_wake(
                "whatsapp_team.ir_cron_send_rating_requests", when
            )

    def _wrote_since_last_survey(self):
        """Whether the customer wrote (not a survey answer nor its comment)
        since the last survey of this chat, or ever when there was none."""
        self.ensure_one()
        Message_sudo = self.env["whatsapp.message"].sudo()
        last_survey = Message_sudo.search(
            [
                ("conversation_id", "=", self.id),
                ("direction", "=", "out"),
                ("rating_id", "!=", False),
            ],
            order="id desc",
            limit=1,
        )
        return bool(
            Message_sudo.search_count(
                [
                    ("conversation_id", "=", self.id),
                    ("direction", "=", "in"),
                    ("rating_id", "=", False),
                    ("id", ">", last_survey.id or 0),
                ],
                limit=1,
            )
        )

    @api.model
    def _cron_send_rating_requests(self, limit=SURVEY_BATCH):
        """Send the surveys that are due, oldest first."""
        due = self.sudo().search(
            [
                ("rating_request_at", "<=", fields.Datetime.now()),
                ("state", "=", "done"),
            ],
            order="rating_request_at, id",
            limit=limit,
        )
        for conversation in due:
            conversation.rating_request_at = False
            try:
                # one chat that cannot be asked holds up no other
                with self.env.cr.savepoint():
                    conversation._send_rating_request()
            except Exception:
                _logger.exception(
                    "WhatsApp chat %s: the satisfaction survey failed", conversation.id
                )
        if len(due) == limit:
            self.env["ir.cron"]._whatsapp_wake(
                "whatsapp_team.ir_cron_send_rating_requests"
            )
        return due

    def _send_rating_request(self):
        """Ask the customer how the chat went: reply buttons inside the
        24-hour window, the team's survey template outside it. Returns the
        queued ``whatsapp.message``, or an empty one when the customer cannot
        be asked (the chat says why)."""
        self.ensure_one()
        # the survey is the system's, shown in the chat as written by it
        conversation = self.with_user(SUPERUSER_ID)
        team = conversation.team_id
        Message = self.env["whatsapp.message"].with_user(SUPERUSER_ID)
        if conversation.opted_out:
            conversation._log_no_survey(
                _("the customer opted out of messages they did not ask for")
            )
            return Message
        try:
            if conversation._is_window_open():
                message = Message._queue_interactive(
                    conversation,
                    team._whatsapp_rating_question(),
                    buttons=[
                        (code, title) for code, title, _value in satisfaction.BUTTONS
                    ],
                )
            elif team.whatsapp_rating_template_id:
                message = conversation._queue_rating_template(
                    team.whatsapp_rating_template_id
                )
            else:
                conversation._log_no_survey(
                    _(
                        "the 24-hour window is closed and the team has no "
                        "survey template"
                    )
                )
                return Message
        except UserError as error:
            conversation._log_no_survey(str(error).rstrip("."))
            return Message
        message.rating_id = conversation._rating_request_record()
        return message

    def _queue_rating_template(self, template):
        """Queue the team's survey template, its variables filled from the
        chat; refused (``UserError``) when one of them has no value."""
        resolved = template._resolve_values(self)
        if any(not value for value in resolved.values()):
            raise UserError(
                _(
                    "a variable of the template %(template)s has no value for "
                    "this customer",
                    template=template.display_name,
                )
            )
        body = {pos: text for (loc, pos), text in resolved.items() if loc == "body"}
        header = resolved.get(("header", 1), "")
        return self.env["whatsapp.message"]._queue_template(
            self, template, body, header
        )

    def _log_no_survey(self, reason):
        self.ensure_one()
        self._message_log(
            body=_(
                "The customer was not asked how the chat went: %(reason)s.",
                reason=reason,
            ),
        )

    def _rating_request_record(self):
        """The rating the survey asks for: the chat's unanswered one, else a
        new one, of the chat's salesperson by its customer."""
        self.ensure_one()
        Rating_sudo = self.env["rating.rating"].sudo()
        rating_sudo = Rating_sudo.search(
            [
                ("res_model", "=", self._name),
                ("res_id", "=", self.id),
                ("consumed", "=", False),
            ],
            order="id desc",
            limit=1,
        )
        # the team answering when the customer is asked: reports group by
        # it. Not the mixin's parent field, which rewrites a chat's ratings
        # when the chat changes team, reading them as the user who moved it
        # (whom the move may have just shut out of the chat).
        values = {
            "partner_id": self._rating_get_partner().id,
            "rated_partner_id": self._rating_get_operator().id,
            "parent_res_model_id": self.env["ir.model"]._get_id("crm.team")
            if self.team_id
            else False,
            "parent_res_id": self.team_id.id,
        }
        if not rating_sudo:
            rating_sudo = Rating_sudo.create(
                {
                    "res_model_id": self.env["ir.model"]._get_id(self._name),
                    "res_id": self.id,
                    "is_internal": False,
                }
            )
        # written apart: rating's create sets the parent from the mixin's
        rating_sudo.write(values)
        return rating_sudo

    # ------------------------------------------------------------
    # The customer's answer and comment
    # ------------------------------------------------------------

    def _is_unread(self, message):
        # a tap on a survey is nothing for the team to read: the chat stays
        # as it was, unbolded
        return super()._is_unread(message) and not message._rating_answer()[0]

    def _handle_without_answer(self, wa_message):
        rating, value = wa_message._rating_answer()
        if rating:
            self._apply_rating_answer(wa_message, rating, value)
            return True
        self._take_rating_comment(wa_message)
        return super()._handle_without_answer(wa_message)

    def _apply_rating_answer(self, wa_message, rating, value):
        """The customer tapped an answer of a survey: it is the rating's
        value. The chat stays as it was (a tap asks for no answer); a bad
        rating is the team leader's to follow up."""
        self.ensure_one()
        rating_sudo = rating.sudo()
        rating_sudo.write(
            {
                "rating": value,
                "consumed": True,
                "message_id": wa_message.mail_message_id.id,
            }
        )
        wa_message.sudo().rating_id = rating_sudo
        when = wa_message.wa_timestamp or fields.Datetime.now()
        self.sudo().rating_feedback_until = when + FEEDBACK_TIME
        if value < rating_data.RATING_LIMIT_OK:
            self._schedule_unhappy_activity(rating_sudo)

    def _take_rating_comment(self, wa_message):
        """A text the customer writes soon after rating, before anyone
        answers, is their rating's comment too (it stays their message)."""
        self.ensure_one()
        when = wa_message.wa_timestamp or fields.Datetime.now()
        if (
            wa_message.message_type != "text"
            or not wa_message.body
            or not self.rating_feedback_until
            or when > self.rating_feedback_until
        ):
            return
        rating_sudo = (
            self.env["rating.rating"]
            .sudo()
            .search(
                [
                    ("res_model", "=", self._name),
                    ("res_id", "=", self.id),
                    ("consumed", "=", True),
                ],
                order="id desc",
                limit=1,
            )
        )
        if rating_sudo:
            rating_sudo.feedback = "\n".join(
                filter(None, [rating_sudo.feedback, wa_message.body])
            )
            # part of the answer: no reason to ask again on the next "done"
            wa_message.sudo().rating_id = rating_sudo

    def _on_agent_reply(self):
        # once the team answers, the customer's words are a new conversation
        self.filtered("rating_feedback_until").sudo().write(
            {"rating_feedback_until": False}
        )
        return super()._on_agent_reply()

    def _schedule_unhappy_activity(self, rating_sudo):
        """The team leader follows up an unhappy customer: an activity on
        the chat, once per rating."""
        self.ensure_one()
        leader = self.team_id.user_id
        if not leader:
            _logger.info(
                "WhatsApp chat %s was rated badly; its team has no leader", self.id
            )
            return
        activity_type = self.env.ref(
            "whatsapp_team.mail_activity_type_unhappy_customer"
        )
        if self.sudo().activity_ids.filtered(
            lambda a: a.activity_type_id == activity_type and a.user_id == leader
        ):
            return
        self.sudo().activity_schedule(
            UNHAPPY_ACTIVITY,
            user_id=leader.id,
            note=_(
                "%(customer)s rated the chat with %(salesperson)s as bad.",
                customer=self.partner_id.name or self.name,
                salesperson=rating_sudo.rated_partner_id.name or _("the team"),
            ),
        )

    @api.returns("mail.message", lambda value: value.id)
    def message_post(self, **kwargs):
        # mail's web route lets a post carry a rating: a chat's rating is
        # the customer's tap, never typed in by whoever writes in the chat
        if kwargs.get("rating_value"):
            raise AccessError(
                _("The rating of a chat is given by the customer on WhatsApp.")
            )
        return super().message_post(**kwargs)

    def action_view_ratings(self):
        """The customer's ratings of this chat."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "whatsapp_team.rating_rating_action_whatsapp"
        )
        action["domain"] = [
            ("res_model", "=", self._name),
            ("res_id", "=", self.id),
            ("consumed", "=", True),
        ]
        action["context"] = {}
        action["view_mode"] = "list,form"
        action["views"] = [(False, "list"), (False, "form")]
        return action

    # ------------------------------------------------------------
    # In the inbox
    # ------------------------------------------------------------

    def inbox_open(self):
        result = super().inbox_open()
        result["satisfaction"] = self._inbox_satisfaction()
        return result

    def _inbox_satisfaction(self):
        """The customer's ratings of the chat as the inbox's right pane shows
        them (read with the caller's rights), or False when there is none
        and none is asked."""
        self.ensure_one()
        ratings = self.env["rating.rating"].search(
            [
                ("res_model", "=", self._name),
                ("res_id", "=", self.id),
                ("consumed", "=", True),
            ],
            order="id desc",
        )
        if not ratings and not self.rating_request_at:
            return False
        last = ratings[:1]
        texts = dict(last._fields["rating_text"]._description_selection(self.env))
        return {
            "count": len(ratings),
            "average": round(sum(ratings.mapped("rating")) / len(ratings), 1)
            if ratings
            else 0,
            "last": {
                "rating": last.rating,
                "text": texts.get(last.rating_text, ""),
                "image_url": last.rating_image_url,
                "feedback": last.feedback or "",
            }
            if last
            else False,
            "asking_at": self.rating_request_at
            and fields.Datetime.to_string(self.rating_request_at),
        }
