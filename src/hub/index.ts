/**
 * reliquary/hub: checkpoint publishing and downloading through the Hugging Face Hub
 * (`@huggingface/hub`). The validator publishes each checkpoint as one commit titled
 * `checkpoint {n}` holding the snapshot and its signed chain-of-custody manifest; miners download
 * a pinned revision and get a directory back only after the reference manifest, the commit title,
 * the custody chain and every file digest check out. Node only (file system).
 */
export { shouldPublish } from './shouldPublish.js'
export type { ShouldPublishParameters } from './shouldPublish.js'
export { publishCheckpoint } from './publishCheckpoint.js'
export type {
  PublishCheckpointParameters,
  PublishCheckpointReturnType,
  PublishCheckpointCustody,
} from './publishCheckpoint.js'
export { downloadCheckpoint } from './downloadCheckpoint.js'
export type {
  DownloadCheckpointParameters,
  DownloadCheckpointExpected,
  DownloadCheckpointReturnType,
} from './downloadCheckpoint.js'
export { createHubParentResolver } from './createHubParentResolver.js'
export type {
  CreateHubParentResolverParameters,
  HubParentResolver,
} from './createHubParentResolver.js'
export { checkpointCommitTitle, parseCheckpointCommitTitle } from './checkpointCommitTitle.js'
export { CUSTODY_MANIFEST_PATH, HUB_RESERVED_PATHS, HUB_DEFAULTS } from './constants.js'
export { PROGRESS_INTERVAL_MS } from './transferProgress.js'
export type { TransferProgress, OnTransferProgress } from './transferProgress.js'
export { startHubServer } from './localHubServer.js'
export type { HubServer, HubRequest, HubFault } from './localHubServer.js'
