// ICP form logic with no DOM in it (unit-tested in test/): the fixed lists,
// tag parsing, the weights total, and ICP JSON <-> editor form state.

/** The seniorities a person can have, in the order the editor lists them. */
export const SENIORITIES = [
  { value: 'owner', label: 'Owner' },
  { value: 'founder', label: 'Founder' },
  { value: 'c_suite', label: 'C-suite' },
  { value: 'partner', label: 'Partner' },
  { value: 'vp', label: 'VP' },
  { value: 'head', label: 'Head' },
  { value: 'director', label: 'Director' },
  { value: 'manager', label: 'Manager' },
  { value: 'senior', label: 'Senior' },
  { value: 'entry', label: 'Entry' },
  { value: 'intern', label: 'Intern' },
];

const SENIORITY_LABELS = Object.fromEntries(SENIORITIES.map((s) => [s.value, s.label]));

/** "c_suite" -> "C-suite"; unknown values are shown as they are. */
export const seniorityLabel = (value) => SENIORITY_LABELS[value] || value || '';

/** Scoring rules, in display order; `key` is the name in ICP.weights. */
export const WEIGHT_KEYS = [
  { key: 'title', label: 'Title' },
  { key: 'seniority', label: 'Seniority' },
  { key: 'industry', label: 'Industry' },
  { key: 'companySize', label: 'Company size' },
  { key: 'location', label: 'Location' },
  { key: 'keyword', label: 'Keyword' },
];

/** What a new ICP starts with (the gateway's own defaults); sums to WEIGHTS_TARGET. */
export const DEFAULT_WEIGHTS = { title: 30, seniority: 20, industry: 15, companySize: 15, location: 10, keyword: 10 };
export const WEIGHTS_TARGET = 100;
export const DEFAULT_MIN_SCORE = 50;

/** Sum of the weights; blank or non-numeric entries count as 0. */
export function weightsTotal(weights) {
  return WEIGHT_KEYS.reduce((sum, { key }) => {
    const n = Number(weights?.[key]);
    return sum + (Number.isFinite(n) ? n : 0);
  }, 0);
}

/**
 * Add typed text to a tag list: commas separate several tags, blanks are
 * dropped, inner whitespace is collapsed, and a tag already present (in any
 * letter case) is not added twice. Returns a new array.
 */
export function addTags(tags, text) {
  const out = [...tags];
  const seen = new Set(out.map((t) => t.toLowerCase()));
  for (const piece of String(text ?? '').split(',')) {
    const tag = piece.replace(/\s+/g, ' ').trim();
    if (!tag || seen.has(tag.toLowerCase())) continue;
    seen.add(tag.toLowerCase());
    out.push(tag);
  }
  return out;
}

const numText = (v) => (v === null || v === undefined ? '' : String(v));

/** The editor's state for an ICP (or a blank one). Number inputs hold strings. */
export function icpToForm(icp) {
  const weights = { ...DEFAULT_WEIGHTS, ...(icp?.weights || {}) };
  return {
    name: icp?.name ?? '',
    titles: [...(icp?.titles || [])],
    seniorities: [...(icp?.seniorities || [])],
    industries: [...(icp?.industries || [])],
    locations: [...(icp?.locations || [])],
    keywords: [...(icp?.keywords || [])],
    // The backend stores "no bound" as 0 or null; both show as a blank box.
    companySizeMin: icp?.companySizeMin ? String(icp.companySizeMin) : '',
    companySizeMax: icp?.companySizeMax ? String(icp.companySizeMax) : '',
    minScore: icp ? numText(icp.minScore ?? 0) : String(DEFAULT_MIN_SCORE),
    weights: Object.fromEntries(WEIGHT_KEYS.map(({ key }) => [key, numText(weights[key])])),
  };
}

/**
 * "" -> null, "42" -> 42. Anything else is sent as typed, so the server's
 * 422 names the field instead of the client silently changing the value.
 */
export function toInt(text) {
  const s = String(text ?? '').trim();
  if (s === '') return null;
  const n = Number(s);
  return Number.isInteger(n) ? n : s;
}

/** The POST/PUT body for the editor's state. */
export function formToBody(form) {
  return {
    name: form.name.trim(),
    titles: form.titles,
    // Keep the canonical order whatever order the boxes were ticked in.
    seniorities: SENIORITIES.map((s) => s.value).filter((v) => form.seniorities.includes(v)),
    industries: form.industries,
    locations: form.locations,
    keywords: form.keywords,
    companySizeMin: toInt(form.companySizeMin),
    companySizeMax: toInt(form.companySizeMax),
    minScore: toInt(form.minScore),
    weights: Object.fromEntries(WEIGHT_KEYS.map(({ key }) => [key, toInt(form.weights[key]) ?? 0])),
  };
}
