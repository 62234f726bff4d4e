import type { PreparedRemote } from './_prepareSubmit.js'

/** One body for a parsing thread; `randomness`: verify the envelope against it (`null`: do not). */
export type SubmitPoolJob = {
  readonly id: number
  readonly bytes: Uint8Array
  readonly randomness: string | null
}

/** The bodies posted to a thread in one loop turn, in order (one message, one wake-up). */
export type SubmitPoolRequest = { readonly jobs: readonly SubmitPoolJob[] }

/** A parsing thread's answer; `id` 0 is its start-up (ready or failed). */
export type SubmitPoolResponse =
  | { readonly id: number; readonly ok: true; readonly value: PreparedRemote | null }
  | { readonly id: number; readonly ok: false; readonly message: string }
