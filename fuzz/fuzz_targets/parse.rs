//! `mail::parse::parse` on arbitrary bytes: it must return, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tidings::mail::parse::parse(data);
    let _ = tidings::mail::parse::message_id_of(data);
});
