import { Thread } from "@mail/core/common/thread";
import { patch } from "@web/core/utils/patch";

/**
 * A WhatsApp chat reads in the order its messages were written. The chat
 * history of the WhatsApp Business app comes into Odoo after newer messages,
 * each with the time it was written, and a customer's message Meta delivers
 * late keeps its own time: Odoo's threads would show them in the order they
 * were stored.
 */
patch(Thread.prototype, {
    get orderedMessages() {
        if (this.props.thread?.model !== "whatsapp.conversation") {
            return super.orderedMessages;
        }
        const messages = [...this.props.thread.nonEmptyMessages].sort(
            (message1, message2) =>
                message1.datetime - message2.datetime || message1.id - message2.id
        );
        return this.props.order === "asc" ? messages : messages.reverse();
    },
});
