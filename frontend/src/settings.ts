// The settings page's logic: engine settings (BITS' group policies) shown
// and typed in their units, checked as the engine checks them
// (engine.ParseSetting), before `config set` has the last word.
import { formatBytes } from './jobs';
import type { Meta, SettingDef, UnitInfo } from './types';

/** Units is Meta.units: how each unit is typed besides a whole number (engine.ParseSetting). */
export type Units = Meta['units'];

function unitOf(def: SettingDef, units: Units): Required<UnitInfo> {
  const u = units[def.unit];
  return { suffixes: u?.suffixes ?? {}, named: u?.named ?? {} };
}

/** formatSetting is a value as typed into its field: a named value ("unlimited"), else the largest exact suffix ("512K"). */
export function formatSetting(def: SettingDef, v: number | string, units: Units = {}): string {
  if (def.unit === 'path' || typeof v === 'string') return String(v ?? def.defaultText ?? '');
  const u = unitOf(def, units);
  const word = Object.keys(u.named).find((w) => u.named[w] === v);
  if (word) return word;
  const bySize = Object.entries(u.suffixes).sort((a, b) => b[1] - a[1]);
  for (const [s, m] of bySize) {
    if (v >= m && v % m === 0) return `${v / m}${s}`;
  }
  return String(v);
}

/** parseSetting reads a field as the engine would; it returns the number or an error. */
export function parseSetting(def: SettingDef, text: string, units: Units = {}): { value: number | string } | { error: string } {
  if (def.unit === 'path') {
    // engine.ParseTextSetting: an absolute path (Unix, or Windows with a drive or a share).
    const p = text.trim();
    return /^\/|^[A-Za-z]:[\\/]|^\\\\/.test(p) ? { value: p } : { error: 'an absolute path' };
  }
  const u = unitOf(def, units);
  let s = text.trim();
  const word = Object.keys(u.named).find((w) => w.toLowerCase() === s.toLowerCase());
  if (word) return { value: u.named[word] };
  let mult = 1;
  const sfx = s && Object.keys(u.suffixes).find((k) => k.toUpperCase() === s.slice(-1).toUpperCase());
  if (sfx) {
    mult = u.suffixes[sfx];
    s = s.slice(0, -1);
  }
  if (!/^-?\d+$/.test(s)) {
    const extras = [
      ...(Object.keys(u.suffixes).length ? [`${Object.keys(u.suffixes).join(', ')} suffixes`] : []),
      ...Object.keys(u.named).map((w) => `"${w}"`),
    ];
    return { error: extras.length ? `a whole number (${extras.join(', or ')})` : 'a whole number' };
  }
  const v = Number(s) * mult;
  if (!Number.isSafeInteger(v) || v < def.min || v > def.max) return { error: `between ${describe(def, def.min)} and ${describe(def, def.max)}` };
  return { value: v };
}

/** describe is a value for people: "unlimited", "512 KiB/s", "14 days", "8:00". */
export function describe(def: SettingDef, v: number | string): string {
  if (typeof v === 'string') return v;
  switch (def.unit) {
    case 'bytes/s':
      if (v < 0) return 'unlimited';
      if (v === 0) return 'blocked';
      return `${formatBytes(v)}/s`;
    case 'seconds':
      return humanSeconds(v);
    case 'hour':
      return `${v}:00`;
    default:
      return String(v);
  }
}

/** humanSeconds: 600 → "10 min", 1209600 → "14 days". */
export function humanSeconds(v: number): string {
  if (v < 60 || v % 60 !== 0) return `${v} s`;
  if (v < 3600 || v % 3600 !== 0) return `${v / 60} min`;
  if (v < 86400 || v % 86400 !== 0) return `${v / 3600} h`;
  return `${v / 86400} day${v === 86400 ? '' : 's'}`;
}

/** settingLabel: "bandwidth.inWindow" → "In window", "maxJobsPerUser" → "Max jobs per user". */
export function settingLabel(key: string): string {
  const last = key.includes('.') ? key.slice(key.lastIndexOf('.') + 1) : key;
  const words = last.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export interface SettingGroup {
  title: string;
  defs: SettingDef[];
}

/** groupSettings sorts the settings into the page's sections, keeping the engine's order in each. */
export function groupSettings(defs: SettingDef[]): SettingGroup[] {
  const groups: SettingGroup[] = [
    { title: 'Limits', defs: [] },
    { title: 'Scheduling', defs: [] },
    { title: 'Bandwidth', defs: [] },
    { title: 'Downloads from the browser', defs: [] },
  ];
  for (const d of defs) {
    if (d.unit === 'path') groups[3].defs.push(d);
    else if (d.key.startsWith('bandwidth.')) groups[2].defs.push(d);
    else if (/^max(Fore|Back)groundJobs$|^timeSlice$/.test(d.key)) groups[1].defs.push(d);
    else groups[0].defs.push(d);
  }
  return groups.filter((g) => g.defs.length);
}

/** defaultOf is a setting's default as its value is typed: text for a path. */
export function defaultOf(def: SettingDef): number | string {
  return def.unit === 'path' ? (def.defaultText ?? '') : def.default;
}
