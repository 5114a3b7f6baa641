#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lore_fuzz::check_loader("records.jsonl", data));
