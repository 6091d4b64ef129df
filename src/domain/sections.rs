//! An answer read as the questions it answers: `Done: …`, `Next: …`, `Blockers: …` (or the
//! team's own question, or a localised label such as `Fertig:`, `Nächstes:`, `Blocker:`) start
//! a section; text before the first label, or an answer without labels, is one untitled
//! section. Blockers come only from a blockers section, and "none" in any of a dozen
//! languages is no blocker.

/// What a section answers.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
#[schema(as = SectionKind)]
pub enum Kind {
    Done,
    Next,
    Blockers,
    /// Untitled text, or a label that is none of the three.
    Other,
}

/// One labelled part of an answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Section {
    pub kind: Kind,
    /// The label as written (`Blockers`), `None` for untitled text.
    pub label: Option<String>,
    pub text: String,
}

/// Labels by kind, lowercase, compared after trimming `*-#>` bullets and a trailing `:`/`?`.
/// The default questions are labels too, so an answer under a quoted question reads the same.
const LABELS: &[(Kind, &[&str])] = &[
    (
        Kind::Done,
        &[
            "done",
            "did",
            "completed",
            "finished",
            "yesterday",
            "accomplished",
            "shipped",
            "what did you get done",
            "what did you do",
            "what have you done",
            "fertig",
            "erledigt",
            "gemacht",
            "gestern", // de
            "fait",
            "terminé",
            "réalisé",
            "hier", // fr
            "hecho",
            "terminado",
            "completado",
            "ayer", // es
            "feito",
            "concluído",
            "ontem", // pt
            "zrobione",
            "zrobiłem",
            "zrobiłam",
            "wczoraj", // pl
            "gedaan",
            "klaar",
            "gisteren", // nl
            "fatto",
            "completato",
            "ieri", // it
            "сделано",
            "готово",
            "вчера", // ru
            "完了",
            "やったこと",
            "昨日", // ja
        ],
    ),
    (
        Kind::Next,
        &[
            "next",
            "todo",
            "to do",
            "today",
            "tomorrow",
            "plan",
            "plans",
            "planned",
            "up next",
            "what's next",
            "whats next",
            "what is next",
            "what will you do",
            "nächstes",
            "als nächstes",
            "als nächstes",
            "heute",
            "morgen",
            "geplant", // de
            "ensuite",
            "prochain",
            "prochaines étapes",
            "aujourd'hui",
            "demain", // fr
            "siguiente",
            "próximo",
            "hoy",
            "mañana", // es
            "próximo",
            "a seguir",
            "hoje",
            "amanhã", // pt
            "dalej",
            "następnie",
            "plan na dziś",
            "dziś",
            "jutro", // pl
            "volgende",
            "vandaag", // nl
            "prossimo",
            "oggi",
            "domani", // it
            "далее",
            "дальше",
            "сегодня",
            "завтра",
            "план", // ru
            "次",
            "次に",
            "今日",
            "明日",
            "予定", // ja
        ],
    ),
    (
        Kind::Blockers,
        &[
            "blockers",
            "blocker",
            "blocked",
            "blocking",
            "blocked by",
            "impediments",
            "obstacles",
            "anything blocking you",
            "is anything blocking you",
            "hindernisse",
            "blockiert",
            "probleme", // de
            "blocages",
            "bloquants",
            "bloqué",
            "obstacles", // fr
            "bloqueos",
            "bloqueado",
            "impedimentos", // es
            "bloqueios",
            "bloqueado", // pt
            "blokady",
            "przeszkody", // pl
            "blokkades",
            "blokkeringen", // nl
            "blocchi",
            "bloccato",
            "ostacoli", // it
            "блокеры",
            "блокер",
            "препятствия", // ru
            "ブロッカー",
            "障害",
            "課題", // ja
        ],
    ),
];

/// Answers that mean "no blockers", after lowercasing and trimming punctuation and fillers.
const NONE_ANSWERS: &[&str] = &[
    "none",
    // A blocker no more: closes an open one (crate::domain::blockers).
    "resolved",
    "unblocked",
    "no longer blocked",
    "nothing",
    "n/a",
    "na",
    "no",
    "nope",
    "nil",
    "-",
    "--",
    "—",
    "–",
    "no blockers",
    "no blocker",
    "not blocked",
    "nothing blocking",
    "nothing blocking me",
    "all good",
    "keine",
    "keiner",
    "nichts",
    "nein",
    "keine blocker",
    "keine hindernisse", // de
    "rien",
    "aucun",
    "aucune",
    "non",
    "pas de blocage",
    "aucun blocage", // fr
    "nada",
    "ninguno",
    "ninguna",
    "sin bloqueos",
    "ningún bloqueo", // es
    "nenhum",
    "nenhuma",
    "não",
    "sem bloqueios", // pt
    "brak",
    "nie",
    "nic",
    "brak blokad", // pl
    "geen",
    "niets",
    "nee",
    "geen blokkades", // nl
    "nessuno",
    "niente",
    "nessun blocco", // it
    "нет",
    "ничего",
    "нет блокеров", // ru
    "なし",
    "ない",
    "特になし",
    "無し",
    "特にありません", // ja
];

/// Words after a "none" that do not change it ("none so far", "nothing at the moment").
const FILLERS: &[&str] = &[
    "so far",
    "for now",
    "right now",
    "at the moment",
    "today",
    "yet",
    "currently",
    "atm",
    "thanks",
    "bisher",
    "aktuell",
    "derzeit",
    "pour l'instant",
    "por ahora",
    "por enquanto",
    "na razie",
    "voorlopig",
    "per ora",
    "пока",
];

fn normalise(s: &str) -> String {
    s.trim()
        .trim_matches(|c: char| {
            c.is_ascii_punctuation() && c != '-' && c != '/' || "。、！？：".contains(c)
        })
        .trim()
        .to_lowercase()
}

/// The label a line starts with, and what follows it on the line: `Blockers: none` →
/// (Blockers, "Blockers", "none"); `> * What did you get done?` → (Done, …, "").
/// A line without the quote markers and bullets it may start with.
fn unmarked(line: &str) -> &str {
    line.trim()
        .trim_start_matches(['>', '*', '-', '#', '•', ' '])
        .trim()
}

fn label_of(line: &str, extra: &[(Kind, String)]) -> Option<(Kind, String, String)> {
    let l = unmarked(line);
    // "Blocked by the vendor", "Blocked on review": a blocker said as a sentence.
    let low = l.to_lowercase();
    if ["blocked by ", "blocked on ", "blocked until "]
        .iter()
        .any(|p| low.starts_with(p))
    {
        return Some((Kind::Blockers, "Blocked".into(), l.to_string()));
    }
    let (head, rest) = match l.find([':', '：']) {
        Some(i) => {
            let colon_len = l[i..].chars().next().map_or(1, char::len_utf8);
            (&l[..i], l[i + colon_len..].trim())
        }
        // A question alone on its line ("What did you get done?").
        None if l.ends_with('?') || l.ends_with('？') => (l, ""),
        None => return None,
    };
    let key = normalise(head);
    if key.is_empty() || key.chars().count() > 60 {
        return None;
    }
    let kind = LABELS
        .iter()
        .find(|(_, names)| names.contains(&key.as_str()))
        .map(|(k, _)| *k)
        .or_else(|| {
            extra
                .iter()
                .find(|(_, q)| normalise(q) == key)
                .map(|(k, _)| *k)
        })?;
    Some((kind, head.trim().to_string(), rest.to_string()))
}

/// The question or label a line is, alone (nothing written after it), without quote markers
/// or bullets: `> * What did you get done?` → `What did you get done?`. An answer written
/// under each quoted question keeps its questions this way.
pub fn label_alone(line: &str) -> Option<String> {
    let (_, _, rest) = label_of(line, &[])?;
    rest.is_empty().then(|| unmarked(line).to_string())
}

/// Splits an answer into sections. `questions` are the team's own questions (each read as the
/// kind its words suggest, else [`Kind::Other`]), recognised as labels beside the built-in ones.
pub fn split(body: &str, questions: &[String]) -> Vec<Section> {
    split_labelled(body, &labels_of(questions))
}

/// The team's own questions as labels, each of the kind its words suggest.
pub fn labels_of(questions: &[String]) -> Vec<(Kind, String)> {
    questions
        .iter()
        .map(|q| (kind_of_question(q), q.clone()))
        .collect()
}

/// [`split`] with labels whose kinds are known (a check-in's questions say theirs).
pub fn split_labelled(body: &str, extra: &[(Kind, String)]) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    let mut current = Section {
        kind: Kind::Other,
        label: None,
        text: String::new(),
    };
    for line in body.lines() {
        if let Some((kind, label, rest)) = label_of(line, extra) {
            if current.label.is_some() || !current.text.trim().is_empty() {
                out.push(current);
            }
            current = Section {
                kind,
                label: Some(label),
                text: rest,
            };
            continue;
        }
        if !current.text.is_empty() {
            current.text.push('\n');
        }
        current.text.push_str(line);
    }
    if current.label.is_some() || !current.text.trim().is_empty() {
        out.push(current);
    }
    for s in &mut out {
        s.text = s.text.trim().to_string();
    }
    out
}

/// The sections of an update stored as `stored` (the JSON of [`to_json`]); an update stored
/// before sections were kept (`None`), or a value that does not read, is split from `body`
/// with the built-in labels.
pub fn from_stored(stored: Option<&str>, body: &str) -> Vec<Section> {
    stored
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_else(|| split(body, &[]))
}

/// The JSON an update's sections are stored as.
pub fn to_json(sections: &[Section]) -> String {
    serde_json::to_string(sections).unwrap_or_else(|_| "[]".into())
}

impl Section {
    /// The heading a reader sees: `Done`, `Next` or `Blockers` for a built-in label (the
    /// default questions and the localised labels read the same to every reader), a team's own
    /// question or any other label as written, `None` for untitled text.
    pub fn heading(&self) -> Option<&str> {
        let label = self.label.as_deref()?;
        let builtin = LABELS
            .iter()
            .any(|(_, names)| names.contains(&normalise(label).as_str()))
            || label == "Blocked";
        Some(match (self.kind, builtin) {
            (Kind::Done, true) => "Done",
            (Kind::Next, true) => "Next",
            (Kind::Blockers, true) => "Blockers",
            _ => label,
        })
    }

    /// Whether this section names a blocker (a blockers section whose answer is not "none").
    pub fn is_blocker(&self) -> bool {
        self.kind == Kind::Blockers && !is_none(&self.text)
    }
}

/// Sections as text, a blank line between them (see [`part_text`]). What `tidings reply
/// extract --sections` and receipts show.
pub fn to_text(sections: &[Section]) -> String {
    sections
        .iter()
        .map(|s| part_text(s.heading(), &s.text.lines().collect::<Vec<_>>()))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// One section as text: `Done: answer` for a one-line answer, else the heading on a line of
/// its own (a question keeps its own mark, any other heading gets a `:`) and the answer's
/// lines below it; untitled text as it is. Digests write their (possibly cut) entries with it
/// too.
pub fn part_text(heading: Option<&str>, lines: &[&str]) -> String {
    let Some(h) = heading else {
        return lines.join("\n");
    };
    let question = h.ends_with(['?', '？', ':']);
    match lines {
        [one] if !question => format!("{h}: {one}"),
        _ => {
            let mut out = h.to_string();
            if !question {
                out.push(':');
            }
            for l in lines {
                out.push('\n');
                out.push_str(l);
            }
            out
        }
    }
}

/// The blocker lines of stored sections: the lines of the last blockers section that are not
/// "none" (bullets trimmed). The last is the update's latest word: a reply later the same day
/// saying "Blockers: resolved" closes what the morning's reply opened, as the next day's
/// would; one saying "Blockers: the VPN" replaces it.
pub fn blocker_lines(sections: &[Section]) -> Vec<String> {
    sections
        .iter()
        .rfind(|s| s.kind == Kind::Blockers)
        .into_iter()
        .flat_map(|s| {
            s.text
                .lines()
                .map(|l| {
                    l.trim()
                        .trim_start_matches(['-', '*', '•'])
                        .trim()
                        .to_string()
                })
                .filter(|l| !l.is_empty() && !is_none(l))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The kind a team's own question asks about, from its words.
fn kind_of_question(q: &str) -> Kind {
    let low = q.to_lowercase();
    if low.contains("block") || low.contains("imped") || low.contains("stuck") {
        Kind::Blockers
    } else if low.contains("next") || low.contains("today") || low.contains("plan") {
        Kind::Next
    } else if low.contains("done") || low.contains("did") || low.contains("yesterday") {
        Kind::Done
    } else {
        Kind::Other
    }
}

/// Whether an answer says there is no blocker ("none", "Keine.", "Brak", "なし", "n/a so far").
pub fn is_none(answer: &str) -> bool {
    let mut a = normalise(answer);
    loop {
        let before = a.clone();
        for f in FILLERS {
            if let Some(rest) = a.strip_suffix(f) {
                a = normalise(rest.trim_end_matches([',', ' ']));
            }
        }
        if a == before {
            break;
        }
    }
    a.is_empty() || NONE_ANSWERS.contains(&a.as_str())
}

/// The blockers of an answer: the lines of its blockers sections that are not "none".
pub fn blockers(body: &str, questions: &[String]) -> Vec<String> {
    blocker_lines(&split(body, questions))
}

#[cfg(test)]
#[path = "sections_tests.rs"]
mod tests;
