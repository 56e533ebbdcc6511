//! Writes the typed target's seed (`dman_fuzz::typed_seed`: a saved
//! `Experiment` as a graph target's input) to the file named by its
//! argument; `make_seeds.py` takes it from there.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args_os().nth(1).ok_or("usage: typed_seed OUT")?;
    let seed = dman_fuzz::typed_seed().ok_or("saving the seed experiment failed")?;
    std::fs::write(out, seed)?;
    Ok(())
}
