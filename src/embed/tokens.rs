//! Counting tokens the way the model does: the `tokenizer.json` of a model directory, through
//! the `tokenizers` crate, with no special tokens, no truncation and no padding.
//!
//! A token budget (see [`Index::context`](crate::Index::context)) is only worth something if it
//! is counted with the tokenizer of the model that reads the text; an estimate would overrun it.
//!
//! **A count covers every printed character.** The tokenizer alone does not: BERT's WordPiece
//! maps a word it cannot split (longer than 100 characters, or holding a character outside its
//! vocabulary, as most emoji are) to one `[UNK]` token however long the word is, and its
//! normalizer drops control and format characters (`ESC`, `NUL`, `DEL`, zero-width joiners,
//! direction overrides), combining marks and whitespace without a trace. Counted raw, a 60 KB
//! one-word question is one token. So [`TokenCounter::count`] adds to the tokenizer's count,
//! from each token's byte span in the text (its offsets):
//!
//! - **an unknown token counts one token per character it stands for**, and any other token one
//!   more per character its span holds beyond the characters of its piece (the marks stripped
//!   from `Z̷a̸`, a `NUL` inside a word). One a character is the most this tokenizer ever spends
//!   on text it can read: a WordPiece piece holds at least one character, and scripts it knows
//!   only letter by letter come out at about that (measured on the shipped model: Chinese 1.0
//!   token a character, Cyrillic 0.84, Devanagari 0.72, Arabic 0.79, English prose 0.21);
//! - **a character that no token covers counts one token**, unless it is whitespace;
//! - **whitespace counts one token per [`WHITESPACE_PER_TOKEN`] characters of a run** (rounded
//!   down, line breaks and the spaces between them apart), so the single spaces, line breaks and
//!   short indents of ordinary text stay free and a 100 KB run of blanks does not.
//!
//! For text the tokenizer reads whole — ordinary prose in the scripts it knows — the count is
//! exactly the tokenizer's. For any text it is at least the tokenizer's, and it grows with the
//! length of every part the tokenizer drops or collapses, so a budget bounds what is printed.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tokenizers::models::ModelWrapper;
use tokenizers::Tokenizer;

use crate::embed::{model_id_in, MINILM_MODEL_ID};
use crate::error::{Error, Result};
use crate::model::content_hash_bytes;

/// Which tokenizer counted: enough to say so in an output and to check it later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenizerInfo {
    /// The model the tokenizer belongs to (`all-MiniLM-L6-v2` for the shipped model, else the
    /// model's id).
    pub model: String,
    /// The tokenization algorithm (`WordPiece`, `BPE`, `Unigram` or `WordLevel`).
    pub algorithm: String,
    /// SHA-256 (hex) of the `tokenizer.json` file.
    pub sha256: String,
}

impl TokenizerInfo {
    /// One line for people: `all-MiniLM-L6-v2 WordPiece tokenizer, tokenizer.json sha256
    /// 01234567…`.
    pub fn describe(&self) -> String {
        format!(
            "{} {} tokenizer, tokenizer.json sha256 {}…",
            self.model,
            self.algorithm,
            &self.sha256[..self.sha256.len().min(8)]
        )
    }
}

/// Characters of a whitespace run that count as one token (see the module guide): fewer are
/// free, as the gaps between words are.
pub const WHITESPACE_PER_TOKEN: usize = 8;

/// A model's tokenizer, loaded once, that counts the tokens of a text (every printed character
/// counted: see the module guide).
pub struct TokenCounter {
    tokenizer: Tokenizer,
    info: TokenizerInfo,
    /// The id of the model's unknown token, when the model has one.
    unknown: Option<u32>,
    /// What starts a piece that continues a word (`##` in WordPiece): not a printed character.
    continuing_prefix: Option<String>,
}

impl std::fmt::Debug for TokenCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCounter")
            .field("info", &self.info)
            .finish()
    }
}

impl TokenCounter {
    /// Load `dir/tokenizer.json`; fails with [`UserError::ModelMissing`](crate::UserError::ModelMissing)
    /// when it is missing or does not parse.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join("tokenizer.json");
        if !path.is_file() {
            return Err(Error::model_missing(
                dir,
                format!("{} is missing", path.display()),
            ));
        }
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let mut tokenizer = Tokenizer::from_bytes(&bytes).map_err(|e| {
            Error::model_missing(dir, format!("{} does not load: {e}", path.display()))
        })?;
        // The file may ask for truncation and padding (to the model's input length): a count
        // must see every token and nothing more.
        tokenizer
            .with_truncation(None)
            .map_err(|e| Error::bug(format!("cannot turn truncation off: {e}")))?;
        tokenizer.with_padding(None);
        let (algorithm, unknown, continuing_prefix) = match tokenizer.get_model() {
            ModelWrapper::BPE(m) => (
                "BPE",
                m.get_unk_token().clone(),
                m.get_continuing_subword_prefix().clone(),
            ),
            ModelWrapper::WordPiece(m) => (
                "WordPiece",
                Some(m.unk_token.clone()),
                Some(m.continuing_subword_prefix.clone()),
            ),
            ModelWrapper::WordLevel(m) => ("WordLevel", Some(m.unk_token.clone()), None),
            // Its unknown id is not public: an unknown piece counts by the length of its text
            // like any other, less the five characters of `<unk>`.
            ModelWrapper::Unigram(_) => ("Unigram", None, None),
        };
        let unknown = unknown.and_then(|t| tokenizer.token_to_id(&t));
        let continuing_prefix = continuing_prefix.filter(|p| !p.is_empty());
        let model = match model_id_in(dir) {
            Ok(id) if id == MINILM_MODEL_ID => "all-MiniLM-L6-v2".to_string(),
            Ok(id) => id,
            Err(_) => "unknown model".to_string(),
        };
        Ok(TokenCounter {
            tokenizer,
            unknown,
            continuing_prefix,
            info: TokenizerInfo {
                model,
                algorithm: algorithm.to_string(),
                sha256: content_hash_bytes(&bytes),
            },
        })
    }

    /// Which tokenizer this is.
    pub fn info(&self) -> &TokenizerInfo {
        &self.info
    }

    /// The number of tokens of `text` as printed (no special tokens added, nothing truncated):
    /// the tokenizer's count, plus what it does not count of the characters it drops or
    /// collapses (see the module guide). Never less than the tokenizer's own count.
    pub fn count(&self, text: &str) -> Result<usize> {
        let encoding = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| Error::embedding(format!("the tokenizer failed: {e}")))?;
        let mut total = 0;
        // Bytes of `text` accounted for so far: every character is counted once, by the token
        // whose span first holds it or as a dropped character.
        let mut covered = 0;
        for ((&id, piece), &(start, end)) in encoding
            .get_ids()
            .iter()
            .zip(encoding.get_tokens())
            .zip(encoding.get_offsets())
        {
            let start = floor_char_boundary(text, start.max(covered));
            let end = ceil_char_boundary(text, end).max(start);
            if start > covered {
                total += dropped_tokens(&text[covered..start]);
            }
            let span_chars = text[start..end].chars().count();
            let piece_chars = if Some(id) == self.unknown {
                0
            } else {
                let piece = match &self.continuing_prefix {
                    Some(prefix) => piece.strip_prefix(prefix.as_str()).unwrap_or(piece),
                    None => piece,
                };
                piece.chars().count()
            };
            total += 1 + span_chars.saturating_sub(piece_chars.max(1));
            covered = covered.max(end);
        }
        if covered < text.len() {
            total += dropped_tokens(&text[covered..]);
        }
        Ok(total)
    }
}

/// Tokens of text no token covers (see the module guide): one a character, whitespace apart.
fn dropped_tokens(text: &str) -> usize {
    let (mut total, mut blanks, mut breaks) = (0, 0, 0);
    for c in text.chars() {
        if c == '\n' {
            total += blanks / WHITESPACE_PER_TOKEN;
            blanks = 0;
            breaks += 1;
        } else if c.is_whitespace() {
            blanks += 1;
        } else {
            total += 1 + blanks / WHITESPACE_PER_TOKEN + breaks / WHITESPACE_PER_TOKEN;
            (blanks, breaks) = (0, 0);
        }
    }
    total + blanks / WHITESPACE_PER_TOKEN + breaks / WHITESPACE_PER_TOKEN
}

/// Tokens of the line breaks of `text` alone: what [`TokenCounter::count`] adds to the counts
/// of its lines (split at `\n`, the breaks left out) for the whole, when no token spans a line
/// break (true of every tokenizer that splits at whitespace first, as WordPiece does).
pub(crate) fn line_break_tokens(text: &str) -> usize {
    let (mut total, mut breaks) = (0, 0);
    for c in text.chars() {
        if c == '\n' {
            breaks += 1;
        } else if !c.is_whitespace() {
            total += breaks / WHITESPACE_PER_TOKEN;
            breaks = 0;
        }
    }
    total + breaks / WHITESPACE_PER_TOKEN
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_char_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tokenizer_is_a_missing_model() {
        let dir = tempfile::tempdir().unwrap();
        let err = TokenCounter::load(dir.path()).unwrap_err();
        assert!(
            matches!(err, Error::User(crate::UserError::ModelMissing { .. })),
            "{err}"
        );
        assert!(err.to_string().contains("tokenizer.json is missing"));
    }

    fn counter() -> TokenCounter {
        TokenCounter::load(&crate::embed::resolve_model_dir(None))
            .expect("the model's tokenizer (run scripts/fetch-model.sh)")
    }

    /// The tokenizer's own count: its pieces.
    fn pieces(counter: &TokenCounter, text: &str) -> usize {
        counter.tokenizer.encode_fast(text, false).unwrap().len()
    }

    #[test]
    fn text_the_tokenizer_reads_whole_counts_as_it_does() {
        let counter = counter();
        for text in [
            "The billing reconciliation job runs every night at 02:00 UTC.",
            "## Décision: \"Raise\" it to $75K\n\n- x/y#3 (café, 東京) — ok…\tend",
            "Оплата счетов переносится на первый рабочий день месяца.",
            "تم نقل تسوية الفواتير إلى أول يوم عمل من كل شهر",
            "会定月一日。",
            "```\nfn main() {\n    println!(\"hi\");\n}\n```\n\n1. one\r\n2. two",
            "Rechtsschutzversicherungsgesellschaften internationalization",
        ] {
            assert_eq!(
                counter.count(text).unwrap(),
                pieces(&counter, text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn what_the_tokenizer_drops_or_collapses_is_counted() {
        let counter = counter();
        let count = |text: &str| counter.count(text).unwrap();
        // One `[UNK]` to the tokenizer, one token a character here.
        let word = "a".repeat(60_000);
        assert_eq!(pieces(&counter, &word), 1);
        assert_eq!(count(&word), 60_000);
        let family = "👨\u{200d}👩\u{200d}👧\u{200d}👦";
        assert_eq!(pieces(&counter, family), 1);
        assert_eq!(count(family), 7);
        // Control and format characters: dropped by the normalizer, one token each here.
        let controls = "\u{1b}\u{0}\u{7f}\u{200b}\u{200d}\u{202e}\u{feff}".repeat(100);
        assert_eq!(pieces(&counter, &controls), 0);
        assert_eq!(count(&controls), 700);
        assert_eq!(
            count("a\u{1b}[31mred"),
            pieces(&counter, "a\u{1b}[31mred") + 1
        );
        assert_eq!(count("nul\u{0}y"), pieces(&counter, "nul\u{0}y") + 1);
        // Marks the normalizer strips: one each.
        let zalgo = "Z\u{337}\u{322}\u{31b}a\u{338}l\u{335}g\u{336}o\u{337}";
        assert_eq!(count(zalgo), pieces(&counter, zalgo) + 7);
        // Whitespace: one token per WHITESPACE_PER_TOKEN characters of a run, line breaks
        // and the blanks between them apart.
        assert_eq!(count(&format!("a{}b", " ".repeat(100_000))), 2 + 12_500);
        assert_eq!(count(&format!("a{}b", "\n".repeat(80))), 2 + 10);
        assert_eq!(count(&format!("a{}b", "\r".repeat(16))), 2 + 2);
        assert_eq!(count("a\n\n       b"), 2);
        assert_eq!(count(""), 0);
    }

    /// SplitMix64: a small seeded generator, so a failing case comes back on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }
    }

    /// Hostile text: scripts, emoji, controls, marks, long words and whitespace runs.
    fn hostile(rng: &mut Rng) -> String {
        let parts = [
            "reconciliation",
            "the",
            "$75K,",
            "東京",
            "会议决定",
            "Оплата",
            "تسوية",
            "कार्यदिवस",
            "👨\u{200d}👩\u{200d}👧\u{200d}👦",
            "👍🏽",
            "👩🏽\u{200d}💻",
            "\u{1b}[31m",
            "\u{0}",
            "\u{7f}",
            "\u{200b}",
            "\u{200d}",
            "\u{202e}",
            "\u{2066}",
            "\u{feff}",
            "Z\u{337}\u{322}a\u{338}",
            "e\u{301}\u{301}\u{301}",
            " ",
            "\t",
            "\r",
            "\n",
            "\r\n",
            "\u{3000}",
            "\u{2028}",
            "\u{85}",
            "\u{b}\u{c}",
            "\"",
            "\\",
            "[…]",
        ];
        let mut text = String::new();
        for _ in 0..rng.below(40) {
            match rng.below(12) {
                0 => {
                    let unit = rng.pick(&["a", "é", "界", "😀", "\u{1b}", "ab1", " ", "\n"]);
                    text.push_str(&unit.repeat(1 + rng.below(400)));
                }
                _ => text.push_str(rng.pick(&parts)),
            }
        }
        text
    }

    #[test]
    fn a_count_is_never_below_the_tokenizers_and_grows_with_what_is_printed() {
        let counter = counter();
        // The longest piece of the vocabulary: the most characters one token may stand for.
        let longest = counter
            .tokenizer
            .get_vocab(false)
            .keys()
            .map(|p| p.trim_start_matches("##").chars().count())
            .max()
            .unwrap();
        let mut rng = Rng(18);
        for case in 0..400 {
            let text = hostile(&mut rng);
            let n = counter.count(&text).unwrap();
            assert!(n >= pieces(&counter, &text), "case {case}: {text:?}");
            // A token stands for at most its piece and the whitespace left free around it.
            let free = (WHITESPACE_PER_TOKEN - 1) * (WHITESPACE_PER_TOKEN + 1);
            assert!(
                text.chars().count() <= (longest + free) * (n + 1),
                "case {case}: {n} tokens for {} characters: {text:?}",
                text.chars().count()
            );
            // Anything printed more counts more.
            for more in [" \u{1b}", " 👍🏽", "\u{200b}", " x"] {
                let longer = format!("{text}{more}");
                assert!(
                    counter.count(&longer).unwrap() > n,
                    "case {case}: {longer:?}"
                );
            }
            // The line by line sum the context packer relies on.
            let by_lines: usize = text
                .split('\n')
                .filter(|l| !l.is_empty())
                .map(|l| counter.count(l).unwrap())
                .sum::<usize>()
                + line_break_tokens(&text);
            assert_eq!(by_lines, n, "case {case}: {text:?}");
        }
    }
}
