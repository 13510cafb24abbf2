"""Tests for the ``calls`` webhook field in whatsapp_team.tools.payload.

The bodies follow Meta's Calling API pages (user-initiated and
business-initiated calls, the calling webhook reference); values are made up.
"""

import pytest

from whatsapp_team.tools.payload import (
    CallEvent,
    PayloadError,
    parse_calls,
    parse_webhook,
    split_items,
)

NUMBER_ID = "436666719526789"
BUSINESS = "13175551399"


def body(calls=(), statuses=(), contacts=()):
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": NUMBER_ID, "display_phone_number": BUSINESS},
    }
    if contacts:
        value["contacts"] = list(contacts)
    if calls:
        value["calls"] = list(calls)
    if statuses:
        value["statuses"] = list(statuses)
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": "366634483210360", "changes": [{"field": "calls", "value": value}]}
        ],
    }


def events_of(payload):
    return [
        event
        for item in split_items(payload)
        for change in parse_webhook(item.payload).others
        for event in parse_calls(change.value)
    ]


def test_user_initiated_connect_without_direction_is_incoming():
    # Meta's user-initiated connect sample has no "direction"
    payload = body(
        [
            {
                "id": "wacid.ABGGFjFVU2AfAgo6V-Hc5eCgK5Gh",
                "from": "16315553601",
                "to": BUSINESS,
                "event": "connect",
                "timestamp": "1671644824",
                "session": {"sdp_type": "offer", "sdp": "<<RFC 8866 SDP>>"},
            }
        ],
        contacts=[{"profile": {"name": "Pablo"}, "wa_id": "16315553601"}],
    )
    (event,) = events_of(payload)
    assert event.kind == "call"
    assert event.event == "connect"
    assert event.incoming
    assert event.customer.wa_id == "16315553601"
    assert event.customer.profile_name == "Pablo"
    assert event.timestamp == 1671644824
    assert event.duration is None


def test_terminate_carries_status_times_and_duration():
    payload = body(
        [
            {
                "id": "wacid.X",
                "from": "16315553601",
                "to": BUSINESS,
                "event": "terminate",
                "direction": "USER_INITIATED",
                "timestamp": "1671644944",
                "status": "Completed",
                "start_time": "1671644824",
                "end_time": "1671644944",
                "duration": 120,
            }
        ]
    )
    (event,) = events_of(payload)
    assert (event.status, event.start_time, event.end_time, event.duration) == (
        "COMPLETED",
        1671644824,
        1671644944,
        120,
    )


def test_business_initiated_call_and_its_statuses_name_the_callee():
    payload = body(
        [
            {
                "id": "wacid.B",
                "from": BUSINESS,
                "to": "12185552828",
                "event": "connect",
                "timestamp": "1749196895",
                "direction": "BUSINESS_INITIATED",
            }
        ],
        statuses=[
            {
                "id": "wacid.B",
                "timestamp": "1749196899",
                "type": "call",
                "status": "RINGING",
                "recipient_id": "12185552828",
            }
        ],
    )
    items = split_items(payload)
    assert [item.sender_keys for item in items] == [
        (f"{NUMBER_ID}:wa:12185552828",)
    ] * 2
    call, status = events_of(payload)
    assert not call.incoming
    assert call.customer.wa_id == "12185552828"
    assert isinstance(status, CallEvent)
    assert (status.kind, status.event, status.customer.wa_id) == (
        "status",
        "RINGING",
        "12185552828",
    )


def test_each_call_event_is_an_item_and_one_without_id_fails_alone():
    payload = body(
        [
            {"from": "16315553601", "to": BUSINESS, "event": "connect"},
            {"id": "wacid.C", "from": "16315553601", "event": "connect"},
        ]
    )
    first, second = split_items(payload)
    with pytest.raises(PayloadError):
        parse_calls(parse_webhook(first.payload).others[0].value)
    (event,) = parse_calls(parse_webhook(second.payload).others[0].value)
    assert event.call_id == "wacid.C"


def test_a_call_naming_no_customer_is_refused():
    payload = body([{"id": "wacid.D", "to": BUSINESS, "event": "connect"}])
    (item,) = split_items(payload)
    with pytest.raises(PayloadError):
        parse_calls(parse_webhook(item.payload).others[0].value)
