//! Native throughput benchmark: cargo run --release --features bench --example bench -- <dir> [cap_mb] [--findings]
use secrets::config::DEFAULT_ENGINE;
use secrets::engine::FileRef;
use std::time::Instant;

fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>, budget: &mut u64) {
    let rd = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(_) => return,
    };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        if *budget == 0 {
            return;
        }
        let ft = match e.file_type() {
            Ok(t) => t,
            Err(_) => continue,
        };
        let p = e.path();
        if ft.is_dir() {
            walk(&p, out, budget);
        } else if ft.is_file() {
            let len = e.metadata().map(|m| m.len()).unwrap_or(0);
            if len == 0 || len > 20 << 20 {
                continue;
            }
            *budget = budget.saturating_sub(len);
            out.push(p);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).cloned().unwrap_or_else(|| "/work/main/node_modules".into());
    let cap: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200);
    let show = args.iter().any(|a| a == "--findings");
    if args.get(1).map(|a| a == "--compile-costs").unwrap_or(false) {
        // --compile-costs [N [DIR]]: what compiling each built-in regex costs (every plugin instance pays it on first use)
        // With a directory after the count: only the regexes a scan of that directory compiles.
        let engine = DEFAULT_ENGINE.as_ref().unwrap();
        if let Some(dir) = args.get(3) {
            let mut paths = Vec::new();
            walk(std::path::Path::new(dir), &mut paths, &mut u64::MAX.clone());
            for p in &paths {
                if let Ok(d) = std::fs::read(p) {
                    engine.scan_file(&p.to_string_lossy(), &d);
                }
            }
        }
        let mut costs: Vec<(f64, &str, &str)> = Vec::new();
        for r in &engine.rules {
            if let Some(re) = r.regex.as_ref().filter(|re| args.len() < 4 || re.is_compiled()) {
                let t = Instant::now();
                for _ in 0..5 {
                    regex::bytes::RegexBuilder::new(re.source()).size_limit(32 << 20).build().expect("regex");
                }
                costs.push((t.elapsed().as_secs_f64() * 1e3 / 5.0, &r.id, re.source()));
            }
        }
        costs.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap());
        println!("total {:.1} ms for {} regexes", costs.iter().map(|c| c.0).sum::<f64>(), costs.len());
        for (ms, id, src) in costs.iter().take(args.get(2).and_then(|n| n.parse().ok()).unwrap_or(25)) {
            println!("{:>7.2} ms  {:<36} {}", ms, id, src.chars().take(150).collect::<String>());
        }
        return;
    }
    if args.get(1).map(|a| a == "--rule-costs").unwrap_or(false) {
        // --rule-costs DIR: per rule, over every file of DIR: windows its keyword hits opened, their bytes and the
        // regex time; shows which rules' regexes a scan compiles and what they cost.
        let engine = DEFAULT_ENGINE.as_ref().unwrap();
        let mut paths = Vec::new();
        walk(std::path::Path::new(&args[2]), &mut paths, &mut u64::MAX.clone());
        let mut acc: std::collections::BTreeMap<String, (usize, usize, u128)> = Default::default();
        for p in &paths {
            if let Ok(d) = std::fs::read(p) {
                if memchr_nul(&d) {
                    continue;
                }
                for (id, w, b, ns) in engine.profile_file(&p.to_string_lossy(), &d) {
                    let e = acc.entry(id).or_default();
                    e.0 += w;
                    e.1 += b;
                    e.2 += ns;
                }
            }
        }
        let mut v: Vec<_> = acc.into_iter().collect();
        v.sort_by_key(|x| std::cmp::Reverse((x.1).2));
        println!("{} rules opened windows", v.len());
        for (id, (w, b, ns)) in v.iter().take(args.get(3).and_then(|n| n.parse().ok()).unwrap_or(40)) {
            println!("  {:<36} {:>8} windows {:>11} bytes {:>8.1} ms", id, w, b, *ns as f64 / 1e6);
        }
        return;
    }
    if args.get(1).map(|a| a == "--profile").unwrap_or(false) {
        // --profile FILE...: per-file MB/s and the costliest rules' regex work
        let engine = DEFAULT_ENGINE.as_ref().unwrap();
        for f in &args[2..] {
            let d = std::fs::read(f).expect("read");
            let t = Instant::now();
            let n = engine.scan_file(f, &d).len();
            let dt = t.elapsed().as_secs_f64();
            println!("{} {:.1} MB {:.0} ms {:.0} MB/s {} findings", f, d.len() as f64 / 1e6, dt * 1e3, d.len() as f64 / 1e6 / dt, n);
            let t = Instant::now();
            let (nh, top) = engine.prefilter_stats(&d);
            println!("  prefilter {:.0} ms, {} hits, top {:?}", t.elapsed().as_secs_f64() * 1e3, nh, &top[..top.len().min(6)]);
            for (id, w, b, ns) in engine.profile_file(f, &d).iter().take(12) {
                println!("  {:<32} {:>7} windows {:>10} bytes {:>7.1} ms", id, w, b, *ns as f64 / 1e6);
            }
        }
        return;
    }
    let mut paths = Vec::new();
    let mut budget = u64::MAX;
    walk(std::path::Path::new(&dir), &mut paths, &mut budget);
    let mut buf = Vec::new();
    let mut spans = Vec::new();
    let mut names = Vec::new();
    for p in &paths {
        if let Ok(d) = std::fs::read(p) {
            if memchr_nul(&d) {
                continue;
            }
            if buf.len() as u64 + d.len() as u64 > cap << 20 {
                break;
            }
            let s = buf.len();
            buf.extend_from_slice(&d);
            spans.push((s, buf.len()));
            names.push(p.to_string_lossy().into_owned());
        }
    }
    let files: Vec<FileRef> =
        spans.iter().zip(&names).map(|(&(s, e), n)| FileRef { path: n, commit: None, start: s, end: e }).collect();
    let engine = DEFAULT_ENGINE.as_ref().unwrap();
    let t = Instant::now();
    let (nh, top) = engine.prefilter_stats(&buf);
    let dt0 = t.elapsed().as_secs_f64();
    println!("dims {:?}", engine.prefilter_dims());
    let t1 = Instant::now();
    let mut cnt = 0usize;
    for _ in 0..3 { cnt += engine.prefilter_stats(&buf).0; }
    println!("3x prefilter {:.3}s {}", t1.elapsed().as_secs_f64(), cnt);
    println!("prefilter only: {:.3} s, {} hits, top {:?}", dt0, nh, &top[..top.len().min(25)]);
    let t = Instant::now();
    let _ = engine.scan(&buf, &files);
    println!("first scan {:.3}s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let findings = engine.scan(&buf, &files);
    let dt = t.elapsed().as_secs_f64();
    let mb = buf.len() as f64 / 1e6;
    println!("{} files, {:.1} MB, {:.3} s, {:.0} MB/s, {} findings", files.len(), mb, dt, mb / dt, findings.len());
    let mut by_rule = std::collections::BTreeMap::new();
    for f in &findings {
        *by_rule.entry(f.rule_id.clone()).or_insert(0) += 1;
    }
    println!("{:?}", by_rule);
    if show {
        for f in &findings {
            println!("{} {}:{} {:?} | {}", f.rule_id, f.path, f.start_line, f.secret, f.matched.chars().take(160).collect::<String>());
        }
    }
}

fn memchr_nul(d: &[u8]) -> bool {
    d[..d.len().min(8000)].contains(&0)
}
