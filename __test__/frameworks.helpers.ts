// The web frameworks the listener specs mount into (dev dependencies without @types: imported
// through a `string`-typed specifier so TypeScript sees `any`).

export const express = (await import('express' as string)).default
export const compression = (await import('compression' as string)).default
export const Fastify = (await import('fastify' as string)).default
export const fastifyCompress = (await import('@fastify/compress' as string)).default
export const Koa = (await import('koa' as string)).default
export const Router = (await import('@koa/router' as string)).default
export const koaBodyParser = (await import('koa-bodyparser' as string)).default
export const koaCompress = (await import('koa-compress' as string)).default
export const koaMount = (await import('koa-mount' as string)).default
export const honoServe = (await import('@hono/node-server' as string)).serve
