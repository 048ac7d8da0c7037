// Drives the addon's native paths once, for a memory checker around it (not part of npm test):
//   valgrind --leak-check=full --log-file=memcheck.%p.log node scripts/memcheck.mjs
// (debug build: `npm run build:debug`). The SSE parser over split input, then the local plane:
// sessions created, chunks appended and read back, an SSE subscription, and close(). Node's own
// "possibly lost" blocks at exit are expected; look for frames in chat-headstart / chat_headstart.
import { createSseParser, startDevPlane } from '../index.js'

const encoder = new TextEncoder()
let events = 0
const parser = createSseParser({ onEvent: () => events++ })
const stream = encoder.encode('data: {"type":"text-delta","delta":"é"}\n\nid: 3\nevent: batch\ndata: x\r\n\r\n: c\n\n'.repeat(50))
for (let i = 0; i < stream.length; i += 7) parser.feed(stream.subarray(i, i + 7))
if (events !== 100) throw new Error(`SSE parser: ${events} events, expected 100`)

const plane = await startDevPlane({ secretKey: 'tr_dev_memcheck' })
const headers = { authorization: 'Bearer tr_dev_memcheck', 'content-type': 'application/json' }
for (let n = 0; n < 5; n++) {
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
    if (append.status !== 200) throw new Error(`append: ${append.status}`)
  }
  const sse = await fetch(`${plane.apiUrl}/realtime/v1/sessions/${id}/out`, {
    headers: { ...headers, 'timeout-seconds': '1' },
  })
  const text = await sse.text()
  if (!text.includes('chunk 2')) throw new Error(`SSE read: ${text.slice(0, 200)}`)
}
await plane.close()
console.log(`memcheck drive: ok (${events} SSE events, 5 sessions)`)
