//! Fuzz target `frame_decode_client`: see `wsproto_fuzz::checks::frame_decode_client` for the input layout and the checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsproto_fuzz::checks::frame_decode_client(data));
