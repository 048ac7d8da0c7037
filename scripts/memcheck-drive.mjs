// What `npm run memcheck` (scripts/memcheck.mjs) runs under valgrind: every native path of the
// addon, once or a few times, in one process. Each round: the SSE parser over split input, then,
// on the local plane, head-start turns through chat.headStart's Fetch handler (a text answer, one
// tool call with the agent's step 2 spliced in, two tool calls, and a browser that leaves during
// step 1). Then the plane's own routes (sessions, appends, an SSE read) and close(). Exits 1
// when any check fails, so a leak report always belongs to a run that did what it says.
import { simulateReadableStream } from 'ai'
import { MockLanguageModelV4 } from 'ai/test'
import { chat, createSseParser, startDevPlane } from '../index.js'
import { native } from '../lib/native.js'
import { call, finish, text, tools } from './mock-parts.mjs'

const checks = []
const check = (ok, what) => {
  if (!ok) throw new Error(`memcheck drive: ${what}`)
  checks.push(what)
}

// The addon loaded is the one scripts/memcheck.mjs built without mimalloc (NAPI_RS_NATIVE_LIBRARY_PATH).
if (process.env.MEMCHECK_EXPECT_SYSTEM_ALLOCATOR === '1') {
  check(native.allocatorStats?.().allocator === 'system', 'the addon allocates through the system allocator')
}

const encoder = new TextEncoder()
const sseStream = encoder.encode('data: {"type":"text-delta","delta":"é"}\n\nid: 3\nevent: batch\ndata: x\r\n\r\n: c\n\n'.repeat(50))

/** The SSE parser over split input, a new one each round (its native state freed when collected). */
function parseSse() {
  let events = 0
  const parser = createSseParser({ onEvent: () => events++, onComment: () => {} })
  for (let i = 0; i < sseStream.length; i += 7) parser.feed(sseStream.subarray(i, i + 7))
  parser.feed('data: as a string\n\ndata: 東京\n\n')
  parser.end()
  check(events === 102, `SSE parser: ${events} events, expected 102`)
}

const plane = await startDevPlane({
  secretKey: 'tr_dev_memcheck',
  agent: { bootDelayMs: 5, text: ['The ', 'weather ', 'is ', 'fine.'] },
})

const words = (ws) => ws.map((w) => `${w} `)
const STEP_ONE = {
  text: [...text('s1', words(['A', 'plain', 'answer', 'café'])), finish('stop')],
  'one-tool': [...text('s1', words(['Checking'])), ...call(1, 'Paris'), finish('tool-calls')],
  'two-tool': [...text('s1', words(['Two', 'cities'])), ...call(1, 'Paris'), ...call(2, 'Rome'), finish('tool-calls')],
  leave: [...text('s1', words(['slow', 'tokens', 'the', 'browser', 'leaves', 'during'])), finish('stop')],
}
const handler = chat.headStart({
  agentId: 'memcheck-agent',
  apiClient: plane.apiClient,
  run: ({ streamText, messages }) => {
    const kind = Object.keys(STEP_ONE).find((k) => JSON.stringify(messages).includes(`memcheck:${k}`))
    const parts = [{ type: 'stream-start', warnings: [] }, ...STEP_ONE[kind]]
    const model = new MockLanguageModelV4({
      doStream: async () => ({ stream: simulateReadableStream({ chunks: parts, chunkDelayInMs: kind === 'leave' ? 50 : 0 }) }),
    })
    return streamText({ model, tools })
  },
})

/** Turns made so far (scripts/memcheck.mjs reads the count from the closing line). */
let turns = 0

/** One first turn through the Fetch handler; the SSE body as text (up to the leave, if any). */
async function turn(kind, chatId, { leaveAfterBytes } = {}) {
  turns += 1
  const controller = new AbortController()
  const body = JSON.stringify({
    chatId,
    trigger: 'submit-message',
    headStartMessages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: `memcheck:${kind} weather?` }] }],
  })
  const response = await handler(
    new Request('http://memcheck.local/api/chat', { method: 'POST', body, headers: { 'content-type': 'application/json' }, signal: controller.signal }),
  )
  check(response.status === 200, `${kind} turn: status ${response.status}`)
  const decoder = new TextDecoder()
  let seen = ''
  const reader = response.body.getReader()
  for (;;) {
    const { done, value } = await reader.read().catch(() => ({ done: true }))
    if (done) break
    seen += decoder.decode(value, { stream: true })
    if (leaveAfterBytes !== undefined && seen.length >= leaveAfterBytes) {
      controller.abort()
      await reader.cancel().catch(() => {})
      break
    }
  }
  return seen
}

// MEMCHECK_ROUNDS: how many times the set of turns runs (scripts/memcheck.mjs compares runs).
const rounds = Number(process.env.MEMCHECK_ROUNDS ?? 1)
for (let round = 0; round < rounds; round++) {
  parseSse()
  for (const kind of ['text', 'one-tool', 'two-tool']) {
    for (let n = 0; n < 2; n++) {
      const seen = await turn(kind, `memcheck-${round}-${kind}-${n}`)
      check(seen.includes('"type":"trigger:turn-complete"'), `${kind} turn ${n}: reached turn-complete`)
      if (kind !== 'text') check(seen.includes('fine.'), `${kind} turn ${n}: the agent's step 2 was spliced in`)
    }
  }
  const left = await turn('leave', `memcheck-${round}-leave`, { leaveAfterBytes: 1 })
  check(!left.includes('trigger:turn-complete'), 'a browser that leaves during step 1 gets no more')
}
// Let the handler finish tearing the left turn down before the plane closes.
await new Promise((resolve) => setTimeout(resolve, 1500))

const headers = { authorization: 'Bearer tr_dev_memcheck', 'content-type': 'application/json' }
for (let n = 0; n < 3; n++) {
  const created = await fetch(`${plane.apiUrl}/api/v1/sessions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ type: 'chat.agent', externalId: `m${n}`, taskIdentifier: 'a', triggerConfig: { basePayload: {} } }),
  })
  const { id } = await created.json()
  for (let c = 0; c < 3; c++) {
    const append = await fetch(`${plane.apiUrl}/realtime/v1/sessions/${id}/out/append`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ data: { type: 'text-delta', delta: `chunk ${c}` }, id: `c${c}` }),
    })
    check(append.status === 200, `append: ${append.status}`)
  }
  const sse = await fetch(`${plane.apiUrl}/realtime/v1/sessions/${id}/out`, {
    headers: { ...headers, 'timeout-seconds': '1' },
  })
  check((await sse.text()).includes('chunk 2'), 'the plane serves session.out over SSE')
}
await plane.close()
// The parsers are unreachable now: collect them so their native state is freed before exit (a
// live one's would be reported as lost, as V8 runs no finalizer at exit).
globalThis.gc?.()
await new Promise((resolve) => setImmediate(resolve))
console.log(`memcheck drive: ok (${turns} turns in ${rounds} rounds, ${checks.length} checks)`)
