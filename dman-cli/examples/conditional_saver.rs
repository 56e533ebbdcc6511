//! One side of the conditional-save test (`tests/concurrent.rs`): loads the
//! `config` key of LOCATION with its version, prints `loaded`, waits for a
//! line on its standard input, then saves NAME there only if the key is
//! still at that version, and prints `won` or `conflict`.
//!
//! ```text
//! conditional_saver LOCATION NAME
//! ```

use std::io::{BufRead, Write};

use dman::SaveCondition;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, location, name] = args.as_slice() else {
        return Err("usage: conditional_saver LOCATION NAME".into());
    };
    let repo = dman::open(location)?.with_generator("cache/concurrency");
    let loaded = repo.load_versioned::<String>("config").await?;
    let version = loaded.version.ok_or("the backend has no versions")?;
    println!("loaded {}", loaded.value);
    std::io::stdout().flush()?;
    let mut go = String::new();
    std::io::stdin().lock().read_line(&mut go)?;
    match repo
        .save_if("config", name, SaveCondition::Unchanged(version))
        .await
    {
        Ok(_) => println!("won"),
        Err(dman::Error::Conflict { .. }) => println!("conflict"),
        Err(other) => return Err(other.into()),
    }
    Ok(())
}
