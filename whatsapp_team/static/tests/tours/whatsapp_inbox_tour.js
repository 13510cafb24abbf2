/** @odoo-module **/

import { registry } from "@web/core/registry";

/**
 * A salesperson's morning in the inbox: a customer writes while she looks at
 * her chats, the chat comes to the top with its unread count; she answers
 * with Enter, picks a quick reply with the keyboard, asks a question with
 * two buttons (WhatsApp would refuse two that say the same: she is told,
 * corrects one and sends again), and sends a template where the 24-hour window is closed;
 * then she opens an unassigned chat.
 *
 * The test puts the customer's webhook (body and signature) in
 * ``window.whatsappTourWebhook``: the tour posts it as Meta would.
 */
registry.category("web_tour.tours").add("whatsapp_team_inbox_tour", {
    steps: () => [
        {
            content: "the inbox opens on her chats",
            trigger: ".o-whatsapp-inbox-tab.active[data-tab=mine]",
        },
        {
            content: "Olga's chat is at the top",
            trigger: ".o-whatsapp-inbox-row:first:contains('Olga Inbox')",
        },
        {
            content: "Pedro writes again while she looks",
            trigger: ".o-whatsapp-inbox-row:contains('Pedro Inbox')",
            run: async () => {
                const { body, signature } = window.whatsappTourWebhook;
                const response = await fetch("/whatsapp/webhook", {
                    method: "POST",
                    body,
                    headers: {
                        "Content-Type": "application/json",
                        "X-Hub-Signature-256": signature,
                    },
                });
                if (response.status !== 200) {
                    throw new Error(`the webhook answered ${response.status}`);
                }
            },
        },
        {
            content: "without a reload, Pedro's chat comes to the top, unread, with his words",
            trigger:
                ".o-whatsapp-inbox-row:first:contains('Pedro Inbox'):contains('Is it still available?') .o-whatsapp-inbox-unread:contains('1')",
        },
        {
            content: "N opens the next unread chat",
            trigger: ".o-whatsapp-inbox-row:first:contains('Pedro Inbox').o-unread",
            run: () => {
                document.body.dispatchEvent(
                    new KeyboardEvent("keydown", { key: "n", bubbles: true })
                );
            },
        },
        {
            content: "Pedro's chat is open",
            trigger: ".o-whatsapp-inbox-title:contains('Pedro Inbox')",
        },
        {
            content: "his message is in the chat, on the customer's side",
            trigger: ".o-whatsapp-inbox-thread .o-mail-Message:not(.o-selfAuthored) .o-mail-Message-body:contains('Is it still available?')",
        },
        {
            content: "opened: read",
            trigger: ".o-whatsapp-inbox-row.o-selected:not(.o-unread):contains('Pedro Inbox')",
        },
        {
            content: "R goes to the composer",
            trigger: ".o-whatsapp-inbox-conversation .o-mail-Composer-input",
            run: () => {
                document.activeElement?.blur();
                document.body.dispatchEvent(
                    new KeyboardEvent("keydown", { key: "r", bubbles: true })
                );
            },
        },
        {
            content: "the composer has the keyboard",
            trigger: ".o-whatsapp-inbox-conversation .o-mail-Composer-input:focus",
        },
        {
            content: "write the answer",
            trigger: ".o-whatsapp-inbox-conversation .o-mail-Composer-input",
            run: "edit Yes, it is!",
        },
        {
            content: "Enter sends it",
            trigger: ".o-whatsapp-inbox-conversation .o-mail-Composer-input",
            run: "press Enter",
        },
        {
            content: "her answer is in the chat, on the team's side",
            trigger: ".o-whatsapp-inbox-thread .o-mail-Message-body:contains('Yes, it is!')",
        },
        {
            content: "and the row shows it as the last message",
            trigger: ".o-whatsapp-inbox-row:first:contains('Pedro Inbox'):contains('Yes, it is!')",
        },
        {
            content: "ask for a quick reply",
            trigger: ".o-whatsapp-inbox-conversation .o-mail-Composer-input",
            run: "edit :than",
        },
        {
            content: "the quick reply is offered",
            trigger: ".o-mail-Composer-suggestion:contains('thanks')",
        },
        {
            content: "Enter picks it, it does not send the shortcut",
            trigger: ".o-whatsapp-inbox-conversation .o-mail-Composer-input",
            run: "press Enter",
        },
        {
            content: "the quick reply is in the composer",
            trigger: ".o-whatsapp-inbox-conversation .o-mail-Composer-input:value(Thank you {first_name})",
        },
        {
            content: "Enter sends it",
            trigger: ".o-whatsapp-inbox-conversation .o-mail-Composer-input",
            run: "press Enter",
        },
        {
            content: "the customer gets his own name",
            trigger: ".o-whatsapp-inbox-thread .o-mail-Message-body:contains('Thank you Pedro')",
        },
        {
            content: "ask him a question he answers with a tap",
            trigger: ".o-whatsapp-inbox-conversation .o-mail-Composer-input",
            run: "edit Which colour do you prefer?",
        },
        {
            content: "add buttons under it",
            trigger: ".o-whatsapp-inbox-choices-toggle",
            run: "click",
        },
        {
            content: "the first button",
            trigger: ".o-whatsapp-inbox-choices .o-whatsapp-choices-button",
            run: "edit Blue",
        },
        {
            content: "add a second button",
            trigger: ".o-whatsapp-choices-add-button",
            run: "click",
        },
        {
            content: "the second button says the same",
            trigger: ".o-whatsapp-choices-button:eq(1)",
            run: "edit blue",
        },
        {
            content: "back to the text",
            trigger: ".o-whatsapp-inbox-conversation .o-mail-Composer-input",
            run: "click",
        },
        {
            content: "Enter: WhatsApp would refuse it",
            trigger: ".o-whatsapp-inbox-conversation .o-mail-Composer-input",
            run: "press Enter",
        },
        {
            content: "she is told why, and nothing was sent",
            trigger: ".modal:contains('two buttons say “blue”') .modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "her text is still there: she changes the second button",
            trigger:
                ".o-whatsapp-inbox-conversation .o-mail-Composer-input:value(Which colour do you prefer?)",
            run: () => {},
        },
        {
            content: "the second button",
            trigger: ".o-whatsapp-choices-button:eq(1)",
            run: "edit Light green",
        },
        {
            content: "back to the text",
            trigger: ".o-whatsapp-inbox-conversation .o-mail-Composer-input",
            run: "click",
        },
        {
            content: "Enter sends the question with its buttons",
            trigger: ".o-whatsapp-inbox-conversation .o-mail-Composer-input",
            run: "press Enter",
        },
        {
            content: "the chat shows it as the customer sees it: the question and its buttons",
            trigger: ".o-whatsapp-inbox-thread .o-mail-Message-body:contains('Which colour do you prefer?') .o-whatsapp-choice:contains('Light green')",
        },
        {
            content: "once sent, the next reply has no buttons",
            trigger: ".o-whatsapp-inbox-conversation:not(:has(.o-whatsapp-inbox-choices)) .o-whatsapp-inbox-choices-toggle.btn-light",
        },
        {
            content: "open Olga's chat, whose window is closed",
            trigger: ".o-whatsapp-inbox-row:contains('Olga Inbox')",
            run: "click",
        },
        {
            content: "the composer offers the approved templates",
            trigger: ".o-whatsapp-inbox-templates .o-whatsapp-inbox-template:contains('inbox_follow_up')",
            run: "click",
        },
        {
            content: "send the template",
            trigger: ".modal button[name=action_send]",
            run: "click",
        },
        {
            content: "the template is in the chat",
            trigger: ".o-whatsapp-inbox-thread .o-mail-Message-body:contains('Hello Olga Inbox, any news?')",
        },
        {
            content: "look at the unassigned chats",
            trigger: ".o-whatsapp-inbox-tab[data-tab=unassigned]",
            run: "click",
        },
        {
            content: "open Quinn's chat, nobody's yet",
            trigger: ".o-whatsapp-inbox-row:contains('Quinn Inbox')",
            run: "click",
        },
        {
            content: "it is open",
            trigger: ".o-whatsapp-inbox-title:contains('Quinn Inbox')",
        },
    ],
});

/** A colleague opens the chat she has open: he sees her on it, and is warned. */
registry.category("web_tour.tours").add("whatsapp_team_inbox_second_tour", {
    steps: () => [
        {
            content: "the unassigned chats",
            trigger: ".o-whatsapp-inbox-tab[data-tab=unassigned]",
            run: "click",
        },
        {
            content: "open Quinn's chat",
            trigger: ".o-whatsapp-inbox-row:contains('Quinn Inbox')",
            run: "click",
        },
        {
            content: "he sees that Mia has it open",
            trigger: ".o-whatsapp-inbox-presence:contains('Mia Inbox is viewing')",
        },
        {
            content: "he starts to answer",
            trigger: ".o-whatsapp-inbox-conversation .o-mail-Composer-input",
            run: "click",
        },
        {
            content: "he is told that answering takes the chat",
            trigger: ".o-whatsapp-inbox-owner-warning:contains('Answering takes this unassigned chat')",
        },
    ],
});
