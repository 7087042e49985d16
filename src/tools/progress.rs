//! Progress of a running tool call: tools say how far they got with [`report`], and the
//! transport turns that into MCP `notifications/progress` when the client asked for them (sent a
//! `progressToken`). Without a listener, reporting costs nothing.
//!
//! The listener lives in a task-local set around the call, so tools need no extra parameter.

use std::future::Future;
use std::sync::Arc;

/// Receives a call's progress: `done` of `total` steps, and what is happening now.
pub trait ProgressSink: Send + Sync {
    fn progress(&self, done: u32, total: u32, message: &str);
}

tokio::task_local! {
    static SINK: Arc<dyn ProgressSink>;
}

/// Runs `call` with `sink` listening to its progress reports.
pub async fn with_sink<F: Future>(sink: Option<Arc<dyn ProgressSink>>, call: F) -> F::Output {
    match sink {
        Some(sink) => SINK.scope(sink, call).await,
        None => call.await,
    }
}

/// Reports that `done` of `total` steps are complete; a no-op outside a listened call.
pub fn report(done: u32, total: u32, message: &str) {
    let _ = SINK.try_with(|sink| sink.progress(done, total, message));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<(u32, u32, String)>>);

    impl ProgressSink for Recorder {
        fn progress(&self, done: u32, total: u32, message: &str) {
            self.0
                .lock()
                .unwrap()
                .push((done, total, message.to_string()));
        }
    }

    #[tokio::test]
    async fn reports_reach_the_sink_only_inside_the_call() {
        let recorder = Arc::new(Recorder::default());
        report(1, 3, "before");
        with_sink(Some(recorder.clone()), async {
            report(1, 2, "listing pods");
            tokio::task::yield_now().await;
            report(2, 2, "ranking");
        })
        .await;
        report(3, 3, "after");
        let seen = recorder.0.lock().unwrap().clone();
        assert_eq!(
            seen,
            vec![(1, 2, "listing pods".into()), (2, 2, "ranking".into())]
        );
        with_sink(None, async { report(1, 1, "unheard") }).await;
    }
}
