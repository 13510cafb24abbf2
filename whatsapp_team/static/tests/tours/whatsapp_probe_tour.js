/** @odoo-module **/

import { registry } from "@web/core/registry";

/**
 * A salesperson quotes the customer's question in her answer, as on
 * WhatsApp: the answer shows the question it replies to.
 */
registry.category("web_tour.tours").add("whatsapp_team_probe_quote_tour", {
    steps: () => [
        {
            content: "open Rita's chat",
            trigger: ".o-whatsapp-inbox-row:contains('Rita Probe')",
            run: "click",
        },
        {
            content: "reply to her question",
            trigger: ".o-whatsapp-inbox-thread .o-mail-Message:contains('Do you ship to Ghent?')",
            run: "hover && click .o-whatsapp-inbox-thread .o-mail-Message:contains('Do you ship to Ghent?') [title='Reply']",
        },
        {
            content: "the composer says what it answers",
            trigger: ".o-mail-Composer:contains('Replying to Rita Probe')",
        },
        {
            content: "write the answer",
            trigger: ".o-whatsapp-inbox-conversation .o-mail-Composer-input",
            run: "edit Yes, on Tuesdays.",
        },
        {
            content: "Enter sends it",
            trigger: ".o-whatsapp-inbox-conversation .o-mail-Composer-input",
            run: "press Enter",
        },
        {
            content: "the answer shows the question it replies to",
            trigger:
                ".o-whatsapp-inbox-thread .o-mail-Message:has(.o-mail-Message-body:contains('Yes, on Tuesdays.')) .o-mail-MessageInReply:contains('Do you ship to Ghent?')",
        },
    ],
});
