from odoo import _, fields, models
from odoo.exceptions import UserError

from ..tools.graph_api import GraphError

# Meta's throughput for a number shared with the WhatsApp Business app
COEXISTENCE_RATE = 20
APP_PARTNER = "whatsapp_team.res_partner_whatsapp_business_app"
# Meta's error when the business declined to share its chat history
HISTORY_DECLINED = 2593109


# one concern of the model per file, as Odoo's mail spreads res.partner
class WhatsappAccount(models.Model):
    """A number shared with the WhatsApp Business app (Meta's
    "coexistence"): the business goes on answering from the app on its
    phone while the team answers in Odoo. What the app sends shows in the
    chats, its chat history and contacts come into Odoo, and Meta sends at
    most 20 messages a second on such a number."""

    _inherit = "whatsapp.account"  # pylint: disable=consider-merging-classes-inherited

    coexistence = fields.Boolean(
        "Shared with the WhatsApp Business App",
        tracking=True,
        help="The number is also used in the WhatsApp Business app on a "
        "phone. Messages sent from the app show in the chats as the app's "
        "(never sent again), its chat history and contacts are imported, and "
        "Odoo sends at most 20 messages a second on it, Meta's limit for such "
        "numbers. Set by itself when Meta sends the app's messages.",
    )
    history_state = fields.Selection(
        [
            ("requested", "Requested"),
            ("importing", "Importing"),
            ("done", "Imported"),
            ("declined", "Declined by the business"),
        ],
        string="Chat History",
        readonly=True,
        copy=False,
    )
    history_phase = fields.Integer(
        readonly=True,
        copy=False,
        help="Meta sends the app's history in three phases: 0 the day before "
        "the number was connected, 1 up to 90 days back, 2 up to 180 days.",
    )
    history_chunk = fields.Integer(
        "Last History Chunk",
        readonly=True,
        copy=False,
        help="The order of the last chunk received in its phase (Meta may "
        "send the chunks of a phase out of order).",
    )
    history_progress = fields.Integer("History Imported (%)", readonly=True, copy=False)
    history_last_at = fields.Datetime("Last History Event", readonly=True, copy=False)
    history_error = fields.Char("History Not Shared", readonly=True, copy=False)
    app_sync_requested_at = fields.Datetime(
        "History and Contacts Requested", readonly=True, copy=False
    )
    history_message_count = fields.Integer(
        "Imported Messages", compute="_compute_history_message_count"
    )

    def _compute_history_message_count(self):
        # as many as the reader may read
        counts = dict(
            self.env["whatsapp.message"]._read_group(
                [("account_id", "in", self.ids), ("app_origin", "=", "history")],
                ["account_id"],
                ["__count"],
            )
        )
        for account in self:
            account.history_message_count = counts.get(account, 0)

    def _send_rate(self):
        """Messages a second the send queue keeps to on this number."""
        self.ensure_one()
        if self.coexistence:
            return min(self.rate_limit, COEXISTENCE_RATE)
        return self.rate_limit

    def _app_partner(self):
        """The author of the messages the business sends from the app."""
        return self.env.ref(APP_PARTNER)

    def _mark_coexistence(self):
        """Meta sends the app's messages or contacts for this number: it is
        shared with the app, whatever it was set to (tracked, for the
        administrators to see)."""
        for account_sudo in self.sudo().filtered(lambda a: not a.coexistence):
            account_sudo.coexistence = True

    def _record_history_progress(self, chunk):
        """Keep where the import of the app's history stands, from a chunk
        (``tools.payload.HistoryChunk``) of it. Chunks come out of order: the
        progress only grows."""
        self.ensure_one()
        account_sudo = self.sudo()
        # to the second: a chunk's many messages write it once
        values = {"history_last_at": fields.Datetime.now()}
        if chunk.errors:
            error = chunk.errors[0]
            values.update(
                history_state="declined",
                history_error=error.details or error.message or error.title,
            )
        else:
            progress = max(account_sudo.history_progress, chunk.progress or 0)
            values.update(
                history_state="done" if progress >= 100 else "importing",
                history_progress=min(progress, 100),
                history_error=False,
            )
            if chunk.phase is not None:
                values["history_phase"] = max(account_sudo.history_phase, chunk.phase)
            if chunk.chunk_order is not None:
                values["history_chunk"] = chunk.chunk_order
        changed = {
            name: value for name, value in values.items() if account_sudo[name] != value
        }
        if changed:
            account_sudo.write(changed)

    def action_sync_business_app(self):
        """Ask Meta for the WhatsApp Business app's contacts, then its chat
        history (administrators). Meta sends them to the webhook in the
        following minutes; it takes the request once, within 24 hours of the
        number's connection. A sandbox number plays Meta's part at once."""
        self.check_access("write")
        for account in self:
            account_sudo = account.sudo()
            if not account_sudo.coexistence:
                raise UserError(
                    _(
                        "%(number)s is not shared with the WhatsApp Business "
                        "app: tick the box first.",
                        number=account.name,
                    )
                )
            client = account._get_graph_client()
            try:
                client.request_app_sync("smb_app_state_sync")
                client.request_app_sync("history")
            except GraphError as error:
                raise UserError(
                    _(
                        "Meta did not take the request for the app's contacts "
                        "and history of %(number)s: %(error)s",
                        number=account.name,
                        error=error,
                    )
                ) from error
            account_sudo.write(
                {
                    "app_sync_requested_at": fields.Datetime.now(),
                    "history_state": account_sudo.history_state or "requested",
                }
            )
            if account_sudo.mode == "sandbox":
                self.env["whatsapp.sandbox.message"]._simulate_app_sync(account_sudo)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "info",
                "message": _(
                    "Meta sends the app's contacts and chat history in the "
                    "coming minutes: the number's form shows how far the "
                    "import is."
                ),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
