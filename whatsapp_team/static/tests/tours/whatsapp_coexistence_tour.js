/** @odoo-module **/

import { registry } from "@web/core/registry";

function bodies() {
    return [...document.querySelectorAll(".o-mail-Message-body")].map(
        (element) => element.textContent
    );
}

/**
 * A chat whose WhatsApp Business app history came in after the customer's
 * message of today: the chatter (newest first) reads in the order the
 * messages were written, not in the order they were stored.
 */
registry.category("web_tour.tours").add("whatsapp_team_coexistence_tour", {
    steps: () => [
        {
            content: "today's message and the history are in the chat",
            trigger: ".o-mail-Chatter .o-mail-Message:contains('Months ago')",
        },
        {
            content: "newest first, as written: today, the shop's answer, then months ago",
            trigger: ".o-mail-Chatter .o-mail-Message:contains('Every Tuesday')",
            run: () => {
                const order = ["Today, live", "Every Tuesday", "Months ago"].map((text) =>
                    bodies().findIndex((body) => body.includes(text))
                );
                if (order.some((index) => index < 0) || !(order[0] < order[1] && order[1] < order[2])) {
                    throw new Error(`the chat is out of order: ${bodies().join(" | ")}`);
                }
            },
        },
    ],
});
