//! Reply extraction in every input format, and the out-of-office date finder, on arbitrary
//! bytes: they must return, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings::mail::extract::{Format, extract};

fuzz_target!(|data: &[u8]| {
    for f in [Format::Auto, Format::Eml, Format::Text, Format::Html] {
        let _ = extract(data, f);
    }
    if let Some(sent) = chrono::NaiveDate::from_ymd_opt(2026, 12, 1) {
        let _ = tidings::mail::ooo::away_until(&String::from_utf8_lossy(data), sent);
    }
});
