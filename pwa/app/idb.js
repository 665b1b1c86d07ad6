// IndexedDB, promisified, with three stores:
//   queue  checklist events waiting to be sent (app/queue.js), keyed by idempotency key
//   log    every checklist event recorded on this device, for the event log screen
//   kv     small per-user records (cached alerts, checklist progress)
// If IndexedDB cannot be opened (some private modes), memory stores stand in and the app says
// that unsent events would not survive closing it.

const DB_NAME = "coresponder";
const DB_VERSION = 1;
export const STORES = { queue: "idempotency_key", log: "idempotency_key", kv: "key" };

function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export function openDatabase() {
  if (!globalThis.indexedDB) return Promise.resolve(null);
  return new Promise((resolve) => {
    let request;
    try {
      request = indexedDB.open(DB_NAME, DB_VERSION);
    } catch {
      resolve(null);
      return;
    }
    request.onupgradeneeded = () => {
      const db = request.result;
      for (const [name, keyPath] of Object.entries(STORES)) {
        if (!db.objectStoreNames.contains(name)) db.createObjectStore(name, { keyPath });
      }
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => resolve(null);
    request.onblocked = () => resolve(null);
  });
}

/** One object store with the interface app/queue.js expects (plus clear). */
export function idbStore(db, name) {
  const run = (mode, fn) => {
    const tx = db.transaction(name, mode);
    const result = promised(fn(tx.objectStore(name)));
    return new Promise((resolve, reject) => {
      tx.oncomplete = () => result.then(resolve, reject);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  };
  return {
    persistent: true,
    getAll: () => run("readonly", (store) => store.getAll()),
    get: (key) => run("readonly", (store) => store.get(key)),
    put: (value) => run("readwrite", (store) => store.put(value)),
    delete: (key) => run("readwrite", (store) => store.delete(key)),
    clear: () => run("readwrite", (store) => store.clear()),
  };
}

function memoryStore(keyPath) {
  const items = new Map();
  return {
    persistent: false,
    getAll: async () => [...items.values()].map((item) => ({ ...item })),
    get: async (key) => (items.has(key) ? { ...items.get(key) } : undefined),
    put: async (value) => void items.set(value[keyPath], { ...value }),
    delete: async (key) => void items.delete(key),
    clear: async () => items.clear(),
  };
}

/** {queue, log, kv} stores, IndexedDB-backed when possible. */
export async function openStores() {
  const db = await openDatabase();
  const stores = {};
  for (const [name, keyPath] of Object.entries(STORES)) {
    stores[name] = db ? idbStore(db, name) : memoryStore(keyPath);
  }
  return stores;
}
