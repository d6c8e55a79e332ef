// Entry point: pick the transport of where the page runs (the desktop
// window or a browser on `ferry web`) and show the app.
import { render } from 'preact';
import './style.css';
import { pickTransport } from './transport';
import { App } from './ui/App';

const root = document.getElementById('app')!;
try {
  render(<App transport={pickTransport()} />, root);
} catch (e) {
  root.textContent = `Ferry cannot start its interface: ${e instanceof Error ? e.message : String(e)}`;
}
