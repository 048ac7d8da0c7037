//! What the scripted agent writes: knobs set per plane (and replaceable per test), and the
//! per-turn plan a JS hook may return to override them.

use std::future::Future;
use std::pin::Pin;

use serde::Deserialize;
use serde_json::{Map, Value};

/// Agent knobs (`startDevPlane({ agent })`, `plane.setAgent(…)`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct AgentScript {
  /// Time from the session's creation (the run being triggered) to the agent reading `.in`.
  pub boot_delay_ms: u64,
  /// Pause between data records (each record then goes out in its own append).
  pub record_delay_ms: u64,
  /// Records per S2 append (default: a whole turn in one append unless `recordDelayMs` is set).
  pub records_per_append: Option<usize>,
  /// Tool outputs by `toolCallId` or `toolName` (default: the call's input echoed back).
  pub tool_outputs: Map<String, Value>,
  /// Tool errors (`tool-output-error.errorText`) by `toolCallId` or `toolName`.
  pub tool_errors: Map<String, Value>,
  /// Step-2 text: a string (one delta) or an array of deltas.
  pub text: Value,
  /// Text part id of step 2.
  pub text_id: String,
  /// Write nothing at all after the handover (not even turn-complete).
  pub silent: bool,
  /// Write the legacy data record `{"type":"trigger:turn-complete"}` instead of the control record.
  pub legacy_turn_complete: bool,
  /// Answer the handover with an `upgrade-required` control record and exit.
  pub upgrade_required: bool,
  /// Put a fresh `public-access-token` header on turn-complete records.
  pub refresh_token: bool,
  /// Ask the registered hook for each turn's plan (set by the JS wrapper when `onTurn` exists,
  /// so turns without a hook never cross into JS).
  pub use_hook: bool,
}

impl Default for AgentScript {
  fn default() -> Self {
    AgentScript {
      boot_delay_ms: 0,
      record_delay_ms: 0,
      records_per_append: None,
      tool_outputs: Map::new(),
      tool_errors: Map::new(),
      text: Value::Array(vec![Value::String("Done.".into())]),
      text_id: "a1".into(),
      silent: false,
      legacy_turn_complete: false,
      upgrade_required: false,
      refresh_token: true,
      use_hook: false,
    }
  }
}

/// A hook's answer for one turn. Every field is optional; absent ones fall back to the knobs.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TurnPlan {
  /// By toolCallId (or toolName). An array of `{toolCallId, output}` / `{toolCallId, errorText}`
  /// instead fixes the order of the outputs (completion order).
  pub tool_outputs: Option<Value>,
  pub tool_errors: Option<Map<String, Value>>,
  pub text: Option<Value>,
  pub text_id: Option<String>,
  /// Replaces the data chunks of the turn entirely (the agent still adds turn-complete).
  pub chunks: Option<Vec<Value>>,
  pub silent: Option<bool>,
  pub finish_reason: Option<String>,
}

pub type HookFuture = Pin<Box<dyn Future<Output = Result<String, String>> + Send>>;

/// A per-turn callback (the JS `agent.onTurn`): JSON input → JSON [`TurnPlan`].
pub trait TurnHook: Send + Sync {
  fn on_turn(&self, input: String) -> HookFuture;
}

/// Text deltas from a `text` value (string → one delta, array → its strings).
pub fn text_deltas(text: &Value) -> Vec<String> {
  match text {
    Value::String(s) if s.is_empty() => vec![],
    Value::String(s) => vec![s.clone()],
    Value::Array(items) => items
      .iter()
      .filter_map(|v| v.as_str().map(str::to_owned))
      .collect(),
    _ => vec![],
  }
}
