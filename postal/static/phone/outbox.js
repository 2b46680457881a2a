/* The courier's outbox: proofs recorded at the door, kept in IndexedDB until the server has
 * answered for each, then kept as answered (accepted, a duplicate of one stored, or refused
 * with the reason and what to do) so the phone can show them.
 *
 * No DOM here: the pages load it with <script> (phone/shell.js drives it) and the service
 * worker with importScripts (its background sync sends proofs with no page open).
 *
 * A proof's photo goes first, in parts (POST /api/v1/uploads, then PUT …/{offset}): a cut
 * connection resumes at the offset the server reports instead of sending the photo again.
 * Then the proofs go in batches (POST /api/v1/proofs); each carries the phone's UUID, so a
 * proof sent twice (a lost answer, two tabs, the page and the worker) is stored once.
 */
(function (global) {
  "use strict";

  const DB_NAME = "postal-phone";
  const DB_VERSION = 1;
  const PART = 128 * 1024; // bytes of photo per request: what a cut costs again at most
  const BATCH = 50; // proofs per request (the server takes up to 100)
  const URLS = {
    session: "/api/v1/courier/session", clock: "/api/v1/courier/clock",
    uploads: "/api/v1/uploads", proofs: "/api/v1/proofs",
  };

  class Offline extends Error {}
  class LoginNeeded extends Error {}
  class ServerUnwell extends Error {}

  // -- IndexedDB, plainly -----------------------------------------------------------------
  let opening = null;
  function open() {
    if (!opening) {
      opening = new Promise((resolve, reject) => {
        const request = indexedDB.open(DB_NAME, DB_VERSION);
        request.onupgradeneeded = () => {
          const db = request.result;
          if (!db.objectStoreNames.contains("proofs")) {
            db.createObjectStore("proofs", { keyPath: "id" }).createIndex("user", "user");
          }
          if (!db.objectStoreNames.contains("meta")) db.createObjectStore("meta", { keyPath: "key" });
        };
        request.onsuccess = () => {
          const db = request.result;
          db.onversionchange = () => { db.close(); opening = null; };
          resolve(db);
        };
        request.onerror = () => { opening = null; reject(request.error); };
      });
    }
    return opening;
  }

  function run(store, mode, work) {
    return open().then((db) => new Promise((resolve, reject) => {
      const t = db.transaction(store, mode);
      let result;
      const request = work(t.objectStore(store));
      if (request) request.onsuccess = () => { result = request.result; };
      t.oncomplete = () => resolve(result);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error || new Error("aborted"));
    }));
  }

  const put = (store, value) => run(store, "readwrite", (s) => s.put(value));
  const get = (store, key) => run(store, "readonly", (s) => s.get(key));
  const remove = (store, key) => run(store, "readwrite", (s) => s.delete(key));
  const proofsOf = (user) => run("proofs", "readonly", (s) => s.index("user").getAll(String(user)))
    .then((list) => (list || []).sort((a, b) => a.created_at - b.created_at));

  async function meta(key, value) {
    if (value === undefined) {
      const row = await get("meta", key);
      return row ? row.value : undefined;
    }
    await put("meta", { key, value });
    return value;
  }

  // -- ids, digests ---------------------------------------------------------------------------
  function uuid() {
    if (global.crypto && crypto.randomUUID) {
      try { return crypto.randomUUID(); } catch (e) { /* not a secure context */ }
    }
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" +
      h.slice(16, 20) + "-" + h.slice(20);
  }

  async function deviceId() {
    let id = await meta("device");
    if (!id) id = await meta("device", uuid());
    return id;
  }

  const hex = (buffer) => Array.from(new Uint8Array(buffer),
    (x) => x.toString(16).padStart(2, "0")).join("");

  async function sha256(blob) {
    const bytes = await blob.arrayBuffer();
    if (global.crypto && crypto.subtle) return hex(await crypto.subtle.digest("SHA-256", bytes));
    return sha256Plain(new Uint8Array(bytes)); // crypto.subtle needs a secure context
  }

  function sha256Plain(data) {
    const K = new Uint32Array([
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
      0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
      0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
      0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
      0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
      0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
      0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
      0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
      0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
      0xc67178f2]);
    const H = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f,
      0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    const length = data.length;
    const padded = new Uint8Array(((length + 9 + 63) >> 6) << 6);
    padded.set(data);
    padded[length] = 0x80;
    const view = new DataView(padded.buffer);
    view.setUint32(padded.length - 8, Math.floor(length / 0x20000000));
    view.setUint32(padded.length - 4, (length << 3) >>> 0);
    const w = new Uint32Array(64);
    const rot = (x, n) => (x >>> n) | (x << (32 - n));
    for (let off = 0; off < padded.length; off += 64) {
      for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
      for (let i = 16; i < 64; i++) {
        const s0 = rot(w[i - 15], 7) ^ rot(w[i - 15], 18) ^ (w[i - 15] >>> 3);
        const s1 = rot(w[i - 2], 17) ^ rot(w[i - 2], 19) ^ (w[i - 2] >>> 10);
        w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
      }
      let [a, b, c, d, e, f, g, h] = H;
      for (let i = 0; i < 64; i++) {
        const t1 = (h + (rot(e, 6) ^ rot(e, 11) ^ rot(e, 25)) + ((e & f) ^ (~e & g)) + K[i] +
          w[i]) >>> 0;
        const t2 = ((rot(a, 2) ^ rot(a, 13) ^ rot(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
        h = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
      }
      H[0] += a; H[1] += b; H[2] += c; H[3] += d; H[4] += e; H[5] += f; H[6] += g; H[7] += h;
    }
    return Array.from(H, (x) => x.toString(16).padStart(8, "0")).join("");
  }

  // -- talking to the server ------------------------------------------------------------------
  async function call(url, options) {
    let response;
    try {
      response = await fetch(url, Object.assign({ credentials: "same-origin", cache: "no-store" },
        options));
    } catch (e) {
      throw new Offline(String(e));
    }
    if (response.status === 401 || response.status === 403) throw new LoginNeeded(url);
    if (response.status >= 500) throw new ServerUnwell(String(response.status));
    return response;
  }

  /** Who the server thinks we are and a fresh CSRF token (cached pages hold stale ones). */
  async function session() {
    const response = await call(URLS.session, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new ServerUnwell(String(response.status));
    const body = await response.json();
    return { csrf: body.csrf_token, user: String(body.user_id), serverTime: body.server_time };
  }

  function headers(csrf, type) {
    const h = { Accept: "application/json", "X-CSRFToken": csrf || "" };
    if (type) h["Content-Type"] = type;
    return h;
  }

  /** The phone's clock to the server, which flags it to the office when it is off. */
  async function reportClock(csrf) {
    const response = await call(URLS.clock, {
      method: "POST", headers: headers(csrf, "application/json"),
      body: JSON.stringify({ device_id: await deviceId(), device_time: new Date().toISOString() }),
    });
    if (response.status === 400) throw new LoginNeeded("csrf");
    if (!response.ok) return null;
    const clock = await response.json();
    await meta("clock", { skew_s: clock.skew_s, flagged: clock.flagged, at: Date.now() });
    return clock;
  }

  // -- proofs ---------------------------------------------------------------------------------
  /** Keep a proof on the phone; it leaves the outbox only when the server has answered. */
  async function add(proof) {
    const record = Object.assign({ id: uuid(), created_at: Date.now(), state: "queued",
      uploaded: !proof.photo }, proof);
    record.user = String(record.user);
    if (record.photo && !record.photo_sha256) record.photo_sha256 = await sha256(record.photo);
    if (record.photo) record.photo_length = record.photo.size;
    await put("proofs", record);
    return record;
  }

  async function counts(user) {
    const list = await proofsOf(user);
    const queued = list.filter((p) => p.state === "queued");
    return {
      proofs: queued.length,
      photos: queued.filter((p) => p.photo && !p.uploaded).length,
      refused: list.filter((p) => p.state === "refused" && !p.dismissed).length,
    };
  }

  async function uploadPhoto(proof, csrf, onProgress) {
    if (!proof.photo_upload) {
      proof.photo_upload = uuid();
      await put("proofs", proof);
    }
    const start = await call(URLS.uploads, {
      method: "POST", headers: headers(csrf, "application/json"),
      body: JSON.stringify({ id: proof.photo_upload, length: proof.photo.size,
        sha256: proof.photo_sha256 }),
    });
    if (start.status === 400) throw new LoginNeeded("csrf");
    if (!start.ok) {
      // the id is spoiled (used for other bytes): start again under a new one next time
      proof.photo_upload = null;
      await put("proofs", proof);
      throw new ServerUnwell("upload " + start.status);
    }
    let offset = (await start.json()).offset;
    while (offset < proof.photo.size) {
      const part = proof.photo.slice(offset, offset + PART);
      const response = await call(URLS.uploads + "/" + encodeURIComponent(proof.photo_upload) +
        "/" + offset, { method: "PUT", headers: headers(csrf, "application/octet-stream"),
        body: part });
      const body = await response.json().catch(() => ({}));
      if (response.status === 409 && body.error && Number.isInteger(body.error.offset)) {
        offset = body.error.offset; // the server holds this much: go on from there
      } else if (response.ok) {
        offset = body.offset;
      } else {
        throw new ServerUnwell("part " + response.status);
      }
      if (onProgress) onProgress(proof, offset);
    }
    proof.uploaded = true;
    await put("proofs", proof);
  }

  const FIELDS = ["id", "code", "outcome", "at", "recipient_name", "relation", "id_number",
    "signature", "photo_upload", "lat", "lon", "accuracy_m", "cod_collected", "reason", "note"];

  function payload(proof) {
    const out = {};
    for (const name of FIELDS) {
      const value = proof[name];
      if (value !== undefined && value !== null && value !== "") out[name] = value;
    }
    if (!proof.photo) delete out.photo_upload;
    return out;
  }

  async function settle(proof, answer) {
    proof.answered_at = Date.now();
    proof.answer = answer;
    if (answer.status === "accepted" || answer.status === "duplicate") {
      proof.state = "done";
      proof.photo = null; // the server has it; the digest stays for the record
    } else if (answer.status === "retry") {
      proof.uploaded = false;
      if (answer.error && answer.error.code === "photo_corrupt") proof.photo_upload = null;
    } else {
      proof.state = "refused";
    }
    await put("proofs", proof);
  }

  async function postBatch(batch, csrf) {
    const response = await call(URLS.proofs, {
      method: "POST", headers: headers(csrf, "application/json"),
      body: JSON.stringify({ device_id: await deviceId(), sent_at: new Date().toISOString(),
        proofs: batch.map(payload) }),
    });
    if (response.status === 400) throw new LoginNeeded("csrf");
    return response;
  }

  /** Send the user's queued proofs: photos first, then the proofs; calls `changed` after
   * each step. Throws Offline, LoginNeeded or ServerUnwell when it has to stop. */
  async function send(user, csrf, changed) {
    const notify = changed || (() => {});
    const queued = (await proofsOf(user)).filter((p) => p.state === "queued");
    for (const proof of queued) {
      if (proof.photo && !proof.uploaded) {
        await uploadPhoto(proof, csrf);
        notify(proof);
      }
    }
    const ready = queued.filter((p) => !p.photo || p.uploaded);
    for (let i = 0; i < ready.length; i += BATCH) {
      const batch = ready.slice(i, i + BATCH);
      const response = await postBatch(batch, csrf);
      if (response.status === 422) {
        // a malformed proof spoils its batch: send one by one to find it
        const why = ((await response.json().catch(() => ({}))).error || {});
        if (batch.length === 1) {
          await settle(batch[0], { id: batch[0].id, status: "rejected", error: why });
        } else {
          for (const proof of batch) {
            const single = await postBatch([proof], csrf);
            const body = await single.json().catch(() => ({}));
            await settle(proof, single.ok ? body[0]
              : { id: proof.id, status: "rejected", error: body.error || {} });
          }
        }
      } else if (response.ok) {
        const answers = new Map((await response.json()).map((a) => [a.id, a]));
        for (const proof of batch) if (answers.has(proof.id)) await settle(proof, answers.get(proof.id));
      } else {
        throw new ServerUnwell(String(response.status));
      }
      notify(null);
    }
  }

  /** Forget the work kept for offline use (it names citizens): on logout. The proofs stay
   * until sent, by the courier who recorded them. */
  function forgetWork() {
    return run("meta", "readwrite", (store) => {
      store.openCursor().onsuccess = (event) => {
        const cursor = event.target.result;
        if (!cursor) return;
        if (/^(work|pages):/.test(cursor.key)) cursor.delete();
        cursor.continue();
      };
    });
  }

  async function dismiss(id) {
    const proof = await get("proofs", id);
    if (proof) {
      proof.dismissed = true;
      await put("proofs", proof);
    }
  }

  /** Run `work` holding the phone's one sync lock (tabs and the worker take turns). */
  function exclusive(work) {
    if (global.navigator && navigator.locks && navigator.locks.request) {
      return navigator.locks.request("postal-sync", work);
    }
    return work();
  }

  global.PostalOutbox = {
    Offline, LoginNeeded, ServerUnwell, URLS, open, meta, uuid, deviceId, sha256, sha256Plain,
    session, reportClock, add, get: (id) => get("proofs", id), list: proofsOf, counts, send,
    dismiss, remove: (id) => remove("proofs", id), exclusive, call, headers, forgetWork,
  };
})(typeof self !== "undefined" ? self : window);
