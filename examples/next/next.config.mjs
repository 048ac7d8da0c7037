// No `serverExternalPackages` needed: chat-headstart loads its native addon through Node's own
// require and tells Turbopack's and webpack's output tracing which files that needs, so
// `next build` (Turbopack or --webpack), `next start` and the standalone server all work as is.
/** @type {import('next').NextConfig} */
const nextConfig = {
  // The self-contained server for Docker: `node .next/standalone/server.js` (with .next/static
  // copied next to it; `npm run start:standalone`). `next start` works too, with a warning.
  output: 'standalone',
}

// Only for the chat-headstart repository's own test, which builds this app against the
// repository's node_modules (one folder up): the build root has to contain them.
if (process.env.CHAT_HEADSTART_EXAMPLE_ROOT) {
  nextConfig.turbopack = { root: process.env.CHAT_HEADSTART_EXAMPLE_ROOT }
  nextConfig.outputFileTracingRoot = process.env.CHAT_HEADSTART_EXAMPLE_ROOT
}

export default nextConfig
