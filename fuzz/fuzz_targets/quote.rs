//! `cargo fuzz run quote`: every input goes through every dialect's quoting and is read back (see
//! `dbprov_fuzz::check`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dbprov_fuzz::check(data));
