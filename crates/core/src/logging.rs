//! The log switch: a `tracing` subscriber that writes the spans and events of the head-start
//! path (and of the local plane, which runs in the same process) to stderr. `lib/native.js`
//! installs it once, when the package loads, if `CHAT_HEADSTART_LOG` is set; nothing else ever
//! installs a subscriber. Without one, every span and event of these crates is a disabled
//! callsite: `tracing`'s global max level stays OFF, so each costs one relaxed atomic load and a
//! compare, and no field is evaluated.
//!
//! The filter is `tracing-subscriber`'s `EnvFilter` syntax (`debug`, `chat_headstart=info`,
//! `chat_headstart_core::session=trace,chat_headstart_plane=off`). Targets are module paths and
//! a directive matches every target it is a prefix of, so:
//!
//! | target | what |
//! |---|---|
//! | `chat_headstart` | everything below (the core, the plane, the binding) |
//! | `chat_headstart_core::handover::turn` | the `turn` span, step-1 end, the `handover` span and the decision, `phase2`, the closing `turn ended` event |
//! | `chat_headstart_core::session::api` | Trigger API calls: `createSession`, `initializeStream`, `appendInput` spans (attempts, status, latency, retries) |
//! | `chat_headstart_core::session::s2` | the step-1 tee to S2 (records, bytes, batches, ack latency, retries) |
//! | `chat_headstart_core::session::subscribe` | the phase-2 `subscribe` span (connects, reconnects and why) |
//! | `chat_headstart_plane` | the local plane: one debug event per request (`chat_headstart_plane::plane`), agent warnings (`chat_headstart_plane::agent`) |
//!
//! The HTTP clients' own events (`h2`: every HTTP/2 frame of the S2 writer; `hyper_util`: the
//! connection pool) would bury a turn's few lines under dozens, so they stay at `warn` unless the
//! filter names them: `debug,h2=debug` shows the frames too (h2 logs frame kinds, stream ids and
//! flags, never header values or bodies).
//! No field anywhere holds the secret key, an S2 token or a session's access token: the spans
//! carry ids (chat, agent, message), paths, statuses, counts and durations only.

use std::io;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Environment variable holding the filter (read by `lib/native.js`).
pub const LOG_ENV: &str = "CHAT_HEADSTART_LOG";
/// Environment variable choosing the line format: `json`, or `text` (the default).
pub const LOG_FORMAT_ENV: &str = "CHAT_HEADSTART_LOG_FORMAT";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
  /// `2026-01-01T00:00:00.000000Z DEBUG turn{chat_id="…"}:createSession: target: done attempts=1 …`
  Text,
  /// One JSON object per line: `timestamp`, `level`, `target`, `fields`, `span`, `spans`.
  Json,
}

impl LogFormat {
  /// `None` or an empty value is text; anything but `text` / `json` is an error.
  pub fn parse(value: Option<&str>) -> Result<LogFormat, String> {
    match value.map(str::trim).unwrap_or("") {
      "" => Ok(LogFormat::Text),
      v if v.eq_ignore_ascii_case("text") => Ok(LogFormat::Text),
      v if v.eq_ignore_ascii_case("json") => Ok(LogFormat::Json),
      other => Err(format!(
        "{LOG_FORMAT_ENV}={other:?} is not a format (expected \"text\" or \"json\")"
      )),
    }
  }
}

/// Dependencies kept at `warn` unless the filter names them (a prefix: `hyper` covers
/// `hyper_util`).
pub const QUIET_UNLESS_NAMED: [&str; 2] = ["h2", "hyper"];

/// Parses `filter` (EnvFilter syntax) with [`QUIET_UNLESS_NAMED`] applied; an invalid
/// directive is an error naming it.
pub fn parse_filter(filter: &str) -> Result<EnvFilter, String> {
  let named = |dep: &str| {
    filter.split(',').any(|directive| {
      let target = directive.trim().split(['=', '[']).next().unwrap_or("");
      target == dep
        || target.starts_with(&format!("{dep}_"))
        || target.starts_with(&format!("{dep}::"))
    })
  };
  let mut directives = String::new();
  for dep in QUIET_UNLESS_NAMED.iter().filter(|dep| !named(dep)) {
    directives.push_str(dep);
    directives.push_str("=warn,");
  }
  directives.push_str(filter);
  EnvFilter::builder()
    .parse(&directives)
    .map_err(|e| format!("{LOG_ENV}={filter:?} is not a valid filter: {e}"))
}

/// The subscriber the switch installs, writing to `writer` (tests capture it in memory).
pub fn subscriber<W>(
  filter: &str,
  format: LogFormat,
  writer: W,
) -> Result<Box<dyn tracing::Subscriber + Send + Sync>, String>
where
  W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
  let builder = tracing_subscriber::fmt()
    .with_env_filter(parse_filter(filter)?)
    .with_writer(writer)
    // A failed write would otherwise be reported with `eprintln!`, which panics when stderr
    // fails too — and a panic inside a Node-API callback aborts the process.
    .log_internal_errors(false);
  Ok(match format {
    LogFormat::Text => Box::new(builder.finish()),
    LogFormat::Json => Box::new(
      builder
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .finish(),
    ),
  })
}

/// stderr as Node leaves it. Once Node has written to a stderr that is a pipe, fd 2 is
/// non-blocking, so a write fails with `WouldBlock` whenever the reader is behind (seen with a
/// parent process reading a trace-level log). Node's own writes to a pipe wait (they are
/// synchronous on Linux); these wait too, holding stderr's lock so a line never interleaves with
/// another Rust thread's.
pub struct WaitingStderr(io::StderrLock<'static>);

impl io::Write for WaitingStderr {
  fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
    loop {
      match self.0.write(buf) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
          std::thread::sleep(std::time::Duration::from_micros(200))
        }
        other => return other,
      }
    }
  }

  fn flush(&mut self) -> io::Result<()> {
    self.0.flush()
  }
}

fn waiting_stderr() -> WaitingStderr {
  WaitingStderr(io::stderr().lock())
}

/// Installs the subscriber for the whole process (stderr). Fails on an invalid filter or when
/// another subscriber is installed already. A second call after a successful one (the package
/// loaded again, e.g. in a worker thread: the addon and its statics are per process) keeps the
/// first subscriber and succeeds.
pub fn install(filter: &str, format: LogFormat) -> Result<(), String> {
  static INSTALLED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
  let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
  let sub = subscriber(filter, format, waiting_stderr)?;
  if *installed {
    return Ok(());
  }
  tracing::subscriber::set_global_default(sub)
    .map_err(|_| "a tracing subscriber is already installed in this process".to_string())?;
  *installed = true;
  Ok(())
}

/// Milliseconds since `since`, rounded to µs: the unit of every duration field and report.
pub fn ms_since(since: std::time::Instant) -> f64 {
  (since.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// A `MakeWriter` keeping everything the subscriber writes in memory: how tests (here and in the
/// plane's) read what the switch logs.
#[cfg(any(test, feature = "testing"))]
#[derive(Clone, Default)]
pub struct CapturedLog(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

#[cfg(any(test, feature = "testing"))]
impl CapturedLog {
  /// Everything written so far.
  pub fn text(&self) -> String {
    let bytes = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
    String::from_utf8(bytes).expect("the subscriber writes UTF-8")
  }
}

#[cfg(any(test, feature = "testing"))]
impl io::Write for CapturedLog {
  fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
    self
      .0
      .lock()
      .unwrap_or_else(|e| e.into_inner())
      .extend_from_slice(buf);
    Ok(buf.len())
  }
  fn flush(&mut self) -> io::Result<()> {
    Ok(())
  }
}

#[cfg(any(test, feature = "testing"))]
impl<'a> MakeWriter<'a> for CapturedLog {
  type Writer = CapturedLog;
  fn make_writer(&'a self) -> CapturedLog {
    self.clone()
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn formats_and_filters_parse() {
    assert_eq!(LogFormat::parse(None), Ok(LogFormat::Text));
    assert_eq!(LogFormat::parse(Some("JSON")), Ok(LogFormat::Json));
    assert!(LogFormat::parse(Some("yaml")).is_err());
    assert!(parse_filter("debug").is_ok());
    assert!(parse_filter("chat_headstart=info,h2=off").is_ok());
    let err = parse_filter("chat_headstart=loud").unwrap_err();
    assert!(err.contains("CHAT_HEADSTART_LOG"), "{err}");
  }

  #[test]
  fn prefix_directives_select_the_crates_targets() {
    let out = CapturedLog::default();
    let sub = subscriber("chat_headstart=info", LogFormat::Text, out.clone()).unwrap();
    tracing::subscriber::with_default(sub, || {
      tracing::info!(target: "chat_headstart_core::handover::turn", "seen");
      tracing::debug!(target: "chat_headstart_core::handover::turn", "below the level");
      tracing::info!(target: "other_crate", "not ours");
    });
    let text = out.text();
    assert!(text.contains("seen"), "{text}");
    assert!(
      !text.contains("below the level") && !text.contains("not ours"),
      "{text}"
    );
  }

  #[test]
  fn http_client_internals_stay_quiet_unless_named() {
    let emit = |filter: &str| {
      let out = CapturedLog::default();
      let sub = subscriber(filter, LogFormat::Text, out.clone()).unwrap();
      tracing::subscriber::with_default(sub, || {
        tracing::debug!(target: "h2::codec", "frame");
        tracing::debug!(target: "hyper_util::client::legacy::pool", "pooled");
        tracing::debug!(target: "chat_headstart_core::session::api", "ours");
      });
      out.text()
    };
    let text = emit("debug");
    assert!(
      text.contains("ours") && !text.contains("frame") && !text.contains("pooled"),
      "{text}"
    );
    let text = emit("debug,h2=debug");
    assert!(text.contains("frame") && !text.contains("pooled"), "{text}");
    let text = emit("trace,hyper_util=debug");
    assert!(text.contains("pooled") && !text.contains("frame"), "{text}");
  }

  #[test]
  fn json_lines_carry_the_span_fields() {
    let out = CapturedLog::default();
    let sub = subscriber("trace", LogFormat::Json, out.clone()).unwrap();
    tracing::subscriber::with_default(sub, || {
      let span = tracing::info_span!("turn", chat_id = "c1");
      let _e = span.enter();
      tracing::info!(attempts = 2, "done");
    });
    let line: serde_json::Value = serde_json::from_str(out.text().lines().next().unwrap()).unwrap();
    assert_eq!(line["fields"]["message"], "done");
    assert_eq!(line["fields"]["attempts"], 2);
    assert_eq!(line["span"]["name"], "turn");
    assert_eq!(line["span"]["chat_id"], "c1");
  }
}
