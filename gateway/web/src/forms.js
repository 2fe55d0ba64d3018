// What every form shares: the checks made before a round trip where the rule is known, and focus on the
// first field at fault once an error is shown (the error is said once, at its field).
import { useEffect, useRef } from 'preact/hooks';
import { ApiError } from './http.js';
import { problemTitle } from './words.js';

/** [{ field, message }] for each blank value among `messages`' keys (each key's message says what to do). */
export function requiredErrors(values, messages) {
  return Object.entries(messages)
    .filter(([field]) => !String(values[field] ?? '').trim())
    .map(([field, message]) => ({ field, message }));
}

/** An ApiError for problems found in the browser (no request made), or null when there are none. */
export function formProblem(errors) {
  if (!errors.length) return null;
  return new ApiError({ status: 422, title: problemTitle(422), errors });
}

const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+$/;

/** An email address's shape: the server judges the rest. */
export const emailMessage = (email) =>
  EMAIL_SHAPE.test(String(email ?? '').trim()) ? '' : 'Enter an email address, like name@example.com';

/** The sign-in form, checked before it is sent: null when it can go. */
export function checkSignIn(email, password) {
  const errors = requiredErrors({ email, password }, { email: 'Enter your email', password: 'Enter your password' });
  if (!errors.some((e) => e.field === 'email') && emailMessage(email)) {
    errors.unshift({ field: 'email', message: emailMessage(email) });
  }
  return formProblem(errors);
}

/**
 * A ref for a <form>: whenever `error` changes to one, focus moves to its first field marked
 * aria-invalid, or else to the form's alert, so a keyboard or screen-reader user lands on what to fix.
 */
export function useFocusOnError(error) {
  const ref = useRef(null);
  useEffect(() => {
    if (!error || !ref.current) return;
    const target = ref.current.querySelector('[aria-invalid="true"]') || ref.current.querySelector('[role="alert"]');
    if (target) {
      if (!target.hasAttribute('tabindex') && target.getAttribute('role') === 'alert') target.setAttribute('tabindex', '-1');
      target.focus();
    }
  }, [error]);
  return ref;
}
