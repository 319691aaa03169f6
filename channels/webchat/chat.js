/* surveybot web chat: loads the conversation state, renders it and posts the person's answers (vanilla JS). */
(() => {
  "use strict";
  const FALLBACK = {
    title: "Quick survey", send: "Send", placeholder: "Type your answer…", skip: "Skip",
    ended: "This conversation has ended. You can close this page.", not_open: "This survey is not open yet.",
    link_invalid: "This link is not valid or has expired.", error: "Something went wrong. Please try again.",
  };
  const $ = (id) => document.getElementById(id);
  const els = {
    title: $("title"), transcript: $("transcript"), live: $("live"), error: $("error"), ended: $("ended"),
    notOpen: $("not-open"), choices: $("choices"), form: $("composer"), input: $("input"), send: $("send"),
  };
  const match = location.pathname.match(/^(.*\/s\/[^/]+?)\/*$/);
  const base = match ? match[1] : null;
  const finePointer = window.matchMedia && matchMedia("(pointer: fine)").matches;
  let ui = { ...FALLBACK };
  const shown = new Set(); // ids of the messages in the transcript
  let lastId = null;       // the newest of them: the server sends only messages after it
  let busy = 0;            // requests in flight
  let seq = 0;             // only the newest request may render
  let sending = false;
  let dead = false;        // link invalid: nothing more to do
  let failed = null;       // {text, id} of a send that gave up, to reuse its id on a retry

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  function setBusy(delta) {
    busy += delta;
    document.body.dataset.busy = busy > 0 ? "true" : "false";
  }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = new Uint8Array(16);
    if (window.crypto && crypto.getRandomValues) crypto.getRandomValues(b);
    else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // One request, retried (same body, so the same client_message_id) on network failure or 5xx.
  async function request(method, path, body) {
    setBusy(1);
    try {
      for (let attempt = 0; ; attempt++) {
        let res = null;
        const ctl = new AbortController();
        const timer = setTimeout(() => ctl.abort(), 15000);
        try {
          res = await fetch(base + path, {
            method, cache: "no-store", credentials: "same-origin", signal: ctl.signal,
            headers: body ? { "Content-Type": "application/json", Accept: "application/json" } : { Accept: "application/json" },
            body: body ? JSON.stringify(body) : undefined,
          });
          if (res.status < 500) return { status: res.status, ok: res.ok, data: await res.json().catch(() => null) };
        } catch (e) {
          res = null;
        } finally {
          clearTimeout(timer);
        }
        if (attempt >= 3) return { status: res ? res.status : 0, ok: false, data: null };
        await sleep(400 * 2 ** attempt);
      }
    } finally {
      setBusy(-1);
    }
  }

  // Returns true when the response was a state that got rendered (a 409 carries the ended one).
  function handle(r) {
    if (r.status === 404 || r.status === 410) { fatal(r.data && r.data.ui); return false; }
    const state = (r.ok || r.status === 409) && r.data && Array.isArray(r.data.messages);
    if (!state) { showError(ui.error); return false; }
    render(r.data);
    return true;
  }
  function showError(text) { els.error.textContent = text; els.error.hidden = false; }
  function fatal(u) {
    dead = true;
    document.body.classList.add("dead");
    ui = { ...FALLBACK, ...(u || {}) };
    els.form.hidden = els.choices.hidden = els.ended.hidden = els.notOpen.hidden = true;
    showError(ui.link_invalid);
  }

  function render(s) {
    ui = { ...FALLBACK, ...(s.ui || {}) };
    if (s.locale) document.documentElement.lang = s.locale;
    document.documentElement.dir = s.dir === "rtl" ? "rtl" : "ltr";
    document.title = els.title.textContent = ui.title;
    els.input.placeholder = ui.placeholder;
    els.input.setAttribute("aria-label", ui.placeholder);
    els.send.textContent = ui.send;
    els.ended.textContent = ui.ended;
    els.notOpen.textContent = ui.not_open;
    renderMessages(s.messages);
    const notOpen = s.status === "not_open";
    const ended = !notOpen && (s.status === "done" || s.open === false);
    els.notOpen.hidden = !notOpen;
    els.ended.hidden = !ended;
    els.form.hidden = notOpen || ended;
    els.error.hidden = true;
    renderChoices(notOpen || ended ? [] : s.choices || [], s.choices_kind, s.labels);
    scrollDown();
  }

  function bubble(direction, text) {
    const el = document.createElement("div");
    const dir = direction === "in" ? "in" : "out";
    el.className = "msg " + dir;
    el.dataset.testid = "msg-" + dir;
    el.textContent = text == null ? "" : String(text);
    return el;
  }

  // A state holds the messages after `lastId` (ids only grow): append the ones not shown yet.
  function renderMessages(list) {
    els.transcript.querySelectorAll(".pending").forEach((n) => n.remove());
    const fresh = list.filter((m) => !shown.has(String(m.id)));
    fresh.forEach((m) => {
      shown.add(String(m.id));
      els.transcript.append(bubble(m.direction, m.text));
      const id = Number(m.id);
      if (Number.isSafeInteger(id) && (lastId === null || id > lastId)) lastId = id;
    });
    // Announce the survey's new messages that come after the person's last message.
    let lastIn = -1;
    fresh.forEach((m, i) => { if (m.direction === "in") lastIn = i; });
    const say = fresh.filter((m, i) => i > lastIn && m.direction !== "in").map((m) => m.text);
    if (say.length) els.live.textContent = say.join("\n");
  }

  function renderChoices(choices, kind, labels) {
    const box = els.choices;
    box.replaceChildren();
    box.className = "choices " + (["scale", "reasons", "skip"].includes(kind) ? kind : "reasons");
    box.hidden = choices.length === 0;
    if (!choices.length) return;
    let holder = box;
    if (kind === "scale") {
      holder = document.createElement("div");
      holder.className = "scale";
      holder.setAttribute("role", "group");
      const n = choices.length;
      holder.style.setProperty("--cols", String(n));
      holder.style.setProperty("--cols-narrow", String(n > 7 ? Math.ceil(n / 2) : n));
      box.append(holder);
    }
    const buttons = choices.map((c) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "choice";
      b.dataset.testid = "choice";
      b.dataset.value = String(c.value);
      b.textContent = kind === "skip" ? ui.skip || c.label : c.label;
      b.addEventListener("click", () => send(String(c.value), true, b.textContent));
      holder.append(b);
      return b;
    });
    if (kind === "scale" && labels && (labels.low || labels.high)) {
      const row = document.createElement("div");
      row.className = "scale-labels";
      [["low", buttons[0]], ["high", buttons[buttons.length - 1]]].forEach(([end, btn]) => {
        const span = document.createElement("span");
        span.className = end;
        span.id = "scale-" + end;
        span.textContent = labels[end] || "";
        if (labels[end]) btn.setAttribute("aria-describedby", span.id);
        row.append(span);
      });
      box.append(row);
    }
  }

  function setControls(on) {
    els.input.disabled = els.send.disabled = !on;
    els.choices.querySelectorAll("button").forEach((b) => { b.disabled = !on; });
  }
  function scrollDown() {
    requestAnimationFrame(() => { els.transcript.scrollTop = els.transcript.scrollHeight; });
  }
  function autosize() {
    els.input.style.height = "auto";
    if (els.input.value) els.input.style.height = Math.min(els.input.scrollHeight + 2, 160) + "px";
  }

  async function send(raw, fromChoice, shownText) {
    const text = fromChoice ? raw : raw.trim();
    if (!text || sending || dead) return;
    sending = true;
    const my = ++seq;
    const refocus = !fromChoice && finePointer;
    const id = failed && failed.text === text ? failed.id : uuid();
    setControls(false);
    els.error.hidden = true;
    const pending = bubble("in", shownText || text);
    pending.classList.add("pending");
    pending.dataset.testid = "msg-pending";
    els.transcript.append(pending);
    if (!fromChoice) { els.input.value = ""; autosize(); }
    scrollDown();
    const body = { text, client_message_id: id };
    if (lastId !== null) body.after = lastId;
    const r = await request("POST", "/messages", body);
    sending = false;
    if (my === seq && handle(r)) {
      failed = null;
    } else {
      pending.remove();
      if (!dead) failed = { text, id };
      if (!fromChoice && !els.input.value) { els.input.value = text; autosize(); }
    }
    setControls(true);
    if (refocus && !els.form.hidden) els.input.focus();
  }

  async function load() {
    if (sending || dead) return;
    const my = ++seq;
    const r = await request("GET", lastId === null ? "/state" : `/state?after=${lastId}`);
    if (my === seq && !sending) handle(r);
  }

  els.form.addEventListener("submit", (e) => { e.preventDefault(); send(els.input.value, false); });
  els.input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      send(els.input.value, false);
    }
  });
  els.input.addEventListener("input", autosize);
  window.addEventListener("resize", scrollDown);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") load(); });
  window.addEventListener("pageshow", (e) => { if (e.persisted) load(); });

  if (!base) { fatal(null); setBusy(0); } else load();
})();
