//! Loading: the file (`--config`, `$TIDINGS_CONFIG`, `./tidings.toml`, else the defaults),
//! then `TIDINGS_SECTION__KEY` environment overrides, then validation.

use std::path::{Path, PathBuf};

use super::{Config, ConfigError};
use crate::domain::schedule::parse_tz;
use crate::domain::{EmailAddress, LocalTime, Mailbox, Workdays};

/// Where the configuration came from.
#[derive(Debug, Clone)]
pub enum Source {
    Defaults,
    File(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Defaults => f.write_str("built-in defaults"),
            Source::File(p) => write!(f, "{}", p.display()),
        }
    }
}

impl Config {
    /// Finds the file (`--config`, `$TIDINGS_CONFIG`, `./tidings.toml`, else defaults), applies
    /// `TIDINGS_*` overrides from `env`, and validates.
    pub fn load(
        explicit: Option<&Path>,
        env: &[(String, String)],
    ) -> Result<(Config, Source), ConfigError> {
        let from_env = env
            .iter()
            .find(|(k, _)| k == "TIDINGS_CONFIG")
            .map(|(_, v)| PathBuf::from(v));
        let path = explicit.map(Path::to_path_buf).or(from_env).or_else(|| {
            let p = PathBuf::from("tidings.toml");
            p.exists().then_some(p)
        });
        let (text, source) = match &path {
            Some(p) => {
                let t = std::fs::read_to_string(p).map_err(|e| {
                    ConfigError::one(format!("{}: cannot read the config file: {e}", p.display()))
                })?;
                (t, Source::File(p.clone()))
            }
            None => (String::new(), Source::Defaults),
        };
        let cfg = Self::from_toml_with_env(&text, &source, env)?;
        Ok((cfg, source))
    }

    /// Parses TOML text over the defaults, applies env overrides, validates.
    pub fn from_toml_with_env(
        text: &str,
        source: &Source,
        env: &[(String, String)],
    ) -> Result<Config, ConfigError> {
        let mut value: toml::Value = text
            .parse::<toml::Table>()
            .map(toml::Value::Table)
            .map_err(|e| {
                ConfigError::one(format!(
                    "{source}: {}",
                    e.to_string().trim().replace('\n', " ")
                ))
            })?;
        let defaults = toml::Value::try_from(Config::default())
            .map_err(|e| ConfigError::one(format!("internal: defaults do not serialise: {e}")))?;
        let mut problems = Vec::new();
        for (k, v) in env {
            let Some(rest) = k.strip_prefix("TIDINGS_") else {
                continue;
            };
            if rest == "CONFIG" || !rest.contains("__") {
                continue;
            }
            let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
            match lookup(&defaults, &path) {
                Some(d) => {
                    let parsed = match d {
                        toml::Value::String(_) => Ok(toml::Value::String(v.clone())),
                        toml::Value::Integer(_) => v
                            .trim()
                            .parse::<i64>()
                            .map(toml::Value::Integer)
                            .map_err(|_| "an integer"),
                        toml::Value::Boolean(_) => match v.trim() {
                            "true" | "1" | "yes" => Ok(toml::Value::Boolean(true)),
                            "false" | "0" | "no" => Ok(toml::Value::Boolean(false)),
                            _ => Err("true or false"),
                        },
                        toml::Value::Array(_) => Ok(toml::Value::Array(
                            v.split(';')
                                .map(|s| toml::Value::String(s.trim().to_string()))
                                .collect(),
                        )),
                        _ => Err("a scalar"),
                    };
                    match parsed {
                        Ok(p) => set(&mut value, &path, p),
                        Err(want) => problems.push(format!(
                            "{} (environment {k}): expected {want}, got {v:?}",
                            path.join(".")
                        )),
                    }
                }
                None => problems.push(format!("environment {k}: unknown key {}", path.join("."))),
            }
        }
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        // Text that becomes a typed value is parsed here first, so that every bad one is
        // reported together with the other problems (serde would stop at the first); a bad one
        // is then left out, so the rest can still be read and checked.
        for (key, check) in TYPED_TEXT {
            let path: Vec<String> = key.split('.').map(str::to_string).collect();
            if let Some(toml::Value::String(text)) = lookup(&value, &path)
                && let Err(msg) = check(text)
            {
                problems.push(format!("{key} ({source}): {msg}"));
                remove(&mut value, &path);
            }
        }
        let cfg: Config = match value.try_into() {
            Ok(c) => c,
            Err(e) => {
                let e: toml::de::Error = e;
                problems.push(format!(
                    "{source}: {}",
                    e.to_string().trim().replace('\n', " ")
                ));
                return Err(ConfigError { problems });
            }
        };
        if let Err(mut e) = cfg.validate(source) {
            e.problems.extend(problems);
            return Err(e);
        }
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(cfg)
    }
}

/// The keys whose text is parsed into a typed value ([`Mailbox`], [`EmailAddress`], a zone,
/// [`LocalTime`], [`Workdays`]), each with its parser's verdict.
type Check = fn(&str) -> Result<(), String>;
const TYPED_TEXT: [(&str, Check); 6] = [
    ("mail.from", |s| {
        Mailbox::parse(s).map(drop).map_err(|e| e.to_string())
    }),
    ("mail.reply_to", |s| {
        EmailAddress::parse(s).map(drop).map_err(|_| {
            format!("expected a plain address such as updates@example.com (no +tag), got {s:?}")
        })
    }),
    ("schedule.default_timezone", |s| {
        parse_tz(s).map(drop).map_err(|e| e.to_string())
    }),
    ("schedule.default_request_at", |s| {
        LocalTime::parse(s).map(drop).map_err(|e| e.to_string())
    }),
    ("schedule.default_digest_at", |s| {
        LocalTime::parse(s).map(drop).map_err(|e| e.to_string())
    }),
    ("schedule.default_workdays", |s| {
        Workdays::parse(s).map(drop).map_err(|e| e.to_string())
    }),
];

fn remove(v: &mut toml::Value, path: &[String]) {
    let Some((last, dirs)) = path.split_last() else {
        return;
    };
    let mut cur = v;
    for k in dirs {
        let Some(next) = cur.as_table_mut().and_then(|t| t.get_mut(k)) else {
            return;
        };
        cur = next;
    }
    if let Some(t) = cur.as_table_mut() {
        t.remove(last);
    }
}

fn lookup<'a>(v: &'a toml::Value, path: &[String]) -> Option<&'a toml::Value> {
    let mut cur = v;
    for k in path {
        cur = cur.as_table()?.get(k)?;
    }
    Some(cur)
}

fn set(v: &mut toml::Value, path: &[String], new: toml::Value) {
    let mut cur = v;
    for k in &path[..path.len() - 1] {
        let Some(t) = cur.as_table_mut() else { return };
        cur = t
            .entry(k.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    }
    if let (Some(t), Some(last)) = (cur.as_table_mut(), path.last()) {
        t.insert(last.clone(), new);
    }
}
