// Progress of blob transfers, as plain data for the caller's renderer
// (registry/ never prints). `current`/`total` are bytes.
export interface TransferProgress {
  digest: string;
  current: number;
  total: number;
  status:
    | 'downloading'
    | 'downloaded'
    /** Already in the sink (pull) or in the repository (push): nothing transferred. */
    | 'exists'
    | 'uploading'
    | 'uploaded'
    /** Cross-repository mount: the registry linked it, nothing transferred. */
    | 'mounted';
}

export type ProgressListener = (event: TransferProgress) => void;
