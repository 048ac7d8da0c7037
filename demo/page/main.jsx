// The demo chat page: the AI SDK's useChat over the real TriggerChatTransport. Turn 1 of a new
// chat goes through the head-start route (/api/chat on this server); turn 2+ go straight to
// the session API (the local plane, or Trigger.dev) with the session token from turn 1.
import { useCallback, useEffect, useRef, useState } from 'react'
import { createRoot } from 'react-dom/client'
import { useChat } from '@ai-sdk/react'
import { useTriggerChatTransport } from '@trigger.dev/sdk/chat/react'

const config = window.__DEMO__

/** A fresh chat id (the session's externalId). */
const newChatId = () => `demo-${crypto.randomUUID()}`

async function sessionToken(chatId) {
  const res = await fetch(config.sessionRoute, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ chatId }),
  })
  if (!res.ok) throw new Error(`session route answered ${res.status}: ${await res.text()}`)
  return res.json()
}

/**
 * Watches the head-start response's SSE frames (without consuming them) to timestamp the
 * handover: the end of step 1 (its `finish` chunk) and the agent's first chunk after it.
 */
function instrumentHeadStart(response, turn) {
  if (!response.body) return response
  const decoder = new TextDecoder()
  let buffered = ''
  let stepOneDone = false
  const watch = new TransformStream({
    transform(bytes, controller) {
      controller.enqueue(bytes)
      buffered += decoder.decode(bytes, { stream: true })
      let end
      while ((end = buffered.indexOf('\n\n')) !== -1) {
        const frame = buffered.slice(0, end)
        buffered = buffered.slice(end + 2)
        if (!frame.startsWith('data: ')) continue
        let chunk
        try {
          chunk = JSON.parse(frame.slice(6))
        } catch {
          continue
        }
        const now = performance.now()
        if (!stepOneDone && chunk.type === 'finish') {
          stepOneDone = true
          turn.mark('stepOneEnd', now)
        } else if (stepOneDone && !String(chunk.type).startsWith('trigger:')) {
          turn.mark('agentFirstChunk', now)
        }
      }
    },
  })
  return new Response(response.body.pipeThrough(watch), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  })
}

/** Per-turn timing records, keyed by the order of sends. */
function useTurnTimings() {
  const [turns, setTurns] = useState([])
  const current = useRef(null)
  const begin = useCallback((path) => {
    const turn = { index: 0, path, start: performance.now(), marks: {}, messageId: undefined }
    turn.mark = (name, at = performance.now()) => {
      if (turn.marks[name] !== undefined) return
      turn.marks[name] = Math.round(at - turn.start)
      setTurns((all) => all.map((t) => (t === turn ? turn : t)).slice())
    }
    current.current = turn
    setTurns((all) => {
      turn.index = all.length + 1
      return [...all, turn]
    })
    return turn
  }, [])
  return { turns, current, begin }
}

function ToolPart({ part }) {
  const name = part.type === 'dynamic-tool' ? part.toolName : part.type.slice('tool-'.length)
  const input = part.input ? JSON.stringify(part.input) : ''
  let body
  if (part.state === 'output-available') {
    const o = part.output
    body = o && typeof o === 'object' && 'tempC' in o
      ? <span className="tool-output">{o.city}: {o.tempC}°C, {o.conditions}</span>
      : <code className="tool-output">{JSON.stringify(o)}</code>
  } else if (part.state === 'output-error') {
    body = <span className="tool-error">error: {part.errorText}</span>
  } else {
    body = <span className="tool-pending">waiting for the agent…</span>
  }
  return (
    <div className="tool" data-testid="tool-part" data-state={part.state}>
      <div className="tool-head"><span className="badge">tool</span> {name}({input})</div>
      {body}
    </div>
  )
}

function Timings({ turn, status }) {
  if (!turn) return null
  const m = turn.marks
  const fmt = (v) => (v === undefined ? '—' : `${v} ms`)
  return (
    <div className="timings" data-testid="timings" data-turn={turn.index}>
      <span className="path">{turn.path === 'head-start' ? 'turn 1 via head start' : `turn ${turn.index} direct to session`}</span>
      <span>first text <b data-testid="t-first-text">{fmt(m.firstText)}</b></span>
      {turn.path === 'head-start' && (
        <>
          <span>step 1 done <b>{fmt(m.stepOneEnd)}</b></span>
          <span>agent's first chunk <b data-testid="t-handover">{fmt(m.agentFirstChunk)}</b></span>
        </>
      )}
      <span>turn complete <b data-testid="t-complete">{m.complete === undefined && status !== 'ready' ? '…' : fmt(m.complete)}</b></span>
    </div>
  )
}

function Chat({ chatId, onNewChat }) {
  const { turns, current, begin } = useTurnTimings()
  const headStartUrl = new URL(config.headStart, window.location.href).href

  // The head-start POST uses the global fetch (not the transport's `fetch` option); wrap it
  // for this page so the handover can be timestamped.
  useEffect(() => {
    const original = window.fetch
    window.fetch = async (input, init) => {
      const response = await original(input, init)
      const url = typeof input === 'string' ? input : input.url
      if (new URL(url, window.location.href).href === headStartUrl && current.current) {
        return instrumentHeadStart(response, current.current)
      }
      return response
    }
    return () => {
      window.fetch = original
    }
  }, [headStartUrl, current])

  const transport = useTriggerChatTransport({
    task: config.agentId,
    headStart: config.headStart,
    baseURL: config.baseURL,
    accessToken: async ({ chatId }) => (await sessionToken(chatId)).publicAccessToken,
    startSession: async ({ chatId }) => sessionToken(chatId),
    onEvent: (event) => {
      if (event.type === 'turn-completed') current.current?.mark('complete')
    },
  })
  const { messages, sendMessage, status, error } = useChat({ id: chatId, transport })

  // First text of the current turn: the first render where its assistant message has text.
  useEffect(() => {
    const turn = current.current
    if (!turn) return
    const last = messages.at(-1)
    if (last?.role !== 'assistant' || last.id === turn.previousAssistantId) return
    turn.messageId = last.id
    if (last.parts.some((p) => p.type === 'text' && p.text.length > 0)) turn.mark('firstText')
  }, [messages, current])
  useEffect(() => {
    if (status === 'ready' || status === 'error') current.current?.mark('complete')
  }, [status, current])

  const [input, setInput] = useState('')
  const busy = status === 'submitted' || status === 'streaming'
  const send = (event) => {
    event.preventDefault()
    const text = input.trim()
    if (!text || busy) return
    const turn = begin(messages.length === 0 ? 'head-start' : 'direct')
    turn.previousAssistantId = messages.filter((m) => m.role === 'assistant').at(-1)?.id
    setInput('')
    sendMessage({ text })
  }

  return (
    <>
      <div className="messages" data-testid="messages">
        {messages.length === 0 && (
          <p className="hint">
            Ask anything, or ask about the weather in a city (e.g. <i>What is the weather in Paris?</i>) to
            see step 1 stream from this server and the agent take over for the tool call and step 2.
          </p>
        )}
        {messages.map((message) => (
          <div key={message.id} className={`message ${message.role}`} data-testid={`message-${message.role}`}>
            <div className="role">{message.role === 'user' ? 'You' : 'Assistant'}</div>
            {message.parts.map((part, i) => {
              if (part.type === 'text') return <p key={i} className="text">{part.text}</p>
              if (part.type.startsWith('tool-') || part.type === 'dynamic-tool') return <ToolPart key={i} part={part} />
              return null
            })}
            {message.role === 'assistant' && (
              <Timings turn={turns.find((t) => t.messageId === message.id)} status={status} />
            )}
          </div>
        ))}
        {error && <div className="error" data-testid="error">{String(error.message ?? error)}</div>}
      </div>
      <form className="composer" onSubmit={send}>
        <input
          data-testid="input"
          value={input}
          onChange={(e) => setInput(e.target.value)}
          placeholder={busy ? 'Waiting for the answer…' : 'Message'}
          autoFocus
        />
        <button type="submit" data-testid="send" disabled={busy || !input.trim()}>Send</button>
        <button type="button" className="secondary" onClick={onNewChat} disabled={busy}>New chat</button>
      </form>
      <div className="status" data-testid="status" data-status={status}>{status}</div>
    </>
  )
}

function App() {
  const [chatId, setChatId] = useState(newChatId)
  return (
    <main>
      <header>
        <h1>chat-headstart demo</h1>
        <p className="sub">
          {config.label} · chat <code data-testid="chat-id">{chatId}</code>
        </p>
      </header>
      <Chat key={chatId} chatId={chatId} onNewChat={() => setChatId(newChatId())} />
    </main>
  )
}

createRoot(document.getElementById('root')).render(<App />)
