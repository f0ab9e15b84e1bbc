/*
 * widget.js - the gateway's live-chat widget. Plain JavaScript, no
 * dependency. Include it on a page:
 *
 *   <script src="https://chat.example.com/widget.js" async
 *           data-title="Chat with us" data-prechat="true"></script>
 *
 * Optional attributes: data-server (websocket URL, default wss?://<host of
 * this script>/chat), data-title, data-prechat ("true": ask name and email
 * first), data-open ("true": start opened). A site that knows its user sets
 * window.GatewayChatIdentity = {id, name, email, sig} before loading it
 * (docs/channels/livechat.md).
 *
 * Files: the clip button uploads one file (POST <server>/upload with the
 * files key of the welcome), then sends a message naming its ref; images
 * are shown, other files linked (GET <server>/files/<hex>?k=<files key>).
 *
 * Typing: a "typing" frame at most every 2 s while the visitor types; an
 * agent's typing ({"type":"typing","from":"agent"}) shows "Agent is
 * typing..." for 4 s.
 *
 * Away and closed: the server says whether the team can answer now
 * ({"type":"availability"}); when it cannot, a notice shows its text before
 * the visitor writes, with a field for an email address so that the answer
 * can go out by email (sent with the messages, as the pre-chat email: a
 * claim). Messages are taken either way.
 *
 * Nothing lost, nothing doubled: each message gets a client_id and stays in
 * localStorage until the server acks it (only once it is durable); after a
 * reconnect the unacked ones are sent again (the server deduplicates) and
 * the server sends what was missed after the last id seen.
 */
(function () {
  "use strict";
  if (window.GatewayChat) return;
  var script = document.currentScript || document.querySelector("script[src*='widget.js']");
  var attr = function (n, d) { var v = script && script.getAttribute("data-" + n); return v === null || v === undefined ? d : v; };
  var base = script && script.src ? new URL(script.src, location.href) : new URL(location.href);
  var server = attr("server", (base.protocol === "https:" ? "wss://" : "ws://") + base.host + "/chat");
  var KEY = "gwchat:" + server + ":";
  var httpBase = server.replace(/^ws/, "http").replace(/\/chat$/, "");
  var filesKey = null;
  var store = {
    get: function (k, d) { try { var v = localStorage.getItem(KEY + k); return v === null ? d : JSON.parse(v); } catch (e) { return d; } },
    set: function (k, v) { try { localStorage.setItem(KEY + k, JSON.stringify(v)); } catch (e) { /* private mode: memory only */ } }
  };
  var ws = null, welcomed = false, lastSeen = 0, backoff = 500, timer = null, shown = {};
  var profile = store.get("profile", null);
  var prechat = attr("prechat", "false") === "true";

  var css = ".gwc-btn{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;background:#2563eb;display:flex;align-items:center;justify-content:center;cursor:pointer;box-shadow:0 4px 12px rgba(0,0,0,.25);z-index:2147483646}" +
    ".gwc-panel{position:fixed;right:20px;bottom:88px;width:340px;max-width:calc(100vw - 40px);height:460px;max-height:calc(100vh - 120px);display:none;flex-direction:column;background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);font:14px/1.4 system-ui,sans-serif;color:#111;overflow:hidden;z-index:2147483647}" +
    ".gwc-open .gwc-panel{display:flex}.gwc-head{background:#2563eb;color:#fff;padding:12px 14px;font-weight:600;display:flex;justify-content:space-between}" +
    ".gwc-state{font-weight:400;font-size:12px;opacity:.85}.gwc-log{flex:1;overflow-y:auto;padding:12px;background:#f6f7f9;display:flex;flex-direction:column}" +
    ".gwc-msg{max-width:80%;margin:6px 0;padding:8px 11px;border-radius:14px;white-space:pre-wrap;word-wrap:break-word}" +
    ".gwc-in{align-self:flex-end;background:#2563eb;color:#fff;border-bottom-right-radius:4px}.gwc-out{align-self:flex-start;background:#e5e7eb;border-bottom-left-radius:4px}" +
    ".gwc-pending{opacity:.6}.gwc-failed{background:#dc2626}.gwc-form{display:flex;border-top:1px solid #e5e7eb}" +
    ".gwc-form textarea{flex:1;border:0;outline:none;padding:10px;resize:none;font:inherit;height:40px}.gwc-form button{border:0;background:#fff;color:#2563eb;font-weight:600;padding:0 14px;cursor:pointer}" +
    ".gwc-pre{padding:14px;display:flex;flex-direction:column;gap:8px}.gwc-pre input{padding:8px;border:1px solid #d1d5db;border-radius:6px;font:inherit}" +
    ".gwc-pre button{padding:8px;border:0;border-radius:6px;background:#2563eb;color:#fff;font:inherit;cursor:pointer}" +
    ".gwc-img{display:block;max-width:100%;max-height:180px;margin-top:4px;border-radius:8px}.gwc-file{display:block;color:inherit;text-decoration:underline;margin-top:4px}" +
    ".gwc-form .gwc-clip{padding:0 8px;color:#6b7280;font-size:18px}.gwc-typing{align-self:flex-start;font-size:12px;color:#6b7280;font-style:italic;margin:4px 0}.gwc-note{align-self:center;font-size:12px;color:#6b7280;margin:4px 0}" +
    ".gwc-away{background:#fef3c7;color:#78350f;padding:10px 12px;font-size:13px;display:flex;flex-direction:column;gap:6px}.gwc-away form{display:flex;gap:6px}" +
    ".gwc-away input{flex:1;padding:6px;border:1px solid #d1d5db;border-radius:6px;font:inherit}.gwc-away button{border:0;border-radius:6px;background:#92400e;color:#fff;padding:6px 10px;cursor:pointer}";

  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }

  var root = el("div", "gwc"), style = el("style");
  style.textContent = css;
  var btn = el("button", "gwc-btn");
  btn.innerHTML = '<svg width="26" height="26" viewBox="0 0 24 24" fill="#fff"><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"/></svg>';
  btn.setAttribute("aria-label", "Chat");
  var panel = el("div", "gwc-panel"), head = el("div", "gwc-head"), state = el("span", "gwc-state", "connecting");
  head.appendChild(el("span", "", attr("title", "Chat with us")));
  head.appendChild(state);
  var log = el("div", "gwc-log"), form = el("form", "gwc-form"), input = el("textarea");
  input.id = "gwc-input";
  input.placeholder = "Write a message";
  var send = el("button", "", "Send");
  send.type = "submit";
  var clip = el("button", "gwc-clip", "\ud83d\udcce"), picker = el("input");
  clip.type = "button"; clip.setAttribute("aria-label", "Attach a file"); clip.id = "gwc-attach";
  picker.type = "file"; picker.id = "gwc-file"; picker.style.display = "none";
  picker.accept = "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain";
  form.appendChild(clip);
  form.appendChild(picker);
  form.appendChild(input);
  form.appendChild(send);
  panel.appendChild(head);
  var away = el("div", "gwc-away");
  away.style.display = "none";
  panel.appendChild(away);
  panel.appendChild(log);

  var pre = el("form", "gwc-pre"), pname = el("input"), pemail = el("input"), pgo = el("button", "", "Start chat");
  pname.placeholder = "Your name"; pname.name = "name";
  pemail.placeholder = "Your email"; pemail.type = "email"; pemail.name = "email";
  pre.appendChild(el("div", "", "Tell us who you are:"));
  pre.appendChild(pname); pre.appendChild(pemail); pre.appendChild(pgo);
  if (prechat && !profile) { log.appendChild(pre); } else { panel.appendChild(form); }
  pre.addEventListener("submit", function (ev) {
    ev.preventDefault();
    profile = { name: pname.value.trim(), email: pemail.value.trim() };
    store.set("profile", profile);
    log.removeChild(pre);
    panel.appendChild(form);
    input.focus();
  });

  root.appendChild(style); root.appendChild(btn); root.appendChild(panel);
  btn.addEventListener("click", function () { root.classList.toggle("gwc-open"); if (root.classList.contains("gwc-open")) input.focus(); });
  if (attr("open", "false") === "true") root.classList.add("gwc-open");

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16); crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
  }

  function scroll() { log.scrollTop = log.scrollHeight; }

  /* The link of an attachment: a stored file of the conversation, or a URL. */
  function fileUrl(a) {
    if (a.ref && a.ref.indexOf("sha256:") === 0 && filesKey)
      return httpBase + "/files/" + a.ref.slice(7) + "?k=" + encodeURIComponent(filesKey);
    return a.url && /^https:\/\//.test(a.url) ? a.url : null;
  }

  /* An image is shown, anything else is a link with its name. */
  function renderFiles(e, files) {
    (files || []).forEach(function (a) {
      var url = fileUrl(a), link = el("a", "gwc-file", a.name || "file");
      if (!url) return;
      link.href = url; link.target = "_blank"; link.rel = "noopener";
      if (/^image\//.test(a.type || "")) {
        var img = el("img", "gwc-img");
        img.src = url; img.alt = a.name || "image";
        link.textContent = ""; link.appendChild(img);
      }
      e.appendChild(link);
    });
  }

  /* One bubble per message: by server id once known, by client_id before. */
  function render(m) {
    var e = m.client_id ? log.querySelector("[data-client-id='" + m.client_id + "']") : null;
    if (m.id && shown[m.id]) return;
    if (!e) {
      e = el("div", "gwc-msg " + (m.direction === "out" ? "gwc-out" : "gwc-in"), m.text || "");
      if (m.client_id) e.setAttribute("data-client-id", m.client_id);
      renderFiles(e, m.attachments);
      log.appendChild(e);
    }
    if (m.id) { shown[m.id] = true; e.setAttribute("data-id", m.id); e.classList.remove("gwc-pending"); }
    else e.classList.add("gwc-pending");
    scroll();
  }

  function unacked() { return store.get("unacked", []); }
  function setUnacked(list) { store.set("unacked", list); }

  function frame(o) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(o)); }

  function sendMsg(m) {
    var o = { type: "message", client_id: m.client_id, text: m.text || "" };
    if (m.attachments) o.attachments = m.attachments.map(function (a) { return { ref: a.ref }; });
    if (profile && profile.name) o.name = profile.name;
    if (profile && profile.email) o.email = profile.email;
    if (welcomed) frame(o);
  }

  function post(text, files) {
    text = String(text || "").trim();
    if (!text && !files) return;
    var m = { client_id: uuid(), text: text };
    if (files) m.attachments = files;
    var list = unacked(); list.push(m); setUnacked(list);
    render({ client_id: m.client_id, text: text, direction: "in", attachments: files });
    sendMsg(m);
  }

  function note(text, cls) { var n = el("div", "gwc-note " + (cls || ""), text); log.appendChild(n); scroll(); return n; }

  /* Uploads `file`; once stored (the answer comes only then) sends a
   * message naming it. Refusals (413, 415, 400) are shown as they come. */
  function upload(file) {
    if (!filesKey) { note("Files cannot be sent right now.", "gwc-upload-error"); return; }
    var q = "k=" + encodeURIComponent(filesKey) + "&name=" + encodeURIComponent(file.name) +
      "&type=" + encodeURIComponent(file.type || "application/octet-stream");
    var pending = note("Sending " + file.name + "\u2026");
    /* text/plain keeps it a simple request: no CORS preflight. */
    fetch(httpBase + "/upload?" + q, { method: "POST", body: file, headers: { "Content-Type": "text/plain" } })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
      .then(function (r) {
        log.removeChild(pending);
        if (!r.ok) { note(file.name + ": " + (r.j.message || "not sent"), "gwc-upload-error"); return; }
        post("", [{ ref: r.j.ref, name: r.j.name, type: r.j.type, size: r.j.size }]);
      })
      .catch(function () { log.removeChild(pending); note(file.name + ": not sent; try again", "gwc-upload-error"); });
  }

  function seen(id) {
    if (id > lastSeen) lastSeen = id;
  }

  var availability = null;

  /* The team's state: a notice, and an email field, when it cannot answer. */
  function showAvailability(o) {
    availability = o.state;
    root.setAttribute("data-availability", o.state);
    state.textContent = o.state === "available" ? "online" : o.state;
    away.textContent = "";
    if (o.state === "available") { away.style.display = "none"; return; }
    away.appendChild(el("div", "gwc-away-text", o.text || "Nobody is available right now."));
    if (profile && profile.email) {
      away.appendChild(el("div", "gwc-away-email", "We will answer at " + profile.email + "."));
    } else {
      var f = el("form"), mail = el("input"), save = el("button", "", "Save");
      mail.type = "email"; mail.id = "gwc-away-email"; mail.placeholder = "Your email";
      save.type = "submit"; save.id = "gwc-away-save";
      f.appendChild(mail); f.appendChild(save);
      f.addEventListener("submit", function (ev) {
        ev.preventDefault();
        if (!mail.value.trim() || (mail.checkValidity && !mail.checkValidity())) return;
        profile = profile || {}; profile.email = mail.value.trim(); store.set("profile", profile);
        showAvailability({ state: availability, text: o.text });
      });
      away.appendChild(f);
    }
    away.style.display = "flex";
  }

  /* "Agent is typing..." for a few seconds after each typing frame. */
  var typingEl = el("div", "gwc-typing", "Agent is typing\u2026"), typingTimer = null;
  typingEl.style.display = "none";
  function agentTyping() {
    log.appendChild(typingEl); /* moved to the end */
    typingEl.style.display = "block";
    scroll();
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { typingEl.style.display = "none"; }, 4000);
  }

  function onFrame(o) {
    if (o.type === "availability") { showAvailability(o); return; }
    if (o.type === "typing") { agentTyping(); return; }
    if (o.type === "welcome") {
      welcomed = true; backoff = 500;
      store.set("token", o.token);
      filesKey = o.files_key || null;
      state.textContent = "online";
    } else if (o.type === "message") {
      if (o.direction === "out") { typingEl.style.display = "none"; clearTimeout(typingTimer); }
      render(o);
      seen(o.id);
      if (o.direction === "out") frame({ type: "seen", id: o.id });
      if (o.client_id) setUnacked(unacked().filter(function (x) { return x.client_id !== o.client_id; }));
    } else if (o.type === "ack") {
      setUnacked(unacked().filter(function (x) { return x.client_id !== o.client_id; }));
      render({ client_id: o.client_id, id: o.id, direction: "in" });
      seen(o.id);
    } else if (o.type === "error") {
      var m = o.client_id && unacked().filter(function (x) { return x.client_id === o.client_id; })[0];
      if (!m) return;
      if (o.code === "rate_limited" || o.code === "unavailable") {
        setTimeout(function () { sendMsg(m); }, 1500);
      } else {
        setUnacked(unacked().filter(function (x) { return x.client_id !== o.client_id; }));
        var e = log.querySelector("[data-client-id='" + o.client_id + "']");
        if (e) { e.classList.add("gwc-failed"); e.title = o.message; }
      }
    }
  }

  function connect() {
    timer = null;
    welcomed = false;
    state.textContent = "connecting";
    try { ws = new WebSocket(server, "gateway-chat"); } catch (e) { retry(); return; }
    ws.onopen = function () {
      frame({ type: "hello", token: store.get("token", null), last_seen: lastSeen || null,
              lang: navigator.language || null,
              identity: window.GatewayChatIdentity || null });
    };
    ws.onmessage = function (ev) {
      var o; try { o = JSON.parse(ev.data); } catch (e) { return; }
      var first = o.type === "welcome";
      onFrame(o);
      if (first) unacked().forEach(function (m) { render({ client_id: m.client_id, text: m.text, direction: "in", attachments: m.attachments }); sendMsg(m); });
    };
    ws.onclose = function () { ws = null; welcomed = false; state.textContent = "offline"; retry(); };
    ws.onerror = function () { /* onclose follows */ };
  }

  function retry() {
    if (timer) return;
    var wait = Math.min(backoff, 30000) * (0.75 + Math.random() * 0.5);
    backoff = Math.min(backoff * 2, 30000);
    timer = setTimeout(connect, wait);
  }

  clip.addEventListener("click", function () { picker.click(); });
  picker.addEventListener("change", function () { if (picker.files && picker.files[0]) upload(picker.files[0]); picker.value = ""; });
  form.addEventListener("submit", function (ev) { ev.preventDefault(); post(input.value); input.value = ""; });
  /* Typing: one frame every 2 s at most while keys are pressed (the server
   * drops more anyway). */
  var typingSent = 0;
  input.addEventListener("input", function () {
    var now = Date.now();
    if (!welcomed || !input.value || now - typingSent < 2000) return;
    typingSent = now;
    frame({ type: "typing" });
  });
  input.addEventListener("keydown", function (ev) { if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit")); } });
  window.addEventListener("online", function () { if (!ws) { clearTimeout(timer); timer = null; backoff = 500; connect(); } });

  window.GatewayChat = {
    send: post,
    open: function () { root.classList.add("gwc-open"); },
    state: function () { return { welcomed: welcomed, lastSeen: lastSeen, unacked: unacked().length, availability: availability }; },
    disconnect: function () { if (ws) ws.close(); }
  };
  function start() { document.body.appendChild(root); connect(); }
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
