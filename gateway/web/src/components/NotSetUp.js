import { html } from 'htm/preact';
import { PROVIDERS_HREF } from '../providers.js';

/** Under a provider picker with a choice shown as not set up: where the keys are, and who sets them. */
export function NotSetUpHint({ testid }) {
  return html`<span data-testid=${testid}>
    A provider not set up needs its key in the service's settings:
    see <a href=${PROVIDERS_HREF}>Settings → Providers and access</a>.
  </span>`;
}
