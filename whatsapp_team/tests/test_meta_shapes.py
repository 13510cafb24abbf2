"""Meta's documented webhook shapes, posted as Meta posts them.

Each test quotes (in its docstring) the reference page of Meta's WhatsApp
Business Platform it follows (developers.facebook.com/documentation/
business-messaging/whatsapp/webhooks/reference/...). What a customer sends
must be stored, processed without error and shown to the team.
"""

import json
import time

from odoo.tests import tagged

from .common import WhatsappCase


@tagged("post_install", "-at_install", "whatsapp_meta_shapes")
class TestMetaShapes(WhatsappCase):
    def receive(self, kind, wa_id="32470666001", **fields):
        record = self.deliver(self.message(wa_id, kind, **fields))
        self.assertEqual(len(record), 1)
        self.assertEqual(set(self.events().mapped("state")), {"done"})
        return record

    def body_of(self, record):
        return record.mail_message_id.body or ""

    # ------------------------------------------------------------
    # Messages
    # ------------------------------------------------------------

    def test_an_order_without_a_note_shows_what_was_ordered(self):
        """webhooks/reference/messages/order: ``order.text`` is optional
        ("<ORDER_TEXT>", the note the customer may add); what they ordered
        is ``product_items[]`` (product_retailer_id, quantity, item_price,
        currency)."""
        record = self.receive(
            "order",
            order={
                "catalog_id": "194836987003835",
                "product_items": [
                    {
                        "product_retailer_id": "di9ozbzfi4",
                        "quantity": 2,
                        "item_price": 30,
                        "currency": "USD",
                    },
                    {
                        "product_retailer_id": "nqryix03ez",
                        "quantity": 1,
                        "item_price": 25,
                        "currency": "USD",
                    },
                ],
            },
        )
        self.assertEqual(record.message_type, "order")
        body = self.body_of(record)
        self.assertIn("di9ozbzfi4", body, "the products ordered are shown")
        self.assertIn("nqryix03ez", body)

    def test_a_flow_reply_shows_the_customers_answers(self):
        """flows/guides/receiveflowresponse: the answers of a completed Flow
        are in ``nfm_reply.response_json`` (a JSON string); ``body`` is
        always "Sent"."""
        record = self.receive(
            "interactive",
            interactive={
                "type": "nfm_reply",
                "nfm_reply": {
                    "name": "flow",
                    "body": "Sent",
                    "response_json": json.dumps(
                        {
                            "flow_token": "token-1",
                            "name": "John Doe",
                            "email": "john@example.com",
                        }
                    ),
                },
            },
        )
        self.assertEqual(record.interactive_type, "nfm_reply")
        body = self.body_of(record)
        self.assertIn("John Doe", body, "what the customer filled in is shown")
        self.assertIn("john@example.com", body)

    def test_a_question_about_a_product_names_the_product(self):
        """catalogs/receive-responses, webhooks/reference/messages/text: a
        text sent with "Message business" on a product carries
        ``context.referred_product`` {catalog_id, product_retailer_id}."""
        record = self.receive(
            "text",
            body="Is this available in red?",
            context={
                "from": "15550100100",
                "id": "wamid.PRODUCTMESSAGE0001",
                "referred_product": {
                    "catalog_id": "194836987003835",
                    "product_retailer_id": "di9ozbzfi4",
                },
            },
        )
        body = self.body_of(record)
        self.assertIn("Is this available in red?", body)
        self.assertIn("di9ozbzfi4", body, "the product asked about is named")

    def test_unsupported_message_of_the_current_shape(self):
        """webhooks/reference/messages/unsupported: type ``unsupported``,
        ``unsupported: {type}``, errors[131051] with error_data.details."""
        record = self.receive(
            "unsupported",
            unsupported={"type": "poll_creation"},
            errors=[
                {
                    "code": 131051,
                    "title": "Message type unknown",
                    "message": "Message type unknown",
                    "error_data": {
                        "details": "Message type is currently not supported."
                    },
                }
            ],
        )
        self.assertEqual(record.message_type, "unsupported")
        self.assertEqual(record.error_code, 131051)
        self.assertIn("currently not supported", self.body_of(record))

    def test_legacy_unknown_message_says_why(self):
        """The pre-2023 shape of the same notice (Cloud API "Received unknown
        messages" example): type ``unknown`` with errors[131051]."""
        record = self.receive(
            "unknown",
            errors=[
                {
                    "code": 131051,
                    "details": "Message type is not currently supported",
                    "title": "Unsupported message type",
                }
            ],
        )
        self.assertEqual(record.error_code, 131051)
        self.assertIn("Unsupported message type", self.body_of(record))

    def test_an_ad_click_keeps_the_referral_and_shows_the_words(self):
        """webhooks/reference/messages (referral): a message sent from a
        Click to WhatsApp ad carries ``referral``."""
        referral = {
            "source_url": "https://fb.me/3cr4Wqqkk",
            "source_id": "120226305854810726",
            "source_type": "ad",
            "headline": "Chat with us",
            "body": "Spring sale",
            "media_type": "image",
            "image_url": "https://scontent.xx.fbcdn.net/v/t45.1-4/x.jpg",
            "ctwa_clid": "Aff-n8ZTODiE79d22KtAwQKj9e_mIEOOj27vDVwFjN80dp4",
            "welcome_message": {"text": "Hi! How can we help?"},
        }
        record = self.receive("text", body="Tell me more", referral=referral)
        self.assertIn("Tell me more", self.body_of(record))
        self.assertEqual(json.loads(record.raw)["referral"], referral)

    def test_a_location_with_its_name_address_and_url(self):
        """webhooks/reference/messages/location: latitude, longitude, name,
        address, url."""
        record = self.receive(
            "location",
            location={
                "latitude": 37.4829,
                "longitude": -122.1481,
                "name": "Philz Coffee",
                "address": "101 Forest Ave, Palo Alto, CA 94301",
                "url": "https://philzcoffee.com",
            },
        )
        body = self.body_of(record)
        self.assertIn("Philz Coffee", body)
        self.assertIn("101 Forest Ave", body)

    def test_animated_sticker_forwarded_image_and_empty_reaction(self):
        media_id = self.graph.add_media(b"RIFFxxxxWEBP", "image/webp")
        sticker = self.receive(
            "sticker",
            sticker={
                "mime_type": "image/webp",
                "sha256": "",
                "id": media_id,
                "animated": True,
            },
        )
        self.assertEqual(sticker.message_type, "sticker")
        self.assertEqual(sticker.media_state, "done")
        original = self.receive("text", body="20 EUR")
        liked = self.receive(
            "reaction", reaction={"message_id": original.wa_message_id, "emoji": "👍"}
        )
        self.assertEqual(original.mail_message_id.reaction_ids.content, "👍")
        # webhooks/reference/messages/reaction: emoji omitted or empty when
        # the reaction is removed
        removed = self.receive(
            "reaction", reaction={"message_id": original.wa_message_id, "emoji": ""}
        )
        self.assertTrue(liked and removed)
        self.assertFalse(original.mail_message_id.reaction_ids)
        forwarded = self.receive(
            "text", body="look at this", context={"frequently_forwarded": True}
        )
        self.assertIn("look at this", self.body_of(forwarded))

    def test_a_customer_known_by_user_id_only(self):
        """2026 shape: ``from`` omitted when the phone number is unavailable;
        ``from_user_id`` and ``contacts[].user_id`` / ``profile.username``."""
        message = {
            "from_user_id": "US.13491208655302741918",
            "id": self.new_wamid(),
            "timestamp": str(int(time.time())),
            "type": "text",
            "text": {"body": "hello from a username"},
        }
        contact = {
            "profile": {"name": "Sheena", "username": "@sheena"},
            "user_id": "US.13491208655302741918",
        }
        record = self.deliver((message, contact))
        self.assertEqual(len(record), 1)
        self.assertEqual(record.conversation_id.wa_user_id, "US.13491208655302741918")
        self.assertIn("hello from a username", self.body_of(record))

    def test_call_permission_reply_shows_the_answer(self):
        """Calling API, webhooks/reference/messages/interactive
        (call_permission_reply): ``response`` accept or reject."""
        record = self.receive(
            "interactive",
            interactive={
                "type": "call_permission_reply",
                "call_permission_reply": {
                    "response": "accept",
                    "is_permanent": False,
                    "expiration_timestamp": int(time.time()) + 7 * 86400,
                    "response_source": "user_action",
                },
            },
        )
        self.assertIn("accept", self.body_of(record).lower())

    # ------------------------------------------------------------
    # Errors, statuses, several changes
    # ------------------------------------------------------------

    def test_errors_of_a_change_are_kept_and_hold_nothing_back(self):
        """webhooks/reference/messages/errors: a ``messages`` change whose
        value holds only ``errors`` (system, app or account problem)."""
        text, contact = self.message("32470666050", body="still here")
        body = self.payload([(text, contact)])
        body["entry"][0]["changes"].append(
            {
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {
                        "display_phone_number": "15550100100",
                        "phone_number_id": self.account.phone_number_id,
                    },
                    "errors": [
                        {
                            "code": 130429,
                            "title": "Rate limit hit",
                            "message": "(#130429) Rate limit hit",
                            "error_data": {
                                "details": "Cloud API message throughput has "
                                "been reached."
                            },
                            "href": "/docs/whatsapp/cloud-api/support/error-codes/",
                        }
                    ],
                },
            }
        )
        self.assertEqual(self.post_webhook(body).status_code, 200)
        self.process()
        self.assertTrue(
            self.env["whatsapp.message"].search([("wa_message_id", "=", text["id"])])
        )
        event = self.events().filtered(lambda e: not e.parent_id)
        self.assertEqual(event.state, "done")
        events = self.events()
        kept = " ".join(filter(None, events.mapped("note") + events.mapped("error")))
        self.assertIn("130429", kept, "Meta's error is told, not dropped")

    def test_several_entries_and_changes_in_one_body(self):
        first = self.message("32470666061", body="one")
        second = self.message("32470666062", body="two")
        body = self.payload([first, second])
        waba = self.account.business_account_id
        body["entry"].append(
            {
                "id": waba,
                "time": int(time.time()),
                "changes": [
                    {
                        "field": "phone_number_quality_update",
                        "value": {
                            "display_phone_number": "15550100100",
                            "event": "FLAGGED",
                            "current_limit": "TIER_1K",
                        },
                    },
                    {
                        "field": "account_update",
                        "value": {
                            "phone_number": "15550100100",
                            "event": "VERIFIED_ACCOUNT",
                        },
                    },
                    {
                        "field": "message_template_status_update",
                        "value": {
                            "event": "APPROVED",
                            "message_template_id": 99999001,
                            "message_template_name": "not_here",
                            "message_template_language": "en_US",
                            "reason": "NONE",
                        },
                    },
                ],
            }
        )
        third = self.message("32470666063", body="three")
        body["entry"].append(self.payload([third])["entry"][0])
        self.assertEqual(self.post_webhook(body).status_code, 200)
        self.process()
        ids = [m["id"] for m, _c in (first, second, third)]
        stored = self.env["whatsapp.message"].search([("wa_message_id", "in", ids)])
        self.assertEqual(len(stored), 3)
        self.assertEqual(set(self.events().mapped("state")), {"done"})

    def test_statuses_of_the_2026_shapes(self):
        conversation = self.deliver(self.message("32470666070")).conversation_id
        outbound = self.sent_message(conversation)
        now = int(time.time())
        statuses = [
            # webhooks/reference/messages/status: pricing (PMP) and the
            # recipient by user id, its phone number omitted
            {
                "id": outbound.wa_message_id,
                "status": "delivered",
                "timestamp": str(now),
                "recipient_user_id": "US.9999",
                "pricing": {
                    "billable": False,
                    "pricing_model": "PMP",
                    "category": "service",
                    "type": "free_customer_service",
                },
            },
            # a voice message played
            {
                "id": outbound.wa_message_id,
                "status": "played",
                "timestamp": str(now + 1),
                "recipient_id": "32470666070",
            },
            # a message we never sent
            {
                "id": "wamid.NEVERSENT0001",
                "status": "failed",
                "timestamp": str(now),
                "recipient_id": "32470666070",
                "errors": [
                    {
                        "code": 131026,
                        "title": "Message undeliverable",
                        "message": "Message undeliverable",
                        "error_data": {"details": "Message Undeliverable."},
                    }
                ],
            },
        ]
        self.assertEqual(
            self.post_webhook(self.payload(statuses=statuses)).status_code, 200
        )
        self.process()
        self.assertEqual(outbound.state, "delivered")
        self.assertEqual(outbound.pricing_type, "free_customer_service")
        self.assertEqual(set(self.events().mapped("state")), {"done"})
