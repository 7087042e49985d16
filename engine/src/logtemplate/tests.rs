use super::*;
use proptest::prelude::*;

const MIN: i64 = 60_000;
const T0: i64 = 1_763_647_200_000; // 2025-11-20T14:00:00Z

fn mine(lines: &[(i64, &str)]) -> TemplateMiner {
    let mut miner = TemplateMiner::default();
    for (t, line) in lines {
        miner.feed(*t, line);
    }
    miner
}

fn find<'a>(templates: &'a [Template], text: &str) -> &'a Template {
    (templates.iter().find(|t| t.template == text))
        .unwrap_or_else(|| panic!("no template `{text}` in {templates:#?}"))
}

#[test]
fn nginx_access_lines_collapse_into_one_template() {
    let lines: Vec<String> = (0..50)
        .map(|i| {
            format!(
                "10.0.{}.{} - - [20/Nov/2025:14:{:02}:01 +0000] \"GET /api/orders/{} HTTP/1.1\" {} {} \"-\" \"kube-probe/1.31\"",
                i % 4,
                i,
                i % 60,
                1000 + i,
                if i % 10 == 0 { 502 } else { 200 },
                512 + i
            )
        })
        .collect();
    let mut miner = TemplateMiner::default();
    for (i, line) in lines.iter().enumerate() {
        miner.feed(T0 + i as i64 * 1000, line);
    }
    let templates = miner.templates();
    assert_eq!(templates.len(), 1, "{templates:#?}");
    let t = &templates[0];
    assert_eq!(t.template, "<*> - - <*> <*> <*> <*> <*> <*> <*>");
    assert_eq!(
        (t.count, t.first_seen_ms, t.last_seen_ms),
        (50, T0, T0 + 49_000)
    );
    assert_eq!(t.example, lines[0]);
}

#[test]
fn json_logs_group_by_fields_and_message() {
    let mut lines = Vec::new();
    for i in 0..20 {
        lines.push(format!(
            r#"{{"ts":"2025-11-20T14:00:{:02}.{:03}Z","level":"info","msg":"order placed","order_id":"{:08x}","total":{}.5}}"#,
            i, i * 7, i * 7919, i
        ));
    }
    lines.push(r#"{"ts":"2025-11-20T14:01:00Z","level":"error","msg":"payment declined","order_id":"0000abcd","code":"card_expired"}"#.into());
    let refs: Vec<(i64, &str)> = lines.iter().map(|l| (T0, l.as_str())).collect();
    let templates = mine(&refs).templates();
    assert_eq!(templates.len(), 2, "{templates:#?}");
    let placed = find(
        &templates,
        "level=info msg=order placed order_id=<*> total=<*> ts=<*>",
    );
    assert_eq!(placed.count, 20);
    find(
        &templates,
        "code=card_expired level=error msg=payment declined order_id=<*> ts=<*>",
    );
}

#[test]
fn java_stack_frames_fold_into_the_exception_entry() {
    let log = "\
2025-11-20 14:05:01.123 ERROR 1 --- [nio-8080-exec-3] c.s.checkout.CheckoutController : Request failed
java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30000ms.
\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)
\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:197)
\t... 42 common frames omitted
2025-11-20 14:05:02.456 ERROR 1 --- [nio-8080-exec-7] c.s.checkout.CheckoutController : Request failed
java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30001ms.
\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)
2025-11-20 14:05:03.789 INFO 1 --- [nio-8080-exec-9] c.s.checkout.CheckoutController : Order 4411 placed";
    let mut miner = TemplateMiner::default();
    for line in log.lines() {
        miner.feed(T0, line);
    }
    let templates = miner.templates();
    let failed = find(
        &templates,
        "<*> <*> ERROR <*> --- <*> c.s.checkout.CheckoutController : Request failed",
    );
    assert_eq!(failed.count, 2);
    let exception = find(
        &templates,
        "java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after <*>",
    );
    assert_eq!(exception.count, 2);
    assert_eq!(templates.len(), 3, "{templates:#?}");
    assert_eq!(miner.stats().continuation_lines, 4);
    assert!(miner.notes().iter().any(|n| n.contains("4 indented")));
}

#[test]
fn go_logfmt_and_klog_lines_keep_their_messages() {
    let lines = [
        r#"time=2025-11-20T14:05:01.001Z level=error msg="dial failed" err="dial tcp 10.0.3.17:5432: connect: connection refused" attempt=1"#,
        r#"time=2025-11-20T14:05:02.001Z level=error msg="dial failed" err="dial tcp 10.0.3.18:5432: connect: connection refused" attempt=2"#,
        r#"time=2025-11-20T14:05:03.001Z level=info msg="cache warmed" entries=1200"#,
        "I1120 14:05:01.123456       1 controller.go:123] Syncing deployment shop/checkout",
        "I1120 14:05:02.654321       1 controller.go:123] Syncing deployment shop/cart",
    ];
    let templates = mine(&lines.map(|l| (T0, l))).templates();
    assert_eq!(
        find(
            &templates,
            "time=<*> level=error msg=dial failed err=dial tcp <*> connect: connection refused attempt=<*>"
        )
        .count,
        2
    );
    find(
        &templates,
        "time=<*> level=info msg=cache warmed entries=<*>",
    );
    assert_eq!(
        find(
            &templates,
            "<*> <*> <*> controller.go:123] Syncing deployment <*>"
        )
        .count,
        2
    );
    assert_eq!(templates.len(), 3, "{templates:#?}");
}

#[test]
fn different_events_with_shared_filler_stay_apart() {
    let templates = mine(&[
        (T0, "INFO cache warmed in 12ms"),
        (T0, "INFO queue drained in 14ms"),
        (T0, "INFO cache warmed in 9ms"),
    ])
    .templates();
    assert_eq!(find(&templates, "INFO cache warmed in <*>").count, 2);
    assert_eq!(find(&templates, "INFO queue drained in <*>").count, 1);
}

#[test]
fn varying_words_become_wildcards() {
    let templates = mine(&[
        (T0, "user alice logged in from web"),
        (T0, "user bob logged in from web"),
        (T0, "user carol logged in from mobile"),
    ])
    .templates();
    assert_eq!(templates.len(), 1);
    assert_eq!(templates[0].template, "user <*> logged in from <*>");
    assert_eq!(templates[0].example, "user alice logged in from web");
}

#[test]
fn templates_sort_by_count_then_first_seen() {
    let templates = mine(&[
        (T0 + 5, "cache miss"),
        (T0 + 1, "shutting down"),
        (T0 + 2, "cache miss"),
        (T0 + 3, "queue full"),
    ])
    .templates();
    let order: Vec<&str> = templates.iter().map(|t| t.template.as_str()).collect();
    assert_eq!(order, ["cache miss", "shutting down", "queue full"]);
    assert_eq!(templates[0].first_seen_ms, T0 + 2, "out-of-order input");
}

#[test]
fn new_since_lists_templates_born_after_the_onset() {
    let onset = T0 + 10 * MIN;
    let templates = mine(&[
        (T0, "GET /healthz 200"),
        (onset + MIN, "GET /healthz 200"),
        (onset + MIN, "OOM: heap exhausted, killing worker"),
        (onset + 2 * MIN, "OOM: heap exhausted, killing worker"),
        (onset + 3 * MIN, "upstream timed out"),
    ])
    .templates();
    let new: Vec<&str> = new_since(&templates, onset)
        .iter()
        .map(|t| t.template.as_str())
        .collect();
    assert_eq!(
        new,
        ["OOM: heap exhausted, killing worker", "upstream timed out"]
    );
    assert!(new_since(&templates, onset + 4 * MIN).is_empty());
}

#[test]
fn the_cap_drops_rare_templates_and_says_so() {
    let config = MinerConfig {
        max_templates: 10,
        ..MinerConfig::default()
    };
    let mut miner = TemplateMiner::new(config).unwrap();
    for _ in 0..5 {
        miner.feed(T0, "frequent line stays");
    }
    let words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
    for (i, a) in words.iter().enumerate() {
        for b in &words[i..] {
            miner.feed(T0 + MIN, &format!("{a}{b}"));
        }
    }
    let stats = miner.stats();
    assert!(stats.live_templates <= 10, "{stats:?}");
    assert!(stats.dropped_templates > 0);
    let counted: u64 = miner.templates().iter().map(|t| t.count).sum();
    assert_eq!(counted + stats.dropped_lines, 5 + 21);
    assert_eq!(miner.templates()[0].template, "frequent line stays");
    assert!(miner.notes()[0].contains("cap of 10"));
}

#[test]
fn count_series_buckets_lines_per_minute() {
    let mut miner = TemplateMiner::default();
    let id = miner.feed(T0 + 10, "disk full").unwrap();
    miner.feed(T0 + 20, "disk full");
    miner.feed(T0 + 2 * MIN + 5, "disk full");
    miner.feed(T0 + MIN / 2, "disk full"); // late arrival
    let s = miner.count_series(id, T0, T0 + 3 * MIN).unwrap();
    assert_eq!(s.timestamps, [T0, T0 + MIN, T0 + 2 * MIN]);
    assert_eq!(s.values, [3.0, 0.0, 1.0]);
    assert_eq!(s.labels["template"], "disk full");
    assert!(miner.count_series(id, T0, T0).is_none());
    assert!(miner.count_series(id + 1, T0, T0 + MIN).is_none());
    assert!(miner.count_series(id, i64::MIN, i64::MAX).is_none());
}

#[test]
fn bad_config_is_rejected() {
    let bad = |f: fn(&mut MinerConfig)| {
        let mut c = MinerConfig::default();
        f(&mut c);
        TemplateMiner::new(c).unwrap_err()
    };
    assert_eq!(
        bad(|c| c.max_templates = 0),
        ConfigError::NotPositive("max_templates")
    );
    assert_eq!(
        bad(|c| c.bucket_ms = -5),
        ConfigError::NotPositive("bucket_ms")
    );
    assert!(matches!(
        bad(|c| c.similarity_threshold = f64::NAN),
        ConfigError::SimilarityOutOfRange(_)
    ));
}

#[test]
fn extreme_input_is_safe() {
    let mut miner = TemplateMiner::default();
    assert_eq!(miner.feed(0, "   "), None);
    assert!(miner.feed(0, "\tat orphan.Frame(Frame.java:1)").is_some());
    miner.feed(i64::MIN, "edge of time");
    miner.feed(i64::MAX, "edge of time");
    let long = "x".repeat(100_000);
    miner.feed(0, &long);
    let t = miner.templates();
    assert!(t.iter().all(|t| t.example.chars().count() <= 301));
    let edge = find(&t, "edge of time");
    assert_eq!(
        (edge.first_seen_ms, edge.last_seen_ms),
        (i64::MIN, i64::MAX)
    );
}

#[test]
fn clip_cuts_on_characters() {
    assert_eq!(clip("ééé", 2), "éé…");
    assert_eq!(clip("ab", 5), "ab");
}

proptest! {
    #[test]
    fn every_mined_line_is_counted_once(
        lines in proptest::collection::vec((0i64..1_000_000, "[ a-z0-9=\"./:{}-]{0,40}"), 0..200),
        cap in 1usize..20,
    ) {
        let mut miner = TemplateMiner::new(MinerConfig { max_templates: cap, ..MinerConfig::default() }).unwrap();
        for (t, line) in &lines {
            miner.feed(*t, line);
        }
        let s = miner.stats();
        let counted: u64 = miner.templates().iter().map(|t| t.count).sum();
        prop_assert_eq!(counted + s.dropped_lines, s.lines - s.blank_lines - s.continuation_lines);
        prop_assert!(s.live_templates <= cap);
    }
}
