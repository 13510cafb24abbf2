from odoo import fields, models

# the chatter shows a WhatsApp message's state with mail's notification icons:
# our states map onto mail's statuses (failed messages count as failures)
NOTIFICATION_STATUS = {
    "queued": "ready",
    "sending": "process",
    "sent": "pending",
    "delivered": "sent",
    "read": "sent",
    "failed": "exception",
}


class MailNotification(models.Model):
    _inherit = "mail.notification"

    notification_type = fields.Selection(
        selection_add=[("whatsapp", "WhatsApp")], ondelete={"whatsapp": "cascade"}
    )
    failure_type = fields.Selection(
        selection_add=[("whatsapp_refused", "Refused by WhatsApp")]
    )
    # one notification per chatter message, which may have gone out as
    # several WhatsApp messages (a text and its attachments): the least
    # advanced of them, or failed when one failed
    whatsapp_state = fields.Selection(
        [
            ("queued", "Queued"),
            ("sending", "Sending"),
            ("sent", "Sent"),
            ("delivered", "Delivered"),
            ("read", "Read"),
            ("failed", "Failed"),
        ],
        string="WhatsApp State",
    )

    def _filtered_for_web_client(self):
        # a salesperson always sees what became of a WhatsApp message
        whatsapp = self.filtered(lambda n: n.notification_type == "whatsapp")
        return (
            whatsapp
            | super(MailNotification, self - whatsapp)._filtered_for_web_client()
        )

    def _to_store(self, store, /):
        result = super()._to_store(store)
        for notification in self.filtered(lambda n: n.notification_type == "whatsapp"):
            store.add(
                notification,
                {
                    "whatsapp_state": notification.whatsapp_state,
                    "failure_reason": notification.failure_reason,
                },
            )
        return result
