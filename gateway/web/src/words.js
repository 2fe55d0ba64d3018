// What the server says, in words a user reads: a title per HTTP status (never "Unprocessable Entity"),
// validation messages without the validator's jargon, names without snake_case. Pure; unit-tested.

const TITLES = {
  0: 'Could not reach the server',
  400: 'The request could not be read',
  401: 'Could not sign in',
  403: 'Not allowed',
  404: 'Not found',
  409: 'That cannot be done now',
  413: 'Too large',
  415: 'Wrong kind of file',
  422: 'Please check what you entered',
  429: 'Limit reached',
  499: 'Cancelled',
  501: 'Not available here',
  502: 'Temporarily unavailable',
  503: 'Temporarily unavailable',
  504: 'The server took too long',
};

// Problem types whose title says more than their status: a provider whose key is not set is a 503, but not
// "temporarily" anything (gateway/problems.py).
const TYPE_TITLES = { 'not-set-up': 'Not set up' };

/** The title shown for a failed request of this HTTP status (and problem `type`, when it says more). */
export function problemTitle(status, type) {
  const kind = String(type ?? '').split('/').pop();
  if (Object.hasOwn(TYPE_TITLES, kind)) return TYPE_TITLES[kind];
  if (TITLES[status]) return TITLES[status];
  if (status >= 500) return 'Something went wrong on our side';
  return 'The request was refused';
}

/** "first_name" -> "first name" in running text; SCREAMING_CASE (a setting's name, HUNTER_API_KEY) is kept. */
export function plainWords(text) {
  return String(text ?? '').replace(/\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b/g, (word) => word.replace(/_/g, ' '));
}

// A validator's wording (pydantic's, mostly) -> a person's.
const MESSAGES = [
  [/^(field required|missing)$/i, () => 'Required'],
  [/^string should have at least 1 character$/i, () => 'Required'],
  [/^string should have at least (\d+) characters$/i, (n) => `At least ${n} characters`],
  [/^string should have at most (\d+) characters?$/i, (n) => `At most ${n} characters`],
  [/^list should have at most (\d+) items?.*$/i, (n) => `At most ${n}`],
  [/^input should be a valid (integer|number).*$/i, () => 'Enter a number'],
  [/^input should be a valid boolean.*$/i, () => 'Choose yes or no'],
  [/^input should be a valid string.*$/i, () => 'Enter text'],
  [/^input should be greater than or equal to (\S+)$/i, (n) => `At least ${n}`],
  [/^input should be greater than (\S+)$/i, (n) => `More than ${n}`],
  [/^input should be less than or equal to (\S+)$/i, (n) => `At most ${n}`],
  [/^input should be less than (\S+)$/i, (n) => `Less than ${n}`],
  [/^input should be (.+)$/i, (choices) => `Choose ${choices.replace(/'/g, '')}`],
  [/^extra inputs are not permitted$/i, () => 'Not something this form takes'],
  [/^value error, (.+)$/i, (why) => why],
];

/** One field's message, as a person would say it. */
export function fieldWords(message) {
  const text = String(message ?? '').trim();
  for (const [pattern, say] of MESSAGES) {
    const m = pattern.exec(text);
    if (m) return plainWords(say(...m.slice(1)));
  }
  return plainWords(text) || 'Not valid';
}

/** "weights.companySize" -> "Weights: company size"; "first_name" -> "First name". */
export function fieldLabel(field) {
  const parts = String(field ?? '')
    .split('.')
    .filter(Boolean)
    .map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/_/g, ' ').toLowerCase());
  if (!parts.length) return '';
  const text = parts.join(': ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// A lead's fields as a user reads them (the API's names are camelCase, some with codes for values).
const SENIORITY_WORDS = {
  owner: 'Owner', founder: 'Founder', c_suite: 'C-suite', partner: 'Partner', vp: 'VP', head: 'Head',
  director: 'Director', manager: 'Manager', senior: 'Senior', entry: 'Entry', intern: 'Intern',
};

/** "vp" -> "VP", "c_suite" -> "C-suite"; a code it does not know, in plain words ("board_member" -> "Board member"). */
export function seniorityWords(code) {
  const text = String(code ?? '').trim();
  if (!text) return '';
  if (SENIORITY_WORDS[text.toLowerCase()]) return SENIORITY_WORDS[text.toLowerCase()];
  const plain = text.replace(/_/g, ' ');
  return plain.charAt(0).toUpperCase() + plain.slice(1);
}

const n = (value) => Number(value).toLocaleString('en-US');

/** 120 -> "120 employees", (51, 200) -> "51–200 employees", "51-200" -> the same; '' for none. */
export function sizeWords(low, high) {
  if (typeof low === 'string' && high === undefined) {
    const m = /^\s*(\d+)\s*(?:[-–]\s*(\d+)\s*)?$/.exec(low);
    if (!m) return low;
    [low, high] = [Number(m[1]), m[2] ? Number(m[2]) : null];
  }
  if (!low) return '';
  if (high && high !== low) return `${n(low)}–${n(high)} employees`;
  return `${n(low)} ${Number(low) === 1 ? 'employee' : 'employees'}`;
}

const LEAD_FIELDS = {
  companyName: 'Company', title: 'Title', seniority: 'Seniority', industry: 'Industry', companySize: 'Company size',
  companyDomain: 'Company domain', location: 'Location', linkedinUrl: 'LinkedIn', emailScore: 'Email score',
  emailStatus: 'Email status', suggestedEmail: 'Suggested email', position: 'Title',
};

/** A lead field's (or an enrichment field's) name in words: "linkedinUrl" -> "LinkedIn". */
export function leadFieldWords(field) {
  return LEAD_FIELDS[field] || fieldLabel(field);
}

/** A lead field's value in words: a seniority's code and a size said as a person would. */
export function leadValueWords(field, value) {
  if (value === null || value === undefined || value === '') return '';
  if (field === 'seniority') return seniorityWords(value);
  if (field === 'companySize') return sizeWords(String(value));
  if (field === 'emailStatus') return plainWords(String(value)).replace(/^./, (c) => c.toUpperCase());
  return String(value);
}

/**
 * A lead's time zone as its page says it: the zone (and where it came from), or why there is none. Without one a
 * sequence sends in its own window's time zone (there is no org-wide zone).
 */
export function timeZoneWords(lead) {
  if (lead?.timeZone) return `${lead.timeZone}${lead.timeZoneSource === 'location' ? ' (from the location)' : ''}`;
  const location = String(lead?.location ?? '').trim();
  if (!location) return 'Not known (no location): sequences send in their own time zone';
  return `Not known: “${location}” names no single time zone, so sequences send in their own`;
}

/** Where a lead came from: "manual" -> "Added by hand", "import" -> "Imported from a file", "sandbox" -> "Search (sandbox)". */
export function sourceWords(source) {
  if (!source) return '';
  if (source === 'manual') return 'Added by hand';
  if (source === 'import') return 'Imported from a file';
  return `Search (${source})`;
}

/** What applying an enrichment did, e.g. "Applied industry and location. Score 40 → 75. Kept your edit of title." */
export function appliedWords(applied, kept, before, after) {
  const list = (fields) => {
    const words = fields.map((f) => leadFieldWords(f).toLowerCase().replace('linkedin', 'LinkedIn'));
    return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
  };
  const parts = [applied.length ? `Applied ${list(applied)}.` : 'Nothing to apply: the lead already holds those values.'];
  if (before !== undefined && after !== undefined) {
    parts.push(before === after ? `Score unchanged at ${after}.` : `Score ${before} → ${after}.`);
  }
  if (kept.length) parts.push(`Kept your ${kept.length === 1 ? 'edit' : 'edits'} of ${list(kept)}.`);
  return parts.join(' ');
}
