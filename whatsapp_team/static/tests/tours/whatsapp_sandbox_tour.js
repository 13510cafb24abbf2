/** @odoo-module **/

import { registry } from "@web/core/registry";

// An administrator plays a customer on the sandbox number, then reads the
// message in the chat that opens.
registry.category("web_tour.tours").add("whatsapp_team_sandbox_tour", {
    steps: () => [
        {
            content: "open the sandbox number",
            trigger: ".o_data_row td:contains('Tour Sandbox')",
            run: "click",
        },
        {
            content: "simulate an incoming message",
            trigger: "button[name=action_simulate_message]",
            run: "click",
        },
        {
            content: "the customer's name",
            trigger: ".modal .o_field_widget[name=customer_name] input",
            run: "edit Tour Customer",
        },
        {
            content: "the customer's number",
            trigger: ".modal .o_field_widget[name=customer_phone] input",
            run: "edit +34 612 00 11 22",
        },
        {
            content: "what they write",
            trigger: ".modal .o_field_widget[name=body] textarea",
            run: "edit Hola, *precio* del sofá?",
        },
        {
            content: "send it as the customer",
            trigger: ".modal button[name=action_send]",
            run: "click",
        },
        {
            content: "the chat opens on the new customer",
            trigger: ".o_form_view .o_field_widget[name=name]:contains('Tour Customer')",
        },
        {
            content: "the message is in the chatter, formatted, by the customer",
            trigger: ".o-mail-Message:has(.o-mail-Message-author:contains('Tour Customer')) .o-mail-Message-body:has(b:contains('precio'))",
        },
        {
            content: "the number is shown in international form",
            trigger: ".o_field_widget[name=phone]:contains('+34 612 00 11 22')",
        },
        {
            content: "answer the customer",
            trigger: "button.o-mail-Chatter-sendMessage",
            run: "click",
        },
        {
            content: "the composer says until when a free reply can go out",
            trigger: ".o-mail-Composer-input[placeholder*='window open until']",
        },
        {
            content: "write the answer",
            trigger: ".o-mail-Composer-input",
            run: "edit Sí, 120 EUR",
        },
        {
            content: "send it",
            trigger: ".o-mail-Composer-send:enabled",
            run: "click",
        },
        {
            content: "the answer is in the chat, queued for WhatsApp",
            trigger: ".o-mail-Message:has(.o-mail-Message-body:contains('Sí, 120 EUR')) .o-mail-Message-notification:contains('Queued')",
        },
    ],
});

// A message WhatsApp refused: the chatter says so, why, and what to do; the
// composer says the reply window is closed.
registry.category("web_tour.tours").add("whatsapp_team_failed_message_tour", {
    steps: () => [
        {
            content: "the refused message is marked failed",
            trigger: ".o-mail-Message:has(.o-mail-Message-body:contains('Your order is ready')) .o-mail-Message-notification:contains('Failed')",
            run: "click",
        },
        {
            content: "the reason and the next step, in plain words",
            trigger: ".o-mail-MessageNotificationPopover .o-whatsapp-failure-reason:contains('Check the number')",
        },
        {
            content: "the message that did go through is marked read",
            trigger: ".o-mail-Message:has(.o-mail-Message-body:contains('We open at 9')) .o-mail-Message-notification:contains('Read')",
        },
        {
            content: "answer the customer",
            trigger: "button.o-mail-Chatter-sendMessage",
            run: "click",
        },
        {
            content: "the composer says the window is closed",
            trigger: ".o-mail-Composer-input[placeholder*='reply window is closed']",
        },
    ],
});
