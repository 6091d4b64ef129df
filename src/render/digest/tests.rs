use super::*;
use crate::render::{RequestView, request_html};

fn entry(author: &str, body: &str, edited: bool, late: bool) -> DigestEntry {
    // Each entry its own update: a digest renders an (update, revision) once.
    static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);
    DigestEntry {
        checkin: None,
        update_id: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        revision: 1,
        // One member per name in these tests.
        author_id: author.bytes().map(i64::from).sum(),
        author: author.into(),
        author_tz: "Asia/Tokyo".into(),
        local_date: NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(),
        sections: sections::split(body, &[]).into(),
        edited,
        late,
        resolved: false,
        resolved_on: None,
        followed: false,
        folded: false,
    }
}

/// The reader's teams in these tests.
static CORE: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| vec!["Core".into()]);

fn view(body: &str) -> DigestView<'static> {
    DigestView {
        reader_name: "Ann",
        teams: &CORE,
        date: NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(),
        local_hour: Some(8),
        kind: Default::default(),
        own: None,
        carried: Vec::new(),
        mentions: Vec::new(),
        comments: Vec::new(),
        comment_to: Default::default(),
        sections: vec![DigestSection {
            team: None,
            entries: vec![entry("Bob <script>", body, true, false)],
            missing: vec!["Cy".into()],
            scales: vec![],
        }],
        prefs_url: "http://127.0.0.1:8080/p/x",
        needs_only: false,
    }
}

#[test]
fn member_text_is_escaped_in_html() {
    let h = digest_html(&view("<img src=x onerror=alert(1)>"));
    assert!(!h.contains("<img") && h.contains("&lt;img"));
    assert!(!h.contains("<script>"));
}

#[test]
fn blockers_come_first_and_negatives_are_ignored() {
    assert_eq!(
        blocker_lines("Done: x\nBlockers: waiting on API keys"),
        vec!["waiting on API keys"]
    );
    assert!(blocker_lines("Blockers: none").is_empty());
    let t = digest_text(&view("Shipped it.\nBlocked by the vendor"));
    assert!(t.find("BLOCKERS").unwrap() < t.find("Shipped it.").unwrap());
    // Its blocker is in the box: the entry says so instead of repeating it.
    assert!(t.contains("[edited, blocked ↑]"), "{t}");
    assert_eq!(t.matches("Blocked by the vendor").count(), 1, "{t}");
    assert!(t.contains("No update yet from: Cy"));
    let h = digest_html(&view("Shipped it.\nBlocked by the vendor"));
    assert!(h.find("Blockers").unwrap() < h.find("Shipped it.").unwrap());
}

#[test]
fn every_inline_style_resolves_and_dark_mode_is_declared() {
    let h = digest_html(&view("a\nb"));
    assert!(
        !h.contains("style=\"\""),
        "a style name has no rule in email.css"
    );
    assert!(h.contains("prefers-color-scheme: dark"));
    assert!(h.contains(r#"name="color-scheme" content="light dark""#));
    assert!(
        h.contains("a<br>\nb"),
        "lines become <br>, not pre-wrap: {h}"
    );
    let r = request_html(&RequestView {
        what: "stand-up",
        member_name: "Ann",
        teams: &CORE,
        local_date: NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(),
        questions: &["Done?".to_string()],
        prefs_url: "http://x/p/1",
        reminder: true,
        last_plan: Some((
            NaiveDate::from_ymd_opt(2026, 3, 6).unwrap(),
            vec!["roll out <b>10%</b>".to_string()],
        )),
        draft: None,
    });
    assert!(r.contains("Last time (Fri 6 Mar) you planned:"), "{r}");
    assert!(
        r.contains("roll out &lt;b&gt;10%&lt;/b&gt;"),
        "escaped: {r}"
    );
    assert!(!r.contains("style=\"\""));
}

#[test]
fn digest_html_is_ascii_with_short_lines_so_it_needs_no_transfer_encoding() {
    let mut v = view("Zoë shipped it — finally.\nNext: café");
    v.sections[0].missing = (0..300).map(|i| format!("Member {i}")).collect();
    let h = digest_html(&v);
    assert!(h.is_ascii(), "{h}");
    assert!(h.contains("Zo&#xEB; shipped it &#x2014; finally."), "{h}");
    assert!(
        h.lines().all(|l| l.len() <= 998),
        "a line over 998 characters"
    );
}

#[test]
fn the_greeting_follows_the_readers_local_hour() {
    let mut v = view("x");
    v.local_hour = Some(23);
    let t = digest_text(&v);
    assert!(t.starts_with("Hello Ann,"), "{t}");
    assert!(!t.contains("Good morning"), "{t}");
    v.local_hour = Some(8);
    assert!(digest_text(&v).starts_with("Good morning Ann,"));
    v.local_hour = Some(14);
    assert!(digest_text(&v).starts_with("Good afternoon Ann,"));
    v.local_hour = Some(19);
    assert!(digest_text(&v).starts_with("Good evening Ann,"));
}

#[test]
fn who_wrote_counts_people_not_names() {
    let mut v = view("x");
    let sam = |id| {
        let mut e = entry("Sam", "Did things", false, false);
        e.author_id = id;
        e
    };
    v.sections[0].entries = vec![sam(1), sam(2), sam(2)];
    assert_eq!(digest_subject(&v), "Core digest · Mon 9 Mar: 3 updates");
    let t = digest_text(&v);
    assert!(t.contains("\n2 of 3 wrote · 3 updates.\n"), "{t}");
}

#[test]
fn several_teams_get_one_section_each_and_marks_show() {
    let teams = vec!["core".to_string(), "infra".to_string()];
    let v = DigestView {
        reader_name: "Ann",
        teams: &teams,
        date: NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(),
        local_hour: Some(8),
        kind: Default::default(),
        own: None,
        carried: Vec::new(),
        mentions: Vec::new(),
        comments: Vec::new(),
        comment_to: Default::default(),
        sections: vec![
            DigestSection {
                team: Some("core".into()),
                entries: vec![entry("Bob", "Late work", false, true)],
                missing: vec![],
                scales: vec![],
            },
            DigestSection {
                team: Some("infra".into()),
                entries: vec![],
                missing: vec!["Dee".into()],
                scales: vec![],
            },
        ],
        prefs_url: "http://x/p/1",
        needs_only: false,
    };
    let t = digest_text(&v);
    assert!(
        t.find("## core").unwrap() < t.find("## infra").unwrap(),
        "{t}"
    );
    assert!(t.contains("Bob — Sun 8 Mar (Asia/Tokyo) [late]"), "{t}");
    assert!(t.contains("No new updates.") && t.contains("No update yet from: Dee"));
    let h = digest_html(&v);
    assert!(h.contains(">core</h2>") && h.contains(">infra</h2>"), "{h}");
    assert_eq!(
        digest_subject(&v),
        "core and infra digest · Mon 9 Mar: 1 update"
    );
    // Who wrote, per team: Bob's late update is not of the day.
    assert!(t.contains("\ninfra: 0 of 1 wrote · 1 update.\n"), "{t}");
    assert!(h.contains("core and infra digest</h1>"), "{h}");
    assert!(h.contains("a member of core and infra on Tidings"), "{h}");
}

/// A team of `size` readers where every teammate wrote `lines` lines, every third a blocker.
fn team(size: usize, lines: usize) -> DigestView<'static> {
    let date = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
    let entries = (1..size)
        .map(|i| {
            let mut body = String::from("Done:\n");
            for l in 0..lines {
                body.push_str(&format!(
                    "- reviewed PR #{i}{l} for the billing service and fixed two flaky importer tests\n"
                ));
            }
            if i % 3 == 0 {
                body.push_str("Blockers: waiting for access to the staging database since Monday\n");
            }
            DigestEntry {
                checkin: None,
                update_id: i as i64,
                revision: 1,
                author_id: i as i64,
                author: format!("Member {i}"),
                author_tz: "Europe/Berlin".into(),
                local_date: date,
                sections: sections::split(&body, &[]).into(),
                edited: false,
                late: false,
                resolved: false,
                resolved_on: None,
                        followed: false,
            folded: false,
}
        })
        .collect();
    DigestView {
        reader_name: "Member 0",
        teams: &CORE,
        date,
        local_hour: Some(8),
        kind: Default::default(),
        own: None,
        carried: Vec::new(),
        mentions: Vec::new(),
        comments: Vec::new(),
        comment_to: Default::default(),
        sections: vec![DigestSection {
            team: None,
            entries,
            missing: vec!["Nobody Yet".into()],
            scales: vec![],
        }],
        prefs_url: "http://127.0.0.1:8080/p/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        needs_only: false,
    }
}

#[test]
fn authors_are_headings_and_a_summary_line_leads() {
    let v = team(4, 2);
    let h = digest_html(&v);
    // One h3 per author, with the anchor the blockers box links to.
    assert_eq!(h.matches("<h3 ").count(), 3, "{h}");
    assert!(h.contains(r#"<h3 id="u3""#), "{h}");
    assert!(h.contains(r##"<a href="#u3""##), "{h}");
    assert!(
        h.contains("3 of 4 wrote &#xB7; 3 updates &#xB7; 1 blocker"),
        "{h}"
    );
    let t = digest_text(&v);
    assert!(
        t.contains("\n3 of 4 wrote · 3 updates · 1 blocker.\n"),
        "{t}"
    );
    // Underlined with hyphens: no '=' for quoted-printable to turn into "=3D".
    assert!(!t.contains("=="), "{t}");
}

#[test]
fn the_blockers_box_is_short_and_says_how_many_more() {
    let mut v = team(30, 1);
    v.sections[0].entries[2].sections = sections::split(
        &format!("Blockers: {}", "very long blocker ".repeat(20)),
        &[],
    )
    .into();
    let t = digest_text(&v);
    let boxed = t
        .split("BLOCKERS\n")
        .nth(1)
        .unwrap()
        .split("\n\n")
        .next()
        .unwrap();
    // 9 blockers (every third of 29): 5 shown, the rest counted.
    assert_eq!(
        boxed.lines().filter(|l| l.starts_with("  ! ")).count(),
        BLOCKERS_SHOWN,
        "{boxed}"
    );
    assert!(boxed.ends_with("  and 4 more below"), "{boxed}");
    assert!(
        boxed
            .lines()
            .all(|l| l.chars().count() <= BLOCKER_CHARS + 20),
        "{boxed}"
    );
    assert!(boxed.contains("…"), "{boxed}");
    let h = digest_html(&v);
    assert!(h.contains("and 4 more below"), "{h}");
}

#[test]
fn a_hundred_member_digest_stays_below_gmails_clip_with_its_footer() {
    for lines in [3, 6, 12] {
        let v = team(100, lines);
        let (text, h) = digest_parts(&v);
        assert!(
            h.len() < 90 * 1024,
            "{lines}-line updates: {} bytes of HTML",
            h.len()
        );
        assert!(h.contains(v.prefs_url), "the preferences link is inside");
        assert!(text.contains(v.prefs_url));
        // Every author is still there, with a link to read the whole update.
        assert_eq!(h.matches("<h3 ").count(), 99);
        eprintln!(
            "100 members, {lines}-line updates: HTML {} bytes, text {} bytes",
            h.len(),
            text.len()
        );
    }
    // A small team's digest is not condensed.
    let (_, h) = digest_parts(&team(10, 6));
    assert!(!h.contains("A long digest"), "{h}");
    let (_, h) = digest_parts(&team(100, 12));
    assert!(h.contains("A long digest"));
}

#[test]
fn a_resolved_blocker_is_struck_through_marked_green_and_out_of_the_box() {
    let mut e = entry(
        "Dev",
        "Done: tests\nBlockers: dashboard access, still pending",
        false,
        false,
    );
    e.resolved = true;
    e.resolved_on = NaiveDate::from_ymd_opt(2026, 3, 11);
    let mut v = view("Done: x");
    v.sections[0].entries = vec![e];
    let t = digest_text(&v);
    assert!(!t.contains("BLOCKERS"), "{t}");
    assert!(t.contains("[resolved Wed 11 Mar]"), "{t}");
    assert!(
        t.contains("Blockers: dashboard access, still pending (resolved Wed 11 Mar)"),
        "shown as written, marked: {t}"
    );
    assert!(
        !digest_subject(&v).contains("blocker"),
        "{}",
        digest_subject(&v)
    );
    let h = digest_html(&v);
    assert!(h.contains("<s>dashboard access, still pending</s>"), "{h}");
    assert!(
        h.contains(r#"class="pill pill-resolved""#) && h.contains(">resolved Wed 11 Mar</span>"),
        "{h}"
    );
    assert!(
        !h.contains("class=\"pill pill-late\"") && !h.contains("blocker resolved"),
        "{h}"
    );
}

/// A lead's digest: Bob mentions Ann; Cy's blocker, in today's update, needs her as the lead;
/// Dee's is an ordinary one; Eve wrote a long update ending with "Blockers: none".
fn leads_digest() -> DigestView<'static> {
    let mut v = view("Done: x");
    let cy = entry(
        "Cy",
        "Done: the importer\nBlockers: waiting on the staging database credentials",
        false,
        false,
    );
    let dee = entry(
        "Dee",
        "Done: docs\nBlockers: the build is red on main",
        false,
        false,
    );
    let long: String = (1..=30).map(|i| format!("- shipped part {i}\n")).collect();
    let eve = entry(
        "Eve",
        &format!("Done:\n{long}Next: more parts\nBlockers: none"),
        false,
        false,
    );
    v.carried = vec![Carried {
        who: "Cy".into(),
        since: NaiveDate::from_ymd_opt(2026, 3, 5).unwrap(),
        workdays: 2,
        lines: vec!["waiting on the staging database credentials".into()],
        needs_you: true,
        update_id: cy.update_id,
        team: Some("Core".into()),
    }];
    v.mentions = vec![Mentioned {
        who: "Bob".into(),
        date: NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(),
        lines: vec!["@ann can you review the exporter?".into()],
        update_id: 900,
    }];
    v.comments = vec![CommentNote {
        who: "Fay".into(),
        on: "your update of Fri 6 Mar".into(),
        lines: vec!["Nice work.".into()],
        update_id: 901,
        at: "Sun 8 Mar 18:05".into(),
    }];
    v.comment_to = [cy.update_id, dee.update_id, eve.update_id, 900, 901]
        .into_iter()
        .map(|id| (id, format!("updates+c1-u{id}-x@example.test")))
        .collect();
    v.sections[0].entries = vec![cy, dee, eve];
    v
}

#[test]
fn a_leads_digest_shows_each_blocker_once_and_no_orphan_heading() {
    let v = leads_digest();
    let (t, h) = digest_parts(&v);
    for blocker in [
        "waiting on the staging database credentials",
        "the build is red on main",
    ] {
        assert_eq!(t.matches(blocker).count(), 1, "{blocker} in\n{t}");
        assert_eq!(h.matches(blocker).count(), 1, "{blocker} in\n{h}");
    }
    // The entries whose blockers are above say so.
    assert_eq!(t.matches("blocked ↑").count(), 2, "{t}");
    assert_eq!(h.matches(">blocked &#x2191;</span>").count(), 2, "{h}");
    // Eve's long update is cut in its Done lines; her "Blockers: none" stays whole.
    assert!(t.contains("Next: more parts\n\nBlockers: none\n"), "{t}");
    for (i, l) in t.lines().enumerate() {
        assert!(
            !(l.ends_with("Blockers:") || l == "Done:" || l == "Next:")
                || t.lines().nth(i + 1).is_some_and(|n| !n.trim().is_empty()),
            "a heading without its answer at line {i}:\n{t}"
        );
    }
    assert!(
        !h.contains(":</strong></p>") && !h.contains(":</strong>\n</p>"),
        "{h}"
    );
}

#[test]
fn needs_you_is_a_neutral_box_of_actions_each_saying_why_with_its_link() {
    let v = leads_digest();
    let (t, h) = digest_parts(&v);
    let needs = t
        .split("NEEDS YOU\n")
        .nth(1)
        .unwrap()
        .split("\n\n")
        .next()
        .unwrap();
    assert!(
        needs.contains("* Bob mentioned you (Sun 8 Mar):\n    @ann can you review the exporter?\n  Reply to Bob: write to updates+c1-u900-x@example.test"),
        "{needs}"
    );
    assert!(
        needs.contains("* Cy has been blocked 2 workdays, since Thu 5 Mar — you lead Core:"),
        "{needs}"
    );
    assert!(
        needs.contains("  See the open blockers: http://127.0.0.1:8080/p/x/blockers?team=Core"),
        "{needs}"
    );
    assert!(
        needs.contains("* Fay commented on your update of Fri 6 Mar (Sun 8 Mar 18:05):\n    Nice work.\n  Reply to Fay: write to updates+c1-u901-x@example.test"),
        "{needs}"
    );
    // Neutral, not the red box; the blocker in it carries the red pill; blockers stay red.
    assert!(h.contains(r#"<td class="needs" id="needs""#), "{h}");
    assert!(h.contains(r#"class="pill pill-blocker""#), "{h}");
    assert!(h.contains(r#"<td class="blockers" id="blockers""#), "{h}");
    assert!(
        h.contains(r#"href="http://127.0.0.1:8080/p/x/blockers?team=Core""#),
        "{h}"
    );
    assert!(
        h.contains("mailto:updates+c1-u900-x@example.test?subject=Re%3A%20Bob%27s%20update%20for%20Sun%208%20Mar"),
        "{h}"
    );
    assert!(!h.contains("/p/x/log\">See the open blockers"), "{h}");
}

#[test]
fn every_html_part_names_the_team_in_its_heading_and_footer() {
    let mut v = view("Done: x");
    for kind in [
        DigestKind::Daily,
        DigestKind::Weekly {
            from: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        },
        DigestKind::CatchUp {
            from: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        },
    ] {
        v.kind = kind;
        let (t, h) = digest_parts(&v);
        let s = digest_subject(&v);
        assert!(s.starts_with("Core digest · "), "{kind:?}: {s}");
        assert!(
            h.contains("<h1 style=") && h.contains(">Core digest"),
            "{kind:?}: {h}"
        );
        assert!(
            h.contains("You receive this because you are a member of Core on Tidings."),
            "{kind:?}: {h}"
        );
        assert!(
            t.contains("Core") && t.contains("a member of Core on Tidings"),
            "{kind:?}: {t}"
        );
    }
}
