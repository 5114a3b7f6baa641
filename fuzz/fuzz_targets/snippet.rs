#![no_main]

//! Snippets and their highlights over arbitrary text: the input's first line is the query, the
//! rest the chunk. No window may panic, and every snippet is the chunk's own bytes at its
//! range, with its highlights inside it on character boundaries, and renders.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let (query, text) = input.split_once('\n').unwrap_or((input, input));
    let terms = lore::internals::snippet::query_terms(query);
    // The tokens search gives snippets: the analysed words that may match a query term.
    {
        let tokens = lore::internals::lexical::analyze_for(text, &terms);
        let s = lore::internals::snippet::best_window(text, &tokens, &terms);
        let [a, b] = s.chunk_range;
        assert_eq!(text.get(a..b), Some(s.text.as_str()), "the snippet is its range");
        let mut at = 0;
        for &[h0, h1] in &s.highlights {
            assert!(at <= h0 && h0 < h1 && h1 <= s.text.len());
            assert!(s.text.is_char_boundary(h0) && s.text.is_char_boundary(h1));
            at = h1;
        }
        let _ = s.render("<b>", "</b>", text.len());
    }
});
