import {
    Component,
    onMounted,
    onWillStart,
    onWillUnmount,
    status,
    useExternalListener,
    useState,
    useSubEnv,
} from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { useDebounced } from "@web/core/utils/timing";
import { user } from "@web/core/user";

import { InboxConversation } from "./inbox_conversation";
import { InboxCustomer } from "./inbox_customer";
import { InboxList } from "./inbox_list";
import { rowMatches, sortRows } from "./inbox_rows";

// the server forgets a viewer after a minute: say again every half minute
const VIEWING_EVERY_MS = 30000;
// what another user is doing in a chat shows this long without news
const PRESENCE_MS = { viewing: 65000, typing: 10000 };
const PAGE = 50;
const RESYNC_EVERY_MS = 60000;

/**
 * WhatsApp > Inbox: the chats on the left, the open chat in the middle (mail's
 * own Thread and Composer), the customer and the deal on the right. Kept live
 * by the bus: "whatsapp_team.inbox/row" for a chat's row, and
 * "whatsapp_team.inbox/presence" for colleagues viewing or typing.
 */
export class WhatsappInbox extends Component {
    static template = "whatsapp_team.Inbox";
    static components = { InboxList, InboxConversation, InboxCustomer };
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.notification = useService("notification");
        this.busService = this.env.services.bus_service;
        this.store = useState(useService("mail.store"));
        this.userId = user.userId;
        this.state = useState({
            tab: "mine",
            search: "",
            labelIds: [],
            states: [],
            accountIds: [],
            rows: [],
            total: 0,
            counts: {},
            selectedId: false,
            // opened with the mouse, the reply has the keyboard; with the
            // keyboard (J, K, N, arrows), the list keeps it
            focusComposer: true,
            detail: null,
            loading: true,
            presence: {},
            isManager: false,
            labels: [],
            accounts: [],
            now: Date.now(),
        });
        useSubEnv({ whatsappInbox: this });
        this.refreshCounts = useDebounced(() => this.load({ keepRows: true }), 1500);
        this.searchDebounced = useDebounced(() => this.load(), 300);
        this.onRowNotification = (payload) => this.applyRow(payload.row);
        this.onPresenceNotification = (payload) => this.applyPresence(payload);
        onWillStart(async () => {
            const [isManager, labels, accounts] = await Promise.all([
                user.hasGroup("whatsapp_team.group_whatsapp_manager"),
                this.orm.searchRead("whatsapp.label", [], ["name", "color"]),
                this.orm.searchRead("whatsapp.account", [], ["name"]),
            ]);
            Object.assign(this.state, { isManager, labels, accounts });
            await this.load();
            const activeId =
                this.props.action?.context?.active_id || this.props.action?.params?.active_id;
            if (activeId) {
                await this.select(activeId);
            }
        });
        onMounted(() => {
            this.busService.subscribe("whatsapp_team.inbox/row", this.onRowNotification);
            this.busService.subscribe("whatsapp_team.inbox/presence", this.onPresenceNotification);
            this.busService.start();
            this.clock = setInterval(() => (this.state.now = Date.now()), 5000);
            this.viewing = setInterval(() => this.sayPresence("viewing"), VIEWING_EVERY_MS);
            // chats that left her sight (given to a colleague by a manager)
            // send her no row: the list is read again now and then
            this.resync = setInterval(() => this.load({ keepRows: true }), RESYNC_EVERY_MS);
        });
        onWillUnmount(() => {
            this.busService.unsubscribe("whatsapp_team.inbox/row", this.onRowNotification);
            this.busService.unsubscribe(
                "whatsapp_team.inbox/presence",
                this.onPresenceNotification
            );
            clearInterval(this.clock);
            clearInterval(this.viewing);
            clearInterval(this.resync);
            this.sayPresence("left");
        });
        useExternalListener(window, "keydown", (ev) => this.onKeydown(ev));
    }

    // ------------------------------------------------------------------
    // The list
    // ------------------------------------------------------------------

    get fetchParams() {
        return {
            tab: this.state.tab,
            label_ids: this.state.labelIds,
            states: this.state.states,
            account_ids: this.state.accountIds,
            search: this.state.search,
        };
    }

    async load({ keepRows = false, more = false } = {}) {
        const offset = more ? this.state.rows.length : 0;
        const limit = keepRows ? Math.max(this.state.rows.length, PAGE) : PAGE;
        const result = await this.orm.silent.call("whatsapp.conversation", "inbox_fetch", [], {
            ...this.fetchParams,
            offset,
            limit,
        });
        this.state.rows = more ? [...this.state.rows, ...result.rows] : result.rows;
        this.state.total = result.total;
        this.state.counts = result.counts;
        this.state.loading = false;
    }

    setTab(tab) {
        if (tab === this.state.tab) {
            return;
        }
        this.state.tab = tab;
        this.load();
    }

    setFilter(name, values) {
        this.state[name] = values;
        this.load();
    }

    setSearch(text) {
        this.state.search = text;
        this.searchDebounced();
    }

    /** A row changed on the server: move it, add it or drop it here. */
    applyRow(row) {
        const rows = this.state.rows.filter((r) => r.id !== row.id);
        const known = rows.length !== this.state.rows.length;
        if (rowMatches(row, this.fetchParams, this.userId) && (known || !this.state.search)) {
            rows.push(row);
        }
        this.state.rows = sortRows(rows);
        if (this.state.detail && row.id === this.state.selectedId) {
            this.state.detail.row = row;
            this.onSelectedChanged(row);
        }
        this.refreshCounts();
    }

    /** News of the open chat: its new messages, and read at once. */
    async onSelectedChanged(row) {
        const thread = this.selectedThread;
        if (thread) {
            await thread.fetchNewMessages();
        }
        if (row.unread && document.visibilityState === "visible") {
            // she is looking at it: read, for her and on the customer's phone
            await this.orm.silent.call("whatsapp.conversation", "inbox_mark_read", [[row.id]]);
        }
    }

    // ------------------------------------------------------------------
    // The open chat
    // ------------------------------------------------------------------

    get selectedThread() {
        if (!this.state.selectedId) {
            return null;
        }
        return this.store.Thread.insert({
            model: "whatsapp.conversation",
            id: this.state.selectedId,
        });
    }

    async select(conversationId, { focusComposer = true } = {}) {
        if (this.state.selectedId && this.state.selectedId !== conversationId) {
            this.sayPresence("left");
        }
        this.state.focusComposer = focusComposer;
        this.state.selectedId = conversationId;
        this.state.detail = null;
        await this.reopen();
    }

    /** Open (again) the selected chat: marks it read, says we are here. */
    async reopen() {
        const conversationId = this.state.selectedId;
        if (!conversationId) {
            return;
        }
        let detail;
        try {
            detail = await this.orm.silent.call("whatsapp.conversation", "inbox_open", [
                [conversationId],
            ]);
        } catch {
            // gone (merged into another chat of the same customer) or out of
            // sight now (passed on): it leaves the list
            this.state.selectedId = false;
            this.state.detail = null;
            this.state.rows = this.state.rows.filter((r) => r.id !== conversationId);
            this.notification.add(_t("This chat is no longer in your inbox."), {
                type: "warning",
            });
            this.refreshCounts();
            return;
        }
        if (conversationId !== this.state.selectedId) {
            return; // another chat was picked meanwhile
        }
        this.state.detail = detail;
        const thread = this.selectedThread;
        thread.whatsapp_customer_id = detail.customer.partner_id;
        thread.whatsapp_window_open = detail.window.open;
        const index = this.state.rows.findIndex((r) => r.id === conversationId);
        if (index >= 0) {
            this.state.rows[index] = detail.row;
        }
        for (const viewer of detail.viewers || []) {
            this.notePresence(conversationId, viewer, "viewing");
        }
    }

    /** After a button or a wizard changed the chat. */
    async refreshSelected() {
        await this.reopen();
        this.refreshCounts();
    }

    async callAndRefresh(method, args = []) {
        const result = await this.orm.call("whatsapp.conversation", method, [
            [this.state.selectedId],
            ...args,
        ]);
        if (result && typeof result === "object" && result.type) {
            if (result.type === "ir.actions.act_window" && !result.views) {
                // a method's action has no views: Odoo's buttons get them
                // from /web/dataset/call_button, the web client needs them
                result.views = (result.view_mode || "form")
                    .split(",")
                    .map((mode) => [false, mode === "tree" ? "list" : mode]);
            }
            await this.action.doAction(result, { onClose: () => this.refreshSelected() });
            if (status(this) === "destroyed") {
                return result; // it opened another screen (the lead)
            }
        }
        await this.refreshSelected();
        return result;
    }

    // ------------------------------------------------------------------
    // Colleagues on the same chat
    // ------------------------------------------------------------------

    sayPresence(action) {
        const conversationId = this.state.selectedId;
        if (!conversationId) {
            return;
        }
        this.orm.silent
            .call("whatsapp.conversation", "inbox_presence", [[conversationId], action])
            .catch(() => {});
    }

    applyPresence({ conversation_id, user: who, action }) {
        if (!who || who.id === this.userId) {
            return;
        }
        this.notePresence(conversation_id, who, action);
    }

    notePresence(conversationId, who, action) {
        const others = { ...(this.state.presence[conversationId] || {}) };
        if (action === "left") {
            delete others[who.id];
        } else {
            others[who.id] = {
                name: who.name,
                action,
                until: Date.now() + (PRESENCE_MS[action] || PRESENCE_MS.viewing),
            };
        }
        this.state.presence = { ...this.state.presence, [conversationId]: others };
    }

    /** [{name, action}] of the colleagues on chat ``conversationId`` now,
     * read through ``state`` (the caller's own subscription to it). */
    presenceOf(conversationId, state = this.state) {
        const others = state.presence[conversationId] || {};
        return Object.values(others).filter((p) => p.until > state.now);
    }

    // ------------------------------------------------------------------
    // Keyboard: ↑ ↓ through the list, N the next unread chat, / search,
    // R the composer, Esc back to the list
    // ------------------------------------------------------------------

    onKeydown(ev) {
        if (ev.ctrlKey || ev.metaKey || ev.altKey) {
            return;
        }
        const field = ev.target.closest?.("input, textarea, select, [contenteditable='true']");
        if (field) {
            if (ev.key === "Escape") {
                field.blur();
            }
            return;
        }
        if (document.querySelector(".modal")) {
            return; // a dialog has the keyboard
        }
        const rows = this.state.rows;
        const index = rows.findIndex((r) => r.id === this.state.selectedId);
        let next;
        switch (ev.key) {
            case "ArrowDown":
            case "j":
                next = rows[Math.min(index + 1, rows.length - 1)];
                break;
            case "ArrowUp":
            case "k":
                next = rows[Math.max(index - 1, 0)];
                break;
            case "n":
                next =
                    rows.slice(index + 1).find((r) => r.unread) ||
                    rows.slice(0, Math.max(index, 0)).find((r) => r.unread);
                if (!next) {
                    this.notification.add(_t("No unread chat here."), { type: "info" });
                }
                break;
            case "/":
                document.querySelector(".o-whatsapp-inbox-search")?.focus();
                ev.preventDefault();
                return;
            case "r":
                document.querySelector(".o-whatsapp-inbox-conversation .o-mail-Composer-input")?.focus();
                ev.preventDefault();
                return;
            default:
                return;
        }
        if (next && next.id !== this.state.selectedId) {
            ev.preventDefault();
            this.select(next.id, { focusComposer: false });
            document
                .querySelector(`.o-whatsapp-inbox-row[data-id="${next.id}"]`)
                ?.scrollIntoView({ block: "nearest" });
        }
    }
}

registry.category("actions").add("whatsapp_team.inbox", WhatsappInbox);
