// A banner about records the engine set aside because it could not read
// them (a damaged database row): the jobs that remain work, and the user
// learns where the copies are. Asked again whenever the engine (re)connects.
import { useEffect, useState } from 'preact/hooks';
import type { Transport } from '../transport';
import { unreadableSummary, type SetAside } from '../unreadable';

export function UnreadableBanner({ transport, live }: { transport: Transport; live: boolean }) {
  const [recs, setRecs] = useState<SetAside[]>([]);
  const [dismissed, setDismissed] = useState(false);
  useEffect(() => {
    if (!live) return;
    // An older engine without the operation: no banner, nothing else to do.
    transport.call<SetAside[]>('unreadable').then((r) => setRecs(Array.isArray(r) ? r : []), () => undefined);
  }, [transport, live]);
  const text = unreadableSummary(recs);
  if (!text || dismissed) return null;
  return (
    <div class="notice bad" role="alert" data-testid="unreadable">
      <span>
        {text}
        <details>
          <summary>Details</summary>
          <ul>
            {recs.map((r) => (
              <li key={r.kind + r.key}>
                {r.kind} {r.key}: {r.reason}
                {r.copy ? ` (${r.copy})` : ''}
              </li>
            ))}
          </ul>
        </details>
      </span>
      <button class="icon" aria-label="Dismiss" onClick={() => setDismissed(true)}>
        ×
      </button>
    </div>
  );
}
