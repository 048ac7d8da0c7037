#!/usr/bin/env node
// chat-headstart CLI. `chat-headstart dev [--port N]` runs the local session plane and prints
// the environment to point the Trigger.dev SDK (and chat.headStart) at it.
import { startDevPlane } from '../index.js'

const usage = `Usage: chat-headstart dev [options]

Runs the local session plane (Trigger.dev-compatible API, S2 streams, scripted agent)
until interrupted, and prints the environment variables to export.

Options:
  --port N            Trigger API port (default: ephemeral)
  --s2-port N         S2 port (default: ephemeral)
  --host H            interface to bind (default: 127.0.0.1)
  --secret-key K      secret key clients must send (default on a loopback host:
                      tr_dev_chat_headstart_local; on any other host a random key)
  --boot-delay MS     emulated agent boot time (default: 0)
  --latency MS        extra latency on every control-plane response (default: 0)
  -h, --help          show this help`

function fail(message) {
  process.stderr.write(`chat-headstart: ${message}\n\n${usage}\n`)
  process.exit(2)
}

function parseArgs(argv) {
  const [command, ...rest] = argv
  if (!command || command === '-h' || command === '--help') {
    process.stdout.write(`${usage}\n`)
    process.exit(command ? 0 : 2)
  }
  if (command !== 'dev') fail(`unknown command ${JSON.stringify(command)}`)
  const opts = {}
  const integer = (name, value, max) => {
    if (value === undefined || !/^\d+$/.test(value) || Number(value) > max) fail(`${name} needs an integer from 0 to ${max}`)
    return Number(value)
  }
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]
    const [flag, inline] = arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined]
    const value = () => inline ?? rest[++i]
    switch (flag) {
      case '--port':
        opts.port = integer('--port', value(), 65535)
        break
      case '--s2-port':
        opts.s2Port = integer('--s2-port', value(), 65535)
        break
      case '--host': {
        const host = value()
        if (!host) fail('--host needs a value')
        opts.host = host
        break
      }
      case '--secret-key': {
        const key = value()
        if (!key) fail('--secret-key needs a value')
        opts.secretKey = key
        break
      }
      case '--boot-delay':
        opts.agent = { ...opts.agent, bootDelayMs: integer('--boot-delay', value(), 3_600_000) }
        break
      case '--latency':
        opts.faults = { latencyMs: integer('--latency', value(), 60_000) }
        break
      case '-h':
      case '--help':
        process.stdout.write(`${usage}\n`)
        process.exit(0)
      default:
        fail(`unknown option ${JSON.stringify(arg)}`)
    }
  }
  return opts
}

const options = parseArgs(process.argv.slice(2))
// Off loopback, other machines reach the plane: a key everyone knows would open every route.
const loopback = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(options.host ?? '127.0.0.1') || /^127\./.test(options.host)
let plane
try {
  plane = await startDevPlane(loopback ? { secretKey: 'tr_dev_chat_headstart_local', ...options } : options)
} catch (error) {
  process.stderr.write(`chat-headstart: ${error.message}\n`)
  process.exit(1)
}
process.stdout.write(`export TRIGGER_API_URL=${plane.apiUrl}\nexport TRIGGER_SECRET_KEY=${plane.secretKey}\n`)
process.stderr.write(`Local session plane running (S2 at ${plane.s2Url}). Press Ctrl+C to stop.\n`)

// The plane runs on native threads that do not keep Node's event loop alive.
const keepAlive = setInterval(() => {}, 1 << 30)
let stopping = false
async function stop() {
  if (stopping) return
  stopping = true
  clearInterval(keepAlive)
  await plane.close()
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
