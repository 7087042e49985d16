//! Decode-and-summarise throughput of Prometheus answers: builds a matrix body of
//! `DECODE_POINTS` samples (default 1,000,000; 1,000 points per series) in memory, then times
//! `parse_envelope` + `parse_data` + `Series::summary()` per series, and prints points per second
//! and the process' peak resident memory (VmHWM). Run `cargo bench --bench decode`; set
//! `DECODE_POINTS` to a small number for a quick debug run.

use std::fmt::Write as _;
use std::time::Instant;

use eks_ops_mcp::sources::prometheus::{parse_data, parse_envelope};

const POINTS_PER_SERIES: usize = 1_000;

/// A `query_range` answer with `total` samples spread over series of `POINTS_PER_SERIES`.
fn matrix_body(total: usize) -> String {
    let series = total.div_ceil(POINTS_PER_SERIES).max(1);
    let mut body = String::from(r#"{"status":"success","data":{"resultType":"matrix","result":["#);
    let mut left = total;
    for i in 0..series {
        let n = left.min(POINTS_PER_SERIES);
        left -= n;
        if i > 0 {
            body.push(',');
        }
        let _ = write!(
            body,
            r#"{{"metric":{{"__name__":"container_cpu_usage","namespace":"shop","pod":"checkout-{i:05}"}},"values":["#
        );
        for t in 0..n {
            let sep = if t > 0 { "," } else { "" };
            let value = ((t * 31 + i) % 1013) as f64 / 7.0;
            let _ = write!(body, "{sep}[{},\"{value}\"]", 1_763_000_000 + t * 15);
        }
        body.push_str("]}");
    }
    body.push_str("]}}");
    body
}

/// Peak resident set size in KiB, from /proc/self/status; `None` off Linux.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let total: usize = std::env::var("DECODE_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let body = matrix_body(total);
    let rss_before = peak_rss_kib();
    let started = Instant::now();
    let decoded = parse_envelope(&body, 200).and_then(|data| parse_data(&data));
    let series = match decoded {
        Ok(series) => series,
        Err(e) => {
            eprintln!("decode failed: {e}");
            std::process::exit(1);
        }
    };
    let decode_secs = started.elapsed().as_secs_f64();
    let points: usize = series.iter().map(|s| s.summary().points).sum::<usize>();
    let secs = started.elapsed().as_secs_f64();
    let kib = |v: Option<u64>| v.map_or("n/a".to_string(), |k| format!("{k} KiB"));
    println!("body bytes        {}", body.len());
    println!("series            {}", series.len());
    println!("points summarised {points}");
    println!("decode seconds    {decode_secs:.3}");
    println!("total seconds     {secs:.3}");
    println!("points/s          {:.0}", points as f64 / secs.max(1e-9));
    println!("peak RSS before   {}", kib(rss_before));
    println!("peak RSS after    {}", kib(peak_rss_kib()));
}
