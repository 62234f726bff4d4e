/**
 * Where the chain-of-custody manifest lives inside each published snapshot. It is committed in
 * the same Hub commit as the weights, so a revision either has both or neither.
 */
export const CUSTODY_MANIFEST_PATH = 'reliquary_custody.json'

/**
 * Files of a snapshot that are neither uploaded from the checkpoint directory nor listed in the
 * custody manifest: the Hub's own `.gitattributes` (it writes one when the repo is created and
 * edits it for LFS files; loaders never read it) and the custody manifest itself.
 */
export const HUB_RESERVED_PATHS: readonly string[] = /*#__PURE__*/ Object.freeze([
  '.gitattributes',
  CUSTODY_MANIFEST_PATH,
])

/** Defaults of the hub functions (not protocol numbers: bounds that keep a hostile Hub cheap to refuse). */
export const HUB_DEFAULTS = /*#__PURE__*/ Object.freeze({
  /** The public Hugging Face Hub. */
  hubUrl: 'https://huggingface.co',
  /** Largest custody manifest read from the Hub (100 000 files of ~150 bytes fit). */
  maxCustodyManifestBytes: 32 * 1024 * 1024,
} as const)
