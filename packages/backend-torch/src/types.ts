/** Options of registerTorchBackend(). */
export interface TorchBackendOptions {
  /** 'cpu' or 'cuda' (the first CUDA device). Default: SMN_TORCH_DEVICE, else 'cuda' when libtorch sees one, else 'cpu'. */
  device?: 'cpu' | 'cuda';
  /** libtorch intra-op threads (default SMN_TORCH_THREADS, else the number of available cores). */
  threads?: number;
}

/** What registerTorchBackend() set up. */
export interface TorchBackendInfo {
  /** 'cpu' or 'cuda:0'. */
  device: string;
  /** libtorch intra-op threads in use. */
  threads: number;
  /** libtorch version the addon was built against. */
  torchVersion: string;
}
