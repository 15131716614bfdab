//! Fuzz target `frame_decode_server`: see `wsproto_fuzz::checks::frame_decode_server` for the input layout and the checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsproto_fuzz::checks::frame_decode_server(data));
