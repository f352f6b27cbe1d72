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

/// The plugin's allocator: the system one (wasi-libc's dlmalloc), except that memory freed during build-time
/// pre-initialisation is cleared first. Building the default engine frees the rules' parsed JSON (1.3 MB) among the
/// blocks it keeps, and a free block keeps its old bytes: cleared, they are runs of zeros, which preinit.mjs leaves
/// out of the memory snapshot: data section 4.02 -> 3.36 MB, module 4.93 -> 4.28 MB (V8 copies the module once per
/// scan and its data into every instance's memory, at ~3 ms per MB on the bench VM: scans' page faults -300, their
/// time within noise). A relaxed load per free afterwards: single-instance throughput the same (174 vs 176 MB/s).
#[cfg(target_arch = "wasm32")]
mod snapshot_alloc {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Set only while `wasmci_preinit` runs.
    pub static CLEAR_FREED: AtomicBool = AtomicBool::new(false);

    struct Alloc;

    unsafe impl GlobalAlloc for Alloc {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            System.alloc(layout)
        }

        // calloc, not the default alloc + memset: fresh memory needs no clearing (the keyword table, 1.85 MB).
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            System.alloc_zeroed(layout)
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            if CLEAR_FREED.load(Ordering::Relaxed) {
                // Volatile: a plain memset right before free is a dead store to LLVM, and was removed (the data
                // section did not shrink).
                for i in 0..layout.size() {
                    std::ptr::write_volatile(ptr.add(i), 0);
                }
            }
            System.dealloc(ptr, layout)
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            if !CLEAR_FREED.load(Ordering::Relaxed) {
                return System.realloc(ptr, layout, new_size);
            }
            // A realloc that moves the block frees the old one uncleared: move it here instead.
            let new = System.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }

    #[global_allocator]
    static ALLOC: Alloc = Alloc;
}

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
        use std::sync::atomic::Ordering;
        crate::snapshot_alloc::CLEAR_FREED.store(true, Ordering::Relaxed);
        let _ = crate::gitleaks::ids();
        crate::validate::preload();
        let ok = DEFAULT_ENGINE.is_ok();
        // The default engine holds the parsed rules now: their text need not be in the snapshot.
        crate::rules::release_builtin_json();
        crate::snapshot_alloc::CLEAR_FREED.store(false, Ordering::Relaxed);
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
