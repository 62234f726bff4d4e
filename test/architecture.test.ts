// Structural rules of src/ that review alone does not keep: internal files stay inside their
// folder, source files stay short, and the root entry stays TF.js-free.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { build } from 'esbuild'
import { describe, expect, test } from 'vitest'

const ROOT = join(import.meta.dirname, '..')
const SRC = join(ROOT, 'src')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return sourceFiles(p)
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : []
  })
}

const files = sourceFiles(SRC)
const rel = (p: string): string => relative(ROOT, p).split(sep).join('/')

/** Relative specifiers of every static import/export-from and dynamic `import()` in `code`. */
function relativeSpecifiers(code: string): string[] {
  const out: string[] = []
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s*)['"](\.{1,2}\/[^'"]+)['"]/gm
  for (const m of code.matchAll(re)) out.push(m[1]!)
  return out
}

describe('internal files', () => {
  test('the scanner sees imports (guards the check below against matching nothing)', () => {
    const specs = relativeSpecifiers(readFileSync(join(SRC, 'model/generate.ts'), 'utf8'))
    expect(specs).toContain('./_sampling.js')
    expect(relativeSpecifiers("const m = await import('../x/_y.js')")).toEqual(['../x/_y.js'])
  })

  test("no file imports another folder's _-prefixed file", () => {
    const crossings: string[] = []
    for (const file of files) {
      for (const spec of relativeSpecifiers(readFileSync(file, 'utf8'))) {
        const target = resolve(dirname(file), spec)
        const base = target.slice(target.lastIndexOf(sep) + 1)
        if (base.startsWith('_') && dirname(target) !== dirname(file))
          crossings.push(`${rel(file)} → ${spec}`)
      }
    }
    expect(crossings).toEqual([])
  })
})

/**
 * Source files allowed past {@link MAX_SOURCE_LINES}: generated tables and help text only, each
 * with the reason. Code never goes here; split it instead.
 */
const LONG_FILE_ALLOW_LIST: Readonly<Record<string, string>> = {}
const MAX_SOURCE_LINES = 450
const ROOT_EXPORT_COUNT = 129

describe('file size', () => {
  test(`no source file is over ${MAX_SOURCE_LINES} lines (allow-list: generated tables, help text)`, () => {
    const long = files
      .map((f) => ({ file: rel(f), lines: readFileSync(f, 'utf8').split('\n').length - 1 }))
      .filter(({ file, lines }) => lines > MAX_SOURCE_LINES && !(file in LONG_FILE_ALLOW_LIST))
      .map(({ file, lines }) => `${file}: ${lines} lines`)
    expect(long).toEqual([])
  })

  test('every allow-listed file exists and is still long', () => {
    for (const file of Object.keys(LONG_FILE_ALLOW_LIST)) {
      const lines = readFileSync(join(ROOT, file), 'utf8').split('\n').length - 1
      expect(lines, file).toBeGreaterThan(MAX_SOURCE_LINES)
    }
  })
})

describe('the root entry', () => {
  test('its import graph (static and dynamic) reaches no @tensorflow package', async () => {
    const result = await build({
      entryPoints: [join(SRC, 'index.ts')],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      logLevel: 'silent',
    })
    const inputs = result.metafile.inputs
    const reached = Object.keys(inputs)
    // Guard: the graph really spans the protocol core.
    expect(reached).toContain('src/grail/computeSketch.ts')
    const tf = Object.entries(inputs).flatMap(([file, info]) =>
      info.imports
        .filter((i) => i.path.startsWith('@tensorflow/'))
        .map((i) => `${file} → ${i.path}`),
    )
    expect(tf).toEqual([])
  })
})

describe('the root entry surface', () => {
  // Every change to what `import … from 'reliquary'` offers shows up here and in review. Types are
  // erased at run time; their list is in src/index.ts, next to the values.
  test('export count', async () => {
    const root = await import('../src/index.js')
    expect(Object.keys(root)).toHaveLength(ROOT_EXPORT_COUNT)
  })

  test('export snapshot', async () => {
    const root = await import('../src/index.js')
    expect(Object.keys(root).sort()).toMatchInlineSnapshot(`
      [
        "ARCHIVE_LIMITS",
        "CUSTODY_MANIFEST_FORMAT",
        "CUSTODY_MANIFEST_LIMITS",
        "CUSTODY_MANIFEST_VERSION",
        "Cooldown",
        "DEFAULT_PROFILE",
        "E1_BLOCK_TIME_SECONDS",
        "E1_REJECT_REASONS",
        "E3_REJECT_REASONS",
        "ERROR_CODES",
        "HARDENING_REJECT_REASONS",
        "HashDedup",
        "MANIFEST_SIGNATURE_PREFIX",
        "MAX_CHALLENGE_POPULATION",
        "MAX_HIDDEN_ELEMENTS",
        "MAX_RANDOMNESS_HEX_CHARS",
        "MAX_ROLLOUT_TOKENS",
        "PRF_LABELS",
        "PRF_MAX_OUT_BYTES",
        "ReliquaryError",
        "SNAPSHOT_DEFAULT_IGNORE",
        "SS58_PREFIX",
        "U16_MAX",
        "VERIFY_CHAIN_DEFAULT_MAX_LENGTH",
        "VERSION",
        "WIRE_LIMITS",
        "batchDigest",
        "buildWindowArchive",
        "challengeIndices",
        "challengeSeed",
        "checkpointSchema",
        "commitBindingDigest",
        "commitSchema",
        "commitmentsHash",
        "computeSketch",
        "computeSketchAsync",
        "convertWeightsAndUidsForEmit",
        "createHotkey",
        "createMathEnvironment",
        "custodyFileEntrySchema",
        "custodyManifestSchema",
        "custodyManifestSigningBytes",
        "custodyManifestV1Schema",
        "decodeRandomness",
        "decodeWindowArchive",
        "defineProfile",
        "deriveEnvSeed",
        "deriveSketchCoefficients",
        "describeErrorCode",
        "drandRoundAt",
        "drandRoundForWindowE1",
        "drandRoundTime",
        "e1",
        "e3",
        "emaToWeights",
        "encodeWindowArchive",
        "ensureCryptoReady",
        "envelopeDigest",
        "extractBoxedAnswer",
        "getProfile",
        "groupAdvantages",
        "groupSigma",
        "hashSnapshotFiles",
        "hashTokens",
        "healthSchema",
        "hotkeyAddress",
        "hotkeyPublicKey",
        "isBootstrapWindow",
        "isInZone",
        "isReliquaryError",
        "isVerifiedCheckpointManifest",
        "isVerifiedCustodyManifest",
        "lastBoxedOnlyString",
        "listProfiles",
        "logMagnitudeBucket",
        "manifestDigest",
        "manifestMessage",
        "mathReward",
        "merkleLeaf",
        "normalizeMathAnswer",
        "normalizeOmiAnswer",
        "omiReward",
        "parseCheckpoint",
        "parseCheckpointManifest",
        "parseCommit",
        "parseCustodyManifest",
        "parseHealth",
        "parseState",
        "parseSubmitRequest",
        "parseSubmitResponse",
        "parseVerdicts",
        "parseWire",
        "prf",
        "problemId",
        "proveRollout",
        "replayEma",
        "rolloutHash",
        "rolloutScoresFromLogits",
        "rolloutsMerkleRoot",
        "sealWindow",
        "selectBatchAndDistribute",
        "signCommit",
        "signCustodyManifest",
        "signEnvelope",
        "signHex",
        "signManifest",
        "sketchDistance",
        "sketchTolerance",
        "stateSchema",
        "stripBoxedWrapper",
        "submitRequestSchema",
        "submitResponseSchema",
        "updateEma",
        "verdictsSchema",
        "verifyChain",
        "verifyCommitSignature",
        "verifyCustodyManifest",
        "verifyEnvelope",
        "verifyHotkeySignature",
        "verifyHotkeySignatureSync",
        "verifyManifest",
        "verifyRollout",
        "verifySketch",
        "verifySketchAsync",
        "verifySnapshotFiles",
        "windowArchiveKey",
        "windowArchiveRecordSchema",
        "windowRandomnessE1",
        "windowRandomnessE3",
      ]
    `)
  })

  test('no TF.js-backed or role-level symbol is at the root', async () => {
    const keys = Object.keys(await import('../src/index.js'))
    expect(
      keys.filter((k) =>
        /^(grpo|createTrainer|loadModel|runDemo|startHubServer|runConformance|fabricate)/.test(k),
      ),
    ).toEqual([])
  })
})
