import { describe, expect, it } from 'vitest';
import { timeZone, machineTimeZone } from '../../src/shared/setting-parsers.js';
import { machineZoneName } from '../../src/shared/zone-names.js';

/**
 * The zone keeps the name the user gave (issue 26): Node 20's ICU answers `Asia/Calcutta` for
 * `Asia/Kolkata` from resolvedOptions(). Here the parsing; test/zone-names.test.ts shows the name
 * everywhere it is shown, from real processes.
 */

const ZONE = 'Asia/Kolkata';
const ALIAS = 'Asia/Calcutta';

describe('parsing a zone keeps its spelling, validated', () => {
  it('keeps an alias as written, fixes only the case, and still refuses what Intl does not know', () => {
    // The premise: this Node's ICU renames Kolkata; were it not so, the rest would prove nothing.
    expect(new Intl.DateTimeFormat('en-US', { timeZone: ZONE }).resolvedOptions().timeZone).toBe(ALIAS);
    expect(timeZone('Asia/Kolkata')).toBe('Asia/Kolkata');
    expect(timeZone(' Asia/Kolkata ')).toBe('Asia/Kolkata');
    expect(timeZone('Europe/Kyiv')).toBe('Europe/Kyiv');
    expect(timeZone('US/Pacific')).toBe('US/Pacific');
    expect(timeZone('Asia/Calcutta')).toBe('Asia/Calcutta');
    expect(timeZone(' america/new_york ')).toBe('America/New_York');
    expect(timeZone('utc')).toBe('UTC');
    expect(() => timeZone('Mars/Olympus')).toThrow(/IANA time zone name/);
    expect(() => timeZone('UTC+5')).toThrow(/IANA time zone name/);
    expect(timeZone('')).toBe(machineTimeZone());
  });

  it('believes TZ only when it names the zone Node runs in (TZ=Asia/Kolkata itself: the pull below)', () => {
    const running = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const elsewhere = running === 'Pacific/Kiritimati' ? 'Pacific/Chatham' : 'Pacific/Kiritimati';
    expect(machineZoneName({ TZ: elsewhere })).not.toBe(elsewhere);
    expect(machineZoneName({ TZ: 'Mars/Olympus' })).not.toBe('Mars/Olympus');
    expect(machineZoneName({ TZ: `:${running}` })).toBe(running);
  });
});
