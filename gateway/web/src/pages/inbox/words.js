// Pure: how a conversation and its messages read in the inbox (unit-tested: test/inbox-words.test.js).
import { countWords } from '../../counts.js';

/** Who a conversation is with: the lead's name first when there is one, its address or number beside it. */
export function threadWho(thread, names) {
  const address = thread.leadAddress || thread.lastFrom || '';
  const name = (thread.leadId && names[thread.leadId]) || '';
  return name ? { name, address } : { name: address, address: '' };
}

/** "1 message", "2 messages": the conversation's size, said with its unit. */
export function messageCount(count) {
  return countWords(count ?? 0, false, 'message', 'messages');
}

/** A message's text as shown, or null when nothing would show (an empty auto-reply, a text with only media). */
export function shownText(text) {
  return text && text.trim() ? text : null;
}
