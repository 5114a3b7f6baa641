#![no_main]

//! The query side of user input: `--filter KEY=VALUE` specs, dates, and query text through the
//! analyzer and the term extraction snippets use. None may panic.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = lore::parse_filter(text);
    let _ = text.parse::<lore::Date>();
    let tokens = lore::internals::lexical::query_tokens(text);
    for t in &tokens {
        assert!(
            text.get(t.range.clone()).is_some(),
            "a token's range lies in the text"
        );
    }
    let terms = lore::internals::snippet::query_terms(text);
    let _ = lore::internals::lexical::analyze_for(text, &terms);
});
