import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))

// Inside this repository the example resolves next/react from the repository's node_modules,
// which may itself be a symlink (git worktrees): the build root must contain both.
function workspaceRoot() {
  const repo = path.resolve(here, '../..')
  let modules = path.join(repo, 'node_modules')
  try {
    modules = fs.realpathSync(modules)
  } catch {}
  let root = repo
  while (!(modules + path.sep).startsWith(root + path.sep) && path.dirname(root) !== root) root = path.dirname(root)
  return root
}

/** @type {import('next').NextConfig} */
const nextConfig = {
  // chat-headstart loads a native addon (.node): Next must leave it to Node's require at runtime.
  serverExternalPackages: ['chat-headstart'],
  turbopack: { root: workspaceRoot() },
  outputFileTracingRoot: workspaceRoot(),
}

export default nextConfig
