// The fleet's shared dropbox list on the sensor side: the push client pulls it (client.ts); classification gets it
// through the ingest path, and the delivery engine's dropbox-copy countermeasure through this store wrapper.
import type { DeliveryStore } from "../store/delivery.js";

/** A delivery store whose known dropboxes include the fleet's (for the dropbox-copy countermeasure). */
export function withFleetDropboxes(store: DeliveryStore, fleet: () => ReadonlySet<string>): DeliveryStore {
  return {
    ...store,
    knownDropboxes(addresses) {
      const own = store.knownDropboxes(addresses);
      const f = fleet();
      if (f.size === 0) return own;
      const out = new Set(own);
      for (const a of addresses) if (f.has(a.toLowerCase())) out.add(a.toLowerCase());
      return out;
    },
  };
}
