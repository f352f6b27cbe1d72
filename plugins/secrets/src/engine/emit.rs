//! Emitting findings. Its rule: lines and columns are 1-based, columns count Unicode characters (UTF-8 lead
//! bytes), `end_column` is the column of the secret's last character, and positions are found in one forward
//! walk over the file (findings sorted by location; a column cache serves many findings on one long line).

use super::{Cand, Engine, FileRef, Finding};
use crate::util::char_count;

impl Engine {
    pub(super) fn emit(&self, buf: &[u8], f: &FileRef, mut kept: Vec<Cand>, out: &mut Vec<Finding>) {
        kept.sort_by_key(|c| (c.loc.0, c.loc.1));
        // incremental line/column tracking
        let mut line = 1usize;
        let mut line_start = f.start;
        let mut pos = f.start;
        // column cache for repeated findings on one (long) line: (offset, column at offset)
        let mut col_cache: (usize, usize) = (f.start, 1);
        for c in kept {
            let rule = &self.rules[c.rule as usize];
            let (s, e) = c.loc;
            // advance to s
            let seg = &buf[pos..s];
            let n = memchr::memchr_iter(b'\n', seg).count();
            if n > 0 {
                line += n;
                line_start = pos + memchr::memrchr(b'\n', seg).unwrap() + 1;
                col_cache = (line_start, 1);
            }
            pos = s;
            let start_col = if col_cache.0 <= s && col_cache.0 >= line_start {
                col_cache.1 + char_count(&buf[col_cache.0..s])
            } else {
                char_count(&buf[line_start..s]) + 1
            };
            col_cache = (s, start_col);
            // end: column of the last character of the secret
            let (end_line, end_col) = if e <= s {
                (line, start_col)
            } else {
                let mut last = e - 1;
                while last > s && (buf[last] & 0xC0) == 0x80 {
                    last -= 1;
                }
                let inner = &buf[s..last];
                let n2 = memchr::memchr_iter(b'\n', inner).count();
                if n2 == 0 {
                    (line, start_col + char_count(inner))
                } else {
                    let ls2 = s + memchr::memrchr(b'\n', inner).unwrap() + 1;
                    (line + n2, char_count(&buf[ls2..last]) + 1)
                }
            };
            let mut tags = rule.tags.clone();
            if c.decoded {
                tags.push("decoded:base64".to_string());
            }
            out.push(Finding {
                rule_id: rule.id.clone(),
                description: rule.description.clone(),
                severity: rule.severity.clone(),
                path: f.path.to_string(),
                start_line: line,
                end_line,
                start_column: start_col,
                end_column: end_col,
                secret: String::from_utf8_lossy(&c.secret).into_owned(),
                matched: String::from_utf8_lossy(&c.matched).into_owned(),
                entropy: if c.secret.is_empty() { None } else { Some((c.entropy * 1000.0).round() / 1000.0) },
                tags,
                confidence: Some(c.conf.to_string()),
                commit: f.commit.map(|s| s.to_string()),
            });
        }
    }
}
