//! The command line's values: parsers for its numbers (a count is at least 1 in every
//! command, a weight lies between 0 and 1, a constant is above 0), and [`Usage`], the error of
//! options that do not go together. Either is a usage error (exit 2) naming the option; the
//! numbers' are reported by clap before any work starts.

use clap::builder::{TypedValueParser, ValueParser};

/// Options given that do not go together, or one missing that another needs: exit 2.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// A [`Usage`] error, for `return Err(usage(..))`.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    Usage(message.into()).into()
}

/// A count: a whole number of at least 1 (`-k`, `--budget`, `--candidates`, `--depth`).
pub fn count() -> ValueParser {
    ValueParser::new(clap::builder::StringValueParser::new().try_map(|text| {
        match text.trim().parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n),
            Ok(_) => Err("a count must be at least 1".to_string()),
            Err(_) => Err(format!("`{text}` is not a whole number of at least 1")),
        }
    }))
}

/// A weight from 0 to 1.
pub fn weight() -> ValueParser {
    ValueParser::new(clap::builder::StringValueParser::new().try_map(|text| {
        let value = number(&text)?;
        if (0.0..=1.0).contains(&value) {
            Ok(value as f32)
        } else {
            Err(format!("{value} is not a weight from 0 to 1"))
        }
    }))
}

/// A number above 0.
pub fn positive() -> ValueParser {
    ValueParser::new(clap::builder::StringValueParser::new().try_map(above_zero))
}

/// A number above 0, as `f32`.
pub fn positive_f32() -> ValueParser {
    ValueParser::new(
        clap::builder::StringValueParser::new().try_map(|text| above_zero(text).map(|v| v as f32)),
    )
}

fn above_zero(text: String) -> Result<f64, String> {
    let value = number(&text)?;
    if value > 0.0 {
        Ok(value)
    } else {
        Err(format!("{value} is not above 0"))
    }
}

fn number(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("`{text}` is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, Command};

    fn parse(parser: ValueParser, value: &str) -> Result<clap::ArgMatches, clap::Error> {
        Command::new("t")
            .arg(
                Arg::new("v")
                    .long("v")
                    .allow_negative_numbers(true)
                    .value_parser(parser),
            )
            .try_get_matches_from(["t", "--v", value])
    }

    #[test]
    fn counts_start_at_one() {
        assert_eq!(
            *parse(count(), "3").unwrap().get_one::<usize>("v").unwrap(),
            3
        );
        for bad in ["0", "-1", "x", "1.5"] {
            let e = parse(count(), bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn weights_lie_between_zero_and_one() {
        assert_eq!(
            *parse(weight(), "0.25")
                .unwrap()
                .get_one::<f32>("v")
                .unwrap(),
            0.25
        );
        for good in ["0", "1"] {
            assert!(parse(weight(), good).is_ok(), "{good}");
        }
        for bad in ["7", "-0.1", "NaN", "inf", "x"] {
            let e = parse(weight(), bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.to_string().contains("--v"), "{e}");
        }
    }

    #[test]
    fn positives_are_above_zero() {
        assert!(parse(positive(), "60").is_ok());
        assert_eq!(
            *parse(positive_f32(), "60")
                .unwrap()
                .get_one::<f32>("v")
                .unwrap(),
            60.0
        );
        for bad in ["0", "-3", "NaN"] {
            assert!(parse(positive(), bad).is_err(), "{bad}");
        }
    }
}
