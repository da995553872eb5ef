/* The portal's small script: registers the service worker, reloads the house picker when a level
   changes, and turns Web Push on from the "我的" page. Everything works without it except push. */
"use strict";

(function () {
  function csrfToken() {
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (field) return field.value;
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // The subscription's JSON (PushSubscription.toJSON()) as the body POST /api/notifications/webpush/subscriptions takes.
  function subscriptionToBody(json) {
    const keys = (json && json.keys) || {};
    if (!json || !json.endpoint || !keys.p256dh || !keys.auth) throw new Error("incomplete subscription");
    return {endpoint: json.endpoint, keys: {p256dh: keys.p256dh, auth: keys.auth}};
  }

  // The VAPID key (base64url) as the bytes PushManager.subscribe wants.
  function keyBytes(base64url) {
    const padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(padded);
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }

  async function enablePush(button, state) {
    const say = (key) => { state.textContent = state.dataset[key]; state.dataset.state = key; };
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
      say("unsupported");
      return;
    }
    try {
      const registration = await navigator.serviceWorker.ready;
      const permission = await Notification.requestPermission();
      if (permission !== "granted") { say("unsupported"); return; }
      const key = await (await fetch(button.dataset.keyUrl, {credentials: "same-origin"})).json();
      const subscription = await registration.pushManager.subscribe(
        {userVisibleOnly: true, applicationServerKey: keyBytes(key.public_key)});
      const answer = await fetch(button.dataset.subscribeUrl, {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
        body: JSON.stringify(subscriptionToBody(subscription.toJSON())),
      });
      say(answer.ok ? "on" : "failed");
    } catch (error) {
      // No push service (offline, blocked, or a browser without one): say so plainly.
      say("unsupported");
    }
  }

  window.linliPortal = {subscriptionToBody: subscriptionToBody, keyBytes: keyBytes};

  if ("serviceWorker" in navigator && document.body.dataset.sw) {
    navigator.serviceWorker.register(document.body.dataset.sw, {scope: "/m/"}).catch(() => {});
  }

  document.addEventListener("change", (event) => {
    const select = event.target;
    if (select.matches && select.matches("select[data-reload]")) {
      const form = select.form;
      const flag = document.createElement("input");
      flag.type = "hidden"; flag.name = "reload"; flag.value = "1";
      form.appendChild(flag);
      form.submit();
    }
  });

  const button = document.getElementById("push-button");
  const state = document.getElementById("push-state");
  if (button && state) button.addEventListener("click", () => enablePush(button, state));
})();
