#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lore_fuzz::check_loader("notes.md", data));
