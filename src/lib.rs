//! Tidings: asynchronous stand-ups by email. One crate; dependencies point one way:
//! `domain` ← `store` / `render` / `mail` ← `jobs` ← `web` ← `app` ← `cli`.

pub mod app;
pub mod cli;
pub mod config;
pub mod dbcopy;
pub mod demo;
pub mod doctor;
pub mod domain;
pub mod import;
pub mod jobs;
pub mod mail;
pub mod render;
pub mod store;
pub mod telemetry;
pub mod web;
