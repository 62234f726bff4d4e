import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Tokenizer } from '@huggingface/tokenizers'
import { ReliquaryError } from '../errors/base.js'

/** Options of {@link ModelTokenizer.encode}. */
export type EncodeOptions = {
  /**
   * Add the template's special tokens (BOS etc.). The protocol encodes prompts with
   * `add_special_tokens=False` (docs/protocol.md §2.4), so the default is false.
   * @default false
   */
  addSpecialTokens?: boolean | undefined
}

/** Options of {@link ModelTokenizer.decode}. */
export type DecodeOptions = {
  /**
   * Drop special tokens such as `<|im_end|>`. The reference decodes completions for the reward
   * with the default (keep them), so the default is false.
   * @default false
   */
  skipSpecialTokens?: boolean | undefined
}

/** A Hugging Face tokenizer with the protocol's defaults. */
export type ModelTokenizer = {
  /** Text to token ids. */
  encode(text: string, options?: EncodeOptions): number[]
  /** Token ids to text. */
  decode(ids: readonly number[], options?: DecodeOptions): string
  /** Id of a token string, or `undefined`. */
  tokenToId(token: string): number | undefined
  /** The `eos_token` of `tokenizer_config.json` as an id, if it names one. */
  readonly eosTokenId: number | undefined
  /** The `pad_token` of `tokenizer_config.json` as an id, if it names one. */
  readonly padTokenId: number | undefined
  /**
   * The underlying `@huggingface/tokenizers` `Tokenizer` instance, typed by the calls the SDK
   * makes (that package's own declarations do not type-check under node16 module resolution).
   */
  readonly tokenizer: HfTokenizer
}

/** The part of `@huggingface/tokenizers`' `Tokenizer` the SDK uses. */
export type HfTokenizer = {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] }
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string
  token_to_id(token: string): number | undefined
}

function tokenContent(t: unknown): string | undefined {
  if (typeof t === 'string') return t
  if (
    typeof t === 'object' &&
    t !== null &&
    typeof (t as { content?: unknown }).content === 'string'
  )
    return (t as { content: string }).content
  return undefined
}

async function readJsonFile(
  path: string,
  required: boolean,
): Promise<Record<string, unknown> | undefined> {
  if (!existsSync(path)) {
    if (!required) return undefined
    throw new ReliquaryError('MODEL_FILE_MISSING', `No ${path}.`, { meta: { path } })
  }
  try {
    const v: unknown = JSON.parse(await readFile(path, 'utf8'))
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw new TypeError('not a JSON object')
    return v as Record<string, unknown>
  } catch (e) {
    throw new ReliquaryError('MODEL_TOKENIZER_INVALID', `${path} is not a JSON object.`, {
      meta: { path },
      cause: e,
    })
  }
}

/**
 * Builds a {@link ModelTokenizer} from already-parsed `tokenizer.json` and `tokenizer_config.json`
 * objects (for example fetched with `@huggingface/hub`).
 *
 * @param tokenizerJson - The parsed `tokenizer.json`.
 * @param tokenizerConfig - The parsed `tokenizer_config.json` (may be `{}`).
 * @returns The tokenizer.
 * @throws {ReliquaryError} `MODEL_TOKENIZER_INVALID` when `@huggingface/tokenizers` rejects it.
 *
 * @example
 * ```ts
 * import { createTokenizer } from 'reliquary/model'
 * const tok = createTokenizer(tokenizerJson, { eos_token: '<|im_end|>' })
 * tok.encode('Hello world')
 * ```
 */
export function createTokenizer(
  tokenizerJson: Record<string, unknown>,
  tokenizerConfig: Record<string, unknown> = {},
): ModelTokenizer {
  let tokenizer: HfTokenizer
  try {
    tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig)
  } catch (e) {
    throw new ReliquaryError(
      'MODEL_TOKENIZER_INVALID',
      'tokenizer.json could not be loaded by @huggingface/tokenizers.',
      { cause: e },
    )
  }
  const idOf = (t: unknown): number | undefined => {
    const s = tokenContent(t)
    return s === undefined ? undefined : tokenizer.token_to_id(s)
  }
  return Object.freeze({
    encode: (text: string, options: EncodeOptions = {}) => [
      ...tokenizer.encode(text, { add_special_tokens: options.addSpecialTokens ?? false }).ids,
    ],
    decode: (ids: readonly number[], options: DecodeOptions = {}) =>
      tokenizer.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false }),
    tokenToId: (token: string) => tokenizer.token_to_id(token),
    eosTokenId: idOf(tokenizerConfig.eos_token),
    padTokenId: idOf(tokenizerConfig.pad_token),
    tokenizer,
  })
}

/**
 * Loads the tokenizer of a checkpoint directory: `tokenizer.json` (required) and
 * `tokenizer_config.json` (optional), through `@huggingface/tokenizers`.
 *
 * @param dir - The checkpoint directory.
 * @returns The tokenizer.
 * @throws {ReliquaryError} `MODEL_FILE_MISSING` without `tokenizer.json`,
 *   `MODEL_TOKENIZER_INVALID` when either file is malformed.
 *
 * @example
 * ```ts
 * import { loadTokenizer } from 'reliquary/model'
 * const tok = await loadTokenizer('./Qwen3-4B')
 * const ids = tok.encode('What is 2 + 2?')
 * ```
 */
export async function loadTokenizer(dir: string): Promise<ModelTokenizer> {
  const json = await readJsonFile(join(dir, 'tokenizer.json'), true)
  const config = await readJsonFile(join(dir, 'tokenizer_config.json'), false)
  return createTokenizer(json!, config ?? {})
}
