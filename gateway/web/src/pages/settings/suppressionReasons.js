// Pure: why an address or a number is on the suppression list, in words (unit-tested: test/inbox-words.test.js).

// The mail room's reasons (inbox.suppressions and the sends that suppress), as a person would say them.
const REASONS = {
  'by-hand': 'Added by hand',
  'hard-bounced': 'Hard bounce',
  unsubscribed: 'Unsubscribed',
  complained: 'Marked as spam',
  undeliverable: 'Number cannot take texts',
};

/** "Added by hand" for "by-hand"; a reason without words of its own reads as it came, its dashes as spaces. */
export function suppressionReason(reason) {
  if (REASONS[reason]) return REASONS[reason];
  const words = String(reason || '').replaceAll('-', ' ').replaceAll('_', ' ').trim();
  return words ? words[0].toUpperCase() + words.slice(1) : 'Unknown';
}
