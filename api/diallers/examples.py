"""OpenAPI examples of the dialler and agent endpoints (the README walk-through uses the same)."""

LEASE_ID = "7d3f6a52-7a0e-4d55-9a8c-2f4b1c9e0a11"

LEASE_REQUEST = {"floor": "dakar-1", "size": 2, "ttl_seconds": 300}

LEASE_RESPONSE = {
    "lease": LEASE_ID,
    "expires_at": "2026-11-23T10:05:00Z",
    "floor": "dakar-1",
    "count": 2,
    "items": [
        {
            "lead": 101,
            "campaign": {"id": 3, "name": "Model E test drives", "kind": "test_drive"},
            "e164": "+33612000001",
            "time_zone": "Europe/Paris",
            "time_zone_candidates": ["Europe/Paris"],
            "window_ends_at": "2026-11-23T12:00:00Z",
            "first_name": "Camille",
            "last_name": "Martin",
            "language": "fr",
            "priority": 5,
            "notice": {
                "id": 1,
                "country": "FR",
                "language": "fr",
                "version": 2,
                "mode": "inform_object",
                "text": "Cet appel est enregistré à des fins de qualité. Vous pouvez vous y opposer.",
                "audio": "",
            },
            "history": {"attempts": 1, "last_outcome": "no-answer"},
            "callback": {"at": "2026-11-23T09:30:00Z", "agent_code": "AG-00042"},
        },
        {
            "lead": 102,
            "campaign": {"id": 3, "name": "Model E test drives", "kind": "test_drive"},
            "e164": "+33612000002",
            "time_zone": "Europe/Paris",
            "time_zone_candidates": ["Europe/Paris"],
            "window_ends_at": "2026-11-23T12:00:00Z",
            "first_name": "Louis",
            "last_name": "Bernard",
            "language": "fr",
            "priority": 5,
            "notice": None,
            "history": {"attempts": 0, "last_outcome": None},
            "callback": None,
        },
    ],
    "empty": None,
}

LEASE_EMPTY = {
    "lease": None,
    "expires_at": None,
    "floor": "dakar-1",
    "count": 0,
    "items": [],
    "empty": {
        "reason": "held_at_handover",
        "message": "The leads due now failed the callability check at hand-over. Reasons: outside_hours (40).",
        "counts": {
            "no_running_campaign": 0,
            "all_leased": 12,
            "not_due_yet": 310,
            "done": 57,
            "suppressed_leads": 3,
            "checked:outside_hours": 40,
        },
        "next_callable_at": "2026-11-23T13:00:00Z",
    },
}

EXTENDED = {"lease": LEASE_ID, "expires_at": "2026-11-23T10:09:30Z"}
RELEASED = {"lease": LEASE_ID, "returned": 2, "ended": False}

RESULTS_REQUEST = {
    "results": [
        {
            "call_id": "pbx-2026-11-23-000981",
            "lead": 101,
            "lease": LEASE_ID,
            "agent_code": "AG-00042",
            "started_at": "2026-11-23T10:01:05Z",
            "answered_at": "2026-11-23T10:01:12Z",
            "ended_at": "2026-11-23T10:04:40Z",
            "outcome": "test-drive-booked",
            "notice": 1,
            "notice_played": True,
            "notice_answer": "no_answer",
            "recording": {"uri": "https://pbx.example/rec/000981.wav", "duration_seconds": 208},
            "appointment": {
                "dealer": "Lyon Confluence",
                "at": "2026-11-28T15:00:00+01:00",
                "model": "Model E",
            },
            "note": "Prefers Saturday afternoons",
        },
        {
            "call_id": "pbx-2026-11-23-000982",
            "lead": 102,
            "lease": LEASE_ID,
            "agent_code": "AG-00042",
            "started_at": "2026-11-23T10:02:00Z",
            "answered_at": "2026-11-23T10:02:09Z",
            "ended_at": "2026-11-23T10:02:50Z",
            "outcome": "do-not-call",
            "notice": 1,
            "notice_played": True,
            "objection": True,
        },
        {
            "call_id": "pbx-2026-11-23-000983",
            "lead": 999,
            "lease": LEASE_ID,
            "started_at": "2026-11-23T10:03:00Z",
            "outcome": "no-answer",
        },
    ]
}

RESULTS_RESPONSE = {
    "created": 2,
    "duplicate": 0,
    "rejected": 1,
    "results": [
        {
            "index": 0,
            "call_id": "pbx-2026-11-23-000981",
            "status": "created",
            "attempt": 5001,
            "reason": "",
            "detail": "",
            "suppressed": False,
            "recording": "attached",
        },
        {
            "index": 1,
            "call_id": "pbx-2026-11-23-000982",
            "status": "created",
            "attempt": 5002,
            "reason": "",
            "detail": "",
            "suppressed": True,
            "recording": "",
        },
        {
            "index": 2,
            "call_id": "pbx-2026-11-23-000983",
            "status": "rejected",
            "attempt": None,
            "reason": "not_leased",
            "detail": "lead: lead 999 is not in this dialler's lease.",
            "suppressed": False,
            "recording": "",
        },
    ],
}

SUPPRESSION_FEED = {
    "results": [
        {
            "id": 41,
            "kind": "added",
            "e164": "+33612000002",
            "number_hash": "5f0c…",
            "advertiser": None,
            "expires_at": None,
            "at": "2026-11-23T10:02:51Z",
        },
        {
            "id": 42,
            "kind": "removed",
            "e164": "+32470000011",
            "number_hash": "9ab1…",
            "advertiser": "brand-x",
            "expires_at": None,
            "at": "2026-11-23T10:05:00Z",
        },
    ],
    "next_cursor": 42,
    "has_more": False,
}

AGENT_OUTCOME = {
    "outcome": "callback",
    "callback_at": "2026-11-24T14:30:00+01:00",
    "callback_personal": True,
    "note": "Call back after lunch; wants the hybrid version",
}
AGENT_CORRECTION = {"outcome": "not-interested", "attempt": 5001, "note": "Misclicked: refused politely"}
AGENT_OUTCOME_RESPONSE = {
    "attempt": {
        "id": 5003,
        "lead": 101,
        "outcome": "callback",
        "started_at": "2026-11-23T10:10:00Z",
        "agent_code": "AG-00042",
        "corrected_at": None,
    },
    "lead": {
        "id": 101,
        "state": "callback_due",
        "done_reason": "",
        "attempts": 2,
        "next_call_at": "2026-11-24T13:30:00Z",
        "callback_at": "2026-11-24T13:30:00Z",
    },
}

CALLBACKS = [
    {
        "lead": 101,
        "campaign": "Model E test drives",
        "callback_at": "2026-11-24T13:30:00Z",
        "agent_code": "AG-00042",
        "state": "callback_due",
        "first_name": "Camille",
        "last_name": "Martin",
        "callable": True,
        "not_callable_reasons": [],
        "next_callable_at": None,
        "e164": "+33612000001",
        "time_zone": "Europe/Paris",
        "last_outcome": "callback",
    },
    {
        "lead": 102,
        "campaign": "Model E test drives",
        "callback_at": "2026-11-24T12:30:00Z",
        "agent_code": None,
        "state": "callback_due",
        "first_name": "Louis",
        "last_name": "Bernard",
        "callable": False,
        "not_callable_reasons": ["outside_hours"],
        "next_callable_at": "2026-11-24T13:00:00Z",
        "e164": None,
        "time_zone": "Europe/Paris",
        "last_outcome": "callback",
    },
]

HISTORY = [
    {
        "attempt": 5003,
        "campaign": "Model E test drives",
        "floor": "dakar-1",
        "started_at": "2026-11-23T10:10:00Z",
        "answered_at": None,
        "ended_at": None,
        "outcome": "callback",
        "outcome_label": "Call back",
        "category": "callback",
        "agent_code": "AG-00042",
        "note": "Call back after lunch",
        "appointment": None,
    },
    {
        "attempt": 4120,
        "campaign": "Spring offer",
        "floor": "lyon-1",
        "started_at": "2026-05-12T08:15:00Z",
        "answered_at": "2026-05-12T08:15:09Z",
        "ended_at": "2026-05-12T08:17:30Z",
        "outcome": "not-interested",
        "outcome_label": "Not interested",
        "category": "refusal",
        "agent_code": "",
        "note": "",
        "appointment": None,
    },
]
