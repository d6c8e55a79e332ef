// The settings page's logic: engine settings (BITS' group policies) shown
// and typed in their units, checked as the engine checks them
// (engine.ParseSetting), before `config set` has the last word.
import { formatBytes } from './jobs';
import type { SettingDef } from './types';

const SUFFIX: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** formatSetting is a value as typed into its field: rates with K/M/G when exact, "unlimited" for -1. */
export function formatSetting(def: SettingDef, v: number): string {
  if (def.unit !== 'bytes/s') return String(v);
  if (v < 0) return 'unlimited';
  for (const s of ['G', 'M', 'K']) {
    if (v >= SUFFIX[s] && v % SUFFIX[s] === 0) return `${v / SUFFIX[s]}${s}`;
  }
  return String(v);
}

/** parseSetting reads a field as the engine would; it returns the number or an error. */
export function parseSetting(def: SettingDef, text: string): { value: number } | { error: string } {
  let s = text.trim();
  if (def.unit === 'bytes/s' && s.toLowerCase() === 'unlimited') return { value: -1 };
  let mult = 1;
  if (def.unit === 'bytes/s' && s) {
    const m = SUFFIX[s.slice(-1).toUpperCase()];
    if (m) {
      mult = m;
      s = s.slice(0, -1);
    }
  }
  if (!/^-?\d+$/.test(s)) {
    return { error: def.unit === 'bytes/s' ? 'a number of bytes/s (K, M, G suffixes) or "unlimited"' : 'a whole number' };
  }
  const v = Number(s) * mult;
  if (v < def.min || v > def.max) return { error: `between ${describe(def, def.min)} and ${describe(def, def.max)}` };
  return { value: v };
}

/** describe is a value for people: "unlimited", "512 KiB/s", "14 days", "8:00". */
export function describe(def: SettingDef, v: number): string {
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
  ];
  for (const d of defs) {
    if (d.key.startsWith('bandwidth.')) groups[2].defs.push(d);
    else if (/^max(Fore|Back)groundJobs$|^timeSlice$/.test(d.key)) groups[1].defs.push(d);
    else groups[0].defs.push(d);
  }
  return groups.filter((g) => g.defs.length);
}
