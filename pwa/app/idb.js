// IndexedDB, promisified, with four stores in two databases:
//   coresponder        queue   checklist events waiting to be sent (app/queue.js), keyed by idempotency key
//                      log     every checklist event recorded on this device, for the event log screen
//                      kv      small per-user records (cached alerts, checklist progress, the after-call forms,
//                              the answers typed into a form and not sent yet: outbox.js typedAnswers)
//   coresponder-forms  outbox  after-call forms waiting to be sent (app/outbox.js), keyed by idempotency key
//   coresponder-messages  message_acks  "Got it" on messages from control waiting to be sent (app/message-acks.js)
// The forms have a database of their own rather than a new version of the first: an upgrade is
// blocked while another tab of an older app holds the database open, and this one must never wait.
// If IndexedDB cannot be opened (some private modes), memory stores stand in and the app says
// that unsent events would not survive closing it.

const DATABASES = {
  coresponder: { version: 1, stores: { queue: "idempotency_key", log: "idempotency_key", kv: "key" } },
  "coresponder-forms": { version: 1, stores: { outbox: "idempotency_key" } },
  "coresponder-messages": { version: 1, stores: { message_acks: "idempotency_key" } },
};

function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export function openDatabase(name = "coresponder") {
  if (!globalThis.indexedDB) return Promise.resolve(null);
  const { version, stores } = DATABASES[name];
  return new Promise((resolve) => {
    let request;
    try {
      request = indexedDB.open(name, version);
    } catch {
      resolve(null);
      return;
    }
    request.onupgradeneeded = () => {
      const db = request.result;
      for (const [store, keyPath] of Object.entries(stores)) {
        if (!db.objectStoreNames.contains(store)) db.createObjectStore(store, { keyPath });
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

/** {queue, log, kv, outbox, message_acks} stores, IndexedDB-backed when possible. */
export async function openStores() {
  const stores = {};
  for (const [database, { stores: names }] of Object.entries(DATABASES)) {
    const db = await openDatabase(database);
    for (const [name, keyPath] of Object.entries(names)) stores[name] = db ? idbStore(db, name) : memoryStore(keyPath);
  }
  return stores;
}
