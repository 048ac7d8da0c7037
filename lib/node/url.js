// The request URL: path (before any mount rewrote it), scheme and a validated Host.

const HOST_RE = /^(?:[A-Za-z0-9._~!$&'()*+,;=%-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/

/** A request the listener answers with 400 and this message. */
export class BadRequestError extends Error {
  constructor(message) {
    super(message)
    this.name = 'BadRequestError'
  }
}

function firstToken(value) {
  if (value === undefined) return undefined
  const s = Array.isArray(value) ? value[0] : value
  const comma = s.indexOf(',')
  return (comma === -1 ? s : s.slice(0, comma)).trim()
}

/** The last Host value that passed HOST_RE: most servers see one Host, so the regex runs once. */
let lastValidHost

export function buildUrl(incoming, trustProxy, originalUrl) {
  const headers = incoming.headers
  // The URL before any mount rewrote req.url: Express's req.originalUrl, Koa's ctx.originalUrl.
  let path = originalUrl ?? (typeof incoming.originalUrl === 'string' ? incoming.originalUrl : incoming.url)
  if (typeof path !== 'string' || path === '') path = '/'
  const first = path.charCodeAt(0)
  if (first !== 47 /* '/' */) {
    if (path === '*') path = '/'
    else if (/^https?:\/\//i.test(path)) {
      // absolute-form request target (RFC 9112 §3.2.2)
      try {
        return new URL(path).href
      } catch {
        throw new BadRequestError('invalid request target')
      }
    } else throw new BadRequestError('invalid request target')
  }
  const h2 = incoming.httpVersionMajor === 2
  let proto = incoming.socket?.encrypted || (h2 && headers[':scheme'] === 'https') ? 'https' : 'http'
  let host = (h2 && headers[':authority']) || headers.host
  if (trustProxy) {
    const fwdProto = firstToken(headers['x-forwarded-proto'])
    if (fwdProto === 'http' || fwdProto === 'https') proto = fwdProto
    const fwdHost = firstToken(headers['x-forwarded-host'])
    if (fwdHost) host = fwdHost
  }
  if (host === undefined || host === '') host = 'localhost'
  else if (host !== lastValidHost) {
    if (!HOST_RE.test(host)) throw new BadRequestError('invalid Host header')
    lastValidHost = host
  }
  return `${proto}://${host}${path}`
}
