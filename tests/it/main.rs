//! The integration suite: real SQLite files and real PostgreSQL databases (one fresh database
//! per test), the real binary for CLI tests. Tests that need a backend come in pairs,
//! `…_sqlite` and `…_postgres`; PostgreSQL tests never skip (the harness starts a server).

#[path = "../support/mod.rs"]
mod support;
use support::rig;

mod helpers;

mod activity;
mod activity_api;
mod admin;
mod api_rules;
mod architecture;
mod browser;
mod calendar;
mod calendar_api;
mod calendar_cli;
mod calendar_rrule_prop;
mod calendar_sync;
mod chat_limits;
mod chat_matrix;
mod chat_rooms;
mod checkin_admin;
mod checkin_answers;
mod checkin_cli;
mod checkin_migration;
mod checkin_own;
mod checkins;
mod cli;
mod dbcopy;
mod docs;
mod emails;
mod fetch;
mod flow;
mod golden;
mod hardening;
mod ingest;
mod log;
mod mail_edges;
mod malformed;
mod oidc;
mod ops;
mod pages;
mod prefs_webdriver;
mod security;
mod shaping;
mod spam;
mod store;
mod trust;
mod web;
mod web_guard;
mod webhook_cli;
mod webhooks;
mod zones;
