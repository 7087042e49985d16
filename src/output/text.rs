//! Small text helpers for summaries: clipping on character boundaries and aligned tables.

/// Clips `text` to at most `max` bytes on a character boundary, saying how much was cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let note = format!("… [{} more bytes cut]", text.len());
    let mut end = max.saturating_sub(note.len());
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{}", &text[..end], note)
}

/// Renders rows as a left-aligned table with a header, two spaces between columns.
pub fn table<S: AsRef<str>>(header: &[&str], rows: &[Vec<S>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(widths.len()) {
            widths[i] = widths[i].max(cell.as_ref().chars().count());
        }
    }
    let line_width = widths.iter().map(|w| w + 2).sum::<usize>();
    let mut out = String::with_capacity(line_width * (rows.len() + 1));
    push_line(&mut out, header.iter().copied(), &widths);
    for row in rows {
        out.push('\n');
        push_line(&mut out, row.iter().map(AsRef::as_ref), &widths);
    }
    out
}

/// Appends one table line: each cell but the last padded to its column's width (in characters)
/// plus two spaces, trailing whitespace trimmed.
fn push_line<'a>(
    out: &mut String,
    cells: impl ExactSizeIterator<Item = &'a str>,
    widths: &[usize],
) {
    let start = out.len();
    let last = cells.len().saturating_sub(1);
    for (i, cell) in cells.enumerate() {
        out.push_str(cell);
        if i < last {
            let pad = widths[i].saturating_sub(cell.chars().count()) + 2;
            out.extend(std::iter::repeat_n(' ', pad));
        }
    }
    let kept = out[start..].trim_end().len();
    out.truncate(start + kept);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_respects_char_boundaries() {
        let s = "é".repeat(100);
        let c = clip(&s, 51);
        assert!(c.len() <= 51 + 40);
        assert!(c.contains("more bytes cut"));
        assert_eq!(clip("short", 10), "short");
    }

    #[test]
    fn table_aligns() {
        let t = table(
            &["NAME", "STATUS"],
            &[vec!["a", "Running"], vec!["long-name", "Pending"]],
        );
        assert_eq!(
            t,
            "NAME       STATUS\na          Running\nlong-name  Pending"
        );
    }

    #[test]
    fn table_pads_by_characters_and_trims_empty_trailing_cells() {
        let t = table(
            &["NAME", "NODE", "AGE"],
            &[vec!["é", "", ""], vec!["pod-a", "n1", "5m"]],
        );
        assert_eq!(t, "NAME   NODE  AGE\né\npod-a  n1    5m");
    }
}
