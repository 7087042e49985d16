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
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(widths.len()) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let render = |cells: Vec<&str>| {
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        line.trim_end().to_string()
    };
    let mut out = render(header.to_vec());
    for row in rows {
        out.push('\n');
        out.push_str(&render(row.iter().map(String::as_str).collect()));
    }
    out
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
            &[
                vec!["a".into(), "Running".into()],
                vec!["long-name".into(), "Pending".into()],
            ],
        );
        assert_eq!(
            t,
            "NAME       STATUS\na          Running\nlong-name  Pending"
        );
    }
}
