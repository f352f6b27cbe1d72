//! A hand-written minimal Extism guest ABI (no extism-pdk crate is available offline).

#[link(wasm_import_module = "extism:host/env")]
extern "C" {
    fn input_length() -> i64;
    fn input_load_u8(offs: i64) -> i32;
    fn input_load_u64(offs: i64) -> i64;
    fn alloc(len: i64) -> i64;
    fn free(offs: i64);
    fn length(offs: i64) -> i64;
    fn load_u8(offs: i64) -> i32;
    fn load_u64(offs: i64) -> i64;
    fn store_u8(offs: i64, v: i32);
    fn store_u64(offs: i64, v: i64);
    fn output_set(offs: i64, len: i64);
    fn error_set(offs: i64);
    fn config_get(offs: i64) -> i64;
    fn log_info(offs: i64);
    fn log_debug(offs: i64);
    fn log_warn(offs: i64);
    fn log_error(offs: i64);
    fn http_request(req: i64, body: i64) -> i64;
    fn http_status_code() -> i32;
}

/// One http_request: the request description (JSON) and optional body -> (status, body). Status 0: not completed.
pub fn http(desc: &[u8], body: Option<&[u8]>) -> (u16, Vec<u8>) {
    let d = store_block(desc);
    let b = body.map(store_block).unwrap_or(0);
    let r = unsafe { http_request(d, b) };
    unsafe {
        free(d);
        if b != 0 {
            free(b);
        }
    }
    let status = unsafe { http_status_code() }.clamp(0, 999) as u16;
    let out = if r == 0 { Vec::new() } else { let v = load_block(r); unsafe { free(r) }; v };
    (status, out)
}

/// Copies bytes into a newly allocated Extism memory block; returns its offset.
pub fn store_block(data: &[u8]) -> i64 {
    unsafe {
        let offs = alloc(data.len() as i64);
        if offs == 0 && !data.is_empty() {
            return 0;
        }
        let mut i = 0usize;
        while i + 8 <= data.len() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&data[i..i + 8]);
            store_u64(offs + i as i64, i64::from_le_bytes(w));
            i += 8;
        }
        while i < data.len() {
            store_u8(offs + i as i64, data[i] as i32);
            i += 1;
        }
        offs
    }
}

/// Reads an Extism memory block.
pub fn load_block(offs: i64) -> Vec<u8> {
    unsafe {
        let len = length(offs) as usize;
        let mut out = vec![0u8; len];
        let mut i = 0usize;
        while i + 8 <= len {
            let v = load_u64(offs + i as i64);
            out[i..i + 8].copy_from_slice(&v.to_le_bytes());
            i += 8;
        }
        while i < len {
            out[i] = load_u8(offs + i as i64) as u8;
            i += 1;
        }
        out
    }
}

pub fn input_len() -> usize {
    unsafe { input_length() as usize }
}

/// Reads the call input through the standard (slow) Extism input functions.
pub fn read_input() -> Vec<u8> {
    unsafe {
        let len = input_length() as usize;
        let mut out = vec![0u8; len];
        let mut i = 0usize;
        while i + 8 <= len {
            let v = input_load_u64(i as i64);
            out[i..i + 8].copy_from_slice(&v.to_le_bytes());
            i += 8;
        }
        while i < len {
            out[i] = input_load_u8(i as i64) as u8;
            i += 1;
        }
        out
    }
}

pub fn set_output(data: &[u8]) {
    let offs = store_block(data);
    unsafe { output_set(offs, data.len() as i64) }
}

pub fn set_error(msg: &str) {
    let offs = store_block(msg.as_bytes());
    unsafe { error_set(offs) }
}

pub fn config(key: &str) -> Option<String> {
    let k = store_block(key.as_bytes());
    let v = unsafe { config_get(k) };
    unsafe { free(k) };
    if v == 0 {
        return None;
    }
    let bytes = load_block(v);
    unsafe { free(v) };
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

#[allow(dead_code)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

#[allow(dead_code)]
pub fn log(level: Level, msg: &str) {
    let offs = store_block(msg.as_bytes());
    unsafe {
        match level {
            Level::Debug => log_debug(offs),
            Level::Info => log_info(offs),
            Level::Warn => log_warn(offs),
            Level::Error => log_error(offs),
        }
        free(offs);
    }
}
