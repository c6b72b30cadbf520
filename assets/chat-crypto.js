/*
 * chat-crypto.js — the browser half of SocialHub Chat's end-to-end encryption (WebCrypto only).
 *
 * FORMAT v1 (pinned by tests/chat/test_format.py, which re-implements it with `cryptography`
 * and also runs this file under Node):
 *   Device key   ECDH P-256. The private key is made non-extractable and kept in IndexedDB
 *                ("socialhub-chat" / "device" / "self"); the public key is published as
 *                base64 of its DER SubjectPublicKeyInfo (SPKI, 91 bytes).
 *   Content key  32 random bytes, AES-256-GCM, one per conversation epoch.
 *   Wrapping     shared = ECDH(wrapping device private, target device public) (32 bytes)
 *                kek = HKDF-SHA-256(ikm = shared, salt = UTF-8 SALT,
 *                                   info = UTF-8 WRAP_INFO + conv + "|" + epoch + "|" + target device id)
 *                wrapped = AES-KW(kek, content key) (RFC 3394, 40 bytes), sent as base64.
 *                Static-static ECDH: the target unwraps with its private key and the wrapping
 *                device's public key, which the server names beside the wrap.
 *   Message      plaintext = UTF-8 JSON {"v":1,"text":…}; iv = 12 random bytes;
 *                aad = UTF-8 MSG_AAD + conv + "|" + epoch;
 *                ciphertext = AES-256-GCM(content key, iv, plaintext, aad) with the 16-byte tag
 *                appended (WebCrypto's layout); ciphertext and iv sent as base64.
 *
 * Decrypted text never goes back to the server and is written with textContent only: message
 * rows are <span data-sh-ct data-sh-iv data-sh-conv data-sh-epoch> left empty by the page; a
 * MutationObserver fills them in. The wrapped keys for this device come the same way, as JSON in
 * the data-sh-keys attribute of #chat-keys, so live updates of the page bring new epochs' keys. The composer is read here, encrypted, cleared; the page's
 * state receives {ciphertext, iv, epoch} only.
 */
(function (root) {
  "use strict";
  const CURVE = "P-256";
  const SALT = "socialhub-chat-v1";
  const WRAP_INFO = "socialhub-chat/wrap/v1|";
  const MSG_AAD = "socialhub-chat/msg/v1|";
  const subtle = root.crypto.subtle;
  const utf8 = new TextEncoder();

  const b64 = (buf) => {
    let s = "";
    new Uint8Array(buf).forEach((b) => { s += String.fromCharCode(b); });
    return btoa(s);
  };
  const unb64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const wrapInfo = (conv, epoch, deviceId) => utf8.encode(`${WRAP_INFO}${conv}|${epoch}|${deviceId}`);
  const messageAad = (conv, epoch) => utf8.encode(`${MSG_AAD}${conv}|${epoch}`);

  // ---- the format (pure functions; keys are CryptoKeys) ----------------------------------------
  async function importPublic(spkiB64) {
    return subtle.importKey("spki", unb64(spkiB64), { name: "ECDH", namedCurve: CURVE }, true, []);
  }
  async function kek(privateKey, publicSpkiB64, info) {
    const shared = await subtle.deriveBits({ name: "ECDH", public: await importPublic(publicSpkiB64) }, privateKey, 256);
    const ikm = await subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
    return subtle.deriveKey({ name: "HKDF", hash: "SHA-256", salt: utf8.encode(SALT), info }, ikm,
      { name: "AES-KW", length: 256 }, false, ["wrapKey", "unwrapKey"]);
  }
  async function newContentKey() {
    return subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt", "decrypt"]);
  }
  async function wrapContentKey(contentKey, privateKey, targetSpkiB64, conv, epoch, targetDeviceId) {
    const k = await kek(privateKey, targetSpkiB64, wrapInfo(conv, epoch, targetDeviceId));
    return b64(await subtle.wrapKey("raw", contentKey, k, "AES-KW"));
  }
  async function unwrapContentKey(wrappedB64, privateKey, wrapperSpkiB64, conv, epoch, ownDeviceId) {
    const k = await kek(privateKey, wrapperSpkiB64, wrapInfo(conv, epoch, ownDeviceId));
    return subtle.unwrapKey("raw", unb64(wrappedB64), k, "AES-KW", "AES-GCM", true, ["encrypt", "decrypt"]);
  }
  async function encryptText(contentKey, conv, epoch, text) {
    const iv = root.crypto.getRandomValues(new Uint8Array(12));
    const data = utf8.encode(JSON.stringify({ v: 1, text: String(text) }));
    const ct = await subtle.encrypt({ name: "AES-GCM", iv, additionalData: messageAad(conv, epoch) }, contentKey, data);
    return { ciphertext: b64(ct), iv: b64(iv), epoch };
  }
  async function decryptText(contentKey, conv, epoch, ciphertextB64, ivB64) {
    const pt = await subtle.decrypt({ name: "AES-GCM", iv: unb64(ivB64), additionalData: messageAad(conv, epoch) },
      contentKey, unb64(ciphertextB64));
    const body = JSON.parse(new TextDecoder().decode(pt));
    return typeof body.text === "string" ? body.text : "";
  }

  // ---- this browser's device key (IndexedDB) -----------------------------------------------------
  let device = null; // {privateKey, publicKey (SPKI b64), deviceId}
  const keys = new Map(); // "conv:epoch" → AES-GCM CryptoKey, in memory only

  function idb(mode, fn) {
    return new Promise((resolve, reject) => {
      const open = root.indexedDB.open("socialhub-chat", 1);
      open.onupgradeneeded = () => open.result.createObjectStore("device");
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const tx = open.result.transaction("device", mode);
        const req = fn(tx.objectStore("device"));
        tx.oncomplete = () => resolve(req.result);
        tx.onerror = () => reject(tx.error);
      };
    });
  }
  async function ensureDevice() {
    if (!device) device = await idb("readonly", (s) => s.get("self"));
    if (!device) {
      const pair = await subtle.generateKey({ name: "ECDH", namedCurve: CURVE }, false, ["deriveBits"]);
      device = { privateKey: pair.privateKey, publicKey: b64(await subtle.exportKey("spki", pair.publicKey)), deviceId: 0 };
      await idb("readwrite", (s) => s.put(device, "self"));
    }
    return { public_key: device.publicKey, device_id: device.deviceId || 0 };
  }
  async function setDeviceId(id) {
    device.deviceId = id;
    await idb("readwrite", (s) => s.put(device, "self"));
    keysSeen = "";
    decryptAll();
    return true;
  }

  // ---- what the page calls (through rx.call_script) ----------------------------------------------
  async function importKeys(conv, wraps) { // wraps: [{epoch, wrapped_key, wrapped_by_public_key}]
    for (const w of wraps) {
      if (keys.has(`${conv}:${w.epoch}`)) continue;
      try {
        keys.set(`${conv}:${w.epoch}`, await unwrapContentKey(w.wrapped_key, device.privateKey,
          w.wrapped_by_public_key, conv, w.epoch, device.deviceId));
      } catch (e) { console.warn("chat: a key could not be unwrapped", conv, w.epoch); }
    }
    decryptAll();
    return true;
  }
  const pendingKeys = new Map(); // fresh keys waiting for the server to accept them (keyAccepted)
  async function makeWraps(conv, epoch, devices, fresh) { // devices: [{device_id, public_key}]
    const key = fresh ? await newContentKey() : keys.get(`${conv}:${epoch}`);
    if (!key) return null;
    const wraps = {};
    for (const d of devices) wraps[d.device_id] = await wrapContentKey(key, device.privateKey, d.public_key, conv, epoch, d.device_id);
    if (fresh) pendingKeys.set(`${conv}:${epoch}`, key);
    return { conversation_id: conv, epoch, wraps, fresh: !!fresh };
  }
  function keyAccepted(conv, epoch) {
    const k = pendingKeys.get(`${conv}:${epoch}`);
    if (k) { keys.set(`${conv}:${epoch}`, k); pendingKeys.delete(`${conv}:${epoch}`); }
    decryptAll();
    return true;
  }
  const hasKey = (conv, epoch) => keys.has(`${conv}:${epoch}`);

  async function sendComposer(inputId, conv, epoch) {
    const input = root.document.getElementById(inputId);
    const text = input ? input.value.trim() : "";
    const key = keys.get(`${conv}:${epoch}`);
    if (!text || !key) return null;
    const out = await encryptText(key, conv, epoch, text);
    input.value = "";
    return out;
  }

  let keysSeen = "";
  async function decryptAll() {
    if (!root.document) return;
    const holder = root.document.getElementById("chat-keys"); // the page's wrapped keys for this device
    if (holder && device && holder.dataset.shKeys && holder.dataset.shKeys !== keysSeen) {
      keysSeen = holder.dataset.shKeys;
      await importKeys(Number(holder.dataset.shConv), JSON.parse(keysSeen)); // calls decryptAll again
      return;
    }
    for (const el of root.document.querySelectorAll("[data-sh-ct]")) {
      const { shCt, shIv, shConv, shEpoch } = el.dataset;
      if (el.dataset.shShown === shIv) continue;
      const key = keys.get(`${shConv}:${shEpoch}`);
      if (!key) { el.textContent = "🔒 This browser has no key for this message yet."; continue; }
      try {
        el.textContent = await decryptText(key, Number(shConv), Number(shEpoch), shCt, shIv);
      } catch (e) {
        el.textContent = "⚠ This message could not be decrypted.";
      }
      el.dataset.shShown = shIv;
    }
  }
  function observe() {
    if (!root.document || root.__shChatObserver) return;
    let queued = false;
    root.__shChatObserver = new MutationObserver(() => {
      if (queued) return;
      queued = true;
      root.requestAnimationFrame(() => { queued = false; decryptAll(); });
    });
    root.__shChatObserver.observe(root.document.body, { childList: true, subtree: true, attributes: true,
      attributeFilter: ["data-sh-ct", "data-sh-iv", "data-sh-epoch", "data-sh-keys"] });
    root.document.addEventListener("keydown", (e) => { // Enter sends, Shift+Enter is a new line
      if (e.target && e.target.id === "chat-composer" && e.key === "Enter" && !e.shiftKey) {
        e.preventDefault();
        const send = root.document.getElementById("chat-send");
        if (send) send.click();
      }
    });
  }

  const api = {
    CURVE, SALT, WRAP_INFO, MSG_AAD,
    format: { newContentKey, wrapContentKey, unwrapContentKey, encryptText, decryptText, b64, unb64 },
    ensureDevice, setDeviceId, importKeys, makeWraps, keyAccepted, hasKey, sendComposer, decryptAll, observe,
  };
  root.SocialHubChat = api;
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  if (root.document) {
    if (root.document.readyState === "loading") root.document.addEventListener("DOMContentLoaded", observe);
    else observe();
  }
})(typeof window !== "undefined" ? window : globalThis);
