import type { ServerResponse } from 'node:http'
import type { FastApiErrorItem } from './_fastapiDetail.js'

/** One JSON answer: status, body, extra headers. */
export type Reply = {
  status: number
  body: unknown
  headers?: Readonly<Record<string, string>> | undefined
}

/** A FastAPI-style `{"detail": …}` answer. */
export const detail = (
  status: number,
  d: string | FastApiErrorItem[],
  headers?: Record<string, string>,
): Reply => ({ status, body: { detail: d }, headers })

/** `o[key]` when `o` is a plain object that owns `key`. */
export function own(o: unknown, key: string): unknown {
  return typeof o === 'object' && o !== null && !Array.isArray(o) && Object.hasOwn(o, key)
    ? (o as Record<string, unknown>)[key]
    : undefined
}

/** Writes `r` as JSON with an exact `Content-Length`. */
export function send(res: ServerResponse, r: Reply): void {
  const text = JSON.stringify(r.body)
  res.writeHead(r.status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...r.headers,
  })
  res.end(text)
}
