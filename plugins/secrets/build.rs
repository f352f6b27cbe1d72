//! Builds the built-in rules from `rules/*.toml` (one file per family, read in name order, so `120-generic.toml`
//! stays last): `rules.toml` is their concatenation (for the example tests), `rules.json` the same rules without
//! their test examples. JSON because parsing 120 KB of TOML was most of a plugin instance's start-up (4 ms natively,
//! far more in wasm before the code is optimised, and the TOML parser then became hot enough for V8 to spend ~200 ms
//! optimising it); serde_json reads the same rules in a fraction of that.
use std::{env, fs, path::Path};

fn main() {
    println!("cargo:rerun-if-changed=rules");
    let mut files: Vec<_> = fs::read_dir("rules")
        .expect("read rules/")
        .map(|e| e.expect("rules/ entry").path())
        .filter(|p| p.extension().map(|x| x == "toml").unwrap_or(false))
        .collect();
    files.sort();
    let mut text = String::new();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let part = fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {}", file.display(), e));
        // Each file must parse alone, so an error names the file (and line) that has it.
        toml::from_str::<toml::Value>(&part).unwrap_or_else(|e| panic!("{}: {}", file.display(), e));
        text.push_str(&part);
        text.push('\n');
    }
    let mut doc: toml::Value = toml::from_str(&text).unwrap_or_else(|e| panic!("rules/*.toml together: {}", e));
    if let Some(rules) = doc.get_mut("rules").and_then(|r| r.as_array_mut()) {
        for rule in rules.iter_mut().filter_map(|r| r.as_table_mut()) {
            rule.remove("examples");
            rule.remove("negatives");
        }
    }
    let out = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).to_path_buf();
    fs::write(out.join("rules.toml"), &text).expect("write rules.toml");
    fs::write(out.join("rules.json"), serde_json::to_string(&doc).expect("rules as JSON")).expect("write rules.json");
}
