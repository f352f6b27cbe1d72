//! wasmci secrets scanner: an Extism plugin (wasm32-wasi) exporting `describe` and `scan`.

pub mod ac;
pub mod config;
pub mod engine;
pub mod examples;
pub mod gitleaks;
pub mod protocol;
pub mod rules;
pub mod util;
pub mod validate;
pub mod verify;

#[cfg(target_arch = "wasm32")]
mod extism;

#[cfg(target_arch = "wasm32")]
mod exports {
    use crate::config::{build_engine, PluginConfig, DEFAULT_ENGINE};
    use crate::engine::Engine;
    use crate::extism;
    use once_cell::sync::OnceCell;

    static CONFIG: OnceCell<PluginConfig> = OnceCell::new();
    static ENGINE: OnceCell<Result<Engine, String>> = OnceCell::new();
    /// `wasmci_input_buffer`'s allocation, kept across calls: a scan reuses it instead of
    /// allocating (and fragmenting) linear memory for every batch.
    static mut BUFFER: Vec<u8> = Vec::new();
    /// Set when the host filled BUFFER for the next call (which then gets an empty Extism input).
    static mut BUFFER_LEN: Option<usize> = None;

    fn config() -> &'static PluginConfig {
        CONFIG.get_or_init(|| PluginConfig {
            disable: extism::config("disable"),
            severity: extism::config("severity"),
            rules: extism::config("rules"),
            allowlist: extism::config("allowlist"),
            gitleaks_config: extism::config("gitleaks_config"),
            gitleaks_config_base: extism::config("gitleaks_config_base"),
            gitlab_ruleset: extism::config("gitlab_ruleset"),
            mount: extism::config("mount"),
        })
    }

    fn engine() -> Result<&'static Engine, String> {
        let cfg = config();
        if cfg.is_default() {
            return DEFAULT_ENGINE.as_ref().map_err(|e| e.clone());
        }
        ENGINE.get_or_init(|| build_engine(cfg)).as_ref().map_err(|e| e.clone())
    }

    /// Build-time pre-initialisation (preinit.mjs, run by build.sh): builds what every instance builds the same way
    /// (the built-in rules, their keyword automaton, the gitleaks id table), so a snapshot of linear memory taken
    /// after this call is the plugin's starting memory. It must not read anything from the host: the plugin config
    /// (CONFIG), the input and the clock belong to the running instance. Returns 1 when the built-in engine built.
    #[no_mangle]
    pub extern "C" fn wasmci_preinit() -> i32 {
        let _ = crate::gitleaks::ids();
        crate::validate::preload();
        let ok = DEFAULT_ENGINE.is_ok();
        // The default engine holds the parsed rules now: their text need not be in the snapshot.
        crate::rules::release_builtin_json();
        ok as i32
    }

    #[no_mangle]
    pub extern "C" fn describe() -> i32 {
        match engine() {
            Ok(e) => {
                extism::set_output(crate::protocol::describe(e).as_bytes());
                0
            }
            Err(msg) => {
                extism::set_error(&msg);
                1
            }
        }
    }

    /// wasmci's fast input path: the host asks for `len` bytes, writes the input (e.g. files read
    /// from disk) straight into them and calls `scan` with an EMPTY Extism input, so the input is
    /// never copied. The buffer stays allocated for the next call; it only grows.
    #[no_mangle]
    pub extern "C" fn wasmci_input_buffer(len: i64) -> i32 {
        if len <= 0 || len > (3u64 << 30) as i64 {
            return 0;
        }
        let len = len as usize;
        unsafe {
            BUFFER_LEN = None;
            let buf = &mut *std::ptr::addr_of_mut!(BUFFER);
            if buf.len() < len {
                let grown = buf.capacity().saturating_add(buf.capacity() / 2);
                // Free the old buffer before allocating the larger one so both never coexist.
                *buf = Vec::new();
                // Not zeroed: the host writes all `len` bytes before `scan` reads them. wasi-libc's calloc cleared
                // every allocation (it has no mmap to know memory is fresh): a profile of `wasmci scan --jobs 2` over
                // node_modules (119 MB) showed 50 ms of memset under this function. Grown by half again at least,
                // so batches that grow by a few bytes do not reallocate each time.
                // (Exactly `len` when the larger size does not fit the instance's memory limit.)
                let mut got = None;
                for size in [len.max(grown.min(3 << 30)), len] {
                    if let Ok(layout) = std::alloc::Layout::array::<u8>(size) {
                        let p = std::alloc::alloc(layout);
                        if !p.is_null() {
                            got = Some((p, size));
                            break;
                        }
                    }
                }
                let (p, size) = match got {
                    Some(x) => x,
                    None => return 0,
                };
                *buf = Vec::from_raw_parts(p, size, size);
            }
            BUFFER_LEN = Some(len);
            buf.as_ptr() as usize as i32
        }
    }

    /// Runs `f` on this call's input: the host-filled buffer, else the Extism input.
    fn with_input<T>(f: impl FnOnce(&[u8]) -> T) -> T {
        let len = extism::input_len();
        unsafe {
            if let (0, Some(n)) = (len, BUFFER_LEN.take()) {
                let buf = &*std::ptr::addr_of!(BUFFER);
                return f(&buf[..n]);
            }
            BUFFER_LEN = None;
        }
        f(&extism::read_input())
    }

    /// The host's http_request, as verify/ needs it: a transfer the host did not complete is status 0 with its
    /// short reason as the body.
    struct HostHttp;
    impl crate::verify::Http for HostHttp {
        fn send(&mut self, req: &crate::verify::Request) -> crate::verify::Response {
            let headers: serde_json::Map<String, serde_json::Value> =
                req.headers.iter().map(|(n, v)| (n.clone(), serde_json::Value::String(v.clone()))).collect();
            let desc = serde_json::json!({ "url": req.url, "method": req.method, "headers": headers });
            let (status, body) = extism::http(desc.to_string().as_bytes(), req.body.map(|b| b.as_bytes()));
            crate::verify::Response { status, body }
        }
    }

    /// Live verification (`wasmci scan --verify`): `{"now","secrets":[{id,rule_id,secret,related}]}` ->
    /// `{"results":[{id,verification,reason?,provider?}]}`.
    #[no_mangle]
    pub extern "C" fn verify() -> i32 {
        match with_input(|input| crate::verify::run(input, &mut HostHttp)) {
            Ok(out) => {
                extism::set_output(out.as_bytes());
                0
            }
            Err(msg) => {
                extism::set_error(&msg);
                1
            }
        }
    }

    #[no_mangle]
    pub extern "C" fn scan() -> i32 {
        let result =
            with_input(|input| engine().and_then(|e| crate::protocol::run_scan(e, input, config().mount.as_deref())));
        match result {
            Ok(out) => {
                extism::set_output(out.as_bytes());
                0
            }
            Err(msg) => {
                extism::set_error(&msg);
                1
            }
        }
    }
}
