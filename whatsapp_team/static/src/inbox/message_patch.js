import { Message } from "@mail/core/common/message";
import { Message as MessageModel } from "@mail/core/common/message_model";
import { patch } from "@web/core/utils/patch";

/** A message of a WhatsApp chat whose customer is known (set by the inbox). */
function whatsappCustomer(message) {
    const thread = message.thread;
    if (thread?.model !== "whatsapp.conversation") {
        return undefined;
    }
    return thread.whatsapp_customer_id;
}

patch(MessageModel.prototype, {
    /** Written by the customer on WhatsApp (left), not by the team (right). */
    get isFromWhatsappCustomer() {
        const customerId = whatsappCustomer(this);
        return Boolean(customerId && this.author?.id === customerId);
    },
    get bubbleColor() {
        if (whatsappCustomer(this) && !this.is_note && !this.isHighlightedFromMention) {
            return this.isFromWhatsappCustomer ? "blue" : "green";
        }
        return super.bubbleColor;
    },
    /** System events of a chat (number changed, opted out…) as discreet lines. */
    get isNotification() {
        if (
            this.thread?.model === "whatsapp.conversation" &&
            this.message_type === "notification" &&
            !this.trackingValues?.length
        ) {
            return true;
        }
        return super.isNotification;
    },
    /** A reply quotes a customer's message on WhatsApp. */
    canReplyTo(thread) {
        if (thread?.model === "whatsapp.conversation") {
            return this.message_type === "comment" && !this.is_note;
        }
        return super.canReplyTo(...arguments);
    },
    /** What went out on WhatsApp cannot be taken back: only notes change. */
    get editable() {
        if (this.thread?.model === "whatsapp.conversation" && !this.is_note) {
            return false;
        }
        return super.editable;
    },
});

patch(Message.prototype, {
    get isAlignedRight() {
        if (this.env.whatsappInbox && whatsappCustomer(this.props.message)) {
            return !this.props.message.isFromWhatsappCustomer;
        }
        return super.isAlignedRight;
    },
    get attClass() {
        const classes = super.attClass;
        const message = this.props.message;
        if (message.thread?.model === "whatsapp.conversation") {
            // the team on the right, the customer on the left, as on a phone
            classes["o-whatsapp-team"] = Boolean(
                this.env.whatsappInbox && whatsappCustomer(message) && this.isAlignedRight
            );
            classes["o-whatsapp-note"] = message.is_note;
            classes["o-whatsapp-automatic"] = Boolean(
                this.store.odoobot && message.author?.eq?.(this.store.odoobot) && !message.is_note
            );
        }
        return classes;
    },
});
