// The log switch and the diagnostics channels from the outside: each case runs
// telemetry.child.ts in its own process (the switch is read when the package loads) and checks
// its stderr and the channel messages it collected.
// - Nothing leaks: with everything on at trace level (our crates and the HTTP clients' own
//   events, a superset of CHAT_HEADSTART_LOG=trace), through a text turn, a tool-call turn, a
//   createSession retry, a createSession failure, an S2 failure, a phase-2 reconnect, a run()
//   failure, a rejected request and a detached turn, neither the secret key, nor the plane's S2
//   token, nor any issued access token appears on stderr or in any channel message.
// - CHAT_HEADSTART_LOG=debug prints a turn's phases; =json makes every line a JSON object; unset
//   prints nothing; an invalid filter is reported once and logging stays off.
// - The messages: a TracingChannel life cycle per turn with the documented payload, and the
//   handover decision on its own channel.
import test from 'ava'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ChildEvent, ChildResult } from './telemetry.child.ts'

// The child loads TypeScript the way this worker does (its execArgv: the repo's oxc loader, or
// Node's own transform in `npm run test:prebuilt`), resolved from this folder, so the node_modules
// above it are found in the repo and in an installed-package test folder alike.
const here = fileURLToPath(new URL('.', import.meta.url))
const childScript = fileURLToPath(new URL('./telemetry.child.ts', import.meta.url))

async function runChild(scenario: 'all' | 'one', env: Record<string, string | undefined>) {
  const childEnv: Record<string, string | undefined> = { ...process.env }
  delete childEnv.CHAT_HEADSTART_LOG
  delete childEnv.CHAT_HEADSTART_LOG_FORMAT
  Object.assign(childEnv, env)
  const child = spawn(process.execPath, [...process.execArgv, childScript, scenario], {
    cwd: here,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
    child.on('close', (code, signal) => resolve([code, signal])),
  )
  const line = stdout.split('\n').find((l) => l.startsWith('@@RESULT '))
  if (code !== 0 || !line) {
    throw new Error(`child exited with ${code ?? signal}\nstdout:\n${stdout}\nstderr:\n${stderr.slice(-4000)}`)
  }
  return { result: JSON.parse(line.slice('@@RESULT '.length)) as ChildResult, stderr }
}

const messages = (events: ChildEvent[], channel: 'turn' | 'handover', event: string) =>
  events.filter((e) => e.channel === channel && e.event === event).map((e) => JSON.parse(e.json))
const endOf = (events: ChildEvent[], chatId: string) => messages(events, 'turn', 'asyncEnd').find((m) => m.chatId === chatId)

test('nothing secret reaches stderr or a channel message, with every log line on at trace level', async (t) => {
  const { result, stderr } = await runChild('all', { CHAT_HEADSTART_LOG: 'trace,h2=trace,hyper=trace,hyper_util=trace' })
  const { secret, s2Token, tokens, issued, events } = result
  // The turns did handle real secrets: 5 streamed turns answered with a token; the plane minted
  // one per createSession of the 7 sessions (those 5, the run() failure's, the detached turn's)
  // and more for its agent runs.
  t.is(tokens.length, 5)
  t.true(issued.length >= 7, String(issued.length))
  t.is(new Set(issued).size, issued.length)
  for (const token of tokens) t.true(issued.includes(token), token)
  for (const token of issued) t.true(token.length >= 16, token)
  // The logging was on (our crates and the HTTP/2 client at trace level), for every turn.
  t.regex(stderr, / TRACE .*chat_headstart_core::session::s2: append batch sent/)
  t.regex(stderr, / (TRACE|DEBUG) .*h2::/)
  for (const chatId of ['tel-text', 'tel-tool', 'tel-retry', 'tel-api-fail', 'tel-s2-fail', 'tel-reconnect', 'tel-throw', 'tel-detached']) {
    t.regex(stderr, new RegExp(`turn\\{chat_id=${chatId} .*turn ended`), chatId)
  }
  const channelText = events.map((e) => e.json).join('\n')
  for (const [name, value] of [['secret key', secret], ['S2 token', s2Token], ...issued.map((v, i) => [`access token ${i}`, v])]) {
    t.false(stderr.includes(value), `${name} on stderr`)
    t.false(channelText.includes(value), `${name} in a channel message`)
  }
  // Not even a prefix long enough to identify them.
  t.false(stderr.includes(secret.slice(0, 24)))
  t.false(stderr.toLowerCase().includes('bearer'))
})

test('the channel messages: one life cycle per turn, the documented payload, the handover decision', async (t) => {
  const { result } = await runChild('all', {})
  const { events, statuses } = result
  const starts = messages(events, 'turn', 'start')
  t.is(starts.length, 9)
  t.is(messages(events, 'turn', 'end').length, 9)
  t.is(messages(events, 'turn', 'asyncStart').length, 9)
  t.is(messages(events, 'turn', 'asyncEnd').length, 9)
  // At `start` only what is known before the request is read.
  t.deepEqual(Object.keys(starts[0]).filter((k) => starts[0][k] !== undefined).sort(), ['agentId', 'api', 'startTime', 'timings'])
  t.is(starts[0].agentId, 'telemetry-agent')
  // Every start comes before its end, asyncStart before asyncEnd, per turn (the same object).
  const order = events.filter((e) => e.channel === 'turn').map((e) => e.event)
  t.is(order[0], 'start')

  const text = endOf(events, 'tel-text')
  t.like(text, { api: 'headStart', agentId: 'telemetry-agent', status: 200, outcome: 'complete' })
  t.regex(text.messageId, /^\w{16}$/)
  t.true(text.startTime > Date.now() - 120_000)
  const tm = text.timings
  for (const key of ['createSessionMs', 'firstChunkMs', 'step1EndMs', 'handoverMs', 'firstAgentChunkMs', 'turnCompleteMs', 'endMs']) {
    t.is(typeof tm[key], 'number', key)
  }
  t.true(tm.step1EndMs <= tm.handoverMs && tm.handoverMs <= tm.firstAgentChunkMs && tm.turnCompleteMs <= tm.endMs, JSON.stringify(tm))
  t.like(text.createSession, { attempts: 1, status: 201 })
  t.like(text.handover, { decision: 'handover', isFinal: true, finishReason: 'stop', ok: true })
  t.true(text.tee.records > 0 && text.tee.bytes > 0 && text.tee.retries === 0)
  // A final handover: the agent only writes its turn-complete.
  t.is(text.phase2.records, 0)
  t.is(text.error, undefined)

  const tool = endOf(events, 'tel-tool')
  t.like(tool, { outcome: 'complete', handover: { decision: 'handover', isFinal: false, finishReason: 'tool-calls' } })
  t.true(tool.phase2.records > 0 && tool.phase2.bytes > 0)
  t.is(tool.phase2.reconnects, 0)
  t.like(endOf(events, 'tel-retry'), { outcome: 'complete', createSession: { attempts: 2, status: 201 } })
  const apiFail = endOf(events, 'tel-api-fail')
  t.like(apiFail, { outcome: 'failed', status: 502, createSession: { attempts: 1, status: 422 } })
  t.regex(apiFail.error.message, /createSession failed: injected createSession failure/)
  t.is(apiFail.handover, undefined)
  const s2Fail = endOf(events, 'tel-s2-fail')
  t.like(s2Fail, { outcome: 'complete', tee: { retries: 2 } })
  t.regex(s2Fail.tee.error, /Max attempts \(3\) exhausted/)
  t.true(endOf(events, 'tel-reconnect').phase2.reconnects >= 1)
  const thrown = endOf(events, 'tel-throw')
  t.like(thrown, { outcome: 'skipped', status: 500, handover: { decision: 'skip', reason: 'runFailed', ok: true } })
  t.is(thrown.error.message, 'run() failed on purpose')
  t.like(messages(events, 'turn', 'asyncEnd').find((m) => m.status === 400), { outcome: 'rejected', chatId: undefined })
  t.like(endOf(events, 'tel-detached'), { api: 'startHeadStart', outcome: 'dispatched', handover: { decision: 'handover' } })
  t.deepEqual(statuses, {
    'tel-text': 200,
    'tel-tool': 200,
    'tel-retry': 200,
    'tel-api-fail': 502,
    'tel-s2-fail': 200,
    'tel-reconnect': 200,
    'tel-throw': 500,
    'tel-rejected': 400,
  })
  // `error` is published for the failed turns only, before their asyncEnd.
  t.deepEqual(messages(events, 'turn', 'error').map((m) => m.chatId).sort(), ['tel-api-fail', 'tel-throw'])

  // The handover channel: one message per Rust-dispatched turn, with the turn it belongs to.
  const handovers = messages(events, 'handover', 'handover')
  t.deepEqual(handovers.map((h) => h.chatId).sort(), ['tel-detached', 'tel-reconnect', 'tel-retry', 'tel-s2-fail', 'tel-text', 'tel-throw', 'tel-tool'])
  const toolHandover = handovers.find((h) => h.chatId === 'tel-tool')
  t.like(toolHandover, { turn: 'tel-tool', agentId: 'telemetry-agent', decision: 'handover', isFinal: false, ok: true })
  t.deepEqual(toolHandover.durationMs, Math.round((toolHandover.handoverMs - toolHandover.step1EndMs) * 1000) / 1000)
})

test('CHAT_HEADSTART_LOG=debug prints a turn\'s phases; a diagnostics subscriber sees it start and end', async (t) => {
  const { result, stderr } = await runChild('one', { CHAT_HEADSTART_LOG: 'debug' })
  const lines = stderr.split('\n').filter((l) => l.includes('chat_id=tel-one'))
  const phase = (re: RegExp) => lines.findIndex((l) => re.test(l))
  const phases = [
    phase(/ DEBUG turn\{.*\}: chat_headstart_core::handover::turn: turn started/),
    phase(/ DEBUG turn\{.*\}:createSession\{.*\}: chat_headstart_core::session::api: done attempts=1 status=201/),
    phase(/ DEBUG turn\{.*\}:tee: chat_headstart_core::session::s2: step 1 persisted records=\d+/),
    phase(/ DEBUG turn\{.*\}:handover: chat_headstart_core::handover::turn: handover sent is_final=false/),
    phase(/ DEBUG turn\{.*\}:phase2: chat_headstart_core::handover::turn: turn-complete received/),
    phase(/ INFO turn\{.*\}: chat_headstart_core::handover::turn: turn ended outcome="complete" duration_ms=/),
  ]
  t.false(phases.includes(-1), `${JSON.stringify(phases)}\n${stderr}`)
  t.deepEqual([...phases].sort((a, b) => a - b), phases, 'in this order')
  // The plane logs its requests through the same subscriber; the HTTP clients stay quiet.
  t.regex(stderr, /DEBUG chat_headstart_plane::plane: request origin="?api"? method=POST path=\/api\/v1\/sessions status=201/)
  t.notRegex(stderr, /h2::|hyper_util::/)
  t.false(stderr.includes(' TRACE '))
  const seen = result.events.filter((e) => e.channel === 'turn').map((e) => e.event)
  t.deepEqual(seen, ['start', 'end', 'asyncStart', 'asyncEnd'])
  t.like(JSON.parse(result.events.at(-1)!.json), { chatId: 'tel-one', outcome: 'complete' })
})

test('CHAT_HEADSTART_LOG_FORMAT=json: one JSON object per line, spans included', async (t) => {
  const { stderr } = await runChild('one', { CHAT_HEADSTART_LOG: 'chat_headstart=debug', CHAT_HEADSTART_LOG_FORMAT: 'json' })
  const lines = stderr.split('\n').filter(Boolean)
  t.true(lines.length > 5)
  const parsed = lines.map((l) => JSON.parse(l))
  const ended = parsed.find((l) => l.fields?.message === 'turn ended')
  t.like(ended, { level: 'INFO', target: 'chat_headstart_core::handover::turn', fields: { outcome: 'complete' }, span: { name: 'turn', chat_id: 'tel-one' } })
  t.is(typeof ended.fields.duration_ms, 'number')
  const created = parsed.find((l) => l.span?.name === 'createSession' && l.fields?.message === 'done')
  t.like(created, { fields: { attempts: 1, status: 201 } })
  t.deepEqual(created.spans.map((s: any) => s.name), ['turn', 'createSession'])
})

test('unset, nothing is logged; an invalid filter says so once and logs nothing', async (t) => {
  const off = await runChild('one', {})
  t.notRegex(off.stderr, /chat_headstart|DEBUG|INFO/)
  const invalid = await runChild('one', { CHAT_HEADSTART_LOG: 'chat_headstart=loud' })
  t.regex(invalid.stderr, /^\[chat-headstart\] logging stays off: CHAT_HEADSTART_LOG="chat_headstart=loud" is not a valid filter/)
  t.is(invalid.stderr.trim().split('\n').length, 1, invalid.stderr)
})
