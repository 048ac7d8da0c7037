// Session token route for turn 2+: the transport calls it (through `accessToken` / `startSession`)
// when it needs a session token it does not have. Idempotent on chatId.
import { chat } from '@trigger.dev/sdk/ai'

export const runtime = 'nodejs'
export const dynamic = 'force-dynamic'

const startSession = chat.createStartSessionAction('demo-agent')

export async function POST(req: Request) {
  const body = (await req.json().catch(() => null)) as { chatId?: unknown } | null
  const chatId = body?.chatId
  if (typeof chatId !== 'string' || chatId.length === 0 || chatId.length > 256) {
    return Response.json({ error: 'body must be {"chatId": "<1-256 chars>"}' }, { status: 400 })
  }
  const session = await startSession({ chatId })
  return Response.json({ publicAccessToken: session.publicAccessToken })
}
