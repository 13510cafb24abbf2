import { Component, useEffect, useRef, useState, useSubEnv } from "@odoo/owl";
import { Composer } from "@mail/core/common/composer";
import { Thread } from "@mail/core/common/thread";
import { useMessageEdition, useMessageToReplyTo } from "@mail/utils/common/hooks";
import { _t } from "@web/core/l10n/translation";
import { Dropdown } from "@web/core/dropdown/dropdown";
import { DropdownItem } from "@web/core/dropdown/dropdown_item";
import { user } from "@web/core/user";

import { InboxChoices, choicesToPost, newChoices } from "./inbox_choices";
import { windowLeft } from "./inbox_rows";

// tell colleagues "typing" again after this long
const TYPING_EVERY_MS = 5000;

/** The middle pane: the chat, oldest first, and the composer below it. */
export class InboxConversation extends Component {
    static template = "whatsapp_team.InboxConversation";
    static components = { Composer, Dropdown, DropdownItem, InboxChoices, Thread };
    static props = ["inbox"];

    setup() {
        // this component re-renders on the inbox's changes, not only its parent
        this.inboxState = useState(this.props.inbox.state);
        this.contentRef = useRef("content");
        this.messageEdition = useMessageEdition();
        this.messageToReplyTo = useMessageToReplyTo();
        this.state = useState({ composerType: "message", jumpPresent: 0, composerFocused: false });
        // reply buttons or a list under the reply (interactive_patch.js posts them)
        this.choices = useState(newChoices());
        useSubEnv({
            whatsappChoices: () =>
                this.state.composerType === "message" ? choicesToPost(this.choices) : undefined,
        });
        this.typingSaidAt = 0;
        useEffect(
            (text) => {
                if (text && Date.now() - this.typingSaidAt > TYPING_EVERY_MS) {
                    this.typingSaidAt = Date.now();
                    this.inbox.sayPresence("typing");
                }
            },
            () => [this.thread?.composer?.text]
        );
        useEffect(
            () => {
                // a new chat starts with a reply, not a note
                this.state.composerType = "message";
                this.messageToReplyTo.cancel();
                Object.assign(this.choices, newChoices());
            },
            () => [this.inboxState.selectedId]
        );
    }

    get inbox() {
        return this.props.inbox;
    }

    get detail() {
        return this.inboxState.detail;
    }

    get row() {
        return this.detail?.row;
    }

    get thread() {
        return this.inbox.selectedThread;
    }

    get windowOpen() {
        return Boolean(windowLeft(this.row?.window_expires_at, this.inboxState.now));
    }

    get windowText() {
        const left = windowLeft(this.row?.window_expires_at, this.inboxState.now);
        if (left) {
            return _t("Reply window: %(left)s left", { left });
        }
        return _t("Reply window closed");
    }

    get colleagues() {
        return this.inbox.presenceOf(this.inboxState.selectedId, this.inboxState);
    }

    get presenceText() {
        return this.colleagues
            .map((p) =>
                p.action === "typing"
                    ? _t("%(name)s is typing…", { name: p.name })
                    : _t("%(name)s is viewing", { name: p.name })
            )
            .join(" · ");
    }

    /** A warning for whoever is about to answer a chat that is not theirs. */
    get ownerWarning() {
        const owner = this.row?.user;
        if (this.state.composerType !== "message") {
            return "";
        }
        if (owner && owner.id !== user.userId) {
            return _t(
                "This is %(name)s's chat: your reply goes to the customer in your name. Tell %(name)s, or ask a manager to pass the chat on to you.",
                { name: owner.name }
            );
        }
        if (!owner && this.state.composerFocused) {
            return _t("Answering takes this unassigned chat: it becomes yours.");
        }
        return "";
    }

    setComposerType(type) {
        this.state.composerType = type;
        this.thread.composer.autofocus++;
    }

    sendTemplate(template) {
        this.inbox.action.doAction(
            {
                type: "ir.actions.act_window",
                name: _t("Send a WhatsApp template"),
                res_model: "whatsapp.template.send",
                views: [[false, "form"]],
                target: "new",
                context: {
                    default_conversation_id: this.inboxState.selectedId,
                    default_template_id: template.id,
                },
            },
            { onClose: () => this.inbox.refreshSelected() }
        );
    }

    toggleChoices() {
        const open = !this.choices.open;
        Object.assign(this.choices, newChoices(), { open });
    }

    onPosted() {
        Object.assign(this.choices, newChoices());
        this.state.jumpPresent++;
        this.messageToReplyTo.cancel();
        this.inbox.refreshSelected();
    }
}
