//! What a guest can call: `coffer:policy/host.log`, and nothing else (the
//! WASI functions the Rust standard library imports are linked as traps by
//! the engine). Also the per-decision store state those calls see.

use std::sync::Arc;

use super::bindings::host::{self as wit_host, Level};
use super::bindings::types;
use super::deadline::DeadlineWatch;
use super::limits::Limiter;

/// Where guest log lines go for one decision.
pub(crate) enum LogSink {
    /// To `tracing` (target `coffer::policy::guest`) in the caller's span, so
    /// each line carries the request id: the server's path.
    Tracing,
    /// Into a list returned with the outcome: the offline evaluator's path.
    Capture(Vec<LogLine>),
}

/// One line a module logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Severity the module chose.
    pub level: tracing::Level,
    /// The message, truncated to the decision's remaining log budget.
    pub message: String,
}

/// What one decision's store holds.
pub(crate) struct HostState {
    pub(crate) limiter: Limiter,
    /// The decision's CPU-time deadline, checked at each epoch tick.
    pub(crate) deadline: DeadlineWatch,
    /// Name of the module running (for log lines).
    module: Arc<str>,
    sink: LogSink,
    log_calls: usize,
    log_bytes: usize,
    log_dropped: bool,
    max_log_calls: usize,
    max_log_bytes: usize,
}

impl HostState {
    pub(crate) fn new(
        limiter: Limiter,
        deadline: DeadlineWatch,
        module: Arc<str>,
        sink: LogSink,
        max_log_calls: usize,
        max_log_bytes: usize,
    ) -> Self {
        Self {
            limiter,
            deadline,
            module,
            sink,
            log_calls: 0,
            log_bytes: 0,
            log_dropped: false,
            max_log_calls,
            max_log_bytes,
        }
    }

    /// Whether the module called `log` during this decision.
    pub(crate) fn logged(&self) -> bool {
        self.log_calls > 0 || self.log_dropped
    }

    /// The captured lines (empty when logging to `tracing`).
    pub(crate) fn take_logs(&mut self) -> Vec<LogLine> {
        match &mut self.sink {
            LogSink::Tracing => Vec::new(),
            LogSink::Capture(lines) => std::mem::take(lines),
        }
    }

    fn emit(&mut self, level: tracing::Level, message: &str) {
        match &mut self.sink {
            LogSink::Capture(lines) => lines.push(LogLine {
                level,
                message: message.to_owned(),
            }),
            LogSink::Tracing => {
                let module = &*self.module;
                // `tracing` levels are static per call site, hence the match.
                match level {
                    tracing::Level::TRACE => {
                        tracing::trace!(target: "coffer::policy::guest", module, "{message}")
                    }
                    tracing::Level::DEBUG => {
                        tracing::debug!(target: "coffer::policy::guest", module, "{message}")
                    }
                    tracing::Level::INFO => {
                        tracing::info!(target: "coffer::policy::guest", module, "{message}")
                    }
                    tracing::Level::WARN => {
                        tracing::warn!(target: "coffer::policy::guest", module, "{message}")
                    }
                    tracing::Level::ERROR => {
                        tracing::error!(target: "coffer::policy::guest", module, "{message}")
                    }
                }
            }
        }
    }
}

impl types::Host for HostState {}

impl wit_host::Host for HostState {
    /// Logs within the budget of [`Limits`](super::Limits): the first message
    /// past it is replaced by one note, later ones vanish, so a chatty (or
    /// hostile) module cannot flood the log.
    fn log(&mut self, level: Level, message: String) {
        let remaining = self.max_log_bytes.saturating_sub(self.log_bytes);
        if self.log_calls >= self.max_log_calls || remaining == 0 {
            if !self.log_dropped {
                self.log_dropped = true;
                self.emit(
                    tracing::Level::WARN,
                    "log budget of this decision exhausted; further messages dropped",
                );
            }
            return;
        }
        self.log_calls += 1;
        let message = truncate(&message, remaining);
        self.log_bytes += message.len();
        let level = match level {
            Level::Trace => tracing::Level::TRACE,
            Level::Debug => tracing::Level::DEBUG,
            Level::Info => tracing::Level::INFO,
            Level::Warn => tracing::Level::WARN,
            Level::Error => tracing::Level::ERROR,
        };
        self.emit(level, message);
    }
}

/// The longest prefix of `s` of at most `max` bytes, on a char boundary.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Limits;
    use wit_host::Host as _;

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }

    #[test]
    fn log_budget_caps_calls_and_bytes() {
        let limits = Limits::default();
        let mut state = HostState::new(
            limits.limiter(),
            DeadlineWatch::new(limits.deadline, limits.tick),
            "m".into(),
            LogSink::Capture(Vec::new()),
            3,
            10,
        );
        state.log(Level::Info, "12345".into());
        state.log(Level::Error, "6789012345".into());
        state.log(Level::Info, "dropped".into());
        state.log(Level::Info, "dropped too".into());
        let logs = state.take_logs();
        let messages: Vec<&str> = logs.iter().map(|l| l.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "12345",
                "67890",
                "log budget of this decision exhausted; further messages dropped"
            ]
        );
        assert_eq!(logs[1].level, tracing::Level::ERROR);
    }
}
