import { Component, useState } from "@odoo/owl";

// Meta's limits (tools/outbound.py says where they come from): the screen
// stops there, the server refuses beyond
export const MAX_BUTTONS = 3;
export const MAX_BUTTON_TITLE = 20;
export const MAX_ROWS = 10;
export const MAX_ROW_TITLE = 24;
export const MAX_ROW_DESCRIPTION = 72;
export const MAX_LIST_BUTTON = 20;

/** The choices of a new reply, empty. */
export function newChoices() {
    return {
        open: false,
        kind: "button",
        buttons: [{ title: "" }],
        listButton: "",
        rows: [{ title: "", description: "" }],
    };
}

/**
 * What the customer will tap under the reply being written: up to 3 reply
 * buttons, or a list (the text of its button and its rows). The text itself
 * is the composer's.
 */
export class InboxChoices extends Component {
    static template = "whatsapp_team.InboxChoices";
    static props = ["choices"];

    setup() {
        // read here, written by this component and the conversation
        this.choices = useState(this.props.choices);
        Object.assign(this, {
            MAX_BUTTONS,
            MAX_BUTTON_TITLE,
            MAX_ROWS,
            MAX_ROW_TITLE,
            MAX_ROW_DESCRIPTION,
            MAX_LIST_BUTTON,
        });
    }

    setKind(kind) {
        this.choices.kind = kind;
    }

    addButton() {
        if (this.choices.buttons.length < MAX_BUTTONS) {
            this.choices.buttons.push({ title: "" });
        }
    }

    addRow() {
        if (this.choices.rows.length < MAX_ROWS) {
            this.choices.rows.push({ title: "", description: "" });
        }
    }

    remove(list, index) {
        list.splice(index, 1);
    }

    close() {
        Object.assign(this.choices, newChoices());
    }
}

/**
 * ``choices`` as the post sends them (``whatsapp_interactive``), or undefined
 * when there are none: empty boxes are no buttons.
 */
export function choicesToPost(choices) {
    if (!choices.open) {
        return undefined;
    }
    if (choices.kind === "button") {
        const buttons = choices.buttons.map((b) => b.title.trim()).filter(Boolean);
        return buttons.length ? { buttons } : undefined;
    }
    const rows = choices.rows
        .filter((r) => r.title.trim())
        .map((r) => ({ title: r.title.trim(), description: r.description.trim() }));
    return rows.length ? { button: choices.listButton.trim(), rows } : undefined;
}
