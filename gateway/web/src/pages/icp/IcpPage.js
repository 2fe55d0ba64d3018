import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { navigate } from '../../router.js';
import { leadsPath } from '../../leadFilters.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { Spinner } from '../../components/Spinner.js';
import { IcpForm } from './IcpForm.js';
import { SearchPanel } from './SearchPanel.js';

/**
 * #/icps/new and #/icps/:id. A saved ICP gets the search panel beside its
 * editor. The route keeps this page mounted across ?run= changes.
 */
export function IcpPage({ params, query }) {
  const id = params.id || null;
  const { data: icp, error, setData } = useLoad(
    () => (id ? api.get(`/v1/icps/${encodeURIComponent(id)}`) : Promise.resolve(null)),
    [id],
  );
  const [dirty, setDirty] = useState(false);

  useEffect(() => {
    if (icp?.name) document.title = `${icp.name} · ICP · Lead Flood`;
  }, [icp?.name]);

  if (!id) {
    return html`<section class="narrow-wide">
      <header class="page-head">
        <a class="back-link" href="#/icps">← ICPs</a>
        <h1>New ICP</h1>
        <p class="muted">Describe who you want to reach; you can search for them once it is saved.</p>
      </header>
      <${IcpForm}
        icp=${null}
        onSaved=${(saved) => navigate(`/icps/${encodeURIComponent(saved.id)}`, { replace: true })}
      />
    </section>`;
  }

  if (!icp) {
    return html`<section>
      <header class="page-head"><a class="back-link" href="#/icps">← ICPs</a><h1>ICP</h1></header>
      ${error ? html`<${ProblemAlert} error=${error} testid="icp-load-error" />` : html`<div class="card"><${Spinner} label="Loading ICP…" /></div>`}
    </section>`;
  }

  return html`<section>
    <header class="page-head page-head-row">
      <div>
        <a class="back-link" href="#/icps">← ICPs</a>
        <h1>${icp.name}</h1>
      </div>
      <a class="btn btn-secondary" href=${`#${leadsPath({ icpId: icp.id })}`}>Leads for this ICP</a>
    </header>
    <div class="icp-layout">
      <${IcpForm}
        key=${icp.id}
        icp=${icp}
        onSaved=${setData}
        onDeleted=${() => navigate('/icps', { replace: true })}
        onDirtyChange=${setDirty}
      />
      <${SearchPanel} icp=${icp} query=${query} dirty=${dirty} />
    </div>
  </section>`;
}
