import { _t } from "@web/core/l10n/translation";
import { deserializeDateTime, formatDate } from "@web/core/l10n/dates";

const { DateTime } = luxon;

// the statuses a tab shows when none is picked: chats still in progress
export const ACTIVE_STATES = ["open", "pending", "snoozed"];

/** Does ``row`` belong in the list fetched with ``params`` by user ``userId``? */
export function rowMatches(row, params, userId) {
    if (params.tab === "mine" && row.user?.id !== userId) {
        return false;
    }
    if (params.tab === "unassigned" && row.user) {
        return false;
    }
    const states = params.states?.length ? params.states : ACTIVE_STATES;
    if (!states.includes(row.state)) {
        return false;
    }
    if (params.account_ids?.length && !params.account_ids.includes(row.account.id)) {
        return false;
    }
    if (params.label_ids?.length) {
        const labels = new Set(row.labels.map((label) => label.id));
        if (!params.label_ids.some((id) => labels.has(id))) {
            return false;
        }
    }
    return true;
}

/** Newest activity first, as the server orders them. */
export function sortRows(rows) {
    return [...rows].sort((a, b) => {
        const left = a.last_message_at || "";
        const right = b.last_message_at || "";
        if (left !== right) {
            return left < right ? 1 : -1;
        }
        return b.id - a.id;
    });
}

/** "14:05" today, "Yesterday", the weekday this week, else the date. */
export function timeLabel(serverDatetime) {
    if (!serverDatetime) {
        return "";
    }
    const when = deserializeDateTime(serverDatetime);
    const today = DateTime.now().startOf("day");
    if (when >= today) {
        return when.toLocaleString(DateTime.TIME_SIMPLE);
    }
    if (when >= today.minus({ days: 1 })) {
        return _t("Yesterday");
    }
    if (when >= today.minus({ days: 6 })) {
        return when.toFormat("cccc");
    }
    return formatDate(when);
}

/** "3h 20m" left of the 24-hour window, or "" when it is closed. */
export function windowLeft(serverDatetime, now = Date.now()) {
    if (!serverDatetime) {
        return "";
    }
    const minutes = Math.floor((deserializeDateTime(serverDatetime).toMillis() - now) / 60000);
    if (minutes <= 0) {
        return "";
    }
    if (minutes < 60) {
        return _t("%(minutes)sm", { minutes });
    }
    return _t("%(hours)sh %(minutes)sm", {
        hours: Math.floor(minutes / 60),
        minutes: minutes % 60,
    });
}

/** The tick a sent message shows, as on WhatsApp. */
export function stateIcon(state) {
    return (
        {
            queued: "fa fa-clock-o text-muted",
            sending: "fa fa-clock-o text-muted",
            sent: "fa fa-check text-muted",
            delivered: "fa fa-check o-whatsapp-double text-muted",
            read: "fa fa-check o-whatsapp-double text-info",
            failed: "fa fa-exclamation-circle text-danger",
        }[state] || ""
    );
}

export function stateTitle(state) {
    return (
        {
            queued: _t("Queued"),
            sending: _t("Sending"),
            sent: _t("Sent"),
            delivered: _t("Delivered"),
            read: _t("Read"),
            failed: _t("Failed"),
        }[state] || ""
    );
}
