// Which third-party providers are set up (GET /v1/provider-keys), so a choice that would be refused ("APOLLO_API_KEY
// is not set") is shown as not set up instead of offered. Pure apart from `useProviderKeys`; unit-tested.
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';

/** Where the keys are shown, for a "set it up" link. */
export const PROVIDERS_HREF = '#/settings/access';

let asked = null; // the answer (a promise), shared by every picker on the page while it lasts
let askedAt = 0;
const FRESH_MS = 60_000; // a key set meanwhile (by whoever runs Lead Flood) shows after a minute, or a reload

/** The providers' answer ({ providers, unavailable }), or null while asked and when it cannot be read. */
export function useProviderKeys() {
  const [keys, setKeys] = useState(null);
  useEffect(() => {
    if (!asked || Date.now() - askedAt > FRESH_MS) {
      askedAt = Date.now();
      asked = api.get('/v1/provider-keys').catch(() => {
        asked = null; // asked again next time; meanwhile every choice stays offered, as before
        return null;
      });
    }
    let live = true;
    asked.then((answer) => live && setKeys(answer));
    return () => {
      live = false;
    };
  }, []);
  return keys;
}

/**
 * `options` ([{ value, label }]) with each one whose provider is known not to be set up disabled and labelled so:
 * "Apollo (not set up: APOLLO_API_KEY)". `providerOf` maps an option's value to its provider's name in the answer
 * ("google" -> "google_calendar"); an option without one (the sandbox), or not in the answer (its service did not
 * answer, or the answer is not in yet), stays offered: the server still says so if it is refused.
 */
export function providerOptions(options, keys, providerOf = {}) {
  const byName = new Map((keys?.providers || []).map((p) => [p.name, p]));
  return options.map((option) => {
    const provider = byName.get(providerOf[option.value] || option.value);
    if (!provider || provider.configured) return option;
    const settings = (provider.settings || []).join(', ');
    return { ...option, disabled: true, label: `${option.label} (not set up${settings ? `: ${settings}` : ''})` };
  });
}

/** True when any of `options` is shown as not set up (the picker then links to where keys are shown). */
export const anyNotSetUp = (options) => options.some((o) => o.disabled);
