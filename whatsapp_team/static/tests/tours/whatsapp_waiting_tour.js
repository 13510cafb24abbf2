/** @odoo-module **/

import { registry } from "@web/core/registry";

// A message Meta's throughput limits hold back: the chatter shows it waiting,
// with why and that it goes out by itself, not as a failure.
registry.category("web_tour.tours").add("whatsapp_team_waiting_message_tour", {
    steps: () => [
        {
            content: "the held-back message is marked waiting",
            trigger: ".o-mail-Message:has(.o-mail-Message-body:contains('See you at 9')) .o-mail-Message-notification:contains('Waiting')",
            run: "click",
        },
        {
            content: "why, in plain words, and that it goes out by itself",
            trigger: ".o-mail-MessageNotificationPopover .o-whatsapp-failure-reason.text-muted:contains('WhatsApp is limiting how fast this number may send; it goes out automatically')",
        },
    ],
});
