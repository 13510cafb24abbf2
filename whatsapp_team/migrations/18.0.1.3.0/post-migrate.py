"""Fill the team inbox's stored figures of the chats an earlier build made.

``last_wa_message_id``: each chat's latest WhatsApp message either way (a
message not sent yet counts from its creation), as the addon keeps it from
now on. ``unread_count``: an earlier build did not know what was read, so a
chat counts as unread the customer messages (not reactions nor system
events) of a customer still waiting for an answer, since they started
waiting; a chat that was answered starts at 0.
"""

import logging

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        """
        UPDATE whatsapp_conversation c
           SET last_wa_message_id = latest.id
          FROM (SELECT DISTINCT ON (conversation_id) conversation_id, id
                  FROM whatsapp_message
              ORDER BY conversation_id,
                       COALESCE(wa_timestamp, create_date) DESC, id DESC) latest
         WHERE latest.conversation_id = c.id
           AND c.last_wa_message_id IS DISTINCT FROM latest.id
        """
    )
    _logger.info("whatsapp_team: last message of %s chats filled in", cr.rowcount)
    cr.execute(
        """
        UPDATE whatsapp_conversation c
           SET unread_count = COALESCE(
                   (SELECT count(*) FROM whatsapp_message m
                     WHERE m.conversation_id = c.id
                       AND m.direction = 'in'
                       AND m.message_type NOT IN
                           ('reaction', 'system', 'request_welcome')
                       AND m.wa_timestamp >= c.waiting_since), 0)
         WHERE c.waiting_since IS NOT NULL
        """
    )
    _logger.info("whatsapp_team: unread messages of %s chats counted", cr.rowcount)
