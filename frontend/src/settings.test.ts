import { describe, expect, it } from 'vitest';
import { defaultOf, describe as describeValue, formatSetting, groupSettings, humanSeconds, parseSetting, settingLabel } from './settings';
import type { Meta, SettingDef } from './types';

const rate: SettingDef = { key: 'bandwidth.background', default: -1, min: -1, max: 2 ** 40, unit: 'bytes/s', help: '' };
const count: SettingDef = { key: 'maxJobsPerUser', default: 60, min: 1, max: 100000, unit: 'count', help: '' };
const secs: SettingDef = { key: 'timeSlice', default: 120, min: 1, max: 86400, unit: 'seconds', help: '' };
// As GET /v1/meta serves them (web.Meta.Units).
const units: Meta['units'] = { 'bytes/s': { suffixes: { K: 1024, M: 1024 ** 2, G: 1024 ** 3 }, named: { unlimited: -1 } } };
const hour: SettingDef = { key: 'bandwidth.windowStart', default: 0, min: 0, max: 23, unit: 'hour', help: '' };

describe('settings', () => {
  it('formats rates with suffixes and unlimited', () => {
    expect(formatSetting(rate, -1, units)).toBe('unlimited');
    expect(formatSetting(rate, 512 * 1024, units)).toBe('512K');
    expect(formatSetting(rate, 3 * 1024 ** 3, units)).toBe('3G');
    expect(formatSetting(rate, 1000, units)).toBe('1000');
    expect(formatSetting(count, 60, units)).toBe('60');
  });
  it('parses as the engine does', () => {
    expect(parseSetting(rate, 'Unlimited', units)).toEqual({ value: -1 });
    expect(parseSetting(rate, '1.5M', units)).toHaveProperty('error');
    expect(parseSetting(rate, '2m', units)).toEqual({ value: 2 * 1024 ** 2 });
    expect(parseSetting(rate, '0', units)).toEqual({ value: 0 });
    expect(parseSetting(count, '0', units)).toHaveProperty('error');
    expect(parseSetting(count, '20000', units)).toEqual({ value: 20000 });
    expect(parseSetting(count, '12K', units)).toHaveProperty('error'); // suffixes are for rates
    expect(parseSetting(hour, '24', units)).toHaveProperty('error');
  });
  it('knows no suffix or word the engine did not serve', () => {
    expect(parseSetting(rate, 'unlimited')).toHaveProperty('error');
    expect(parseSetting(rate, '2M')).toHaveProperty('error');
    expect(formatSetting(rate, -1)).toBe('-1');
    expect(formatSetting(rate, 2048)).toBe('2048');
    const other: Meta['units'] = { 'bytes/s': { suffixes: { k: 1000 } } };
    expect(parseSetting(rate, '3K', other)).toEqual({ value: 3000 });
    expect(formatSetting(rate, 3000, other)).toBe('3k');
  });
  it('describes values for people', () => {
    expect(describeValue(rate, -1)).toBe('unlimited');
    expect(describeValue(rate, 0)).toBe('blocked');
    expect(describeValue(rate, 1024)).toBe('1.00 KiB/s');
    expect(describeValue(secs, 7776000)).toBe('90 days');
    expect(describeValue(hour, 8)).toBe('8:00');
    expect(humanSeconds(600)).toBe('10 min');
    expect(humanSeconds(90)).toBe('90 s');
    expect(humanSeconds(7200)).toBe('2 h');
    expect(humanSeconds(86400)).toBe('1 day');
  });
  it('labels and groups', () => {
    expect(settingLabel('maxJobsPerUser')).toBe('Max jobs per user');
    expect(settingLabel('bandwidth.inWindow')).toBe('In window');
    expect(groupSettings([count, secs, rate, hour]).map((g) => [g.title, g.defs.map((d) => d.key)])).toEqual([
      ['Limits', ['maxJobsPerUser']],
      ['Scheduling', ['timeSlice']],
      ['Bandwidth', ['bandwidth.background', 'bandwidth.windowStart']],
    ]);
  });
});

describe('path settings', () => {
  const dir = { key: 'downloadDir', default: 0, min: 0, max: 0, unit: 'path' as const, help: 'where', defaultText: '/home/a/Downloads' };
  it('takes an absolute path and nothing else', () => {
    expect(parseSetting(dir, ' /srv/dl ')).toEqual({ value: '/srv/dl' });
    expect(parseSetting(dir, 'C:\\Users\\a\\Downloads')).toEqual({ value: 'C:\\Users\\a\\Downloads' });
    expect(parseSetting(dir, 'Downloads')).toEqual({ error: 'an absolute path' });
    expect(parseSetting(dir, '')).toEqual({ error: 'an absolute path' });
  });
  it('shows text as it is, and its default', () => {
    expect(formatSetting(dir, '/srv/dl')).toBe('/srv/dl');
    expect(describeValue(dir, defaultOf(dir))).toBe('/home/a/Downloads');
    expect(groupSettings([dir]).map((g) => g.title)).toEqual(['Downloads from the browser']);
  });
});
