// What one collection sees: the plain records the collectors produce and the differ compares.

export interface ProcessInfo {
  pid: number;
  ppid: number;
  name: string;
  /** Path of the executable ('' when the agent may not read it). */
  executable: string;
  commandLine: string;
  args: string[];
  /** Owner of the process (user name, or the numeric uid when it has no name). */
  user: string;
  /** Start time, Unix ms. With the pid it identifies a process: pids are reused, (pid, start) is not. */
  startMs: number;
  /** Share of all CPU cores since the previous collection (0..1). */
  cpu: number;
  memoryRss: number;
  /** Kernel threads are listed (ps -e lists them) but produce no start/end events. */
  kernel: boolean;
}

export interface SocketInfo {
  transport: 'tcp' | 'udp';
  type: 'ipv4' | 'ipv6';
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  /** LISTEN, ESTABLISHED, TIME_WAIT, ... as the kernel names them. */
  state: string;
  /** 0 when the owner is not visible to the agent (not root). */
  pid: number;
  processName: string;
}

export interface ResourceSample {
  /** All cores, 0..1. */
  cpuUsage: number;
  memoryTotal: number;
  memoryUsed: number;
  /** Use of the fullest mounted filesystem, 0..1, and where it is mounted. */
  diskUsage: number;
  diskMount: string;
  /** Counters since boot over every non-loopback interface; the differ turns them into per-sample bytes. */
  networkRxBytes: number;
  networkTxBytes: number;
}

export interface HostFacts {
  hostname: string;
  id: string;
  osName: string;
  osFamily: string;
  osVersion: string;
  kernel: string;
  architecture: string;
  ips: string[];
  macs: string[];
}

/** One collection; a part is absent when its collector did not run this time. */
export interface Snapshot {
  timeMs: number;
  processes?: ProcessInfo[];
  sockets?: SocketInfo[];
  resources?: ResourceSample;
  host?: HostFacts;
}
