// Windows events without a rendered message get one written from their fields, so free-text search finds them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHARED_DATA } from '../../../test/harness.js';
import { ValidationError } from '../../core/errors.js';
import type { Event } from '../../core/proto.js';
import { parseWinXml } from './winxml.js';

const DIR = join(SHARED_DATA, 'sysmon-samples');
const ctx = { sourceId: 'win', receivedMs: Date.UTC(2024, 0, 1) };

function samples(): { file: string; event: Event; data: Record<string, string> }[] {
  const out: { file: string; event: Event; data: Record<string, string> }[] = [];
  for (const f of readdirSync(DIR, { recursive: true, encoding: 'utf8' }).filter((x) => x.endsWith('.sample.xml')).sort()) {
    let events: Event[];
    try {
      events = parseWinXml(readFileSync(join(DIR, f), 'utf8'), ctx);
    } catch (err) {
      if (err instanceof ValidationError) continue; // a few samples are fragments, refused as such (winxml.test.ts)
      throw err;
    }
    for (const event of events) {
      out.push({ file: f, event, data: (JSON.parse(event.extra_json!) as { winlog: { event_data: Record<string, string> } }).winlog.event_data });
    }
  }
  return out;
}

/** The value of each Sysmon event that says what it is about: the message must contain it. */
const SUBJECT: Record<string, string[]> = {
  1: ['Image'], 3: ['DestinationIp'], 7: ['ImageLoaded'], 8: ['TargetImage'], 10: ['TargetImage'], 11: ['TargetFilename'],
  13: ['TargetObject'], 17: ['PipeName'], 22: ['QueryName'], 23: ['TargetFilename'],
};

describe('messages of Windows events', () => {
  const all = samples();

  it('gives every real sample a one-line message, and the Sysmon ones name what they are about', () => {
    expect(all.length).toBeGreaterThan(100);
    let checked = 0;
    for (const { file, event, data } of all) {
      expect(event.message, file).toBeTruthy();
      expect(event.message, file).not.toContain('\n');
      expect(event.message!.length, file).toBeLessThan(1400);
      if (event.event?.module !== 'sysmon') continue;
      for (const key of SUBJECT[event.event.code!] ?? []) {
        const v = data[key];
        if (!v || v.length > 400) continue;
        // Sysmon 1 states the command line when it has one; it starts with the image or its name.
        const want = key === 'Image' && data.CommandLine ? v.split('\\').pop()!.toLowerCase() : v.toLowerCase();
        expect(event.message!.toLowerCase(), `${file}: ${key}`).toContain(want);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(15);
  });

  it('says what happened, to what and by whom: LSASS access is findable by "lsass"', () => {
    const access = all.find((s) => s.event.event?.code === '10' && /lsass/i.test(s.data.TargetImage ?? ''));
    expect(access).toBeDefined();
    expect(access!.event.message).toMatch(/^process accessed: .*lsass\.exe by .+/i);
    const created = all.find((s) => s.event.event?.code === '1' && s.data.ParentImage);
    expect(created!.event.message).toMatch(/^process created: .+ \(parent .+\)$/);
  });

  it('keeps the rendered message when the export carries one', () => {
    const xml = `<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Application Error"/><EventID>1000</EventID><TimeCreated SystemTime="2024-01-01T00:00:00.000Z"/><Channel>Application</Channel><Computer>pc</Computer></System><EventData><Data Name="AppName">x.exe</Data></EventData><RenderingInfo Culture="en-US"><Message>Faulting application name: x.exe</Message></RenderingInfo></Event>`;
    expect(parseWinXml(xml, ctx)[0]!.message).toBe('Faulting application name: x.exe');
  });

  it('cuts each part of a message, so a huge command line does not make it the size of the event', () => {
    const cmd = 'powershell.exe -enc ' + 'A'.repeat(20_000);
    const xml = `<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Microsoft-Windows-Sysmon"/><EventID>1</EventID><TimeCreated SystemTime="2024-01-01T00:00:00.000Z"/><Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>pc</Computer></System><EventData><Data Name="Image">C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe</Data><Data Name="CommandLine">${cmd}</Data><Data Name="ParentImage">C:\\Windows\\explorer.exe</Data></EventData></Event>`;
    const m = parseWinXml(xml, ctx)[0]!.message!;
    expect(m.startsWith('process created: powershell.exe -enc AAAA')).toBe(true);
    expect(m.length).toBeLessThan(500);
    expect(m).toContain('(parent C:\\Windows\\explorer.exe)');
  });
});
