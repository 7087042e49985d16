//! Kubernetes resource quantities (`500m`, `1.5Gi`, `2e3`) as plain numbers, for comparing
//! quota use with quota limits.

/// The value of a quantity in base units (cores, bytes, counts), or `None` if it is not one.
pub fn parse_quantity(text: &str) -> Option<f64> {
    let s = text.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '+' | '-')))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let base: f64 = number.parse().ok()?;
    let value = base * multiplier(suffix)?;
    value.is_finite().then_some(value)
}

fn multiplier(suffix: &str) -> Option<f64> {
    let binary = |p: i32| Some(1024f64.powi(p));
    let decimal = |p: i32| Some(10f64.powi(p));
    match suffix {
        "" => Some(1.0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(1),
        "Mi" => binary(2),
        "Gi" => binary(3),
        "Ti" => binary(4),
        "Pi" => binary(5),
        "Ei" => binary(6),
        exp if exp.starts_with(['e', 'E']) => decimal(exp[1..].parse().ok()?),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_suffix_kind() {
        let cases = [
            ("500m", 0.5),
            ("2", 2.0),
            ("1.5Gi", 1.5 * 1024f64.powi(3)),
            ("128974848", 128_974_848.0),
            ("129M", 129e6),
            ("1E", 1e18),
            ("2e3", 2000.0),
            ("10Ki", 10240.0),
        ];
        for (text, want) in cases {
            assert_eq!(parse_quantity(text), Some(want), "{text}");
        }
    }

    #[test]
    fn rejects_junk() {
        for text in ["", "Gi", "1.2.3", "5 apples", "1e999", "1ex"] {
            assert_eq!(parse_quantity(text), None, "{text}");
        }
    }
}
