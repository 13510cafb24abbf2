import { Notification } from "@mail/core/common/notification_model";
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";

// What became of a message sent on WhatsApp, as the customer's app shows it.
const WHATSAPP_STATES = {
    queued: { icon: "fa fa-clock-o", title: () => _t("Queued") },
    sending: { icon: "fa fa-hourglass-half", title: () => _t("Sending") },
    sent: { icon: "fa fa-check", title: () => _t("Sent") },
    delivered: { icon: "fa fa-check-circle-o", title: () => _t("Delivered") },
    read: { icon: "fa fa-check-circle text-primary", title: () => _t("Read") },
    failed: { icon: "fa fa-exclamation-triangle", title: () => _t("Failed") },
};
const WAITING = { icon: "fa fa-hourglass-o", title: () => _t("Waiting") };

patch(Notification.prototype, {
    setup() {
        super.setup(...arguments);
        /** @type {string|undefined} state of the WhatsApp message */
        this.whatsapp_state = undefined;
        /** @type {string|false|undefined} why it failed (or waits), in plain words */
        this.failure_reason = undefined;
    },
    get isWhatsapp() {
        return this.notification_type === "whatsapp";
    },
    get whatsappState() {
        if (this.whatsapp_state === "queued" && this.failure_reason) {
            // Meta's throughput limits hold it back: it goes out by itself
            return WAITING;
        }
        return WHATSAPP_STATES[this.whatsapp_state];
    },
    get icon() {
        if (this.isWhatsapp) {
            return "fa fa-whatsapp";
        }
        return super.icon;
    },
    get label() {
        if (this.isWhatsapp) {
            return this.whatsappState?.title() || _t("WhatsApp");
        }
        return super.label;
    },
    get statusIcon() {
        if (this.isWhatsapp && this.whatsappState) {
            return this.whatsappState.icon;
        }
        return super.statusIcon;
    },
    get statusTitle() {
        if (this.isWhatsapp && this.whatsappState) {
            return this.whatsappState.title();
        }
        return super.statusTitle;
    },
});
