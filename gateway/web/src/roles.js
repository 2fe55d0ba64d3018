// What the signed-in user's role lets them change, mirrored from the gateway's one table (gateway/deps.py) so a
// control it would refuse is not offered: a viewer looks but changes nothing. The gateway still decides.
import { useSession } from './auth.js';

/** Why a control is disabled for a viewer: its title. */
export const VIEWER_CANNOT = 'Viewers can look but not change anything: ask an admin for the member role';

/** Whether `role` may create, edit or delete (a member and above). Unknown (not read yet): yes, as before. */
export const canChange = (role) => role !== 'viewer';

/** The signed-in user may change things (not a viewer). */
export function useCanChange() {
  return canChange(useSession().user?.role);
}

/**
 * Props for a control a viewer may not use: disabled, with the reason as its title (and `busy` still disabling
 * it for everyone). Spread onto a <button>: ...${changeProps(canEdit, busy)}.
 */
export function changeProps(allowed, busy = false) {
  return allowed ? { disabled: Boolean(busy) } : { disabled: true, title: VIEWER_CANNOT, 'data-viewer': 'true' };
}
