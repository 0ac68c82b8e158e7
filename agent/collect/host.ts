// Host facts: the cheap ones (names, addresses) from node:os on every look, the OS release from systeminformation.
import { arch, hostname, networkInterfaces, release } from 'node:os';
import si from 'systeminformation';
import type { HostFacts } from '../snapshot.js';

interface OsRelease { osName: string; osFamily: string; osVersion: string; id: string }

function family(platform: string, logo: string): string {
  if (platform === 'darwin') return 'macos';
  if (platform === 'win32' || platform === 'Windows') return 'windows';
  return logo || platform;
}

export class HostCollector {
  private os: OsRelease = { osName: process.platform, osFamily: process.platform, osVersion: '', id: '' };

  /** Reads the OS release (spawns helpers on some systems): at start and with each full inventory. */
  async refresh(): Promise<void> {
    const o = await si.osInfo();
    this.os = { osName: o.distro || o.platform, osFamily: family(o.platform, o.logofile), osVersion: o.release, id: o.serial || '' };
  }

  /** The current facts; only the OS release part comes from the last refresh(). */
  facts(): HostFacts {
    const ips = new Set<string>();
    const macs = new Set<string>();
    for (const addrs of Object.values(networkInterfaces())) {
      for (const a of addrs ?? []) {
        if (a.internal) continue;
        ips.add(a.address.replace(/%.*$/, ''));
        if (a.mac && a.mac !== '00:00:00:00:00:00') macs.add(a.mac);
      }
    }
    return {
      hostname: hostname(), id: this.os.id, osName: this.os.osName, osFamily: this.os.osFamily, osVersion: this.os.osVersion,
      kernel: release(), architecture: arch(), ips: [...ips].sort(), macs: [...macs].sort(),
    };
  }
}
