// The engine's policies (BITS' group policies): read with `config`, written
// with `config set KEY VALUE`, described by engine.SettingDefs (via Meta).
import { useEffect, useState } from 'preact/hooks';
import { defaultOf, describe, formatSetting, groupSettings, parseSetting, settingLabel } from '../settings';
import { asOpError, type OpError, type Transport } from '../transport';
import type { BrowserStatus, Meta } from '../types';
import { ErrorText } from './common';

export function SettingsPage(props: { transport: Transport; meta: Meta | null; toast(s: string, bad?: boolean): void }) {
  const t = props.transport;
  const [values, setValues] = useState<Record<string, number | string> | null>(null);
  const [browsers, setBrowsers] = useState<BrowserStatus[] | null>(null);
  const [text, setText] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [loadError, setLoadError] = useState<OpError | null>(null);
  const [saving, setSaving] = useState(false);

  const load = async () => {
    try {
      setValues(await t.call<Record<string, number | string>>('config'));
      setLoadError(null);
      setBrowsers(await t.call<BrowserStatus[]>('browser status').catch(() => null));
    } catch (e) {
      setLoadError(asOpError(e));
    }
  };
  useEffect(() => void load(), []);

  const defs = props.meta?.settings ?? [];
  const units = props.meta?.units ?? {};
  if (loadError) return <ErrorText error={loadError} />;
  if (!values || !props.meta) return <p class="empty">Loading the engine's settings…</p>;

  const shown = (key: string) => text[key] ?? formatSetting(defs.find((d) => d.key === key)!, values[key], units);
  const changed = defs.filter((d) => text[d.key] !== undefined && text[d.key].trim() !== formatSetting(d, values[d.key], units));

  const save = async () => {
    const errs: Record<string, string> = {};
    for (const d of changed) {
      const r = parseSetting(d, text[d.key], units);
      if ('error' in r) errs[d.key] = r.error;
    }
    setErrors(errs);
    if (Object.keys(errs).length) return;
    setSaving(true);
    let ok = 0;
    for (const d of changed) {
      try {
        await t.call('config set', [d.key, text[d.key].trim()]);
        ok++;
        setText((x) => {
          const n = { ...x };
          delete n[d.key];
          return n;
        });
      } catch (e) {
        const err = asOpError(e);
        errs[d.key] = `${err.name}: ${err.message}`;
      }
    }
    setErrors({ ...errs });
    setSaving(false);
    await load();
    if (ok) props.toast(`Saved ${ok} setting${ok === 1 ? '' : 's'}; they apply at once`);
  };

  return (
    <form
      class="settings"
      data-testid="settings"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <p class="help">
        The engine's policies, as BITS' group policies: they apply at once to every job and are kept. Rates are bytes per second
        (K, M, G suffixes; “unlimited”); 0 blocks background jobs.
      </p>
      {groupSettings(defs).map((g) => (
        <fieldset key={g.title}>
          <legend>{g.title}</legend>
          {g.defs.map((d) => {
            const cur = shown(d.key);
            const parsed = parseSetting(d, cur, units);
            return (
              <div class={`setting ${errors[d.key] ? 'invalid' : ''}`} key={d.key}>
                <label for={`s-${d.key}`}>
                  <span class="label">{settingLabel(d.key)}</span>
                  <code class="key">{d.key}</code>
                </label>
                <div class="with-unit">
                  <input
                    id={`s-${d.key}`}
                    name={d.key}
                    value={cur}
                    onInput={(e) => {
                      const v = e.currentTarget.value;
                      setText((x) => ({ ...x, [d.key]: v }));
                      setErrors((x) => ({ ...x, [d.key]: '' }));
                    }}
                  />
                  <span class="unit">{d.unit}</span>
                </div>
                <span class="now">{'value' in parsed ? describe(d, parsed.value) : ''}</span>
                <span class="help">
                  {d.help.charAt(0).toUpperCase() + d.help.slice(1)}. Default: {describe(d, defaultOf(d))}.{' '}
                  {values[d.key] !== defaultOf(d) && (
                    <button type="button" class="link" onClick={() => setText((x) => ({ ...x, [d.key]: formatSetting(d, defaultOf(d), units) }))}>
                      Restore the default
                    </button>
                  )}
                </span>
                {errors[d.key] && <span class="field-error">{errors[d.key]}</span>}
              </div>
            );
          })}
        </fieldset>
      ))}
      {browsers && (
        <fieldset data-testid="browsers">
          <legend>Browsers</legend>
          <p class="help">
            The browser extension hands downloads to Ferry through <code>ferry native-host</code>; <code>ferry browser install</code> registers it.
            Connected: the browser has the host's manifest and its extension has reached Ferry (Chrome, Chromium and Edge share one record).
          </p>
          {browsers.map((b) => (
            <div class="setting" key={b.browser} data-browser={b.browser}>
              <span class="label">{b.browser}</span>
              <span class="now">
                {b.connected ? `connected, last ${new Date(b.lastContact!).toLocaleString()}` : b.installed ? 'installed, not connected yet' : 'not installed'}
              </span>
              <span class="help">
                <code>{b.manifest}</code>
              </span>
            </div>
          ))}
        </fieldset>
      )}
      <div class="form-actions sticky">
        <button type="submit" class="primary" disabled={!changed.length || saving}>
          {saving ? 'Saving…' : changed.length ? `Save ${changed.length} change${changed.length === 1 ? '' : 's'}` : 'No changes'}
        </button>
        <button type="button" disabled={!changed.length || saving} onClick={() => (setText({}), setErrors({}))}>
          Revert
        </button>
      </div>
    </form>
  );
}
