//! The demo team: who they are, how their mail clients reply, and what they write.

pub(super) struct Person {
    pub email: &'static str,
    pub name: &'static str,
    pub tz: &'static str,
    pub style: Style,
    pub signature: &'static str,
    /// One reply a day, Monday to Wednesday (`keep` keeps the request's draft as the Done).
    pub updates: [&'static str; 3],
}

#[derive(Clone, Copy)]
pub(super) enum Style {
    Gmail,
    Outlook,
    Iphone,
    HtmlOnly,
}

pub(super) const PEOPLE: [Person; 4] = [
    Person {
        email: "ana@demo.example",
        name: "Ana Lima",
        tz: "Europe/Berlin",
        style: Style::Gmail,
        signature: "-- \nAna Lima\nStaff Engineer, Platform\n+49 30 1234567",
        updates: [
            // Monday's request carries a draft from Ana's activity feed (`ana.json`): she keeps it.
            "keep\nNext: load-test the consumer with 10x traffic.\nBlockers: none",
            "Done: load test passed at 12k msg/s.\nNext: roll out to 10% of customers.\nBlockers: waiting on the on-call sign-off from SRE.",
            "Done: SRE signed off; 10% of customers are on the new queue, error rate flat.\nNext: 50% on Monday.\nBlockers: none",
        ],
    },
    Person {
        email: "ben@demo.example",
        name: "Ben Carter",
        tz: "America/New_York",
        style: Style::Outlook,
        signature: "Best regards,\nBen Carter\nProduct Manager | Demo Inc.",
        updates: [
            "Wrote the spec for team digests v2 and shared it for review.\nTomorrow: interviews with three customers.",
            "Customer interviews done; notes are in the wiki.\nNext: prioritise the top 5 requests with design.",
            "Top 5 requests ranked with design; the first two go into next sprint.\nNext: write the brief for per-reader digest sections.",
        ],
    },
    Person {
        email: "chiaki@demo.example",
        name: "Chiaki Sato",
        tz: "Asia/Tokyo",
        style: Style::Iphone,
        signature: "Sent from my iPhone",
        updates: [
            "Fixed the DST bug in the calendar export (Lord Howe was off by 30 minutes).\nNext: add tests for Chatham.",
            "Chatham tests added. Reviewing Ana's queue PR next.",
            "Reviewed Ana's queue PR: two small comments, approved.\nNext: release notes for the calendar fixes.",
        ],
    },
    Person {
        email: "dev@demo.example",
        name: "Dev Patel",
        tz: "Asia/Kolkata",
        style: Style::HtmlOnly,
        signature: "Dev",
        updates: [
            "Shipped the new onboarding email.\nNext: A/B test the subject line.",
            "A/B test is live, 50/50 split.\nBlocked: analytics dashboard access still pending.",
            "Drafted the welcome sequence for trial users.\nBlocked: still no access to the analytics dashboard; asked IT again.",
        ],
    },
];

/// A stakeholder who reads the team's week and is never asked: an observer with a weekly
/// digest on Wednesday at 08:30 in London, which comes within the simulated days.
pub(super) const OBSERVER: (&str, &str, &str) =
    ("erin@demo.example", "Erin Okafor", "Europe/London");

/// The second check-in of the demo team: asked on Tuesday at 12:00 in each member's zone, its
/// answers under its own heading in Wednesday's digests.
pub(super) const WINS: (&str, &str) = ("Tuesday wins", "What went well so far this week?");

/// Each person's answer to [`WINS`], in [`PEOPLE`] order.
pub(super) const WIN_ANSWERS: [&str; 4] = [
    "The new queue took 12k msg/s on the first try.",
    "Three customers asked for per-reader digests unprompted.",
    "Found the Lord Howe half-hour bug before a customer did.",
    "The onboarding email's open rate went from 41% to 58%.",
];
