// The Head Start route: the browser's TriggerChatTransport POSTs a new chat's first message here
// (`headStart: "/api/chat"`); step 1 streams from this process while the agent run boots, then the
// agent's step 2+ is spliced into the same response.
// Configuration comes from TRIGGER_API_URL / TRIGGER_SECRET_KEY (`npx chat-headstart dev` prints them).
import { tool } from 'ai'
import { z } from 'zod'
// chat-headstart's `chat` is a drop-in for `chat` from '@trigger.dev/sdk/chat-server'.
import { chat } from 'chat-headstart'
import { model } from '../../../lib/model'

export const runtime = 'nodejs'
export const dynamic = 'force-dynamic'

export const POST = chat.headStart({
  agentId: 'demo-agent', // the id of your chat.agent task
  run: async ({ streamText }) =>
    streamText({
      model,
      system: 'You are a concise assistant.',
      // Schema only: the agent run executes the tool after the handover.
      tools: {
        getWeather: tool({
          description: 'Get the current weather for a city',
          inputSchema: z.object({ city: z.string() }),
        }),
      },
    }),
})
