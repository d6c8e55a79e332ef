// Small pieces shared by the views.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { percent, progressFraction, stateLabel } from '../jobs';
import type { JobStore } from '../store';
import type { OpError } from '../transport';
import type { JobProgress, JobState } from '../types';

/** useStore re-renders the component on every store change and returns its version. */
export function useStore(store: JobStore): number {
  const [, force] = useState(0);
  useEffect(() => store.subscribe(() => force((n) => n + 1)), [store]);
  return store.version;
}

export function StateBadge({ state }: { state: JobState }) {
  return <span class={`badge state-${state.toLowerCase()}`}>{stateLabel(state)}</span>;
}

/** Bar is a progress bar; an unknown total shows an indeterminate stripe. */
export function Bar({ progress, state }: { progress: JobProgress; state?: JobState }) {
  const f = progressFraction(progress);
  return (
    <div
      class={`bar ${f === null ? 'indeterminate' : ''} ${state ? `bar-${state.toLowerCase()}` : ''}`}
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={f === null ? undefined : Math.floor(f * 100)}
      aria-valuetext={percent(progress) || 'size unknown'}
    >
      <div class="fill" style={{ width: f === null ? undefined : `${(f * 100).toFixed(2)}%` }} />
    </div>
  );
}

export function ErrorText({ error }: { error: OpError | null | undefined }) {
  if (!error) return null;
  return (
    <p class="error-text" role="alert">
      <code>{error.name}</code> {error.message}
    </p>
  );
}

/**
 * Modal is a dialog over the page: focus moves into it and comes back to
 * where it was, Escape closes it, and clicks behind it are caught.
 */
export function Modal(props: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  wide?: boolean;
  footer?: ComponentChildren;
  testid?: string;
}) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    // The field the dialog asks for, else its first field, else its first button.
    const q = (sel: string) => ref.current?.querySelector<HTMLElement>(sel);
    const first = q('[autofocus]') ?? q('.modal-body input:not([type=checkbox]), .modal-body select, .modal-body textarea') ?? q('.modal-foot button');
    first?.focus();
    return () => before?.focus?.();
  }, []);
  return (
    <div class="scrim" onMouseDown={(e) => e.target === e.currentTarget && props.onClose()}>
      <div
        ref={ref}
        class={`modal ${props.wide ? 'wide' : ''}`}
        role="dialog"
        aria-modal="true"
        aria-label={props.title}
        data-testid={props.testid}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.stopPropagation();
            props.onClose();
          }
        }}
      >
        <header class="modal-head">
          <h2>{props.title}</h2>
          <button class="icon" aria-label="Close" title="Close (Esc)" onClick={props.onClose}>
            ×
          </button>
        </header>
        <div class="modal-body">{props.children}</div>
        {props.footer && <footer class="modal-foot">{props.footer}</footer>}
      </div>
    </div>
  );
}

/** Confirm asks before something that cannot be undone. */
export function Confirm(props: {
  title: string;
  text: string;
  action: string;
  onConfirm: () => void;
  onClose: () => void;
}) {
  return (
    <Modal
      title={props.title}
      onClose={props.onClose}
      testid="confirm"
      footer={
        <>
          <button onClick={props.onClose}>Keep</button>
          <button
            class="danger"
            autofocus
            onClick={() => {
              props.onClose();
              props.onConfirm();
            }}
          >
            {props.action}
          </button>
        </>
      }
    >
      <p>{props.text}</p>
    </Modal>
  );
}

/** Field is a labelled form row with its help and its error. */
export function Field(props: { label: string; help?: string; error?: string; children: ComponentChildren; wide?: boolean }) {
  return (
    <label class={`field ${props.wide ? 'wide' : ''} ${props.error ? 'invalid' : ''}`}>
      <span class="label">{props.label}</span>
      {props.children}
      {props.error ? <span class="field-error">{props.error}</span> : props.help ? <span class="help">{props.help}</span> : null}
    </label>
  );
}
