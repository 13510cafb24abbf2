import { OutOfFocusService } from "@mail/core/common/out_of_focus_service";
import { patch } from "@web/core/utils/patch";

patch(OutOfFocusService.prototype, {
    async notify(message) {
        await super.notify(...arguments);
        // Discuss rings for a chat message only: a customer waiting on
        // WhatsApp is one too
        if (message.thread?.model === "whatsapp.conversation") {
            this._playSound();
        }
    },
});
