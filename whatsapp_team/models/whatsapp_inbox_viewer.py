from datetime import timedelta

from odoo import api, fields, models

# the inbox renews "viewing" every 30 seconds: a viewer not heard of for a
# minute closed the chat without saying so (a closed laptop, a lost network)
VIEWING_LASTS = timedelta(seconds=60)
TYPING_LASTS = timedelta(seconds=10)


class WhatsappInboxViewer(models.Model):
    """Who has a chat open in the team inbox right now, and who is typing in it.

    One row per chat and user, renewed by the screen while the chat stays
    open and gone a minute after the last renewal. Written with one SQL
    upsert per renewal: the chat's own row is never written for it, so a
    chat many people watch is not a chat many transactions fight over.
    """

    _name = "whatsapp.inbox.viewer"
    _description = "WhatsApp Chat Viewer"
    _log_access = False

    conversation_id = fields.Many2one(
        "whatsapp.conversation", required=True, index=True, ondelete="cascade"
    )
    user_id = fields.Many2one("res.users", required=True, ondelete="cascade")
    expires_at = fields.Datetime(required=True)
    typing_until = fields.Datetime()

    _sql_constraints = [
        (
            "conversation_user_uniq",
            "unique(conversation_id, user_id)",
            "A user views a chat once.",
        ),
    ]

    @api.model
    def _renew(self, conversation, user, typing=False):
        """``user`` has ``conversation`` open (and is typing in it)."""
        now = fields.Datetime.now()
        self.env.cr.execute(
            """
            INSERT INTO whatsapp_inbox_viewer
                        (conversation_id, user_id, expires_at, typing_until)
                 VALUES (%(conversation)s, %(user)s, %(expires)s, %(typing)s)
            ON CONFLICT (conversation_id, user_id) DO UPDATE
                    SET expires_at = EXCLUDED.expires_at,
                        typing_until = COALESCE(EXCLUDED.typing_until,
                                                whatsapp_inbox_viewer.typing_until)
            """,
            {
                "conversation": conversation.id,
                "user": user.id,
                "expires": now + VIEWING_LASTS,
                "typing": now + TYPING_LASTS if typing else None,
            },
        )

    @api.model
    def _leave(self, conversation, user):
        self.env.cr.execute(
            "DELETE FROM whatsapp_inbox_viewer"
            " WHERE conversation_id = %s AND user_id = %s",
            [conversation.id, user.id],
        )

    @api.model
    def _current_user_ids(self, conversation):
        """Ids of the users who have ``conversation`` open now, first come first."""
        self.env.cr.execute(
            "SELECT user_id FROM whatsapp_inbox_viewer"
            " WHERE conversation_id = %s AND expires_at > %s ORDER BY id",
            [conversation.id, fields.Datetime.now()],
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.autovacuum
    def _gc_expired(self):
        self.env.cr.execute(
            "DELETE FROM whatsapp_inbox_viewer WHERE expires_at < %s",
            [fields.Datetime.now()],
        )
