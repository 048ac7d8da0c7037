// The two head-start turns every installed app must complete against `chat-headstart dev`, as the
// browser's TriggerChatTransport would send them, with what the browser must then see. The
// plane's scripted agent answers a handover with each tool call's input echoed as its output,
// then the text "Done.", then turn-complete.
import { randomUUID } from 'node:crypto'

/** POSTs a new chat's first message to a head-start route; resolves the parsed UI chunks. */
async function firstTurn(url, text) {
  const chatId = `prebuilt-${randomUUID()}`
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      chatId,
      trigger: 'submit-message',
      headStartMessages: [{ id: `u-${chatId}`, role: 'user', parts: [{ type: 'text', text }] }],
    }),
    signal: AbortSignal.timeout(60_000),
  })
  const body = await res.text()
  if (res.status !== 200) throw new Error(`status ${res.status}: ${body.slice(0, 500)}`)
  if (!res.headers.get('content-type')?.startsWith('text/event-stream')) throw new Error(`content-type ${res.headers.get('content-type')}`)
  if (!res.headers.get('x-trigger-chat-access-token')) throw new Error('no x-trigger-chat-access-token header')
  const chunks = body
    .split('\n\n')
    .filter((frame) => frame.trim() !== '')
    .map((frame) => {
      if (!frame.startsWith('data: ')) throw new Error(`not a data frame: ${JSON.stringify(frame)}`)
      return JSON.parse(frame.slice(6))
    })
  return chunks
}

const types = (chunks) => chunks.map((c) => c.type)
const textOf = (chunks) => chunks.filter((c) => c.type === 'text-delta').map((c) => c.delta).join('')

function expect(condition, what, chunks) {
  if (!condition) throw new Error(`${what}; the browser saw: ${types(chunks).join(', ')}`)
}

/** Every turn ends with the agent's turn-complete and the session state, nothing after. */
function expectTurnEnd(chunks) {
  expect(types(chunks).slice(-2).join() === 'trigger:turn-complete,trigger:session-state', 'the turn does not end with turn-complete + session-state', chunks)
}

/** A text answer: step 1 streams text and finishes with `stop`; no tool, no step 2. */
export async function textTurn(url) {
  const chunks = await firstTurn(url, 'Say hello.')
  expect(chunks[0]?.type === 'start', 'the stream does not open with start', chunks)
  expect(textOf(chunks).length > 0, 'no text-delta', chunks)
  expect(!chunks.some((c) => c.type.startsWith('tool-')), 'a text turn carried tool chunks', chunks)
  const finishes = chunks.filter((c) => c.type === 'finish')
  expect(finishes.length === 1 && finishes[0].finishReason === 'stop', 'not exactly one finish (stop)', chunks)
  expectTurnEnd(chunks)
  return `text turn: ${chunks.length} chunks, "${textOf(chunks)}"`
}

/**
 * A tool-call turn: step 1 ends with a getWeather call (`tool-calls`); after the handover the
 * agent's tool output for that same call, its text "Done." and `stop` are spliced in.
 */
export async function toolCallTurn(url) {
  const chunks = await firstTurn(url, 'What is the weather in Rome?')
  const call = chunks.find((c) => c.type === 'tool-input-available')
  expect(call?.toolName === 'getWeather' && call.input?.city === 'Rome', 'no getWeather call for Rome', chunks)
  const step1End = chunks.findIndex((c) => c.type === 'finish' && c.finishReason === 'tool-calls')
  expect(step1End > chunks.indexOf(call), 'step 1 does not finish with tool-calls after the call', chunks)
  const step2 = chunks.slice(step1End + 1)
  const output = step2.find((c) => c.type === 'tool-output-available')
  expect(output?.toolCallId === call.toolCallId && output.output?.city === 'Rome', "the agent's tool output for the call is missing", chunks)
  expect(textOf(step2) === 'Done.', `step 2's text is ${JSON.stringify(textOf(step2))}, not "Done."`, chunks)
  expect(step2.filter((c) => c.type === 'finish').map((c) => c.finishReason).join() === 'stop', 'step 2 does not finish once with stop', chunks)
  expectTurnEnd(chunks)
  return `tool-call turn: ${chunks.length} chunks, call ${call.toolCallId} → ${JSON.stringify(output.output)}, "${textOf(step2)}"`
}

/** Both turns against `url`; resolves `[{ name, ok, detail }]`. */
export async function headStartTurns(url) {
  const results = []
  for (const [name, turn] of [
    ['text turn', textTurn],
    ['tool-call turn', toolCallTurn],
  ]) {
    try {
      results.push({ name, ok: true, detail: await turn(url) })
    } catch (err) {
      results.push({ name, ok: false, detail: err.message })
    }
  }
  return results
}
