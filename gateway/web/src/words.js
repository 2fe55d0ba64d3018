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

/** The title shown for a failed request of this HTTP status. */
export function problemTitle(status) {
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
