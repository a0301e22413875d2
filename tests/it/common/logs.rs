//! The server's log, captured: a global `tracing` subscriber (the product's format, info and
//! above, no colours) that writes into memory, installed by the first test that asks for it.
//! The servers of every test in the binary run in this process, so the capture holds their
//! lines too: search it for what must never be logged, not for what one test logged.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

/// At most this much is kept (the oldest half is dropped when it is full).
const LIMIT: usize = 32 * 1024 * 1024;

pub struct Logs {
    buffer: Mutex<Vec<u8>>,
    installed: OnceLock<bool>,
}

impl Logs {
    /// Everything captured so far, as text.
    pub fn text(&self) -> String {
        let buffer = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&buffer).into_owned()
    }

    /// False when another global subscriber was installed first (nothing is captured).
    pub fn installed(&self) -> bool {
        self.installed.get().copied().unwrap_or(false)
    }
}

struct Writer(&'static Logs);

impl Write for Writer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let mut buffer = self.0.buffer.lock().unwrap_or_else(|e| e.into_inner());
        if buffer.len() + data.len() > LIMIT {
            let half = buffer.len() / 2;
            buffer.drain(..half);
        }
        buffer.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The capture, installed on first use.
pub fn capture() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    let logs = LOGS.get_or_init(|| Logs {
        buffer: Mutex::new(Vec::new()),
        installed: OnceLock::new(),
    });
    logs.installed.get_or_init(|| {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_writer(move || Writer(logs))
            .with_ansi(false)
            .with_target(false)
            .try_init()
            .is_ok()
    });
    logs
}
