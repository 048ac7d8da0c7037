// Phase 2 under a misbehaving browser (issue 4): the upstream `session.out` read closes promptly
// when the browser goes away (§10.5, ours and the reference side by side), and a browser that
// stops reading holds the agent's output back to the plane instead of buffering it in the handler.
// Both rely on the plane's request log following each response (`responseEnd`, `responseBytes`).
import http from 'node:http'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import test from 'ava'
import { chat, startDevPlane, type DevPlane, type LoggedRequest } from '../index.js'
import { delay, eventually, firstTurnBody, mockModel, oneToolParts, postTurn, serve, weatherTools } from './headstart.helpers.ts'

function headStartOptions(plane: DevPlane) {
  return {
    agentId: 'exp-agent',
    apiClient: plane.apiClient,
    run: async ({ streamText }: any) => streamText({ model: mockModel(oneToolParts()), tools: await weatherTools() }),
  }
}

async function mount(kind: 'ref' | 'ours', plane: DevPlane) {
  const { chat: refChat } = await import('@trigger.dev/sdk/chat-server')
  const listener =
    kind === 'ref'
      ? refChat.toNodeListener(refChat.headStart(headStartOptions(plane) as any))
      : chat.toNodeListener(chat.headStart(headStartOptions(plane) as any))
  return serve(listener as any)
}

const outReads = (plane: DevPlane, chatId: string): LoggedRequest[] =>
  plane.requests().filter((r) => r.method === 'GET' && r.path === `/realtime/v1/sessions/${chatId}/out`)

const turnComplete = (plane: DevPlane, chatId: string) =>
  plane.records(chatId, 'out')?.records.some((r) => r.headers?.some(([n, v]) => n === 'trigger-control' && v === 'turn-complete'))

/**
 * §10.5 with a slow agent: the browser leaves after the first step-2 text delta. Returns how
 * long the handler's `session.out` read stayed open after the abort, and the reads opened.
 */
async function abortDuringPhaseTwo(kind: 'ref' | 'ours', plane: DevPlane, chatId: string) {
  const server = await mount(kind, plane)
  try {
    let abortedAt = 0
    const result = await postTurn(server.url, firstTurnBody(chatId), {
      abortAfter: (chunks) => {
        const stepTwoText = chunks.some((c) => c.type === 'text-delta' && c.id === 'a1')
        if (stepTwoText) abortedAt = performance.now()
        return stepTwoText
      },
    })
    const closed = await eventually(() => outReads(plane, chatId).find((r) => r.responseEnd !== null), 10_000)
    const closedAfterMs = performance.now() - abortedAt
    // The agent keeps writing after the abort and finishes the turn unobserved (§6.6).
    await eventually(() => turnComplete(plane, chatId), 15_000)
    await delay(500)
    return { result, closed, closedAfterMs, reads: outReads(plane, chatId) }
  } finally {
    await server.close()
  }
}

test('§10.5 browser aborts while the agent writes slowly: the upstream read closes within 1 s, no read after it', async (t) => {
  // 24 step-2 deltas, one append every 150 ms: the agent is still writing when the browser leaves.
  const deltas = Array.from({ length: 24 }, (_, i) => `d${i} `)
  const plane = await startDevPlane({ agent: { text: deltas, recordDelayMs: 150 } })
  t.teardown(() => plane.close())

  const ours = await abortDuringPhaseTwo('ours', plane, 'p2-abort-ours')
  const ref = await abortDuringPhaseTwo('ref', plane, 'p2-abort-ref')

  for (const [name, run] of [
    ['ours', ours],
    ['reference', ref],
  ] as const) {
    const texts = run.result.chunks.filter((c) => c.type === 'text-delta' && c.id === 'a1')
    t.true(texts.length >= 1 && texts.length < deltas.length, `${name}: the abort came mid phase 2 (${texts.length} deltas)`)
    t.is(run.reads.length, 1, `${name}: no session.out read opened after the abort`)
    t.is(run.closed.responseEnd, 'aborted', `${name}: the read was closed by the handler, not ended by the plane`)
    t.is(run.reads[0].responseEnd, 'aborted')
    t.log(`${name}: session.out read closed ${run.closedAfterMs.toFixed(0)} ms after the browser aborted`)
  }
  // The correctness bound of §10.5 ("within ~1 s"); the reference is held to the observed trace.
  t.true(ours.closedAfterMs < 1000, `ours closed after ${ours.closedAfterMs.toFixed(0)} ms`)
  t.true(ref.closedAfterMs < 3000, `reference closed after ${ref.closedAfterMs.toFixed(0)} ms`)
  t.deepEqual(plane.openResponses().filter((r) => r.path.includes('/p2-abort-')), [], 'nothing of either chat still open')
})
