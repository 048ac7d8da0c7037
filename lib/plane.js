// startDevPlane: the local session plane (Trigger.dev-compatible API + S2 + scripted agent),
// running in Rust on its own threads. Knobs and logs cross the boundary as JSON, once per call;
// the agent hook is one long-lived threadsafe function per plane.
import { native } from './native.js'

/** @param {import('../index.d.ts').DevPlaneOptions} [options] */
export async function startDevPlane(options = {}) {
  const { agent = {}, faults = {}, ...rest } = options ?? {}
  const { onTurn, ...agentKnobs } = agent ?? {}
  let currentOnTurn = onTurn
  let currentAgent = { ...agentKnobs }
  const initialAgent = { ...agentKnobs }

  // One dispatcher for the plane's lifetime: it calls whatever onTurn is current, so tests
  // can swap the hook with setAgent({ onTurn }) without a new native callback.
  const dispatch = async (inputJson) => {
    if (!currentOnTurn) return 'null'
    const plan = await currentOnTurn(JSON.parse(inputJson))
    return JSON.stringify(plan ?? null)
  }

  // `useHook` tells the agent whether a turn needs the JS round trip at all.
  const agentJson = () => JSON.stringify({ ...currentAgent, useHook: typeof currentOnTurn === 'function' })
  const handle = native.startDevPlane(JSON.stringify({ ...rest, agent: JSON.parse(agentJson()), faults }), dispatch)
  const apiUrl = handle.apiUrl
  const secretKey = handle.secretKey
  let closed = null

  const plane = {
    apiUrl,
    secretKey,
    s2Url: handle.s2Url,
    s2AccessToken: handle.s2AccessToken,
    basin: handle.basin,
    certPem: handle.certPem ?? null,
    env: { TRIGGER_API_URL: apiUrl, TRIGGER_SECRET_KEY: secretKey },
    apiClient: { baseURL: apiUrl, accessToken: secretKey },
    requests() {
      return JSON.parse(handle.requestsJson())
    },
    openResponses() {
      return plane.requests().filter((r) => r.responseEnd === null)
    },
    traffic() {
      return JSON.parse(handle.trafficJson())
    },
    clearRequests() {
      handle.clearRequests()
    },
    setLogRequests(enabled) {
      handle.setLogRequests(Boolean(enabled))
    },
    setAgent(patch) {
      if (patch === null) {
        currentAgent = { ...initialAgent }
        currentOnTurn = onTurn
      } else {
        const { onTurn: nextOnTurn, ...knobs } = patch ?? {}
        if ('onTurn' in (patch ?? {})) currentOnTurn = nextOnTurn
        currentAgent = { ...currentAgent, ...knobs }
      }
      handle.setAgentJson(agentJson())
    },
    resetAgent() {
      plane.setAgent(null)
    },
    setFaults(next) {
      handle.setFaultsJson(JSON.stringify(next ?? {}))
    },
    resetFaults() {
      handle.setFaultsJson('{}')
    },
    sessions() {
      return JSON.parse(handle.sessionsJson())
    },
    records(session, io = 'out', { channel, fromSeq } = {}) {
      const json = handle.recordsJson(session, io, channel ?? null, fromSeq ?? null)
      return json == null ? undefined : JSON.parse(json)
    },
    close() {
      closed ??= handle.close()
      return closed
    },
    [Symbol.asyncDispose]() {
      return plane.close()
    },
  }
  return plane
}
