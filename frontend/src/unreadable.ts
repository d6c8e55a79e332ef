// Records the engine could not read when it started (the `unreadable`
// operation): the banner's words. Pure, so that vitest checks them.

export interface SetAside {
  kind: string; // "job" | "setting" | "credentials" (kept in place: sealed credentials no key opens)
  key: string;
  reason: string;
  copy: string; // "" when the copy could not be written
  time: string;
}

/** summary is the banner's words ("" when there is nothing to say). */
export function unreadableSummary(recs: SetAside[]): string {
  const locked = recs.filter((r) => r.kind === 'credentials');
  return [setAsideSummary(recs.filter((r) => r.kind !== 'credentials')), credentialsSummary(locked)].filter(Boolean).join(' ');
}

// credentialsSummary: jobs whose sealed credentials the engine cannot open
// (its secret key is missing or another); they do not transfer until the
// key is back or `ferry secrets reset`. One key, so the first reason says it.
function credentialsSummary(recs: SetAside[]): string {
  if (!recs.length) return '';
  const jobs = recs.length === 1 ? '1 job holds' : `${recs.length} jobs hold`;
  return `${jobs} credentials that cannot be opened: ${recs[0].reason}.`;
}

function setAsideSummary(recs: SetAside[]): string {
  if (!recs.length) return '';
  const counts = new Map<string, number>();
  let dir = '';
  for (const r of recs) {
    counts.set(r.kind, (counts.get(r.kind) ?? 0) + 1);
    if (r.copy) dir = r.copy.replace(/[\\/][^\\/]*$/, '');
  }
  const parts = [...counts].map(([kind, n]) => `${n} ${kind}${n === 1 ? '' : 's'}`);
  const where = dir ? `copies are in ${dir}` : "they are kept in the database's quarantine table";
  return `${parts.join(', ')} could not be read when the engine started and ${recs.length === 1 ? 'was' : 'were'} set aside; ${where}. Everything else works.`;
}
