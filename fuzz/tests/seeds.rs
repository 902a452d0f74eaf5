//! Replays the committed seed corpus on stable Rust (`cargo test --manifest-path fuzz/Cargo.toml`), so the
//! properties and the hostile seeds are checked without nightly or libFuzzer.

use std::path::Path;

#[test]
fn every_seed_reads_back_exactly() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/quote");
    let mut count = 0;
    for entry in std::fs::read_dir(&seeds).expect("read fuzz/seeds/quote") {
        let path = entry.expect("list fuzz/seeds/quote").path();
        let data = std::fs::read(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
        dbprov_fuzz::check(&data);
        count += 1;
    }
    assert!(
        count >= 10,
        "the seed corpus is missing: {count} files in {}",
        seeds.display()
    );
}
