//! Building a turn's UI chunks the way the real `chat.agent` writes them (docs/protocol.md §7.2):
//! `start{messageId}`, one tool output per pending call, then a text step, `finish`.

use std::collections::HashSet;

use serde_json::{json, Map, Value};

use super::script::{text_deltas, AgentScript, TurnPlan};

#[derive(Clone, Debug, PartialEq)]
pub struct ToolCall {
  pub tool_call_id: String,
  pub tool_name: String,
  pub input: Value,
}

/// Tool calls of the partial assistant message still waiting for a result: every `tool-call`
/// without a `tool-result`, except those whose approval was denied.
pub fn pending_tool_calls(partial: &Value) -> Vec<ToolCall> {
  let messages = partial.as_array().map(Vec::as_slice).unwrap_or_default();
  let parts = |role: &'static str| {
    messages
      .iter()
      .filter(move |m| m.get("role").and_then(Value::as_str) == Some(role))
      .filter_map(|m| m.get("content").and_then(Value::as_array))
      .flatten()
  };
  let completed: HashSet<&str> = parts("tool")
    .filter(|p| p.get("type").and_then(Value::as_str) == Some("tool-result"))
    .filter_map(|p| p.get("toolCallId").and_then(Value::as_str))
    .collect();
  let denied_approvals: HashSet<&str> = parts("tool")
    .filter(|p| p.get("type").and_then(Value::as_str) == Some("tool-approval-response"))
    .filter(|p| p.get("approved").and_then(Value::as_bool) == Some(false))
    .filter_map(|p| p.get("approvalId").and_then(Value::as_str))
    .collect();
  let denied_calls: HashSet<&str> = parts("assistant")
    .filter(|p| p.get("type").and_then(Value::as_str) == Some("tool-approval-request"))
    .filter(|p| {
      p.get("approvalId")
        .and_then(Value::as_str)
        .is_some_and(|a| denied_approvals.contains(a))
    })
    .filter_map(|p| p.get("toolCallId").and_then(Value::as_str))
    .collect();
  parts("assistant")
    .filter(|p| p.get("type").and_then(Value::as_str) == Some("tool-call"))
    .filter_map(|p| {
      let id = p.get("toolCallId")?.as_str()?;
      if completed.contains(id) || denied_calls.contains(id) {
        return None;
      }
      Some(ToolCall {
        tool_call_id: id.to_owned(),
        tool_name: p
          .get("toolName")
          .and_then(Value::as_str)
          .unwrap_or("")
          .to_owned(),
        input: p.get("input").cloned().unwrap_or(Value::Null),
      })
    })
    .collect()
}

fn lookup<'a>(map: &'a Map<String, Value>, call: &ToolCall) -> Option<&'a Value> {
  map
    .get(&call.tool_call_id)
    .or_else(|| map.get(&call.tool_name))
}

fn error_text(v: &Value) -> String {
  match v {
    Value::String(s) => s.clone(),
    other => other.to_string(),
  }
}

/// One `tool-output-available` / `tool-output-error` chunk per pending call.
pub fn tool_output_chunks(calls: &[ToolCall], plan: &TurnPlan, script: &AgentScript) -> Vec<Value> {
  if let Some(Value::Array(items)) = &plan.tool_outputs {
    // Explicit order (completion order) given by the hook.
    return items
      .iter()
      .filter_map(|item| {
        let id = item.get("toolCallId")?.as_str()?;
        Some(match item.get("errorText") {
          Some(e) => json!({"type": "tool-output-error", "toolCallId": id, "errorText": error_text(e)}),
          None => json!({"type": "tool-output-available", "toolCallId": id, "output": item.get("output").cloned().unwrap_or(Value::Null)}),
        })
      })
      .collect();
  }
  let plan_outputs = plan.tool_outputs.as_ref().and_then(Value::as_object);
  calls
    .iter()
    .map(|call| {
      let id = &call.tool_call_id;
      let error = plan
        .tool_errors
        .as_ref()
        .and_then(|m| lookup(m, call))
        .or_else(|| lookup(&script.tool_errors, call));
      let output = plan_outputs
        .and_then(|m| lookup(m, call))
        .or_else(|| lookup(&script.tool_outputs, call));
      match (error, output) {
        (Some(e), None) => {
          json!({"type": "tool-output-error", "toolCallId": id, "errorText": error_text(e)})
        }
        (_, Some(o)) => json!({"type": "tool-output-available", "toolCallId": id, "output": o}),
        (None, None) => {
          json!({"type": "tool-output-available", "toolCallId": id, "output": call.input})
        }
      }
    })
    .collect()
}

/// `start-step`, `text-start`, deltas, `text-end`, `finish-step` (no text part if no deltas).
pub fn text_step_chunks(plan: &TurnPlan, script: &AgentScript) -> Vec<Value> {
  let deltas = text_deltas(plan.text.as_ref().unwrap_or(&script.text));
  let id = plan
    .text_id
    .clone()
    .unwrap_or_else(|| script.text_id.clone());
  let mut chunks = vec![json!({"type": "start-step"})];
  if !deltas.is_empty() {
    chunks.push(json!({"type": "text-start", "id": id}));
    for delta in deltas {
      chunks.push(json!({"type": "text-delta", "id": id, "delta": delta}));
    }
    chunks.push(json!({"type": "text-end", "id": id}));
  }
  chunks.push(json!({"type": "finish-step"}));
  chunks
}

/// The data chunks of a tool-resuming turn (handover with `isFinal: false`).
pub fn handover_chunks(
  message_id: &str,
  calls: &[ToolCall],
  plan: &TurnPlan,
  script: &AgentScript,
) -> Vec<Value> {
  if let Some(chunks) = &plan.chunks {
    return chunks.clone();
  }
  let mut chunks = vec![json!({"type": "start", "messageId": message_id})];
  chunks.extend(tool_output_chunks(calls, plan, script));
  chunks.extend(text_step_chunks(plan, script));
  chunks.push(
    json!({"type": "finish", "finishReason": plan.finish_reason.as_deref().unwrap_or("stop")}),
  );
  chunks
}

/// The data chunks of an ordinary turn (a `message` record on `.in`).
pub fn message_chunks(message_id: &str, plan: &TurnPlan, script: &AgentScript) -> Vec<Value> {
  if let Some(chunks) = &plan.chunks {
    return chunks.clone();
  }
  let mut chunks = vec![json!({"type": "start", "messageId": message_id})];
  chunks.extend(text_step_chunks(plan, script));
  chunks.push(
    json!({"type": "finish", "finishReason": plan.finish_reason.as_deref().unwrap_or("stop")}),
  );
  chunks
}

#[cfg(test)]
mod tests {
  use super::*;

  fn partial_two_calls() -> Value {
    json!([
      {"role":"assistant","content":[
        {"type":"tool-call","toolCallId":"call_1","toolName":"getWeather","input":{"city":"Paris"}},
        {"type":"tool-call","toolCallId":"call_2","toolName":"getWeather","input":{"city":"Rome"}},
        {"type":"tool-call","toolCallId":"call_3","toolName":"search","input":{}},
        {"type":"tool-approval-request","approvalId":"handover-approval-1","toolCallId":"call_1"},
        {"type":"tool-approval-request","approvalId":"handover-approval-2","toolCallId":"call_2"}]},
      {"role":"tool","content":[
        {"type":"tool-result","toolCallId":"call_3","output":{}},
        {"type":"tool-approval-response","approvalId":"handover-approval-1","approved":true},
        {"type":"tool-approval-response","approvalId":"handover-approval-2","approved":false}]}
    ])
  }

  #[test]
  fn pending_calls_skip_completed_and_denied() {
    let calls = pending_tool_calls(&partial_two_calls());
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].tool_call_id, "call_1");
    assert_eq!(calls[0].input, json!({"city":"Paris"}));
    assert!(pending_tool_calls(&json!("nope")).is_empty());
  }

  #[test]
  fn the_one_tool_turn_of_the_spec() {
    let calls = pending_tool_calls(&partial_two_calls());
    let script = AgentScript {
      tool_outputs: json!({"getWeather": {"city":"Paris","tempC":20}})
        .as_object()
        .unwrap()
        .clone(),
      text: json!(["It is ", "20C."]),
      ..Default::default()
    };
    let chunks = handover_chunks("M", &calls, &TurnPlan::default(), &script);
    let lines: Vec<String> = chunks.iter().map(Value::to_string).collect();
    assert_eq!(
      lines,
      vec![
        r#"{"type":"start","messageId":"M"}"#,
        r#"{"type":"tool-output-available","toolCallId":"call_1","output":{"city":"Paris","tempC":20}}"#,
        r#"{"type":"start-step"}"#,
        r#"{"type":"text-start","id":"a1"}"#,
        r#"{"type":"text-delta","id":"a1","delta":"It is "}"#,
        r#"{"type":"text-delta","id":"a1","delta":"20C."}"#,
        r#"{"type":"text-end","id":"a1"}"#,
        r#"{"type":"finish-step"}"#,
        r#"{"type":"finish","finishReason":"stop"}"#,
      ]
    );
  }

  #[test]
  fn hook_plans_override_knobs_and_order() {
    let calls = vec![
      ToolCall {
        tool_call_id: "a".into(),
        tool_name: "t".into(),
        input: json!(1),
      },
      ToolCall {
        tool_call_id: "b".into(),
        tool_name: "t".into(),
        input: json!(2),
      },
    ];
    let plan = TurnPlan {
      tool_errors: Some(json!({"a": "boom"}).as_object().unwrap().clone()),
      ..Default::default()
    };
    let out = tool_output_chunks(&calls, &plan, &AgentScript::default());
    assert_eq!(
      out[0],
      json!({"type":"tool-output-error","toolCallId":"a","errorText":"boom"})
    );
    assert_eq!(
      out[1],
      json!({"type":"tool-output-available","toolCallId":"b","output":2})
    );
    let plan = TurnPlan {
      tool_outputs: Some(
        json!([{"toolCallId":"b","output":"B"},{"toolCallId":"a","errorText":"late"}]),
      ),
      ..Default::default()
    };
    let out = tool_output_chunks(&calls, &plan, &AgentScript::default());
    assert_eq!(out[0]["toolCallId"], "b");
    assert_eq!(out[1]["type"], "tool-output-error");
  }
}
