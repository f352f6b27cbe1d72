//! Embeds the built-in rules as JSON without their test examples: parsing 120 KB of TOML was most of a plugin
//! instance's start-up (4 ms natively, far more in wasm before the code is optimised, and the TOML parser then
//! became hot enough for V8 to spend ~200 ms optimising it). serde_json reads the same rules in a fraction of that.
use std::{env, fs, path::Path};

fn main() {
    println!("cargo:rerun-if-changed=rules/rules.toml");
    let text = fs::read_to_string("rules/rules.toml").expect("read rules/rules.toml");
    let mut doc: toml::Value = toml::from_str(&text).unwrap_or_else(|e| panic!("rules/rules.toml: {}", e));
    if let Some(rules) = doc.get_mut("rules").and_then(|r| r.as_array_mut()) {
        for rule in rules.iter_mut().filter_map(|r| r.as_table_mut()) {
            rule.remove("examples");
            rule.remove("negatives");
        }
    }
    let out = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("rules.json");
    fs::write(out, serde_json::to_string(&doc).expect("rules as JSON")).expect("write rules.json");
}
