// The web frameworks the listener specs mount into (dev dependencies without @types: loaded through
// a string so TypeScript sees `any`).
const load = (name: string): Promise<any> => import(name)

export const express = (await load('express')).default
export const compression = (await load('compression')).default
export const Fastify = (await load('fastify')).default
export const fastifyCompress = (await load('@fastify/compress')).default
export const Koa = (await load('koa')).default
export const Router = (await load('@koa/router')).default
export const koaBodyParser = (await load('koa-bodyparser')).default
export const koaCompress = (await load('koa-compress')).default
export const koaMount = (await load('koa-mount')).default
export const honoServe = (await load('@hono/node-server')).serve
