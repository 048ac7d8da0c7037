'use client'
import { useState } from 'react'
import { useChat } from '@ai-sdk/react'
import { useTriggerChatTransport } from '@trigger.dev/sdk/chat/react'

const baseURL = process.env.NEXT_PUBLIC_TRIGGER_API_URL

async function sessionToken(chatId: string) {
  const res = await fetch('/api/chat/session', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ chatId }),
  })
  if (!res.ok) throw new Error(`session route: ${res.status}`)
  return (await res.json()) as { publicAccessToken: string }
}

export default function Page() {
  const transport = useTriggerChatTransport({
    task: 'demo-agent',
    headStart: '/api/chat',
    ...(baseURL ? { baseURL } : {}),
    accessToken: async ({ chatId }) => (await sessionToken(chatId)).publicAccessToken,
    startSession: async ({ chatId }) => sessionToken(chatId),
  })
  const { messages, sendMessage, status } = useChat({ transport })
  const [input, setInput] = useState('')

  return (
    <main>
      <h1>chat-headstart · Next.js</h1>
      {messages.map((m) => (
        <div key={m.id} data-role={m.role} style={{ margin: '12px 0' }}>
          <b>{m.role === 'user' ? 'You' : 'Assistant'}</b>
          {m.parts.map((part, i) => {
            if (part.type === 'text') return <p key={i}>{part.text}</p>
            if (part.type.startsWith('tool-') && 'toolCallId' in part) {
              return (
                <pre key={i} data-tool-state={part.state}>
                  {part.type.slice(5)} {JSON.stringify(part.input)} → {JSON.stringify(part.state === 'output-available' ? part.output : null)}
                </pre>
              )
            }
            return null
          })}
        </div>
      ))}
      <form
        onSubmit={(e) => {
          e.preventDefault()
          if (!input.trim()) return
          sendMessage({ text: input })
          setInput('')
        }}
      >
        <input value={input} onChange={(e) => setInput(e.target.value)} placeholder="Ask about the weather in Paris" />
        <button type="submit" disabled={status === 'streaming' || status === 'submitted'}>
          Send
        </button>
      </form>
    </main>
  )
}
