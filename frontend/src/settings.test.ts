import { describe, expect, it } from 'vitest';
import { describe as describeValue, formatSetting, groupSettings, humanSeconds, parseSetting, settingLabel } from './settings';
import type { SettingDef } from './types';

const rate: SettingDef = { key: 'bandwidth.background', default: -1, min: -1, max: 2 ** 40, unit: 'bytes/s', help: '' };
const count: SettingDef = { key: 'maxJobsPerUser', default: 60, min: 1, max: 100000, unit: 'count', help: '' };
const secs: SettingDef = { key: 'timeSlice', default: 120, min: 1, max: 86400, unit: 'seconds', help: '' };
const hour: SettingDef = { key: 'bandwidth.windowStart', default: 0, min: 0, max: 23, unit: 'hour', help: '' };

describe('settings', () => {
  it('formats rates with suffixes and unlimited', () => {
    expect(formatSetting(rate, -1)).toBe('unlimited');
    expect(formatSetting(rate, 512 * 1024)).toBe('512K');
    expect(formatSetting(rate, 3 * 1024 ** 3)).toBe('3G');
    expect(formatSetting(rate, 1000)).toBe('1000');
    expect(formatSetting(count, 60)).toBe('60');
  });
  it('parses as the engine does', () => {
    expect(parseSetting(rate, 'Unlimited')).toEqual({ value: -1 });
    expect(parseSetting(rate, '1.5M')).toHaveProperty('error');
    expect(parseSetting(rate, '2m')).toEqual({ value: 2 * 1024 ** 2 });
    expect(parseSetting(rate, '0')).toEqual({ value: 0 });
    expect(parseSetting(count, '0')).toHaveProperty('error');
    expect(parseSetting(count, '20000')).toEqual({ value: 20000 });
    expect(parseSetting(count, '12K')).toHaveProperty('error'); // suffixes are for rates
    expect(parseSetting(hour, '24')).toHaveProperty('error');
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
