// The headStart response body produced by our Rust core, served through chat.toNodeListener two
// ways: the native fast path (`response[Symbol.for('chat-headstart.nativeBody')]`, default) and
// the WHATWG stream path (the same Response with the symbol removed, so the listener reads
// `response.body`). Full tool-call turns against the local plane (no artificial latency): step 1
// from a mock model, then the agent's phase 2 of N text-delta chunks spliced in by Rust.
//
//   node bench/listener/native-body.mjs [--turns 20] [--rounds 3]
//
// Reports, per path: server CPU per turn for 200 and 2000 phase-2 chunks, the CPU per phase-2
// chunk (difference ÷ 1800), and how many res.write calls / Rust notifications a turn costs.
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { once } from 'node:events'
import os from 'node:os'
import { kNativeBody as NATIVE_BODY } from '../../lib/node/native-body.js'

const self = fileURLToPath(import.meta.url)
const role = process.argv.find((a) => a.startsWith('--role='))?.slice(7) ?? 'main'
function flag(name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}

if (role === 'plane') {
  const { startDevPlane } = await import('../../index.js')
  const plane = await startDevPlane({
    logRequests: false,
    agent: { bootDelayMs: 0, toolOutputs: { getWeather: { city: 'Paris', tempC: 20 } }, text: ['It is ', '20C.'] },
  })
  process.send({ apiUrl: plane.apiUrl, secretKey: plane.secretKey })
  process.on('message', (m) => {
    plane.setAgent({ text: Array.from({ length: m.deltas }, (_, i) => `t${i} `), recordsPerAppend: 500 })
    process.send({ ok: true })
  })
}

if (role === 'server') {
  const mode = process.argv.find((a) => a.startsWith('--mode=')).slice(7)
  const http = await import('node:http')
  const { simulateReadableStream, tool } = await import('ai')
  const { MockLanguageModelV4 } = await import('ai/test')
  const { z } = await import('zod')
  const { chat } = await import('../../index.js')
  const usage = { inputTokens: { total: 3, noCache: 3 }, outputTokens: { total: 5, text: 5 } }
  const parts = [
    { type: 'stream-start', warnings: [] },
    { type: 'text-start', id: 's1' },
    { type: 'text-delta', id: 's1', delta: 'Checking.' },
    { type: 'text-end', id: 's1' },
    { type: 'tool-call', toolCallId: 'call_1', toolName: 'getWeather', input: '{"city":"Paris"}' },
    { type: 'finish', finishReason: { unified: 'tool-calls', raw: 'tool-calls' }, usage },
  ]
  const model = () =>
    new MockLanguageModelV4({ doStream: async () => ({ stream: simulateReadableStream({ chunks: parts, initialDelayInMs: 0, chunkDelayInMs: 0 }) }) })
  const tools = { getWeather: tool({ description: 'weather', inputSchema: z.object({ city: z.string() }) }) }
  const handler = chat.headStart({
    agentId: 'bench-agent',
    apiClient: JSON.parse(process.env.BENCH_API_CLIENT),
    run: ({ streamText }) => streamText({ model: model(), tools }),
  })
  const served =
    mode === 'native'
      ? handler
      : async (req) => {
          const res = await handler(req)
          delete res[NATIVE_BODY] // the listener now reads response.body (a WHATWG stream)
          return res
        }
  let writes = 0
  const write = http.ServerResponse.prototype.write
  http.ServerResponse.prototype.write = function (...args) {
    writes++
    return write.apply(this, args)
  }
  const server = http.createServer(chat.toNodeListener(served))
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }))
  process.on('message', () => {
    const c = process.cpuUsage()
    process.send({ cpu: c.user + c.system, writes, rss: process.memoryUsage().rss })
  })
}

let counter = 0
async function turn(port) {
  const res = await fetch(`http://127.0.0.1:${port}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      headStartMessages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'weather in Paris?' }] }],
      chatId: `native-body-${process.pid}-${++counter}`,
      trigger: 'submit-message',
    }),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`turn failed: ${res.status} ${text}`)
  return text.split('\ndata: ').length
}

async function ask(child, msg) {
  const reply = once(child, 'message')
  child.send(msg)
  return (await reply)[0]
}

if (role === 'main') {
  const TURNS = flag('turns', 20)
  const ROUNDS = flag('rounds', 3)
  const plane = fork(self, ['--role=plane'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const { apiUrl, secretKey } = (await once(plane, 'message'))[0]
  const env = { ...process.env, BENCH_API_CLIENT: JSON.stringify({ baseURL: apiUrl, accessToken: secretKey }) }
  const modes = ['native', 'stream']
  const servers = {}
  for (const mode of modes) {
    const c = fork(self, ['--role=server', `--mode=${mode}`], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    servers[mode] = { c, port: (await once(c, 'message'))[0].port }
  }
  const results = {} // mode → deltas → [{ cpuMs, writes, events }]
  for (const deltas of [200, 2000]) {
    await ask(plane, { deltas })
    for (const mode of modes) for (let i = 0; i < 3; i++) await turn(servers[mode].port) // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of r % 2 ? [...modes].reverse() : modes) {
        const s = servers[mode]
        const a = await ask(s.c, 'stats')
        let events = 0
        for (let i = 0; i < TURNS; i++) events = await turn(s.port)
        const b = await ask(s.c, 'stats')
        ;((results[mode] ??= {})[deltas] ??= []).push({ cpuMs: (b.cpu - a.cpu) / 1000 / TURNS, writes: (b.writes - a.writes) / TURNS, events, rss: b.rss })
      }
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
  const row = (mode, deltas) => {
    const rs = results[mode][deltas]
    return { cpu: median(rs.map((x) => x.cpuMs)), writes: median(rs.map((x) => x.writes)), events: rs[0].events }
  }
  console.log(
    `\n### headStart body from Rust through toNodeListener: native sink vs WHATWG stream (node ${process.version}, ` +
      `${TURNS} sequential tool-call turns × ${ROUNDS} rotated rounds, medians; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')})\n`,
  )
  console.log('| body path | SSE events / turn | server CPU ms / turn | res.write calls / turn | server CPU ms / turn | res.write calls / turn | CPU µs per phase-2 chunk |')
  console.log('|---|---:|---:|---:|---:|---:|---:|')
  for (const mode of modes) {
    const small = row(mode, 200)
    const big = row(mode, 2000)
    const perChunk = ((big.cpu - small.cpu) * 1000) / 1800
    console.log(
      `| ${mode === 'native' ? 'native sink (default)' : 'WHATWG stream reader'} | ${small.events} / ${big.events} | ${small.cpu.toFixed(2)} | ${small.writes.toFixed(1)} | ${big.cpu.toFixed(2)} | ${big.writes.toFixed(1)} | ${perChunk.toFixed(2)} |`,
    )
  }
  console.log('\n(columns 3–4: 200 phase-2 chunks, 5–6: 2000; the Rust side is identical in both rows, so the difference is the listener path)')
  for (const s of Object.values(servers)) s.c.kill()
  plane.kill()
  process.exit(0)
}
