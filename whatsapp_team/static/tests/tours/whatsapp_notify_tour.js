/** @odoo-module **/

import { registry } from "@web/core/registry";

// A customer's message is in the salesperson's messaging menu: opening it
// opens the chat in the inbox, where it can be answered, not a chat window.
registry.category("web_tour.tours").add("whatsapp_team_open_from_messaging_menu_tour", {
    steps: () => [
        {
            content: "open the messaging menu",
            trigger: ".o_menu_systray i[aria-label='Messages']",
            run: "click",
        },
        {
            content: "the customer's words are announced",
            trigger: ".o-mail-NotificationItem:contains('Nina Notify'):contains('Is my sofa ready?')",
            run: "click",
        },
        {
            content: "the chat opens in the inbox",
            trigger: ".o-whatsapp-inbox-title:contains('Nina Notify')",
        },
        {
            content: "with its composer to answer",
            trigger: ".o-whatsapp-inbox-conversation .o-mail-Composer-input",
        },
        {
            content: "not in a chat window",
            trigger: "body:not(:has(.o-mail-ChatWindow))",
        },
    ],
});
