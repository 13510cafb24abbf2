/** @odoo-module **/

import { registry } from "@web/core/registry";

/**
 * A salesperson quotes the customer's question in her answer, as on
 * WhatsApp: the answer shows the question it replies to.
 */
registry.category("web_tour.tours").add("whatsapp_team_inbox_quote_tour", {
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

/**
 * The buttons of the right pane that open a dialog or another screen: pass
 * the chat on, snooze it, create its lead.
 */
registry.category("web_tour.tours").add("whatsapp_team_inbox_buttons_tour", {
    steps: () => [
        {
            content: "open Rita's chat",
            trigger: ".o-whatsapp-inbox-row:contains('Rita Probe')",
            run: "click",
        },
        {
            content: "pass it on",
            trigger: ".o-whatsapp-inbox-customer .o-whatsapp-inbox-transfer",
            run: "click",
        },
        {
            content: "the dialog to pass it on opens",
            trigger: ".modal:contains('Pass the chat on') .o_form_view",
        },
        {
            content: "close it",
            trigger: ".modal .btn-close",
            run: "click",
        },
        {
            content: "snooze the chat",
            trigger: "body:not(:has(.modal)) .o-whatsapp-inbox-customer .o-whatsapp-inbox-snooze",
            run: "click",
        },
        {
            content: "the dialog to snooze it opens",
            trigger: ".modal:contains('Snooze the chat') .o_form_view",
        },
        {
            content: "close it",
            trigger: ".modal .btn-close",
            run: "click",
        },
        {
            content: "create her lead",
            trigger: "body:not(:has(.modal)) .o-whatsapp-inbox-customer .o-whatsapp-inbox-lead-create",
            run: "click",
        },
        {
            content: "the lead opens",
            trigger: ".o_form_view .o_field_widget[name=probability]",
        },
    ],
});

/**
 * J, J: the first chat, then the second. The keys go through the chats, as
 * the README says, and none lands in a reply to the customer.
 */
registry.category("web_tour.tours").add("whatsapp_team_inbox_keyboard_tour", {
    steps: () => [
        {
            content: "her chats are listed, none open",
            trigger: ".o-whatsapp-inbox-row:eq(2):not(.o-selected)",
        },
        {
            content: "J opens the first chat",
            trigger: "body",
            run: () => {
                document.activeElement?.blur();
                document.activeElement.dispatchEvent(
                    new KeyboardEvent("keydown", { key: "j", bubbles: true })
                );
            },
        },
        {
            content: "the first chat is open",
            trigger: ".o-whatsapp-inbox-row:eq(0).o-selected",
        },
        {
            content: "wait for it to be loaded",
            trigger: ".o-whatsapp-inbox-conversation .o-mail-Composer-input",
        },
        {
            content: "J again: as a person would, on whatever has the keyboard now",
            trigger: ".o-whatsapp-inbox-title",
            run: () => {
                const target = document.activeElement || document.body;
                target.dispatchEvent(new KeyboardEvent("keydown", { key: "j", bubbles: true }));
            },
        },
        {
            content: "the second chat is open",
            trigger: ".o-whatsapp-inbox-row:eq(1).o-selected",
        },
    ],
});
