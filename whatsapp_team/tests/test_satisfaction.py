import ast
import json
from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command, fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged

from odoo.addons.bus.websocket import WebsocketConnectionHandler

from .common import WhatsappCase

CUSTOMER = "32470555666"


class SatisfactionCase(WhatsappCase):
    """Once a chat is done, the customer is asked how it went; the answer is
    a rating of the salesperson, a bad one the team leader's activity."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.leader = new_test_user(
            cls.env,
            login="wa_rating_leader",
            name="Team Leader",
            groups="whatsapp_team.group_whatsapp_manager",
        )
        cls.team = cls.env["crm.team"].create(
            {
                "name": "Showroom",
                "user_id": cls.leader.id,
                "whatsapp_assignment": "manual",
                "whatsapp_rating_enabled": True,
                "whatsapp_rating_delay": 30,
                "whatsapp_rating_question": "How was your chat with us?",
                "crm_team_member_ids": [
                    Command.create({"user_id": cls.user_allowed.id})
                ],
            }
        )
        cls.account.write(
            {"team_ids": [Command.set(cls.team.ids)], "team_id": cls.team.id}
        )
        cls.other = new_test_user(
            cls.env,
            login="wa_rating_other",
            name="Other Salesperson",
            groups="whatsapp_team.group_whatsapp_user",
        )
        cls.account.user_ids = cls.user_allowed | cls.other

    def setUp(self):
        super().setUp()
        self.first = self.deliver(self.message(CUSTOMER, name="Rita Rater", body="Hi!"))
        self.chat = self.first.conversation_id
        self.chat.user_id = self.user_allowed
        self.graph.reset()

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    def run_surveys(self):
        return self.env["whatsapp.conversation"]._cron_send_rating_requests()

    def run_queue(self):
        return self.env["whatsapp.message"]._cron_send_queue()

    def surveys(self):
        return (
            self.env["whatsapp.message"]
            .search(
                [("conversation_id", "=", self.chat.id), ("rating_id", "!=", False)],
                order="id",
            )
            .filtered(lambda m: m.direction == "out")
        )

    def done_and_asked(self):
        """Mark the chat done as its salesperson; 31 minutes later the
        survey goes."""
        self.chat.with_user(self.user_allowed).action_done()
        with freeze_time(fields.Datetime.now() + timedelta(minutes=31)):
            self.run_surveys()
        self.run_queue()
        return self.surveys()[-1:]

    def tap(self, survey, code, title):
        return self.deliver(
            self.message(
                CUSTOMER,
                kind="interactive",
                name="Rita Rater",
                interactive={
                    "type": "button_reply",
                    "button_reply": {"id": code, "title": title},
                },
                context={"from": "15550100100", "id": survey.wa_message_id},
            )
        )

    def unhappy_activities(self):
        activity_type = self.env.ref(
            "whatsapp_team.mail_activity_type_unhappy_customer"
        )
        return self.chat.activity_ids.filtered(
            lambda a: a.activity_type_id == activity_type
        )


@tagged("post_install", "-at_install", "whatsapp_satisfaction")
class TestSatisfaction(SatisfactionCase):
    # ------------------------------------------------------------
    # Asking
    # ------------------------------------------------------------

    def test_asked_with_buttons_after_the_teams_delay(self):
        self.chat.with_user(self.user_allowed).action_done()
        self.assertTrue(self.chat.rating_request_at)
        # not before the delay
        with freeze_time(fields.Datetime.now() + timedelta(minutes=29)):
            self.assertFalse(self.run_surveys())
        self.assertFalse(self.surveys())
        with freeze_time(fields.Datetime.now() + timedelta(minutes=31)):
            self.assertEqual(self.run_surveys(), self.chat)
        self.assertFalse(self.chat.rating_request_at)
        survey = self.surveys()
        self.assertEqual(len(survey), 1)
        self.run_queue()
        sent = self.graph.messages[-1]
        self.assertEqual(sent["to"], CUSTOMER)
        self.assertEqual(
            sent["interactive"]["body"]["text"], "How was your chat with us?"
        )
        self.assertEqual(
            [b["reply"]["id"] for b in sent["interactive"]["action"]["buttons"]],
            ["rating_5", "rating_3", "rating_1"],
        )
        # the survey waits for the customer's answer: a rating of the
        # salesperson by the customer, not given yet
        rating = survey.rating_id
        self.assertEqual(rating.res_model, "whatsapp.conversation")
        self.assertEqual(rating.res_id, self.chat.id)
        self.assertEqual(rating.rated_partner_id, self.user_allowed.partner_id)
        self.assertEqual(rating.partner_id, self.chat.partner_id)
        self.assertFalse(rating.consumed)
        self.assertEqual(rating.parent_res_model, "crm.team")
        self.assertEqual(rating.parent_res_id, self.team.id)
        # the chat shows the question as the system's, and stays done
        self.assertEqual(
            survey.mail_message_id.author_id, self.env.ref("base.partner_root")
        )
        self.assertEqual(self.chat.state, "done")

    def test_not_asked_when_the_team_does_not_ask(self):
        self.team.whatsapp_rating_enabled = False
        self.chat.action_done()
        self.assertFalse(self.chat.rating_request_at)
        with freeze_time(fields.Datetime.now() + timedelta(days=1)):
            self.run_surveys()
        self.assertFalse(self.surveys())

    def test_reopening_cancels_the_survey(self):
        self.chat.action_done()
        self.chat.with_user(self.user_allowed).action_reopen()
        self.assertFalse(self.chat.rating_request_at)
        with freeze_time(fields.Datetime.now() + timedelta(hours=1)):
            self.run_surveys()
        self.assertFalse(self.surveys())
        # and a customer who writes again reopens it too
        self.chat.action_done()
        self.deliver(self.message(CUSTOMER, name="Rita Rater", body="One more thing"))
        self.assertEqual(self.chat.state, "open")
        self.assertFalse(self.chat.rating_request_at)

    def test_asked_once_until_the_customer_writes_again(self):
        self.assertTrue(self.done_and_asked())
        self.chat.action_reopen()
        self.chat.action_done()
        self.assertFalse(self.chat.rating_request_at)
        self.deliver(self.message(CUSTOMER, name="Rita Rater", body="Another question"))
        self.chat.action_done()
        self.assertTrue(self.chat.rating_request_at)

    def test_template_outside_the_window(self):
        # as synced from Meta: approved with its quick reply buttons
        template = (
            self.env["whatsapp.template"]
            .with_context(whatsapp_from_meta=True)
            .create(
                {
                    "name": "how_did_we_do",
                    "language": "en_US",
                    "account_id": self.account.id,
                    "category": "utility",
                    "status": "approved",
                    "body": "Did we help you?",
                    "button_ids": [
                        Command.create({"text": "Yes, thanks"}),
                        Command.create({"text": "Not really"}),
                    ],
                }
            )
        )
        self.team.whatsapp_rating_template_id = template
        self.chat.action_done()
        with freeze_time(fields.Datetime.now() + timedelta(days=2)):
            self.run_surveys()
            self.run_queue()
        survey = self.surveys()
        self.assertEqual(survey.message_type, "template")
        self.assertEqual(self.graph.messages[-1]["template"]["name"], "how_did_we_do")
        # the customer presses the template's second button: the unhappy one
        with freeze_time(fields.Datetime.now() + timedelta(days=2, minutes=5)):
            answer = self.deliver(
                self.message(
                    CUSTOMER,
                    kind="button",
                    name="Rita Rater",
                    button={"payload": "Not really", "text": "Not really"},
                    context={"from": "15550100100", "id": survey.wa_message_id},
                )
            )
        self.assertEqual(answer.rating_id, survey.rating_id)
        self.assertEqual(survey.rating_id.rating, 1)
        self.assertTrue(survey.rating_id.consumed)
        self.assertTrue(self.unhappy_activities())

    def test_not_asked_outside_the_window_without_a_template(self):
        self.chat.action_done()
        with freeze_time(fields.Datetime.now() + timedelta(days=2)):
            self.run_surveys()
        self.assertFalse(self.surveys())
        self.assertFalse(
            self.env["rating.rating"].search(
                [
                    ("res_id", "=", self.chat.id),
                    ("res_model", "=", "whatsapp.conversation"),
                ]
            )
        )
        self.assertIn(
            "was not asked how the chat went",
            self.chat.message_ids[0].body,
        )

    def test_a_team_template_needs_two_or_three_quick_replies(self):
        template = self.approved_template("no_buttons")
        with self.assertRaises(ValidationError):
            self.team.whatsapp_rating_template_id = template

    # ------------------------------------------------------------
    # The answer
    # ------------------------------------------------------------

    def test_the_tap_is_a_rating_of_the_salesperson(self):
        survey = self.done_and_asked()
        unread = self.chat.unread_count
        # who answers does not matter: the rating is of who had the chat
        answer = self.tap(survey, "rating_5", "😀 Great")
        rating = survey.rating_id
        self.assertEqual(answer.rating_id, rating)
        self.assertEqual(rating.rating, 5)
        self.assertTrue(rating.consumed)
        self.assertEqual(rating.rated_partner_id, self.user_allowed.partner_id)
        self.assertEqual(rating.message_id, answer.mail_message_id)
        self.assertEqual(self.chat.rating_last_value, 5)
        self.assertEqual(self.chat.rating_count, 1)
        self.assertEqual(rating.whatsapp_happy, 100)
        # the chat stays done and read, nobody is asked to reply, no activity
        self.assertEqual(self.chat.state, "done")
        self.assertEqual(self.chat.unread_count, unread)
        self.assertFalse(self.chat.waiting_since)
        self.assertFalse(self.chat.activity_ids)
        self.assertFalse(
            self.env["mail.notification"].search(
                [("mail_message_id", "=", answer.mail_message_id.id)]
            )
        )
        # the customer's tap shows in the chat, as theirs
        self.assertEqual(answer.mail_message_id.author_id, self.chat.partner_id)
        # the salesperson reads their rating, the report lists it
        report = self.env["ir.actions.act_window"]._for_xml_id(
            "whatsapp_team.rating_rating_action_whatsapp"
        )
        found = (
            self.env["rating.rating"]
            .with_user(self.user_allowed)
            .search(ast.literal_eval(report["domain"]))
        )
        self.assertEqual(found, rating)

    def test_a_comment_after_the_rating_is_its_feedback(self):
        survey = self.done_and_asked()
        self.tap(survey, "rating_3", "😐 OK")
        comment = self.deliver(
            self.message(CUSTOMER, name="Rita Rater", body="Delivery was slow")
        )
        rating = survey.rating_id
        self.assertEqual(rating.feedback, "Delivery was slow")
        # and it is their message in the chat, which the team reads
        self.assertEqual(comment.mail_message_id.author_id, self.chat.partner_id)
        self.assertEqual(self.chat.state, "open")
        # once the salesperson answers, the customer's words are no comment
        self.chat.with_user(self.user_allowed).message_post(
            body="Sorry about that!",
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        self.deliver(self.message(CUSTOMER, name="Rita Rater", body="Thanks"))
        self.assertEqual(rating.feedback, "Delivery was slow")

    def test_a_late_comment_is_no_feedback(self):
        survey = self.done_and_asked()
        self.tap(survey, "rating_5", "😀 Great")
        with freeze_time(fields.Datetime.now() + timedelta(hours=2)):
            self.deliver(self.message(CUSTOMER, name="Rita Rater", body="New order"))
        self.assertFalse(survey.rating_id.feedback)

    def test_a_bad_rating_is_the_team_leaders_activity(self):
        survey = self.done_and_asked()
        self.tap(survey, "rating_1", "😞 Bad")
        activity = self.unhappy_activities()
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.leader)
        self.assertIn("Rita Rater", activity.note)
        # the leader sees the chat and its rating
        self.assertEqual(
            self.env["rating.rating"]
            .with_user(self.leader)
            .search([("res_model", "=", "whatsapp.conversation")]),
            survey.rating_id,
        )
        self.assertEqual(survey.rating_id.whatsapp_happy, 0)

    def test_a_good_rating_gives_no_activity(self):
        survey = self.done_and_asked()
        self.tap(survey, "rating_3", "😐 OK")
        self.assertFalse(self.unhappy_activities())

    # ------------------------------------------------------------
    # Nobody fakes a rating
    # ------------------------------------------------------------

    def test_a_salesperson_cannot_fake_a_rating(self):
        survey = self.done_and_asked()
        self.tap(survey, "rating_1", "😞 Bad")
        rating = survey.rating_id.with_user(self.user_allowed)
        self.assertEqual(rating.rating, 1)  # they read it
        with self.assertRaises(AccessError):
            rating.write({"rating": 5})
        with self.assertRaises(AccessError):
            rating.unlink()
        Rating = self.env["rating.rating"].with_user(self.user_allowed)
        with self.assertRaises(AccessError):
            Rating.create(
                {
                    "res_model_id": self.env["ir.model"]._get_id(
                        "whatsapp.conversation"
                    ),
                    "res_id": self.chat.id,
                    "rating": 5,
                    "consumed": True,
                }
            )
        # nor through a post of their own carrying a rating (mail's route)
        with self.assertRaises(AccessError):
            self.chat.with_user(self.user_allowed).message_post(
                body="5 stars", rating_value=5
            )
        # nor over RPC, as the web client would call it
        self.authenticate("wa_allowed", "wa_allowed")
        response = self.url_open(
            "/web/dataset/call_kw/rating.rating/write",
            data=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "call",
                    "params": {
                        "model": "rating.rating",
                        "method": "write",
                        "args": [[rating.id], {"rating": 5}],
                        "kwargs": {},
                    },
                }
            ),
            headers={"Content-Type": "application/json"},
        )
        self.assertIn("error", response.json())
        self.assertEqual(survey.rating_id.rating, 1)
        # a salesperson of another chat does not even read it
        self.assertFalse(
            self.env["rating.rating"]
            .with_user(self.other)
            .search([("id", "=", rating.id)])
        )

    def test_a_tap_on_someone_elses_buttons_is_no_rating(self):
        asked = self.env["whatsapp.message"]._queue_interactive(
            self.chat, "Which colour?", buttons=[("rating_5", "Blue"), ("red", "Red")]
        )
        self.run_queue()
        answer = self.tap(asked, "rating_5", "Blue")
        self.assertFalse(answer.rating_id)
        self.assertFalse(
            self.env["rating.rating"].search(
                [
                    ("res_model", "=", "whatsapp.conversation"),
                    ("res_id", "=", self.chat.id),
                ]
            )
        )

    def test_the_inbox_shows_the_rating_and_the_survey_to_come(self):
        inbox = self.chat.with_user(self.user_allowed)
        self.assertFalse(inbox.inbox_open()["satisfaction"])
        self.chat.action_done()
        self.assertTrue(inbox.inbox_open()["satisfaction"]["asking_at"])
        self.chat.action_reopen()
        survey = self.done_and_asked()
        self.tap(survey, "rating_1", "😞 Bad")
        self.deliver(self.message(CUSTOMER, name="Rita Rater", body="Too slow"))
        shown = inbox.inbox_open()["satisfaction"]
        self.assertEqual(shown["count"], 1)
        self.assertEqual(shown["last"]["rating"], 1)
        self.assertEqual(shown["last"]["text"], "Dissatisfied")
        self.assertEqual(shown["last"]["feedback"], "Too slow")
        self.assertFalse(shown["asking_at"])
        # the comment reopened the chat; closed again, the customer is not
        # asked twice about the same conversation
        self.chat.action_done()
        self.assertFalse(self.chat.rating_request_at)

    def test_the_report_by_salesperson_team_and_label(self):
        label = self.env["whatsapp.label"].create({"name": "VIP"})
        self.chat.label_ids = label
        self.tap(self.done_and_asked(), "rating_1", "😞 Bad")
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "whatsapp_team.rating_rating_action_whatsapp"
        )
        Rating = self.env["rating.rating"].with_user(self.leader)
        # the manager opens the report's own views
        views = Rating.get_views(action["views"])
        self.assertIn("whatsapp_happy", views["views"]["pivot"]["arch"])
        domain = ast.literal_eval(action["domain"])
        groups = Rating.read_group(
            domain,
            ["rating:avg", "whatsapp_happy:avg"],
            ["rated_partner_id", "parent_res_name", "whatsapp_label_ids"],
            lazy=False,
        )
        self.assertEqual(len(groups), 1)
        self.assertEqual(
            groups[0]["rated_partner_id"][0], self.user_allowed.partner_id.id
        )
        self.assertEqual(groups[0]["parent_res_name"], "Showroom")
        self.assertEqual(groups[0]["whatsapp_label_ids"][0], label.id)
        self.assertEqual((groups[0]["rating"], groups[0]["whatsapp_happy"]), (1, 0))
        # a label put on the chat later follows to its ratings
        other = self.env["whatsapp.label"].create({"name": "Wholesale"})
        self.chat.label_ids |= other
        self.assertEqual(self.chat.rating_ids.whatsapp_label_ids, label | other)

    def test_a_rating_stays_with_the_team_that_was_rated(self):
        survey = self.done_and_asked()
        self.tap(survey, "rating_5", "😀 Great")
        export = self.env["crm.team"].create({"name": "Export"})
        # the leader hands the chat to a team they do not see: the move goes
        # through, and the rating stays the Showroom's
        self.chat.with_user(self.leader).write({"team_id": export.id, "user_id": False})
        self.assertEqual(self.chat.team_id, export)
        self.assertEqual(survey.rating_id.parent_res_id, self.team.id)
        self.assertEqual(survey.rating_id.parent_res_name, "Showroom")


@tagged("post_install", "-at_install", "whatsapp_ui", "whatsapp_satisfaction")
class TestSatisfactionUi(SatisfactionCase):
    """The ratings in Chromium, as the team leader."""

    def test_the_leader_finds_the_unhappy_customer_and_her_comment(self):
        # the inbox listens on the bus's websocket, closed in tests unless
        # asked (as bus's own WebsocketCase does)
        self.startPatcher(
            patch.object(
                WebsocketConnectionHandler, "websocket_allowed", return_value=True
            )
        )
        survey = self.done_and_asked()
        self.tap(survey, "rating_1", "😞 Bad")
        self.deliver(self.message(CUSTOMER, name="Rita Rater", body="Too slow"))
        self.assertEqual(
            (survey.rating_id.rating, survey.rating_id.feedback), (1, "Too slow")
        )
        self.start_tour(
            "/odoo/action-whatsapp_team.whatsapp_reporting_dashboard_action",
            "whatsapp_team_satisfaction_tour",
            login="wa_rating_leader",
        )
