// docs/protocol.md is the protocol text the code cites: every section carries an explicit anchor,
// every `§` citation in the shipped code and docs resolves to one, and the document ships in the
// package.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, test } from 'vitest'
import { e1, e3 } from '../src/protocol/profiles.js'

const ROOT = resolve(import.meta.dirname, '..')
const DOC = 'docs/protocol.md'
const doc = readFileSync(join(ROOT, DOC), 'utf8')

/** Files whose citations must resolve: sources, top-level Markdown, examples, bench, docs. */
const SCANNED = [
  'src',
  ...readdirSync(ROOT).filter((f) => f.endsWith('.md')),
  'examples',
  'bench',
  'docs',
]
const TEXT_FILE = /\.(ts|mts|cts|js|mjs|md|py|json)$/

function filesUnder(path: string): string[] {
  const abs = join(ROOT, path)
  if (!existsSync(abs)) return []
  if (statSync(abs).isFile()) return [path]
  return readdirSync(abs, { recursive: true, encoding: 'utf8' })
    .map((f) => join(path, f))
    .filter((f) => TEXT_FILE.test(f) && statSync(join(ROOT, f)).isFile())
    .sort()
}

const files = SCANNED.flatMap(filesUnder).map((file) => ({
  file,
  text: readFileSync(join(ROOT, file), 'utf8'),
}))

/** Every `§N.M` in a text, with its line number. */
function citations(text: string): { section: string; line: number }[] {
  const out: { section: string; line: number }[] = []
  text.split('\n').forEach((l, i) => {
    for (const m of l.matchAll(/§\s?(\d+(?:\.\d+)*)/g)) out.push({ section: m[1]!, line: i + 1 })
  })
  return out
}

const anchors = [...doc.matchAll(/^<a id="s(\d+(?:\.\d+)*)"><\/a>$/gm)].map((m) => m[1]!)
const anchorSet = new Set(anchors)

describe('docs/protocol.md sections', () => {
  test('has the sections the code is built around', () => {
    for (const s of ['0', '1.4', '1.8', '3.5', '4.1', '4.3', '5.3', '7', '9', '13.18'])
      expect(anchorSet.has(s), `§${s}`).toBe(true)
  })

  test('anchors are unique', () => {
    expect(anchors.length).toBe(anchorSet.size)
  })

  test('every numbered heading has its own anchor on the line above', () => {
    const lines = doc.split('\n')
    let headings = 0
    lines.forEach((l, i) => {
      const h = /^#{2,4} (\d+(?:\.\d+)*)\.? /.exec(l)
      if (!h) return
      headings++
      expect(lines[i - 1], `line ${i + 1}: ${l}`).toBe(`<a id="s${h[1]}"></a>`)
    })
    expect(headings).toBe(anchors.length)
  })

  test('every anchor is followed by the heading of the same number', () => {
    const lines = doc.split('\n')
    lines.forEach((l, i) => {
      const a = /^<a id="s(.+)"><\/a>$/.exec(l)
      if (!a) return
      expect(lines[i + 1], `anchor s${a[1]}`).toMatch(
        new RegExp(`^#{2,4} ${a[1]!.replaceAll('.', '\\.')}\\.? `),
      )
    })
  })

  test('subsections sit under their parent section', () => {
    for (const s of anchors) {
      const parent = s.split('.').slice(0, -1).join('.')
      if (parent) expect(anchorSet.has(parent), `§${s} has no §${parent}`).toBe(true)
    }
  })

  test('every repository path it names exists', () => {
    const paths = [...doc.matchAll(/`((?:src|test|bench|examples|docs)\/[\w./-]+)`/g)].map(
      (m) => m[1]!,
    )
    expect(paths.length).toBeGreaterThan(50)
    const missing = [...new Set(paths)].filter((p) => !existsSync(join(ROOT, p)))
    expect(missing).toEqual([])
  })

  test('every name it gives after a source path occurs in that file', () => {
    // "`src/x.ts` (`a`, `B.c`)": each backticked identifier inside the parentheses that follow a
    // path must appear in the file, so a rename or a move is reflected here.
    const flat = doc.replace(/\n\s*/g, ' ')
    const missing: string[] = []
    let names = 0
    for (const m of flat.matchAll(/`(src\/[\w./-]+\.ts)` \(([^()]*(?:\([^()]*\)[^()]*)*)\)/g)) {
      const file = join(ROOT, m[1]!)
      const text = existsSync(file) ? readFileSync(file, 'utf8') : ''
      for (const id of m[2]!.matchAll(/`([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)`/g)) {
        names++
        const last = id[1]!.split('.').pop()!
        if (!new RegExp(`\\b${last}\\b`).test(text)) missing.push(`${m[1]}: ${id[1]}`)
      }
    }
    expect(names).toBeGreaterThan(80)
    expect(missing).toEqual([])
  })
})

describe('§ citations', () => {
  test('the scan covers the sources and the document', () => {
    const scanned = files.map((f) => f.file)
    expect(scanned).toContain(DOC)
    expect(scanned).toContain('README.md')
    expect(scanned.filter((f) => f.startsWith('src/')).length).toBeGreaterThan(100)
  })

  test('every § citation resolves to a section of docs/protocol.md', () => {
    const unresolved: string[] = []
    let total = 0
    for (const { file, text } of files) {
      for (const c of citations(text)) {
        total++
        if (!anchorSet.has(c.section)) unresolved.push(`${file}:${c.line} §${c.section}`)
      }
    }
    expect(total).toBeGreaterThan(150)
    expect(unresolved).toEqual([])
  })

  test('every link to docs/protocol.md#… names an anchor', () => {
    const broken: string[] = []
    for (const { file, text } of files) {
      for (const m of text.matchAll(/protocol\.md#s(\d+(?:\.\d+)*)/g))
        if (!anchorSet.has(m[1]!)) broken.push(`${file}: #s${m[1]}`)
    }
    expect(broken).toEqual([])
  })

  test('a citation the checker cannot resolve is reported', () => {
    expect(citations('see docs/protocol.md §4.3 step 8 and §13.99.').map((c) => c.section)).toEqual(
      ['4.3', '13.99'],
    )
    expect(anchorSet.has('13.99')).toBe(false)
  })
})

describe('the profile table of §0', () => {
  /** Dotted path → value of every leaf of a profile (arrays are leaves). */
  function leaves(o: object, prefix = ''): Map<string, unknown> {
    const out = new Map<string, unknown>()
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === 'object' && v !== null && !Array.isArray(v))
        for (const [kk, vv] of leaves(v, `${prefix}${k}.`)) out.set(kk, vv)
      else out.set(`${prefix}${k}`, v)
    }
    return out
  }
  /** `1 000 000`, `0 (no cap)`, `false`, `` `['full']` ``, `` `signed_round` `` as values. */
  function cell(text: string): unknown {
    const t = text
      .replace(/\(.*\)/, '')
      .replaceAll('`', '')
      .trim()
    if (t === 'true' || t === 'false') return t === 'true'
    if (/^[\d\s.]+$/.test(t)) return Number(t.replaceAll(' ', ''))
    if (t.startsWith('[')) return JSON.parse(t.replaceAll("'", '"'))
    return t
  }
  const table = doc.slice(doc.indexOf('| Profile field |'), doc.indexOf('Shared numbers:'))
  const rows = [...table.matchAll(/^\| `([\w.]+)` \| ([^|]+) \| ([^|]+) \| [^|]+ \|$/gm)].map(
    (m) => ({
      field: m[1]!,
      e1: m[2]!,
      e3: m[3]!,
    }),
  )

  test('lists exactly the fields where e1 and e3 differ, with their values', () => {
    const a = leaves(e1)
    const b = leaves(e3)
    const differing = [...a.keys()]
      .filter((k) => JSON.stringify(a.get(k)) !== JSON.stringify(b.get(k)))
      .filter((k) => !['id', 'description', 'referenceCommit'].includes(k))
      .sort()
    expect(rows.length).toBeGreaterThan(10)
    expect(rows.map((r) => r.field).sort()).toEqual(differing)
    for (const r of rows) {
      if (r.field === 'rejectReasons') continue
      expect(cell(r.e1), `${r.field} (e1)`).toEqual(a.get(r.field))
      expect(cell(r.e3), `${r.field} (e3)`).toEqual(b.get(r.field))
    }
  })
})

describe('packaging', () => {
  test('docs/ ships in the npm package', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] }
    expect(pkg.files).toContain('docs')
  })
})

/** A citation of a spec file outside the repository (or of a bare "spec"). */
const OUTSIDE_CITATION = /PROTOCOL\.md|PROTOCOL\s*§|\b[Ss]pec\s*§|\b(?!protocol\.md)[\w-]+\.md\s*§/

describe('citation form', () => {
  test('the form check tells an outside citation from an in-repository one', () => {
    for (const s of ['PROTOCOL.md §1.4', 'PROTOCOL §1.5', 'spec §4.3', 'NOTES.md §2'])
      expect(OUTSIDE_CITATION.test(s), s).toBe(true)
    for (const s of ['docs/protocol.md §1.4', '- Spec: docs/protocol.md §3.5, §9 (manifest)'])
      expect(OUTSIDE_CITATION.test(s), s).toBe(false)
  })

  test('citations name the in-repository document, never an outside spec file', () => {
    const outside: string[] = []
    for (const { file, text } of files) {
      text.split('\n').forEach((l, i) => {
        if (OUTSIDE_CITATION.test(l)) outside.push(`${file}:${i + 1}: ${l.trim().slice(0, 120)}`)
      })
    }
    expect(outside).toEqual([])
  })

  test('a file that cites a section names docs/protocol.md', () => {
    const bare = files
      .filter(({ text }) => citations(text).length > 0 && !text.includes(DOC))
      .map(({ file }) => file)
    expect(bare).toEqual([])
  })
})
