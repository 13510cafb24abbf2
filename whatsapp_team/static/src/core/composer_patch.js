import { Composer } from "@mail/core/common/composer";
import { useEffect } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";
import { formatDateTime } from "@web/core/l10n/dates";

// Meta shows "typing…" for up to 25 seconds: tell it again after 20
const TYPING_EVERY_MS = 20000;

patch(Composer.prototype, {
    setup() {
        super.setup(...arguments);
        this.whatsappTypingSentAt = 0;
        useEffect(
            (text) => {
                if (text && this.isWhatsappReply && this.thread.whatsapp_typing) {
                    this.notifyWhatsappTyping();
                }
            },
            () => [this.props.composer.text]
        );
    },
    /** "Send message" on a WhatsApp chat, which goes to the customer. */
    get isWhatsappReply() {
        return this.thread?.model === "whatsapp.conversation" && this.props.type === "message";
    },
    notifyWhatsappTyping() {
        const now = Date.now();
        if (now - this.whatsappTypingSentAt < TYPING_EVERY_MS) {
            return;
        }
        this.whatsappTypingSentAt = now;
        this.env.services.orm.silent.call("whatsapp.conversation", "action_typing", [
            [this.thread.id],
        ]);
    },
    get placeholder() {
        if (this.isWhatsappReply && this.thread.whatsapp_window_open === false) {
            return _t(
                "The 24-hour reply window is closed: use “Send template”, or “Log note” for the team."
            );
        }
        if (this.isWhatsappReply && this.thread.whatsapp_window_open && this.env.whatsappInbox) {
            return _t("Reply on WhatsApp…");
        }
        if (this.isWhatsappReply && this.thread.whatsapp_window_until) {
            return _t("Reply on WhatsApp (window open until %(until)s)…", {
                until: formatDateTime(this.thread.whatsapp_window_until),
            });
        }
        return super.placeholder;
    },
});
