//! The question `clean` and `gc` ask before they delete.

use std::io::{BufRead, IsTerminal, Write};

use crate::Failure;

/// Whether to go on: yes with `--yes`; otherwise the answer of the person
/// at the terminal (`y` or `yes`). Without a terminal to ask on, a refusal:
/// a script that deletes must say so with `--yes`.
pub fn confirm(question: &str, yes: bool) -> Result<bool, Failure> {
    if yes {
        return Ok(true);
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Failure(format!(
            "{question} Not without a terminal to ask on: add --yes to delete, \
             or --dry-run to see what would go"
        )));
    }
    let mut stderr = std::io::stderr();
    write!(stderr, "{question} [y/N] ")?;
    stderr.flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
