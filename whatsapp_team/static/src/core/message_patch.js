import { Message } from "@mail/core/common/message";
import { toRaw } from "@odoo/owl";
import { patch } from "@web/core/utils/patch";

patch(Message.prototype, {
    onClickFailure(ev) {
        const message = toRaw(this.message);
        if (message.notifications.some((notification) => notification.isWhatsapp)) {
            // nothing to resend from here: the popover says why and what to do
            this.popover.open(ev.target, { message });
            return;
        }
        return super.onClickFailure(...arguments);
    },
});
