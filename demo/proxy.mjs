// A small streaming reverse proxy for the session API (`/trigger/*` → the plane), used only when
// the plane does not answer CORS preflights, so the page can still reach turn 2+ same-origin.
import http from 'node:http'
import https from 'node:https'

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'host'])

/** Express/Node middleware forwarding `req.url` (relative to the mount point) to `target`. */
export function createProxy(target) {
  const base = new URL(target)
  const client = base.protocol === 'https:' ? https : http
  return function proxy(req, res) {
    const url = new URL(base.pathname.replace(/\/$/, '') + req.url, base)
    const headers = {}
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]
      if (HOP_BY_HOP.has(name.toLowerCase())) continue
      headers[name] = headers[name] === undefined ? req.rawHeaders[i + 1] : `${headers[name]}, ${req.rawHeaders[i + 1]}`
    }
    headers.host = url.host
    const upstream = client.request(url, { method: req.method, headers }, (answer) => {
      const out = {}
      for (const [name, value] of Object.entries(answer.headers)) if (!HOP_BY_HOP.has(name)) out[name] = value
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, out)
      // Server-sent events must reach the browser as they arrive.
      res.flushHeaders()
      answer.pipe(res)
      answer.on('error', () => res.destroy())
    })
    upstream.on('error', (error) => {
      if (res.headersSent) return res.destroy()
      res.writeHead(502, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: `session API unreachable: ${error.message}` }))
    })
    // The client going away must end the upstream long-poll too.
    res.on('close', () => upstream.destroy())
    req.pipe(upstream)
  }
}

/** Whether `apiUrl` answers a CORS preflight from `origin` for the routes the transport uses. */
export async function supportsCors(apiUrl, origin) {
  try {
    const res = await fetch(`${apiUrl.replace(/\/$/, '')}/realtime/v1/sessions/probe/in/append`, {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type,x-part-id,x-trigger-source',
      },
      signal: AbortSignal.timeout(2000),
    })
    await res.arrayBuffer()
    const allowOrigin = res.headers.get('access-control-allow-origin')
    const allowHeaders = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase()
    return res.ok && (allowOrigin === '*' || allowOrigin === origin) &&
      (allowHeaders === '*' || ['authorization', 'x-part-id'].every((h) => allowHeaders.includes(h)))
  } catch {
    return false
  }
}
