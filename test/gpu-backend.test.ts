/**
 * useBackend('webgpu') without a Vulkan driver: a typed TFJS_NOT_AVAILABLE whose hints name the
 * Vulkan loader and driver. Runs in a child process (a process opens Dawn once) with the loader
 * pointed at a driver file that does not exist.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'

const ROOT = join(import.meta.dirname, '..')

test('no WebGPU adapter: TFJS_NOT_AVAILABLE with a hint naming the Vulkan driver', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reliquary-noadapter-'))
  try {
    const script = join(dir, 'probe.mts')
    writeFileSync(
      script,
      `import { useBackend } from ${JSON.stringify(join(ROOT, 'src/model/backend.ts'))}
try { await useBackend('webgpu'); console.log(JSON.stringify({ ok: true })) }
catch (e) { console.log(JSON.stringify({ code: e.code, hints: e.hints })) }
process.exit(0)
`,
    )
    const env: NodeJS.ProcessEnv = { ...process.env, VK_ICD_FILENAMES: join(dir, 'none.json') }
    delete env.VK_DRIVER_FILES
    const out = execFileSync(join(ROOT, 'node_modules/.bin/tsx'), [script], {
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 120_000,
    })
    const res = JSON.parse(out.trim().split('\n').pop()!) as { code?: string; hints?: string[] }
    expect(res.code).toBe('TFJS_NOT_AVAILABLE')
    expect(res.hints?.join(' ')).toMatch(/Vulkan/)
    expect(res.hints?.join(' ')).toMatch(/VK_ICD_FILENAMES/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}, 150_000)
