//! `release_builtin_json` (the pre-initialised build clears the built-in rules' text once the default engine holds
//! them). Its own test binary: clearing the text in a process whose other tests load the built-in rules would fail
//! them.
use secrets::config::{build_engine, builtin, PluginConfig, DEFAULT_ENGINE};
use secrets::examples::expand;
use secrets::rules::{load_builtin, release_builtin_json};
use secrets::util::Rng;

#[test]
fn the_default_engine_outlives_the_released_text() {
    let before = DEFAULT_ENGINE.as_ref().expect("built-in rules").rules.len();
    assert!(before > 1000);
    release_builtin_json();
    // the text is gone: loading it again is an error, not rules parsed from zeros
    assert!(load_builtin().unwrap_err().contains("released"));
    // what was built from it stays, and engines built later borrow it
    assert_eq!(builtin().unwrap().0.len(), before);
    let tok = expand("%{ghcrc:ghp_}", &mut Rng::new(5));
    let hits = DEFAULT_ENGINE.as_ref().unwrap().scan_file("a.env", format!("GH_TOKEN={}\n", tok).as_bytes());
    assert!(hits.iter().any(|f| f.rule_id == "github-pat"), "{:?}", hits);
    // an engine configured after the release (what an instance with plugin config builds) starts from them too
    let cfg = PluginConfig { disable: Some("github-pat".into()), ..Default::default() };
    let e = build_engine(&cfg).expect("config engine after release");
    assert_eq!(e.rules.len(), before - 1);
}
