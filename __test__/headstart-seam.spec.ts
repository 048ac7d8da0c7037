// The JS↔Rust seam of one head-start turn, counted: every call into the engine (its methods and
// the turn handle's) and every notification it sends back, recorded by wrapping the binding's
// classes before the handler creates its engine. Per-batch traffic (`push` per batch of step-1
// chunks, `Body` per batch of phase-2 bytes) scales with the output and is counted apart; the
// rest is fixed per turn and must not grow.
import test from 'ava'
import { chat, startDevPlane } from 'chat-headstart'
import { privateModule } from './package.helpers.ts'
import { firstTurnBody, mockModel, oneToolCall, postTurn, serve, textParts, weatherTools } from './headstart.helpers.ts'

type Binding = typeof import('../binding.d.ts')
const { native } = await privateModule<{ native: Binding }>('lib/native.js')
const { TurnEvent } = native
const eventName = (event: number) => Object.entries(TurnEvent).find(([, v]) => v === event)?.[0] ?? String(event)

/** What crossed, in order: `call:<method>` into Rust, `notify:<event>` back into JS. */
const crossings: string[] = []

function countCalls(proto: Record<string, unknown>, names: string[]) {
  for (const name of names) {
    const original = proto[name] as (...args: unknown[]) => unknown
    proto[name] = function (this: unknown, ...args: unknown[]) {
      crossings.push(`call:${name}`)
      return original.apply(this, args)
    }
  }
}

countCalls(native.HeadStartEngine.prototype as any, ['open', 'openDetached', 'begin', 'release', 'preload', 'appendIn'])
countCalls(native.TurnHandle.prototype as any, ['push', 'finish', 'cancel', 'setPaused', 'bodyConsumed'])
const Engine = native.HeadStartEngine
;(native as any).HeadStartEngine = new Proxy(Engine, {
  construct(target, [config, notify]: any[]) {
    crossings.push('call:constructor')
    return new target(config, (turn: number, event: number, bytes: unknown, detail: unknown) => {
      crossings.push(`notify:${eventName(event)}`)
      notify(turn, event, bytes, detail)
    })
  },
})

const plane = await startDevPlane()
test.after.always(() => {
  ;(native as any).HeadStartEngine = Engine
  return plane.close()
})

async function turn(agentId: string, chatId: string, tools: boolean) {
  const parts = tools ? oneToolCall : textParts()
  const toolSet = tools ? await weatherTools() : undefined
  const handler = chat.headStart({
    agentId,
    apiClient: plane.apiClient,
    run: ({ streamText }: any) => streamText({ model: mockModel(parts, { chunkDelayInMs: 5 }), tools: toolSet }),
  } as any)
  const server = await serve(chat.toNodeListener(handler) as any)
  try {
    crossings.length = 0
    // The End notification is what ends the body: counted by the time the response is read.
    const result = await postTurn(server.url, firstTurnBody(chatId))
    return { result, seen: [...crossings] }
  } finally {
    await server.close()
  }
}

const PER_BATCH = new Set(['call:push', 'notify:Body'])
/** The fixed crossings of a turn: all but the per-batch ones (and the engine's creation, once per configuration). */
const perTurn = (seen: string[]) => seen.filter((c) => !PER_BATCH.has(c) && c !== 'call:constructor')

for (const tools of [false, true]) {
  test.serial(`a ${tools ? 'tool-call' : 'text'} turn crosses into Rust 3 times and back twice, besides the per-batch push / Body`, async (t) => {
    // A fresh agent id: a fresh engine, created after the wrapping.
    const { result, seen } = await turn(`seam-agent-${tools}`, `seam-${tools}`, tools)
    t.is(result.status, 200)
    t.is(result.chunks.at(-2)?.type, 'trigger:turn-complete')
    t.deepEqual(perTurn(seen), ['call:open', 'call:begin', 'notify:SessionOk', 'call:finish', 'notify:End'], seen.join(' '))
    t.true(perTurn(seen).filter((c) => c.startsWith('call:')).length <= 3)
    // Step 1 (a handful of model chunks 5 ms apart) goes in a few batches, not one call per chunk.
    const pushes = seen.filter((c) => c === 'call:push').length
    t.true(pushes >= 1 && pushes < result.chunks.length, `${pushes} pushes for ${result.chunks.length} chunks`)
  })
}
