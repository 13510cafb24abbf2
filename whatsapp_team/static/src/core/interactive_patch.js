import { Composer } from "@mail/core/common/composer";
import { Store } from "@mail/core/common/store_service";
import { patch } from "@web/core/utils/patch";

// A reply may carry reply buttons or a list: the screen that offers them
// (the inbox's "Buttons") gives them through env.whatsappChoices(), and
// they go with the post as "whatsapp_interactive" (see the chat's
// _get_allowed_message_post_params).
patch(Composer.prototype, {
    async processMessage(cb) {
        try {
            return await super.processMessage(...arguments);
        } catch (error) {
            if (this.isWhatsappReply) {
                // refused before anything was sent (the buttons, the window…):
                // the text stays to be corrected and sent again
                this.state.active = true;
            }
            throw error;
        }
    },
    get postData() {
        const postData = super.postData;
        if (this.isWhatsappReply && this.env.whatsappChoices) {
            postData.whatsappInteractive = this.env.whatsappChoices();
        }
        return postData;
    },
});

patch(Store.prototype, {
    async getMessagePostParams({ postData, thread }) {
        const params = await super.getMessagePostParams(...arguments);
        if (
            thread.model === "whatsapp.conversation" &&
            !postData.isNote &&
            postData.whatsappInteractive
        ) {
            params.post_data.whatsapp_interactive = postData.whatsappInteractive;
        }
        return params;
    },
});
