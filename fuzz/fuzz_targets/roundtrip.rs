//! Fuzz target `roundtrip`: see `wsproto_fuzz::checks::roundtrip` for the input layout and the checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsproto_fuzz::checks::roundtrip(data));
