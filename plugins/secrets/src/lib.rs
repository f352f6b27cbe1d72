//! wasmci secrets scanner: an Extism plugin (wasm32-wasi) exporting `describe` and `scan`.

pub mod ac;
pub mod config;
pub mod engine;
pub mod examples;
pub mod protocol;
pub mod rules;
pub mod util;
pub mod validate;

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
    /// Buffer reserved by the wasmci host through `wasmci_input_reserve` (fast input path).
    static mut RESERVED: Option<Vec<u8>> = None;

    fn config() -> &'static PluginConfig {
        CONFIG.get_or_init(|| PluginConfig {
            disable: extism::config("disable"),
            severity: extism::config("severity"),
            rules: extism::config("rules"),
            allowlist: extism::config("allowlist"),
            gitleaks_config: extism::config("gitleaks_config"),
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

    /// wasmci fast path: the host asks for a buffer of `len` bytes, memcpys the input into it,
    /// then calls `scan` (which still receives the same bytes as its normal Extism input).
    #[no_mangle]
    pub extern "C" fn wasmci_input_reserve(len: i64) -> i32 {
        if len <= 0 || len > (3u64 << 30) as i64 {
            return 0;
        }
        let len = len as usize;
        let layout = match std::alloc::Layout::from_size_align(len, 8) {
            Ok(l) => l,
            Err(_) => return 0,
        };
        // Not zeroed: the host overwrites every byte before calling `scan` (zeroing costs a
        // full pass over the input). `scan` only uses the buffer when its length matches the input.
        let p = unsafe { std::alloc::alloc(layout) };
        if p.is_null() {
            return 0;
        }
        let v = unsafe { Vec::from_raw_parts(p, len, len) };
        let ptr = v.as_ptr() as usize as i32;
        unsafe {
            RESERVED = Some(v);
        }
        ptr
    }

    fn take_input() -> Vec<u8> {
        let len = extism::input_len();
        let reserved = unsafe { RESERVED.take() };
        match reserved {
            Some(v) if v.len() == len => v,
            _ => extism::read_input(),
        }
    }

    #[no_mangle]
    pub extern "C" fn scan() -> i32 {
        let input = take_input();
        let result = engine().and_then(|e| crate::protocol::run_scan(e, &input, config().mount.as_deref()));
        drop(input);
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
