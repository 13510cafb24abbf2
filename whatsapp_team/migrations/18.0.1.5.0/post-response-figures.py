"""Count the response figures of the chats an earlier build made.

``written_at`` of the messages already stored: when WhatsApp took them (or
when they were stored), the closest an earlier build knew. Then each chat's
turns, response times and counts from its messages, as the addon keeps them
from now on; a chat done already is done as of its last message. Chats are
counted one by one: on a large database this update takes a while (about
what storing their messages again would cost, see benchmarks/reports.py).
"""

import logging

from odoo import SUPERUSER_ID, api

_logger = logging.getLogger(__name__)
BATCH = 500


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        """
        UPDATE whatsapp_message
           SET written_at = COALESCE(wa_timestamp, create_date)
         WHERE written_at IS NULL
        """
    )
    env = api.Environment(cr, SUPERUSER_ID, {})
    Chat = env["whatsapp.conversation"].with_context(
        active_test=False, tracking_disable=True
    )
    ids = Chat.search([], order="id").ids
    for start in range(0, len(ids), BATCH):
        for chat in Chat.browse(ids[start : start + BATCH]):
            chat._figures_recompute()
            if chat.state == "done" and chat.opened_at and not chat.closed_at:
                chat._figures_close(chat.last_message_at or chat.opened_at)
        env.flush_all()
        env.invalidate_all()
    _logger.info("whatsapp_team: response figures of %s chats counted", len(ids))
