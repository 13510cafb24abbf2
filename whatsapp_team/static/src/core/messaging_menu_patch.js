import { MessagingMenu } from "@mail/core/public_web/messaging_menu";
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";

import { openWhatsappChat } from "./open_chat";

patch(MessagingMenu.prototype, {
    openThread(thread) {
        if (thread.model !== "whatsapp.conversation") {
            return super.openThread(...arguments);
        }
        openWhatsappChat(this.store, thread.id);
        this.dropdown.close();
    },
    openFailureView(failure) {
        if (failure.type !== "whatsapp") {
            return super.openFailureView(...arguments);
        }
        this.env.services.action.doAction({
            name: _t("Undelivered WhatsApp messages"),
            type: "ir.actions.act_window",
            res_model: "whatsapp.message",
            views: [
                [false, "list"],
                [false, "form"],
            ],
            target: "current",
            domain: [
                ["state", "=", "failed"],
                ["author_user_id", "=", this.store.self.userId],
            ],
            context: { create: false },
        });
        this.dropdown.close();
    },
    getFailureNotificationName(failure) {
        if (failure.type === "whatsapp") {
            return _t("WhatsApp: %(modelName)s", { modelName: failure.modelName });
        }
        return super.getFailureNotificationName(...arguments);
    },
});
