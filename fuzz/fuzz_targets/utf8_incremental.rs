//! Fuzz target `utf8_incremental`: see `wsproto_fuzz::checks::utf8_incremental` for the input layout and the checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsproto_fuzz::checks::utf8_incremental(data));
