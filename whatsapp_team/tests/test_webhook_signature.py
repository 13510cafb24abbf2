import json

from odoo.tests import tagged

from ..tools import signature
from .common import APP_SECRET, WhatsappCase

OTHER_SECRET = "support-secret"


@tagged("post_install", "-at_install", "whatsapp_webhook")
class TestWebhookSignature(WhatsappCase):
    """Each change of a body counts only for a number whose app secret signed it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other = cls.env["whatsapp.account"].create(
            {
                "name": "Support",
                "phone_number_id": "106540352242999",
                "business_account_id": cls.account.business_account_id,
                "app_secret": OTHER_SECRET,
                "access_token": "x",
                "graph_base_url": cls.graph_server.url,
            }
        )

    def both_numbers(self, for_account, for_other):
        """One body carrying a change for each number, as Meta batches them."""
        payload = self.payload([for_account])
        other = self.payload([for_other], account=self.other)
        payload["entry"][0]["changes"] += other["entry"][0]["changes"]
        return payload

    def stored(self, *messages):
        ids = [message["id"] for message, _contact in messages]
        return self.env["whatsapp.message"].search([("wa_message_id", "in", ids)])

    def for_unknown_number(self, payload, number_id="999"):
        value = payload["entry"][0]["changes"][0]["value"]
        value["metadata"]["phone_number_id"] = number_id
        return payload

    def test_body_naming_two_numbers_needs_both_signatures(self):
        to_sales = self.message("32470123481", body="to sales")
        to_support = self.message("32470123482", body="to support")
        payload = self.both_numbers(to_sales, to_support)
        for secret in (APP_SECRET, OTHER_SECRET):
            response = self.post_webhook(payload, secret=secret)
            self.assertEqual(response.status_code, 403, secret)
        self.assertFalse(self.events(), "nothing stored")
        self.process()
        self.assertFalse(self.stored(to_sales, to_support))
        # numbers of one Meta app share its secret: then the body is theirs
        self.other.app_secret = APP_SECRET
        self.assertEqual(self.post_webhook(payload).status_code, 200)
        self.process()
        self.assertEqual(
            self.stored(to_sales, to_support).account_id, self.account | self.other
        )

    def test_template_update_counts_for_the_numbers_that_signed_it(self):
        templates = self.env["whatsapp.template"]
        for account in (self.account, self.other):
            templates |= templates.create(
                {
                    "name": "offer",
                    "language": "en_US",
                    "account_id": account.id,
                    "category": "marketing",
                    "status": "approved",
                    "body": "Hello",
                    "wa_template_id": "777",
                }
            )
        ours, theirs = templates
        payload = {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": self.account.business_account_id,
                    "changes": [
                        {
                            "field": "message_template_status_update",
                            "value": {
                                "event": "REJECTED",
                                "message_template_id": 777,
                                "message_template_name": "offer",
                                "message_template_language": "en_US",
                                "reason": "INCORRECT_CATEGORY",
                            },
                        }
                    ],
                }
            ],
        }
        self.assertEqual(
            self.post_webhook(payload, secret="nobody-s-secret").status_code, 403
        )
        # the business account's two numbers are two Meta apps here: each
        # app's delivery updates the templates of its own number only
        self.assertEqual(
            self.post_webhook(payload, secret=OTHER_SECRET).status_code, 200
        )
        self.process()
        self.assertEqual(self.events().state, "done")
        self.assertEqual(theirs.status, "rejected")
        self.assertEqual(ours.status, "approved", "not signed by this number's app")
        self.assertEqual(self.post_webhook(payload).status_code, 200)
        self.process()
        self.assertEqual(ours.status, "rejected")

    def test_message_kept_for_a_new_number_must_be_signed_with_its_secret(self):
        message = self.message("32470123483", body="who signed me?")
        payload = self.for_unknown_number(self.payload([message]))
        # signed by a Meta app of ours, for a number we do not know yet: kept
        self.assertEqual(self.post_webhook(payload).status_code, 200)
        event = self.events()
        self.process()
        self.assertEqual(event.state, "pending")
        self.assertIn("999 is not configured", event.error)
        # the number is added, with the secret of another Meta app
        number = self.other.copy(
            {"name": "New", "phone_number_id": "999", "app_secret": "new-app-secret"}
        )
        event.action_process()
        self.process()
        self.assertEqual(event.state, "failed", "can never be signed otherwise")
        self.assertIn("not signed with the app secret", event.error)
        self.assertIn("999", event.error)
        self.assertFalse(self.stored(message))
        self.assertFalse(
            self.env["whatsapp.conversation"].search([("account_id", "=", number.id)])
        )
        # the administrator had pasted the wrong secret: fixed, processed now
        number.app_secret = APP_SECRET
        event.action_process()
        self.process()
        self.assertEqual(event.state, "done")
        self.assertEqual(self.stored(message).account_id, number)

    def test_status_counts_only_for_the_messages_of_its_number(self):
        conversation = self.deliver(self.message("32470123484")).conversation_id
        ours = self.sent_message(conversation)
        failed = self.status(
            ours.wa_message_id, "failed", errors=[{"code": 131026, "title": "No"}]
        )
        # signed by the other number's app, about the other number...
        self.assertEqual(
            self.post_webhook(
                self.payload(statuses=[failed], account=self.other),
                secret=OTHER_SECRET,
            ).status_code,
            200,
        )
        # ... and about a number we do not know, signed by that app too
        self.assertEqual(
            self.post_webhook(
                self.for_unknown_number(self.payload(statuses=[failed])),
                secret=OTHER_SECRET,
            ).status_code,
            200,
        )
        self.process()
        self.assertEqual(set(self.events().mapped("state")), {"done"})
        self.assertEqual(ours.state, "sent", "another number's status is not ours")
        self.assertFalse(ours.error_code)
        # the real one, from our number
        self.assertEqual(
            self.post_webhook(self.payload(statuses=[failed])).status_code, 200
        )
        self.process()
        self.assertEqual((ours.state, ours.error_code), ("failed", 131026))

    def test_signature_is_kept_with_the_event(self):
        body = json.dumps(self.payload([self.message()])).encode()
        header = signature.sign(APP_SECRET, body)
        self.assertEqual(self.post_webhook(body, header=header).status_code, 200)
        self.assertEqual(self.events().signature, header)
        self.assertEqual(self.events().payload.encode(), body)

    def test_a_new_app_secret_counts_at_once(self):
        body = json.dumps(self.payload([self.message("32470999888", body="hi")]))
        event = self.env["whatsapp.webhook.event"].create(
            {
                "payload": body,
                "signature": signature.sign("rotated-secret", body.encode()),
                "account_id": self.account.id,
            }
        )
        Account = self.env["whatsapp.account"]
        self.account.app_secret = "rotated-secret"
        # asked for before the change is written: the new secret all the same
        signers = {number[0]: number[3] for number in Account._webhook_signers()}
        self.assertEqual(signers[self.account.id], "rotated-secret")
        self.env.flush_all()
        self.assertTrue(event._signature_check()(self.account))
        self.assertFalse(event._signature_check()(self.other))
