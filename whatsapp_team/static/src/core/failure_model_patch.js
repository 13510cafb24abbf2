import { Failure } from "@mail/core/common/failure_model";
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";

patch(Failure.prototype, {
    get body() {
        if (this.type === "whatsapp") {
            if (this.notifications.length === 1 && this.lastMessage?.thread) {
                return _t("A WhatsApp message to “%(record_name)s” was not delivered", {
                    record_name: this.lastMessage.thread.name,
                });
            }
            return _t("WhatsApp messages were not delivered");
        }
        return super.body;
    },
});
