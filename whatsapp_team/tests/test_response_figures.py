"""The figures kept on every chat, on frozen time: response times on the
clock and in working hours, automatic replies, the WhatsApp Business app's
answers, messages that arrive late, resolution and reopening."""

from datetime import datetime, timezone

from freezegun import freeze_time

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .test_coexistence import CoexistenceCase
from .test_team import TeamCase

# a Monday
MONDAY_9 = datetime(2026, 11, 23, 9, 0)


def epoch(moment):
    return int(moment.replace(tzinfo=timezone.utc).timestamp())


def at(hour, minute=0, day=23):
    return datetime(2026, 11, day, hour, minute)


class FiguresCase(TeamCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.team.whatsapp_assignment = "manual"

    def write_in(self, when, wa_id=None, body="Hello", **kwargs):
        """The customer writes at ``when``; delivered at that time."""
        with freeze_time(when):
            message = self.deliver(
                self.message(
                    wa_id or self.wa_id, body=body, timestamp=epoch(when), **kwargs
                )
            )
        return message

    def answer(self, when, chat, user, body="On it"):
        with freeze_time(when):
            self.reply(chat, user, body)

    def turns(self, chat):
        return chat.response_ids.sorted("asked_at")

    def setUp(self):
        super().setUp()
        self.wa_id = str(next(self._numbers))


@tagged("post_install", "-at_install", "whatsapp_team")
class TestResponseFigures(FiguresCase):
    def test_first_response_each_response_and_breaches(self):
        chat = self.write_in(MONDAY_9).conversation_id
        chat.user_id = self.ana
        # a second message before the answer: the customer waits since the first
        self.write_in(at(9, 2), body="Anyone?")
        self.answer(at(9, 10), chat, self.ana)
        self.write_in(at(9, 30), body="And the price?")
        self.answer(at(10, 0), chat, self.leader)
        first, second = self.turns(chat)
        self.assertEqual(
            (first.asked_at, first.answered_at, first.wall_seconds, first.work_seconds),
            (MONDAY_9, at(9, 10), 600, 600),
        )
        self.assertTrue(first.is_first)
        self.assertTrue(first.within_target)
        self.assertFalse(first.breached)
        self.assertEqual(
            (first.answered_by_id, first.user_id, first.team_id, first.answer_source),
            (self.ana, self.ana, self.team, "person"),
        )
        self.assertEqual(second.wall_seconds, 1800)
        self.assertFalse(second.is_first)
        self.assertTrue(second.breached, "30 minutes against a 15-minute target")
        self.assertFalse(second.within_target)
        self.assertEqual(second.user_id, self.leader, "who answered is counted")
        self.assertEqual(
            (
                chat.inbound_count,
                chat.outbound_count,
                chat.answered_count,
                chat.breach_count,
                chat.first_response_seconds,
                chat.opened_at,
            ),
            (3, 2, 2, 1, 600, MONDAY_9),
        )

    def test_automatic_replies_answer_nobody(self):
        self.account.write(
            {"greeting_enabled": True, "greeting_message": "Hi {customer}!"}
        )
        chat = self.write_in(MONDAY_9).conversation_id
        greeting = chat.message_ids_wa.filtered(lambda m: m.direction == "out")
        self.assertEqual(len(greeting), 1, "the greeting went")
        self.assertEqual(chat.outbound_count, 1)
        self.assertTrue(chat.pending_response_id, "the customer still waits")
        chat.user_id = self.ana
        self.answer(at(9, 20), chat, self.ana)
        turn = self.turns(chat)
        self.assertEqual(len(turn), 1)
        self.assertEqual(turn.wall_seconds, 1200)
        self.assertTrue(turn.breached)
        self.assertEqual(chat.outbound_count, 2)

    def test_reactions_ask_for_nothing(self):
        chat = self.write_in(MONDAY_9).conversation_id
        chat.user_id = self.ana
        self.answer(at(9, 5), chat, self.ana)
        asked = chat.message_ids_wa.filtered(lambda m: m.direction == "in")
        wamid = asked.wa_message_id
        self.write_in(
            at(9, 6), kind="reaction", reaction={"message_id": wamid, "emoji": "👍"}
        )
        self.assertEqual(len(self.turns(chat)), 1)
        self.assertFalse(chat.pending_response_id)
        self.assertEqual(chat.inbound_count, 2)

    def test_a_message_arriving_late_recounts_the_chat(self):
        chat = self.write_in(MONDAY_9).conversation_id
        chat.user_id = self.ana
        self.answer(at(9, 10), chat, self.ana)
        self.write_in(at(9, 30), body="Thanks")
        # WhatsApp delivers, after all that, a message written at 8:55
        self.write_in(at(8, 55), body="Good morning")
        first, second = self.turns(chat)
        self.assertEqual((first.asked_at, first.wall_seconds), (at(8, 55), 900))
        self.assertTrue(first.is_first)
        self.assertFalse(first.breached, "15 minutes: on target")
        self.assertEqual(second.asked_at, at(9, 30))
        self.assertFalse(second.answered_at)
        self.assertEqual(chat.pending_response_id, second)
        self.assertEqual((chat.inbound_count, chat.outbound_count), (3, 1))
        self.assertEqual(chat.first_response_seconds, 900)
        self.assertEqual(chat.opened_at, MONDAY_9, "the opening stays as it was")

    def test_working_hours_count_and_set_the_deadline(self):
        calendar = self.env["resource.calendar"].create(
            {
                "name": "Showroom hours",
                "tz": "UTC",
                "attendance_ids": [
                    (
                        0,
                        0,
                        {
                            "name": f"Day {day}",
                            "dayofweek": str(day),
                            "hour_from": 9,
                            "hour_to": 17,
                        },
                    )
                    for day in range(5)
                ],
            }
        )
        self.team.whatsapp_calendar_id = calendar
        # Monday 16:55: five minutes of the day are left
        chat = self.write_in(at(16, 55)).conversation_id
        chat.user_id = self.ana
        self.assertEqual(
            chat.reply_deadline,
            at(9, 10, day=24),
            "due after 15 minutes of working time: Tuesday 9:10",
        )
        self.answer(at(9, 5, day=24), chat, self.ana)
        turn = self.turns(chat)
        self.assertEqual(turn.work_seconds, 600)
        self.assertEqual(turn.wall_seconds, 16 * 3600 + 10 * 60)
        self.assertTrue(turn.within_target)

    def test_resolution_and_reopening(self):
        chat = self.write_in(MONDAY_9).conversation_id
        chat.user_id = self.ana
        self.answer(at(9, 5), chat, self.ana)
        with freeze_time(at(11)):
            chat.with_user(self.ana).action_done()
        self.assertEqual(
            (chat.closed_at, chat.resolution_seconds, chat.resolution_work_seconds),
            (at(11), 7200, 7200),
        )
        first = self.turns(chat)
        self.assertEqual((first.resolved_at, first.resolution_seconds), (at(11), 7200))
        # the customer comes back: a new opening, with its own first response
        self.write_in(at(14), body="One more question")
        self.assertEqual(chat.state, "open")
        self.assertEqual((chat.opened_at, chat.reopen_count), (at(14), 1))
        self.assertFalse(chat.closed_at)
        self.answer(at(14, 3), chat, self.ana)
        self.assertEqual(chat.first_response_seconds, 180)
        self.assertEqual(self.turns(chat).mapped("is_first"), [True, True])
        # reopened by hand
        with freeze_time(at(15)):
            chat.with_user(self.ana).action_done()
        with freeze_time(at(16)):
            chat.with_user(self.ana).action_reopen()
        self.assertEqual((chat.opened_at, chat.reopen_count), (at(16), 2))

    def test_an_escalated_chat_missed_the_target(self):
        chat = self.write_in(MONDAY_9).conversation_id
        chat.user_id = self.ana
        with freeze_time(at(9, 20)):
            self.env["whatsapp.conversation"]._escalate_late()
        self.assertTrue(chat.escalated_at)
        self.assertTrue(chat.pending_response_id.breached)
        self.answer(at(9, 25), chat, self.ana)
        self.assertEqual(chat.breach_count, 1)

    def test_salespeople_cannot_write_the_figures(self):
        chat = self.write_in(MONDAY_9).conversation_id
        chat.user_id = self.ana
        with self.assertRaises(AccessError):
            chat.with_user(self.ana).write({"first_response_seconds": 1})
        with self.assertRaises(AccessError):
            self.env["whatsapp.conversation.response"].with_user(self.ana).search([])


@tagged("post_install", "-at_install", "whatsapp_coexistence")
class TestResponseFiguresBusinessApp(CoexistenceCase):
    def test_an_answer_from_the_business_app_counts(self):
        with freeze_time(MONDAY_9):
            chat = self.assigned_chat(timestamp=epoch(MONDAY_9))
        with freeze_time(at(9, 4)):
            self.send_echoes(self.echo(timestamp=epoch(at(9, 4))))
        turn = chat.response_ids
        self.assertEqual(
            (turn.answered_at, turn.answer_source, turn.wall_seconds),
            (at(9, 4), "app", 240),
        )
        self.assertFalse(turn.answered_by_id, "nobody in Odoo answered")
        self.assertEqual(turn.user_id, self.user_allowed, "the chat's salesperson")
        self.assertEqual((chat.outbound_count, chat.answered_count), (1, 1))
