// Helpers of listener-headstart.spec.ts: the head-start handler mounted in every framework recipe of
// the README, and an HTTP/1.1 + HTTP/2 client that records what the browser sees read by read.
import http from 'node:http'
import http2 from 'node:http2'
import zlib from 'node:zlib'
import type { AddressInfo } from 'node:net'
import type { NodeListener } from 'chat-headstart'
import { compression, express, Fastify, fastifyCompress, honoServe, Koa, koaBodyParser as bodyParser, koaCompress, Router } from './frameworks.helpers.ts'

export interface Target {
  base: string
  h2?: boolean
  close(): Promise<void>
}

export type FetchHandler = (req: Request) => Promise<Response>

export interface MountOptions {
  /** Put the framework's compression middleware in front (threshold 0). */
  compress?: boolean
  /** Koa: mount as `ctx.respond = false; await listener(ctx.req, ctx.res)` (the reference's recipe). */
  nodeStyle?: boolean
}

/** The Koa route: the listener as Koa middleware (our recipe) or called with (ctx.req, ctx.res). */
function koaRoute(listener: NodeListener, nodeStyle = false) {
  if (!nodeStyle) return listener
  return async (ctx: any) => {
    ctx.respond = false
    await listener(ctx.req, ctx.res)
  }
}

/** A README mount recipe: serves `listener` (or, for Hono, the handler itself) at POST /api/chat. */
export interface Mount {
  name: string
  /** Which body parser ran before the handler (they answer some bad requests themselves). */
  parser?: 'express.json' | 'fastify' | 'koa-bodyparser'
  /** Whether the reference's toNodeListener works in this recipe. */
  referenceWorks: boolean
  start(listener: NodeListener, handler: FetchHandler, options?: MountOptions): Promise<Target>
}

async function listenNode(server: http.Server | http2.Http2Server, h2 = false): Promise<Target> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const sessions = new Set<http2.ServerHttp2Session>()
  if (h2) (server as http2.Http2Server).on('session', (s) => (sessions.add(s), s.on('close', () => sessions.delete(s))))
  return {
    base: `http://127.0.0.1:${port}`,
    h2,
    close: () =>
      new Promise<void>((resolve) => {
        ;(server as http.Server).closeAllConnections?.()
        for (const s of sessions) s.destroy()
        server.close(() => resolve())
      }),
  }
}

export const mounts: Mount[] = [
  {
    name: 'node:http',
    referenceWorks: true,
    start: (listener) => listenNode(http.createServer((req, res) => void listener(req, res))),
  },
  {
    name: 'node:http2 compat (h2c)',
    referenceWorks: true,
    start: (listener) => listenNode(http2.createServer((req, res) => void listener(req, res)), true),
  },
  {
    name: 'Express 5',
    referenceWorks: true,
    start: (listener, _h, { compress } = {}) => {
      const app = express()
      if (compress) app.use(compression({ threshold: 0 }))
      app.post('/api/chat', listener)
      return listenNode(http.createServer(app))
    },
  },
  {
    name: 'Express 5 + express.json()',
    parser: 'express.json',
    referenceWorks: false,
    start: (listener) => {
      const app = express()
      app.use(express.json())
      app.post('/api/chat', listener)
      return listenNode(http.createServer(app))
    },
  },
  {
    name: 'Fastify 5 (hijack, default JSON parser)',
    parser: 'fastify',
    referenceWorks: false,
    start: async (listener, _h, { compress } = {}) => {
      const app = Fastify()
      if (compress) await app.register(fastifyCompress, { threshold: 0 })
      app.addContentTypeParser('*', (_request: unknown, _payload: unknown, done: (err: null) => void) => done(null))
      app.post('/api/chat', async (request: any, reply: any) => {
        reply.hijack()
        request.raw.body = request.body
        await listener(request.raw, reply.raw)
      })
      await app.listen({ port: 0, host: '127.0.0.1' })
      return { base: `http://127.0.0.1:${app.server.address().port}`, close: () => app.close() }
    },
  },
  {
    name: 'Fastify 5 (hijack, raw-body scope: no parser)',
    referenceWorks: true,
    start: async (listener) => {
      const app = Fastify()
      await app.register(async (scope: any) => {
        scope.removeAllContentTypeParsers()
        scope.addContentTypeParser('*', (_request: unknown, _payload: unknown, done: (err: null) => void) => done(null))
        scope.post('/api/chat', async (request: any, reply: any) => {
          reply.hijack()
          await listener(request.raw, reply.raw)
        })
      })
      await app.listen({ port: 0, host: '127.0.0.1' })
      return { base: `http://127.0.0.1:${app.server.address().port}`, close: () => app.close() }
    },
  },
  {
    name: 'Koa 3 + @koa/router',
    referenceWorks: true,
    start: (listener, _h, { compress, nodeStyle } = {}) => {
      const app = new Koa()
      app.silent = true
      if (compress) app.use(koaCompress({ threshold: 0 }))
      const router = new Router()
      router.post('/api/chat', koaRoute(listener, nodeStyle))
      app.use(router.routes())
      return listenNode(http.createServer(app.callback()))
    },
  },
  {
    name: 'Koa 3 + @koa/router + koa-bodyparser',
    parser: 'koa-bodyparser',
    referenceWorks: false,
    start: (listener, _h, { nodeStyle } = {}) => {
      const app = new Koa()
      app.silent = true
      app.use(bodyParser())
      const router = new Router()
      router.post('/api/chat', koaRoute(listener, nodeStyle))
      app.use(router.routes())
      return listenNode(http.createServer(app.callback()))
    },
  },
  {
    name: 'Hono on @hono/node-server (the handler mounted directly)',
    referenceWorks: true,
    start: async (_l, handler) => {
      const server = honoServe({ fetch: handler, port: 0, hostname: '127.0.0.1', overrideGlobalObjects: false })
      await new Promise<void>((r) => (server.listening ? r() : server.once('listening', () => r())))
      return {
        base: `http://127.0.0.1:${server.address().port}`,
        close: () => new Promise<void>((r) => (server.closeAllConnections?.(), server.close(() => r()))),
      }
    },
  },
]

export interface Frame {
  /** `data:` payload parsed, or undefined for a comment. */
  chunk?: any
  comment?: string
  /** Index of the read (socket delivery) that completed this frame. */
  read: number
}

export interface TurnOut {
  status: number
  headers: Record<string, string>
  /** The body as received (decompressed if the server compressed it). */
  text: string
  frames: Frame[]
  chunks: any[]
  comments: string[]
  reads: number
  /** The client aborted (abortWhen). */
  aborted: boolean
  /** The body ended with a transport error. */
  error?: string
}

export interface TurnRequest {
  path?: string
  body: string | Uint8Array
  contentType?: string | null
  headers?: Record<string, string>
  /** Checked after every read; true → the client goes away. */
  abortWhen?: (frames: Frame[]) => boolean
}

export interface LiveTurn {
  /** Resolves once the status line and headers arrived. */
  headers: Promise<{ status: number; headers: Record<string, string> }>
  done: Promise<TurnOut>
  /** Bytes received so far. */
  received(): number
  pause(): void
  resume(): void
}

/** Starts a POST like `TriggerChatTransport`'s head-start request, over HTTP/1.1 or h2c. */
export function startTurn(target: Target, req: TurnRequest): LiveTurn {
  const headers: Record<string, string> = { ...req.headers }
  if (req.contentType !== null) headers['content-type'] = req.contentType ?? 'application/json'
  const url = new URL(req.path ?? '/api/chat', target.base)
  let resolveHeaders!: (h: { status: number; headers: Record<string, string> }) => void
  let rejectHeaders!: (e: unknown) => void
  const headersP = new Promise<{ status: number; headers: Record<string, string> }>((res, rej) => {
    resolveHeaders = res
    rejectHeaders = rej
  })
  let stream: import('node:stream').Readable & { destroy(err?: Error): void }
  let received = 0
  let closeClient = () => {}
  const done = new Promise<TurnOut>((resolve, reject) => {
    const raw: Buffer[] = []
    const frames: Frame[] = []
    let pending = ''
    let reads = 0
    let aborted = false
    let status = 0
    let resHeaders: Record<string, string> = {}
    const decoder = new TextDecoder()
    const onResponse = (st: number, h: Record<string, unknown>, body: any) => {
      status = st
      for (const [k, v] of Object.entries(h)) if (!k.startsWith(':')) resHeaders[k] = Array.isArray(v) ? v.join(', ') : String(v)
      resolveHeaders({ status, headers: resHeaders })
      stream = body
      const compressed = resHeaders['content-encoding'] !== undefined
      body.on('data', (d: Buffer) => {
        received += d.length
        raw.push(d)
        if (compressed || aborted) return
        reads += 1
        pending += decoder.decode(d, { stream: true })
        let idx
        while ((idx = pending.indexOf('\n\n')) >= 0) {
          const frame = pending.slice(0, idx)
          pending = pending.slice(idx + 2)
          if (frame.startsWith('data: ')) frames.push({ chunk: JSON.parse(frame.slice(6)), read: reads })
          else if (frame.startsWith(':')) frames.push({ comment: frame, read: reads })
        }
        if (req.abortWhen?.(frames)) {
          aborted = true
          body.destroy()
          closeClient()
          finish()
        }
      })
      let finished = false
      const finish = (error?: string) => {
        if (finished) return
        finished = true
        closeClient()
        const bytes = Buffer.concat(raw)
        let text: string
        const enc = resHeaders['content-encoding']
        if (enc === 'gzip' && !aborted) text = zlib.gunzipSync(bytes).toString()
        else if (enc === 'br' && !aborted) text = zlib.brotliDecompressSync(bytes).toString()
        else text = bytes.toString()
        resolve({
          status,
          headers: resHeaders,
          text,
          frames,
          chunks: frames.filter((f) => f.chunk).map((f) => f.chunk),
          comments: frames.filter((f) => f.comment).map((f) => f.comment!),
          reads,
          aborted,
          error,
        })
      }
      body.on('end', () => finish())
      body.on('error', (e: Error) => finish(aborted ? undefined : String(e)))
      body.on('close', () => finish(aborted || body.readableEnded ? undefined : 'closed before the end'))
    }
    const fail = (e: unknown) => {
      rejectHeaders(e)
      reject(e)
    }
    if (target.h2) {
      const client = http2.connect(target.base)
      client.on('error', () => {})
      closeClient = () => client.close()
      const s = client.request({ ':method': 'POST', ':path': url.pathname + url.search, ...headers })
      s.on('response', (h) => onResponse(Number(h[':status']), h, s))
      s.on('error', fail)
      s.end(req.body)
    } else {
      const agent = new http.Agent({ keepAlive: false })
      closeClient = () => agent.destroy()
      const r = http.request(url, { method: 'POST', headers, agent }, (res) => onResponse(res.statusCode!, res.headers, res))
      r.on('error', fail)
      r.end(req.body)
    }
  })
  headersP.catch(() => {})
  return {
    headers: headersP,
    done,
    received: () => received,
    pause: () => stream?.pause(),
    resume: () => stream?.resume(),
  }
}

export const turn = (target: Target, req: TurnRequest) => startTurn(target, req).done
