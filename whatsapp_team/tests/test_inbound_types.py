from odoo.tests import new_test_user, tagged

from .common import WhatsappCase

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
    b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\xdac\xfc\xcf\xc0P\x0f\x00\x04"
    b"\x85\x01\x80\x84\xa9\x8c!\x00\x00\x00\x00IEND\xaeB`\x82"
)


@tagged("post_install", "-at_install", "whatsapp_inbound")
class TestInboundTypes(WhatsappCase):
    def receive(self, kind, wa_id="32470555001", **fields):
        record = self.deliver(self.message(wa_id, kind, **fields))
        self.assertEqual(len(record), 1)
        return record

    def test_text_with_whatsapp_formatting(self):
        record = self.receive(
            "text", body="*bold* _italic_ ~gone~ ```code``` <script>x</script>"
        )
        body = record.mail_message_id.body
        for fragment in (
            "<b>bold</b>",
            "<i>italic</i>",
            "<s>gone</s>",
            "<code>code</code>",
        ):
            self.assertIn(fragment, body)
        self.assertNotIn("<script>", body)
        self.assertEqual(record.message_type, "text")

    def test_a_new_chat_opens_on_the_customer_words(self):
        """A first message makes the chat: its chatter holds that message,
        with no "chat created" line above it; the new partner keeps Odoo's
        note of its creation."""
        record = self.receive("text", wa_id="32470555077", body="Hello there")
        chat = record.conversation_id
        self.assertEqual(chat.message_ids, record.mail_message_id)
        self.assertEqual(len(chat.partner_id.message_ids), 1)
        self.assertEqual(chat.partner_id.message_ids.message_type, "notification")

    def _media(self, kind, mime, content=PNG, **extra):
        media_id = self.graph.add_media(content, mime)
        return media_id, {"id": media_id, "mime_type": mime, "sha256": "", **extra}

    def test_image_is_downloaded_with_the_token_and_attached(self):
        media_id, media = self._media("image", "image/png", caption="the blue one")
        record = self.receive("image", image=media)
        self.assertEqual(record.media_state, "done")
        attachment = record.attachment_ids
        self.assertEqual(len(attachment), 1)
        self.assertEqual(attachment.raw, PNG)
        self.assertEqual(attachment.mimetype, "image/png")
        self.assertEqual(record.mail_message_id.attachment_ids, attachment)
        self.assertIn("the blue one", record.mail_message_id.body)
        paths = [call["path"] for call in self.graph.calls]
        self.assertTrue(any(path.endswith(f"/{media_id}") for path in paths), paths)
        self.assertTrue(any("/download/" in path for path in paths), paths)

    def test_a_processors_files_wake_the_downloads_once(self):
        """Photos from several customers, processed together, wake the
        media cron once, before the processor commits; each file still
        joins its chat."""
        cron = self.env.ref("whatsapp_team.ir_cron_fetch_media")
        Trigger = self.env["ir.cron.trigger"]
        Trigger.search([("cron_id", "=", cron.id)]).unlink()
        records = self.deliver(
            *(
                self.message(
                    f"3247055510{n}",
                    "image",
                    image=self._media("image", "image/png")[1],
                )
                for n in range(3)
            )
        )
        self.assertEqual(len(records.conversation_id), 3)
        self.assertEqual(records.mapped("media_state"), ["done"] * 3)
        self.assertEqual(Trigger.search_count([("cron_id", "=", cron.id)]), 1)

    def test_voice_video_document_sticker(self):
        cases = [
            ("audio", "audio/ogg", {"voice": True}),
            ("video", "video/mp4", {}),
            (
                "document",
                "application/pdf",
                {"filename": "quote.pdf", "caption": "signed"},
            ),
            ("sticker", "image/webp", {"animated": False}),
        ]
        for index, (kind, mime, extra) in enumerate(cases):
            _media_id, media = self._media(
                kind, mime, content=kind.encode() * 10, **extra
            )
            record = self.receive(kind, wa_id=f"3247055510{index}", **{kind: media})
            self.assertEqual(record.message_type, kind)
            self.assertEqual(record.attachment_ids.raw, kind.encode() * 10)
            self.assertEqual(record.attachment_ids.mimetype, mime)
        document = self.env["whatsapp.message"].search(
            [("message_type", "=", "document")]
        )
        self.assertEqual(document.attachment_ids.name, "quote.pdf")
        self.assertIn("signed", document.mail_message_id.body)

    def test_failed_download_keeps_the_message_and_is_retried(self):
        media_id, media = self._media("image", "image/jpeg")
        self.graph.fail_next(131052, path_contains=media_id)  # media download error
        record = self.receive("image", image=media)
        self.assertEqual(record.media_state, "failed")
        self.assertFalse(record.attachment_ids)
        self.assertIn("131052", record.media_error)
        self.assertIn("could not be downloaded", record.mail_message_id.body)
        self.assertEqual(self.events().state, "done", "the message itself is safe")

        self.env["whatsapp.message"]._cron_retry_media()
        self.assertEqual(record.media_state, "done")
        self.assertEqual(record.mail_message_id.attachment_ids, record.attachment_ids)
        self.assertNotIn("could not be downloaded", record.mail_message_id.body)

    def test_a_file_that_arrives_later_shows_in_the_open_chat(self):
        """The photo follows its message: the chat's readers get the chat
        message again with its file, and nobody else does."""
        reader = new_test_user(
            self.env,
            login="wa_file_reader",
            groups="whatsapp_team.group_whatsapp_admin",
        )
        stranger = new_test_user(self.env, login="wa_file_stranger")
        Bus = self.env["bus.bus"].sudo()
        last = Bus.search([], order="id desc", limit=1).id
        _media_id, media = self._media("image", "image/png")
        record = self.receive("image", image=media)
        self.env.cr.precommit.run()
        self.assertEqual(record.media_state, "done")
        attachment = record.attachment_ids
        self.assertTrue(attachment)
        with_file = Bus.search([("id", ">", last)]).filtered(
            lambda note: '"ir.attachment"' in note.message
            and f'"id":{attachment.id},' in note.message
        )
        channels = " ".join(with_file.mapped("channel"))
        self.assertIn(f'"res.partner",{reader.partner_id.id}]', channels)
        self.assertNotIn(f'"res.partner",{stranger.partner_id.id}]', channels)

    def test_expired_media_gives_up_after_a_few_attempts(self):
        media = {"id": "404404404", "mime_type": "image/jpeg"}  # unknown at Meta
        record = self.receive("image", image=media)
        for _attempt in range(10):
            self.env["whatsapp.message"]._cron_retry_media()
        self.assertEqual(record.media_state, "failed")
        self.assertEqual(record.media_attempts, 5)

    def test_location(self):
        record = self.receive(
            "location",
            location={
                "latitude": 50.8466,
                "longitude": 4.3528,
                "name": "Grand-Place",
                "address": "Brussels",
            },
        )
        self.assertAlmostEqual(record.latitude, 50.8466)
        self.assertIn("openstreetmap.org/?mlat=50.8466", record.mail_message_id.body)
        self.assertIn("Grand-Place", record.mail_message_id.body)

    def test_shared_contacts(self):
        record = self.receive(
            "contacts",
            contacts=[
                {
                    "name": {"formatted_name": "Paul Martin", "first_name": "Paul"},
                    "phones": [
                        {
                            "phone": "+33 6 12 34 56 78",
                            "type": "CELL",
                            "wa_id": "33612345678",
                        }
                    ],
                }
            ],
        )
        self.assertIn("Paul Martin", record.mail_message_id.body)
        self.assertIn("+33 6 12 34 56 78", record.mail_message_id.body)

    def test_interactive_button_and_list_replies_and_template_button(self):
        button = self.receive(
            "interactive",
            interactive={
                "type": "button_reply",
                "button_reply": {"id": "yes", "title": "Yes, call me"},
            },
        )
        self.assertIn("Yes, call me", button.mail_message_id.body)
        listed = self.receive(
            "interactive",
            interactive={
                "type": "list_reply",
                "list_reply": {
                    "id": "sku-1",
                    "title": "Blue chair",
                    "description": "In stock",
                },
            },
        )
        self.assertIn("Blue chair", listed.mail_message_id.body)
        template = self.receive(
            "button", button={"payload": "STOP_PROMOS", "text": "Stop promotions"}
        )
        self.assertEqual(template.message_type, "button")
        self.assertIn("Stop promotions", template.mail_message_id.body)

    def test_reply_with_context_quotes_the_original(self):
        original = self.receive("text", body="Which colours do you have?")
        reply = self.receive(
            "text",
            body="Blue please",
            context={"from": "15550100100", "id": original.wa_message_id},
        )
        self.assertEqual(reply.reply_to_id, original)
        self.assertIn("<blockquote", reply.mail_message_id.body)
        self.assertIn("Which colours", reply.mail_message_id.body)

    def test_reaction_and_its_removal(self):
        original = self.receive("text", body="Price is 20 EUR")
        liked = self.receive(
            "reaction", reaction={"message_id": original.wa_message_id, "emoji": "👍"}
        )
        self.assertEqual(liked.reaction_emoji, "👍")
        self.assertEqual(liked.reply_to_id, original)
        # shown on the message it reacts to, as on the customer's phone
        customer = original.conversation_id.partner_id
        reactions = original.mail_message_id.reaction_ids
        self.assertEqual(reactions.mapped("content"), ["👍"])
        self.assertEqual(reactions.partner_id, customer)
        self.assertFalse(liked.mail_message_id, "no line of its own in the chat")
        changed = self.receive(
            "reaction", reaction={"message_id": original.wa_message_id, "emoji": "❤"}
        )
        self.assertEqual(changed.reaction_emoji, "❤")
        self.assertEqual(
            original.mail_message_id.reaction_ids.mapped("content"),
            ["❤"],
            "one reaction per customer and message",
        )
        removed = self.receive(
            "reaction", reaction={"message_id": original.wa_message_id}
        )
        self.assertFalse(removed.reaction_emoji)
        self.assertFalse(original.mail_message_id.reaction_ids)
        # a reaction to a message the chat does not have: a line says so
        stray = self.receive(
            "reaction", reaction={"message_id": "wamid.UNKNOWN", "emoji": "😮"}
        )
        self.assertIn("😮", stray.mail_message_id.body)

    def test_unsupported_message_says_why(self):
        record = self.receive(
            "unsupported",
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
        self.assertEqual(record.error_code, 131051)
        self.assertIn(
            "Message type is currently not supported.", record.mail_message_id.body
        )
        self.assertIn("Ask them to send it another way", record.mail_message_id.body)

    def test_changed_number_moves_the_conversation(self):
        first = self.receive("text", wa_id="32470555900", body="hi")
        conversation = first.conversation_id
        message, _contact = self.message(
            "32470555900",
            "system",
            system={
                "body": "User A changed from 32470555900 to 32470555901",
                "wa_id": "32470555901",
                "type": "user_changed_number",
            },
        )
        system = self.deliver((message, None))
        self.assertEqual(system.conversation_id, conversation)
        self.assertEqual(conversation.wa_id, "32470555901")
        self.assertEqual(conversation.phone, "+32 470 55 59 01")
        later = self.receive("text", wa_id="32470555901", body="new phone")
        self.assertEqual(later.conversation_id, conversation)
        self.assertIn(
            "changed their WhatsApp number",
            "".join(conversation.message_ids.mapped("body")),
        )

    def test_unknown_future_type_is_kept(self):
        record = self.receive("hologram", hologram={"id": "1"})
        self.assertEqual(record.message_type, "other")
        self.assertTrue(record.mail_message_id)

    def test_request_welcome_and_order(self):
        welcome = self.receive("request_welcome")
        self.assertEqual(welcome.message_type, "request_welcome")
        order = self.receive(
            "order",
            order={
                "catalog_id": "123",
                "text": "Please deliver Monday",
                "product_items": [
                    {
                        "product_retailer_id": "SKU1",
                        "quantity": 2,
                        "item_price": 9.5,
                        "currency": "EUR",
                    }
                ],
            },
        )
        self.assertEqual(order.message_type, "order")
        self.assertIn("Please deliver Monday", order.mail_message_id.body)
