// Linux authentication in the PAM spellings (Loghub's Linux sample style and current auth.log) through the syslog parser.
import { describe, expect, it } from 'vitest';
import type { Event } from '../../core/proto.js';
import { pamFields } from './linux-auth.js';
import { parseSyslog } from './syslog.js';

const ctx = { sourceId: 'auth', receivedMs: Date.UTC(2005, 5, 20, 12, 0, 0) };

function one(line: string): { e: Event; extra: Record<string, any> } {
  const [e] = parseSyslog(line, ctx);
  return { e: e!, extra: e!.extra_json ? JSON.parse(e!.extra_json) : {} };
}

function auth(line: string): Record<string, unknown> {
  const { e, extra } = one(line);
  return {
    category: e.event?.category, action: e.event?.action, outcome: e.event?.outcome, user: e.user?.name, target: e.user?.target?.name,
    ip: e.source?.ip, domain: e.source?.domain, address: e.source?.address, process: e.process?.name, pam: extra.system?.auth?.pam,
  };
}

describe('PAM authentication failures in the old spelling (sshd(pam_unix)[pid])', () => {
  it('reads an sshd failure with an address as rhost', () => {
    expect(auth('Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4 ')).toEqual({
      category: ['authentication'], action: 'ssh_login', outcome: 'failure', user: undefined, target: undefined,
      ip: '218.188.2.4', domain: undefined, address: '218.188.2.4', process: 'sshd', pam: { module: 'pam_unix', service: 'sshd', tty: 'NODEVssh' },
    });
  });

  it('reads an sshd failure for root with a host name as rhost into source.domain', () => {
    expect(auth('Jun 15 02:04:59 combo sshd(pam_unix)[20882]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=220-135-151-1.hinet-ip.hinet.net  user=root')).toMatchObject({
      action: 'ssh_login', outcome: 'failure', user: 'root', ip: undefined, domain: '220-135-151-1.hinet-ip.hinet.net', address: '220-135-151-1.hinet-ip.hinet.net', process: 'sshd',
    });
  });

  it('reads "check pass; user unknown" as a failure without a user', () => {
    expect(auth('Jun 14 15:16:02 combo sshd(pam_unix)[19937]: check pass; user unknown')).toEqual({
      category: ['authentication'], action: 'ssh_login', outcome: 'failure', user: undefined, target: undefined,
      ip: undefined, domain: undefined, address: undefined, process: 'sshd', pam: { module: 'pam_unix', service: 'sshd', reason: 'user unknown' },
    });
  });

  it('reads the summary of further failures with its count', () => {
    expect(auth('Jun 15 04:06:20 combo sshd(pam_unix)[21049]: 2 more authentication failures; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=csnsu.nsuok.edu  user=root').pam)
      .toEqual({ module: 'pam_unix', service: 'sshd', tty: 'NODEVssh', more_failures: 2 });
  });

  it('reads a login failure on a console, where rhost is empty', () => {
    expect(auth('Jul 10 03:55:15 combo login(pam_unix)[2592]: authentication failure; logname= uid=0 euid=0 tty=tty1 ruser= rhost=  user=root')).toMatchObject({
      action: 'login', outcome: 'failure', user: 'root', ip: undefined, domain: undefined, process: 'login',
    });
  });

  it('reads an su session as a successful su and an sshd session as a session, not an authentication', () => {
    expect(auth('Jul  1 09:00:55 combo su(pam_unix)[10723]: session opened for user cyrus by (uid=0)')).toMatchObject({
      category: ['authentication'], action: 'su', outcome: 'success', target: 'cyrus', process: 'su',
    });
    expect(auth('Jun 19 04:08:55 combo sshd(pam_unix)[31204]: session opened for user test by (uid=509)')).toMatchObject({
      category: ['session'], action: 'session_opened', outcome: 'success', user: 'test', process: 'sshd',
    });
    expect(auth('Jun 19 04:08:57 combo sshd(pam_unix)[31204]: session closed for user test')).toMatchObject({ category: ['session'], action: 'session_closed', user: 'test' });
  });
});

describe('PAM and login in the current spelling', () => {
  it('reads pam_unix(sshd:auth) with a host name', () => {
    expect(auth('<85>Jun 20 10:00:01 bastion sshd[811]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=scanner.example.net  user=admin')).toMatchObject({
      action: 'ssh_login', outcome: 'failure', user: 'admin', domain: 'scanner.example.net', address: 'scanner.example.net', process: 'sshd',
    });
  });

  it('reads vsftpd through PAM, and vsftpd\'s own FAIL and OK lines', () => {
    expect(auth('Jun 20 10:00:02 ftp-1 vsftpd[900]: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=bob rhost=::ffff:198.51.100.7')).toMatchObject({
      action: 'ftp_login', outcome: 'failure', ip: '198.51.100.7', address: '::ffff:198.51.100.7',
    });
    expect(auth('Jun 20 10:00:03 ftp-1 vsftpd[901]: [bob] FAIL LOGIN: Client "198.51.100.7"')).toMatchObject({ action: 'ftp_login', outcome: 'failure', user: 'bob', ip: '198.51.100.7' });
    expect(auth('Jun 20 10:00:04 ftp-1 vsftpd[902]: [pid 902] [bob] OK LOGIN: Client "198.51.100.7"')).toMatchObject({ action: 'ftp_login', outcome: 'success', user: 'bob' });
  });

  it('reads an anonymous FTP login (Loghub ftpd)', () => {
    expect(auth('Jun 17 07:07:00 combo ftpd[29504]: ANONYMOUS FTP LOGIN FROM 84.102.20.2, (anonymous)')).toMatchObject({
      action: 'ftp_login', outcome: 'success', user: 'anonymous', ip: '84.102.20.2', process: 'ftpd',
    });
  });

  it('reads login(1) failures and successes', () => {
    expect(auth("Jul 10 03:55:15 combo login[2592]: FAILED LOGIN (1) on '/dev/tty1' FOR 'UNKNOWN', Authentication failure")).toMatchObject({
      action: 'login', outcome: 'failure', user: 'UNKNOWN', ip: undefined,
    });
    expect(one("Jul 10 03:55:15 combo login[2592]: FAILED LOGIN (1) on '/dev/tty1' FOR 'UNKNOWN', Authentication failure").extra.system.auth.login)
      .toEqual({ failures: 1, tty: '/dev/tty1', reason: 'Authentication failure' });
    expect(auth('Jun 20 10:00:05 h login[77]: FAILED LOGIN 3 FROM gw.example.org FOR root, Authentication failure')).toMatchObject({
      action: 'login', outcome: 'failure', user: 'root', domain: 'gw.example.org',
    });
    expect(auth("Jun 20 10:00:06 h login[78]: ROOT LOGIN  on '/dev/tty1'")).toMatchObject({ action: 'login', outcome: 'success', user: 'root' });
    expect(auth('Jun 20 10:00:07 h login[79]: LOGIN ON pts/0 BY alice FROM 10.0.0.8')).toMatchObject({ action: 'login', outcome: 'success', user: 'alice', ip: '10.0.0.8' });
  });

  it('reads "auth could not identify password" as a failure naming the user', () => {
    expect(auth('Jun 20 10:00:08 h sudo: pam_unix(sudo:auth): auth could not identify password for [alice]')).toMatchObject({ action: 'sudo', outcome: 'failure', user: 'alice' });
  });

  it('reads PAM key=value fields with a scanner, refusing prototype keys', () => {
    expect({ ...pamFields(' logname= uid=0 euid=0 tty=ssh ruser= rhost=10.0.0.1  user=root x ==y') }).toEqual({ logname: '', uid: '0', euid: '0', tty: 'ssh', ruser: '', rhost: '10.0.0.1', user: 'root' });
    expect(() => pamFields('__proto__=x')).toThrow(/PAM message uses the key "__proto__"/);
  });
});
