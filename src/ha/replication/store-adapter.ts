// The SIP server's location service and dialog store seen through replication's port: changes from the stream are
// applied with origin `replica` (or `sibling`: from another SIP worker of this node, src/workers/), so that the stores' other subscribers (the event feed) can tell them apart.
import type { DialogStore } from '../../server/dialogs.js';
import type { LocationService } from '../../server/location-service.js';
import type { ReplicatedStores } from './replicated-stores.js';

export function adaptStores(
  stores: { location: LocationService; dialogs: DialogStore },
  origin: 'replica' | 'sibling' = 'replica',
): ReplicatedStores {
  const { location, dialogs } = stores;
  return {
    counts: () => ({ bindings: location.size, dialogs: dialogs.size }),
    snapshot: () => ({ bindings: location.all(), dialogs: dialogs.active().map((d) => ({ ...d })) }),
    subscribe: (listener) => {
      const offBindings = location.subscribe(listener);
      const offDialogs = dialogs.subscribe(listener);
      return () => {
        offBindings();
        offDialogs();
      };
    },
    putBinding: (binding) => location.put(binding, origin),
    removeBinding: (aor, contact) => {
      location.remove(aor, contact, 'unregistered', origin);
    },
    putDialog: (dialog) => dialogs.restore(dialog, origin),
    removeDialog: (id) => dialogs.remove(id, origin),
  };
}
