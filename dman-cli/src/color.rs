//! Syntax colouring of JSON for terminals (keys, strings, numbers,
//! literals), written by hand: a few ANSI codes need no dependency.

const KEY: &str = "\x1b[1;34m";
const STRING: &str = "\x1b[32m";
const NUMBER: &str = "\x1b[36m";
const LITERAL: &str = "\x1b[35m";
const RESET: &str = "\x1b[0m";

/// Colours JSON text; the text is not parsed, only scanned, so partial
/// lines (inside a tree's boxes) colour too.
pub fn colorize_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            let end = (i + 1).min(chars.len());
            let s: String = chars[start..end].iter().collect();
            let mut j = end;
            while j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            let colour = if j < chars.len() && chars[j] == ':' {
                KEY
            } else {
                STRING
            };
            out.push_str(colour);
            out.push_str(&s);
            out.push_str(RESET);
            i = end;
        } else if c == '-' || c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "+-.".contains(chars[i]))
            {
                i += 1;
            }
            out.push_str(NUMBER);
            out.extend(&chars[start..i]);
            out.push_str(RESET);
        } else if let Some(word) = ["true", "false", "null", "NaN", "Infinity"]
            .iter()
            .find(|w| chars[i..].starts_with(&w.chars().collect::<Vec<_>>()))
        {
            out.push_str(LITERAL);
            out.push_str(word);
            out.push_str(RESET);
            i += word.len();
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Colours the JSON inside a tree's content boxes, leaving the tree alone.
pub fn colorize_tree(text: &str) -> String {
    text.lines()
        .map(|line| match (line.find("│ "), line.rfind('│')) {
            (Some(a), Some(b)) if b > a => {
                let inner = &line[a + "│ ".len()..b];
                format!("{}│ {}│", &line[..a], colorize_json(inner))
            }
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_get_different_colours() {
        let c = colorize_json(r#"{"seed": 1000, "name": "x", "ok": true}"#);
        assert!(c.contains(&format!("{KEY}\"seed\"{RESET}")));
        assert!(c.contains(&format!("{NUMBER}1000{RESET}")));
        assert!(c.contains(&format!("{STRING}\"x\"{RESET}")));
        assert!(c.contains(&format!("{LITERAL}true{RESET}")));
    }
}
