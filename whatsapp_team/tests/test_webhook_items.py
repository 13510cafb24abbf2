import json
from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time
from psycopg2 import IntegrityError

from odoo import fields
from odoo.tests import tagged

from .common import APP_SECRET, WhatsappCase

# a timestamp no date can hold: storing the message raises, every time
OUT_OF_RANGE = 99999999999999


@tagged("post_install", "-at_install", "whatsapp_webhook")
class TestWebhookItems(WhatsappCase):
    """Each message, status and change of a body goes through on its own."""

    def stored(self, *messages):
        ids = [message["id"] for message, _contact in messages]
        return self.env["whatsapp.message"].search([("wa_message_id", "in", ids)])

    def chatter_count(self, record):
        return self.env["mail.message"].search_count(
            [
                ("model", "=", "whatsapp.conversation"),
                ("res_id", "=", record.conversation_id.id),
                ("message_type", "=", "comment"),
            ]
        )

    def item_ids(self, event):
        """The message and status ids an event's payload holds, in order."""
        ids = []
        for entry in json.loads(event.payload)["entry"]:
            for change in entry["changes"]:
                value = change["value"]
                ids += [m.get("id") for m in value.get("messages", [])]
                ids += [s.get("id") for s in value.get("statuses", [])]
        return ids

    def test_one_bad_message_does_not_hold_back_the_others(self):
        good = self.message("32470123491", body="first", name="Ann")
        bad = self.message(wa_id=None, body="no sender at all")
        other = self.message("32470123492", body="second", name="Bob")
        now = fields.Datetime.now()
        with freeze_time(now):
            response = self.post_webhook(self.payload([good, bad, other]))
            self.assertEqual(response.status_code, 200)
            self.process()
        self.assertEqual(len(self.stored(good, other)), 2, "the others went through")
        event = self.events().filtered(lambda e: not e.parent_id)
        self.assertEqual(len(event), 1)
        self.assertEqual((event.state, event.message_count), ("done", 2))
        self.assertIn("1 of 3", event.note)
        part = event.child_ids
        self.assertEqual(len(part), 1)
        self.assertEqual(part.parent_id, event)
        self.assertEqual(
            (part.state, part.attempts), ("pending", 1), "kept, retried alone"
        )
        self.assertIn("without a sender identity", part.error)
        self.assertGreater(part.next_attempt_at, now)
        self.assertEqual(part.account_id, self.account)
        self.assertEqual(self.item_ids(part), [bad[0]["id"]])
        body = json.loads(part.payload)
        self.assertEqual(body["object"], "whatsapp_business_account")
        self.assertEqual(
            body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"],
            self.account.phone_number_id,
        )
        # later attempts retry the bad message alone: the others are never
        # processed again
        with freeze_time(now + timedelta(minutes=3)):
            self.process()
        self.assertEqual((part.state, part.attempts), ("pending", 2))
        self.assertEqual(event.state, "done")
        self.assertEqual(len(self.events()), 2, "no new event per attempt")
        for record in self.stored(good, other):
            self.assertEqual(self.chatter_count(record), 1)
        part.attempts = 9
        with freeze_time(now + timedelta(days=3)):
            self.process()
        self.assertEqual((part.state, part.attempts), ("failed", 10))
        # an administrator can still queue it again
        part.action_process()
        self.assertEqual(part.state, "pending")

    def test_unreadable_item_fails_alone_and_at_once(self):
        good = self.message("32470123493", body="readable")
        broken = self.message("32470123494", body="no id")
        del broken[0]["id"]
        self.assertEqual(
            self.post_webhook(self.payload([broken, good])).status_code, 200
        )
        self.process()
        self.assertTrue(self.stored(good))
        event = self.events().filtered(lambda e: not e.parent_id)
        self.assertEqual((event.state, event.message_count), ("done", 1))
        part = event.child_ids
        self.assertEqual((part.state, part.attempts), ("failed", 1))
        self.assertIn("PayloadError", part.error)
        self.assertFalse(part.next_attempt_at)

    def test_statuses_and_messages_of_a_body_each_on_their_own(self):
        conversation = self.deliver(self.message("32470123495")).conversation_id
        ours = self.sent_message(conversation)
        bad = self.message(wa_id=None, body="no sender")
        good = self.message("32470123496", body="fine")
        payload = self.payload(
            [bad, good], statuses=[self.status(ours.wa_message_id, "read")]
        )
        self.assertEqual(self.post_webhook(payload).status_code, 200)
        self.process()
        self.assertEqual(ours.state, "read")
        self.assertTrue(self.stored(good))
        event = self.events().filtered(lambda e: not e.parent_id)[0]
        self.assertEqual(
            (event.state, event.message_count, event.status_count), ("done", 1, 1)
        )
        self.assertEqual(self.item_ids(event.child_ids), [bad[0]["id"]])

    def test_a_customers_later_messages_wait_for_the_earlier_one(self):
        first = self.message(
            "32470123497", body="first", name="Cleo", timestamp=OUT_OF_RANGE
        )
        someone = self.message("32470123498", body="someone else", name="Dan")
        second = self.message("32470123497", body="second", name="Cleo")
        now = fields.Datetime.now()
        with freeze_time(now):
            self.post_webhook(self.payload([first, someone, second]))
            self.process()
        self.assertTrue(self.stored(someone))
        self.assertFalse(self.stored(second), "never before the first one")
        event = self.events().filtered(lambda e: not e.parent_id)
        self.assertEqual((event.state, event.message_count), ("done", 1))
        part = event.child_ids
        self.assertEqual(len(part), 1, "the customer's messages stay together")
        self.assertEqual(self.item_ids(part), [first[0]["id"], second[0]["id"]])
        self.assertEqual(part.state, "pending")
        self.assertIn("out of range", part.error)
        with freeze_time(now + timedelta(minutes=3)):
            self.process()
        self.assertEqual((part.state, part.attempts), ("pending", 2))
        self.assertFalse(self.stored(second))
        self.assertFalse(part.child_ids, "not split while it may still pass")
        # once the first is given up, the second no longer waits for it
        part.attempts = 9
        with freeze_time(now + timedelta(days=3)):
            self.process()
        self.assertEqual((part.state, part.message_count), ("done", 1))
        self.assertTrue(self.stored(second))
        last = part.child_ids
        self.assertEqual(self.item_ids(last), [first[0]["id"]])
        self.assertEqual((last.state, last.attempts), ("failed", 10))
        self.assertFalse(self.stored(first))

    def test_message_for_a_number_added_later_is_recovered_alone(self):
        known = self.message("32470123499", body="to a number we know")
        later = self.message("32470123500", body="to a number added later")
        payload = self.payload([known])
        unknown = self.payload([later])
        unknown["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = (
            "888"
        )
        payload["entry"][0]["changes"] += unknown["entry"][0]["changes"]
        self.assertEqual(self.post_webhook(payload).status_code, 200)
        self.process()
        self.assertEqual(self.stored(known).account_id, self.account)
        event = self.events().filtered(lambda e: not e.parent_id)
        self.assertEqual(event.state, "done")
        part = event.child_ids
        self.assertEqual(part.state, "pending")
        self.assertIn("888 is not configured", part.error)
        number = self.account.copy(
            {"name": "Added", "phone_number_id": "888", "app_secret": APP_SECRET}
        )
        part.action_process()
        self.process()
        # checked against the signature of the body it came in
        self.assertEqual(part.state, "done")
        self.assertEqual(self.stored(later).account_id, number)
        self.assertEqual(len(self.stored(known, later)), 2)

    def test_part_of_a_body_is_checked_against_its_number_secret(self):
        known = self.message("32470123501", body="to a number we know")
        later = self.message("32470123502", body="signed by another app")
        payload = self.payload([known])
        unknown = self.payload([later])
        unknown["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = (
            "777"
        )
        payload["entry"][0]["changes"] += unknown["entry"][0]["changes"]
        self.post_webhook(payload)
        self.process()
        self.assertTrue(self.stored(known))
        part = self.events().filtered("parent_id")
        self.account.copy(
            {"name": "Other app", "phone_number_id": "777", "app_secret": "other"}
        )
        part.action_process()
        self.process()
        self.assertEqual(part.state, "failed")
        self.assertIn("not signed with the app secret", part.error)
        self.assertFalse(self.stored(later))

    def test_single_item_body_stays_one_event(self):
        bad = self.message(wa_id=None, body="no sender")
        self.post_webhook(self.payload([bad]))
        self.process()
        event = self.events()
        self.assertEqual(len(event), 1)
        self.assertEqual((event.state, event.attempts), ("pending", 1))
        self.assertFalse(event.child_ids)

    def test_message_from_the_number_itself_opens_no_chat(self):
        self.account.write(
            {"greeting_enabled": True, "greeting_message": "Hello {first_name}!"}
        )
        # the number's own display number, as Meta writes it in the metadata
        own = self.message("15550100100", body="Testing myself", name="Sales")
        customer = self.message("32470123510", body="A real customer")
        self.assertEqual(
            self.post_webhook(self.payload([own, customer])).status_code, 200
        )
        # the number as written on the account, when Meta's metadata has none
        also_own = self.message("15550100100", body="Again", name="Sales")
        payload = self.payload([also_own])
        del payload["entry"][0]["changes"][0]["value"]["metadata"][
            "display_phone_number"
        ]
        self.assertEqual(self.post_webhook(payload).status_code, 200)
        self.process()
        self.assertFalse(self.stored(own, also_own))
        self.assertTrue(self.stored(customer))
        Conversation = self.env["whatsapp.conversation"]
        self.assertFalse(Conversation.search([("wa_id", "=", "15550100100")]))
        self.assertFalse(
            self.env["res.partner"].search(
                [("whatsapp_mobile_key", "=", "15550100100")]
            )
        )
        self.env["whatsapp.message"]._cron_send_queue()
        greeted = [m["to"] for m in self.graph.messages if m["type"] == "text"]
        self.assertEqual(greeted, ["32470123510"], "only the customer is greeted")
        # kept in sight of an administrator
        first, second = self.events().sorted("id")
        self.assertEqual((first.state, first.message_count), ("done", 1))
        self.assertIn(own[0]["id"], first.note)
        self.assertIn("own number", first.note)
        self.assertEqual((second.state, second.message_count), ("done", 0))
        self.assertIn(also_own[0]["id"], second.note)
        self.assertEqual(
            self.env["whatsapp.webhook.event"].search_count([("note", "!=", False)]), 2
        )

    def test_each_body_is_stored_with_its_customers_lock_keys(self):
        """The processors keep a customer's bodies in order by the customers'
        keys stored with each body: one customer's message and the status of
        a message sent to them share a key; another customer has another;
        a body with both customers holds both keys."""

        def stored_keys(payload):
            self.assertEqual(self.post_webhook(payload).status_code, 200)
            self.env.cr.execute(
                "SELECT lock_keys FROM whatsapp_webhook_event ORDER BY id DESC LIMIT 1"
            )
            return set(self.env.cr.fetchone()[0])

        ana = stored_keys(self.payload([self.message("32470111111")]))
        ana_status = stored_keys(
            self.payload(statuses=[self.status("wamid.x", "read", "32470111111")])
        )
        bob = stored_keys(self.payload([self.message("32470222222")]))
        both = stored_keys(
            self.payload([self.message("32470111111"), self.message("32470222222")])
        )
        self.assertEqual(len(ana), 1)
        self.assertEqual(ana, ana_status)
        self.assertFalse(ana & bob)
        self.assertEqual(both, ana | bob)
        # all of them are processed, in the order they came
        self.assertEqual(self.process(), 4)
        self.assertEqual(set(self.events().mapped("state")), {"done"})

    def test_a_message_stored_first_elsewhere_is_retried_after_the_commit(self):
        """A concurrent transaction stored the same customer first: the event
        is retried on a fresh snapshot, where that customer is seen, not
        again and again on the one that could not see it. The customer's
        later messages wait for it; other customers' do not."""
        first = self.message("32470123471", body="first", name="Ann")
        later = self.message("32470123471", body="later", name="Ann")
        other = self.message("32470123472", body="other", name="Bob")
        # a body of Ann and Cid, then Cid alone: Cid waits with Ann
        with_ann = self.message("32470123471", body="with Cid", name="Ann")
        with_cid = self.message("32470123473", body="with Ann", name="Cid")
        cid = self.message("32470123473", body="Cid alone", name="Cid")
        for body in ([first], [later], [other], [with_ann, with_cid], [cid]):
            self.assertEqual(self.post_webhook(self.payload(body)).status_code, 200)
        Event = type(self.env["whatsapp.webhook.event"])
        process_item = Event._process_item
        tries = []

        def stored_elsewhere(event, item, signed):
            if first[0]["id"] in json.dumps(item.payload):
                tries.append(event.id)
                raise IntegrityError("duplicate key value (stored by another)")
            return process_item(event, item, signed)

        # one processor: they are taken and processed together
        with (
            patch.object(Event, "_process_item", stored_elsewhere),
            patch.object(Event, "_processor_count", lambda self: 1),
        ):
            self.process()
        first_event, later_event, other_event, both_event, cid_event = (
            self.events().sorted("id")
        )
        # with the others, then alone: not again on the snapshot that
        # cannot see the other transaction's record
        self.assertEqual(tries, [first_event.id] * 2)
        self.assertEqual((first_event.state, first_event.attempts), ("pending", 1))
        self.assertEqual(later_event.state, "pending", "waits for the first")
        self.assertEqual(both_event.state, "pending")
        self.assertEqual(cid_event.state, "pending", "waits with Ann's body")
        self.assertEqual(other_event.state, "done")
        self.assertFalse(self.stored(first, later, with_ann, with_cid, cid))
        # the next look, after the commit: stored in their order
        self.assertEqual(self.process(), 4)
        self.assertLess(self.stored(first).id, self.stored(later).id)
        self.assertLess(self.stored(later).id, self.stored(with_ann).id)
        self.assertLess(self.stored(with_cid).id, self.stored(cid).id)
