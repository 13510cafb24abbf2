"""Fill in what earlier builds kept only in each customer message's raw JSON.

Since 18.0.1.4.0 a customer message keeps in fields what it carries: the id,
title and description of a reply button or list row, a template button's
payload and text, whether an audio is a voice note, the media checksum, and
each shared contact card (``whatsapp.message.contact``). Messages received
before have them in ``raw`` only: they are read again from it, and the chat
shows their contact cards with every field and the link to add them to the
contacts. What Meta never sent (a template's rejection details, a customer's
former numbers) cannot be recovered.
"""

import json
import logging

from odoo import SUPERUSER_ID, api
from odoo.tools import split_every

from odoo.addons.whatsapp_team.tools.payload import PayloadError, parse_message

_logger = logging.getLogger(__name__)

TYPES = ("interactive", "button", "contacts", "image", "audio", "video")
TYPES += ("document", "sticker")


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    Message = env["whatsapp.message"]
    ids = Message.search(
        [
            ("direction", "=", "in"),
            ("message_type", "in", TYPES),
            ("raw", "!=", False),
        ]
    ).ids
    filled = cards = 0
    for batch in split_every(500, ids):
        for message in Message.browse(batch):
            try:
                inbound = parse_message(json.loads(message.raw))
            except (ValueError, PayloadError):
                continue
            values = message._inbound_detail_values(inbound)
            if message.shared_contact_ids:
                values.pop("shared_contact_ids", None)
            values = {
                name: value
                for name, value in values.items()
                if value and (name == "shared_contact_ids" or not message[name])
            }
            if not values:
                continue
            message.write(values)
            filled += 1
            if "shared_contact_ids" in values:
                cards += len(values["shared_contact_ids"])
                message._refresh_chatter_body()
        env.invalidate_all()
    _logger.info(
        "whatsapp_team: %s customer messages filled in from their raw JSON, "
        "%s shared contact cards",
        filled,
        cards,
    )
