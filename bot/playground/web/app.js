// The web chat: one persona's chat at a time, drawn from the server's chat items, updated by
// the events the server pushes over a WebSocket. No build step; plain DOM.
"use strict";

const ROLES = {
  result: "مالک با نتیجهٔ منتشرشده",
  manager: "مدیر دو شهرک",
  admin: "راهبر",
  owner: "مالک تازه",
  firm: "بنگاه نمونه",
};
const state = { chat: null, personas: [], unread: {}, pending: new Set() };
const $ = (id) => document.getElementById(id);
const FA_DIGITS = (s) => String(s).replace(/\d/g, (d) => "۰۱۲۳۴۵۶۷۸۹"[d]);

async function call(path, body) {
  const init = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const response = await fetch(path, init);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 2500);
}

function size(bytes) {
  return bytes > 1024 ? `${Math.round(bytes / 1024)} KB` : `${bytes} B`;
}

function drawItem(item) {
  const box = document.createElement("div");
  box.className = `msg ${item.from}`;
  box.dataset.id = item.id;
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  if (item.file && item.kind === "photo") {
    const img = document.createElement("img");
    img.src = item.file.url;
    img.alt = "📊";
    // The chart arrives after the text: keep the chat scrolled to it once it has a height.
    img.addEventListener("load", () => { if (box === $("chat").lastElementChild) box.scrollIntoView({ block: "end" }); });
    bubble.append(img);
  } else if (item.file) {
    const link = document.createElement("a");
    link.className = "doc";
    link.href = item.file.url;
    link.download = item.file.name;
    link.innerHTML = "📄 <span></span>";
    link.querySelector("span").textContent = `${item.file.name} · ${size(item.file.size)}`;
    bubble.append(link);
  }
  if (item.html) {
    const text = document.createElement("div");
    text.className = "text";
    text.innerHTML = item.html; // escaped by the server; only the platform's formatting tags
    bubble.append(text);
  }
  const meta = document.createElement("div");
  meta.className = "meta";
  meta.textContent = (item.edited ? "ویرایش‌شده · " : "") + item.at;
  bubble.append(meta);
  box.append(bubble);
  if (item.buttons && item.buttons.length) {
    const buttons = document.createElement("div");
    buttons.className = "buttons";
    for (const row of item.buttons) {
      const line = document.createElement("div");
      line.className = "brow";
      for (const b of row) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = b.url ? `${b.text} ↗` : b.text;
        button.addEventListener("click", () => press(item.id, b, button));
        line.append(button);
      }
      buttons.append(line);
    }
    box.append(buttons);
  }
  return box;
}

function upsert(item) {
  const chat = $("chat");
  const old = chat.querySelector(`.msg[data-id="${item.id}"]`);
  if (item.deleted) { if (old) old.remove(); return; }
  const drawn = drawItem(item);
  const atBottom = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 80;
  if (old) {
    old.replaceWith(drawn);
    // An edited question grows new buttons: keep them in view when the chat was at its end.
    if (atBottom && drawn === chat.lastElementChild) chat.scrollTop = chat.scrollHeight;
    return;
  }
  const later = [...chat.querySelectorAll(".msg")].find((m) => Number(m.dataset.id) > item.id);
  chat.insertBefore(drawn, later || null);
  if (atBottom || item.from === "user") drawn.scrollIntoView({ block: "end" });
}

function drawKeyboard(rows) {
  const board = $("keyboard");
  board.replaceChildren();
  board.hidden = !rows;
  for (const row of rows || []) {
    const line = document.createElement("div");
    line.className = "krow";
    for (const b of row) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = b.text;
      button.addEventListener("click", () => send(b.contact ? { type: "contact" } : { type: "text", text: b.text }));
      line.append(button);
    }
    board.append(line);
  }
}

async function send(action) {
  try {
    await call(`/api/chats/${state.chat}`, action);
  } catch (error) {
    toast(error.message);
  }
}

async function press(messageId, button, element) {
  if (button.url) { window.open(button.url, "_blank", "noopener"); return; }
  element.classList.add("pending");
  state.pending.add(element);
  await send({ type: "press", message_id: messageId, data: button.data });
}

// Events that arrive while a chat's history is being fetched are kept and applied after it,
// since the history may have been read before them; a newer fetch makes an older one void.
let opening = null;

async function openChat(id) {
  state.chat = id;
  state.unread[id] = 0;
  localStorage.setItem("khooshe-chat", id);
  drawPersonas();
  const mine = { chat: id, early: [] };
  opening = mine;
  const data = await call(`/api/chats/${id}`);
  if (opening !== mine) return;
  opening = null;
  $("chat").replaceChildren(...data.items.map(drawItem));
  drawKeyboard(data.keyboard);
  for (const event of mine.early) onEvent(event);
  const last = $("chat").lastElementChild;
  if (last) last.scrollIntoView({ block: "end" });
  $("text").focus();
}

function drawPersonas() {
  const select = $("persona");
  select.replaceChildren();
  const groups = { main: document.createElement("optgroup"), firms: document.createElement("optgroup") };
  groups.main.label = "نقش‌ها";
  groups.firms.label = "بنگاه‌های نمونه";
  for (const p of state.personas) {
    const option = document.createElement("option");
    option.value = p.id;
    const unread = state.unread[p.id] ? ` (${FA_DIGITS(state.unread[p.id])})` : "";
    option.textContent = p.role === "firm" ? `${p.name}${unread}` : `${ROLES[p.role]} — ${p.name}${unread}`;
    option.selected = p.id === state.chat;
    (p.role === "firm" ? groups.firms : groups.main).append(option);
  }
  select.append(groups.main, groups.firms);
}

function drawStatus(status) {
  state.personas = status.personas;
  $("clock").textContent = `🕒 ${status.now}`;
  document.body.classList.toggle("bale", status.platform === "bale");
  for (const b of document.querySelectorAll("[data-platform]")) b.classList.toggle("on", b.dataset.platform === status.platform);
  drawPersonas();
}

function onEvent(event) {
  if (event.type === "status") { drawStatus(event); return; }
  if (event.type === "reset") { if (state.chat) openChat(state.chat); return; }
  if (opening && event.chat === opening.chat) { opening.early.push(event); return; }
  if (event.chat !== state.chat) {
    if (event.type === "message" && event.item.from === "bot") {
      state.unread[event.chat] = (state.unread[event.chat] || 0) + 1;
      drawPersonas();
    }
    return;
  }
  if (event.type === "message") upsert(event.item);
  else if (event.type === "keyboard") drawKeyboard(event.rows);
  else if (event.type === "answer") {
    for (const element of state.pending) element.classList.remove("pending");
    state.pending.clear();
    if (event.alert) alert(event.text);
    else if (event.text) toast(event.text);
  }
}

function connect() {
  const socket = new WebSocket(`ws://${location.host}/ws`);
  socket.onmessage = (message) => onEvent(JSON.parse(message.data));
  socket.onopen = () => { if (state.chat) openChat(state.chat); };
  socket.onclose = () => setTimeout(connect, 1000);
}

async function start() {
  drawStatus(await call("/api/status"));
  $("persona").addEventListener("change", (e) => openChat(Number(e.target.value)));
  $("new-owner").addEventListener("click", async () => {
    const persona = await call("/api/personas/new", {});
    drawStatus(await call("/api/status"));
    openChat(persona.id);
  });
  for (const b of document.querySelectorAll(".step")) {
    b.addEventListener("click", async () => drawStatus(await call("/api/clock", { step: b.dataset.step })));
  }
  for (const b of document.querySelectorAll("[data-platform]")) {
    b.addEventListener("click", async () => {
      toast("…");
      drawStatus(await call("/api/platform", { platform: b.dataset.platform }));
      toast(b.dataset.platform === "bale" ? "پیام‌رسان: بله" : "Messenger: Telegram");
    });
  }
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("text").value.trim();
    if (!text) return;
    $("text").value = "";
    send({ type: "text", text });
  });
  $("file").addEventListener("change", async () => {
    const file = $("file").files[0];
    if (!file) return;
    const form = new FormData();
    form.append("document", file, file.name);
    form.append("caption", $("text").value.trim());
    $("text").value = "";
    $("file").value = "";
    const response = await fetch(`/api/chats/${state.chat}`, { method: "POST", body: form });
    if (!response.ok) toast((await response.json()).error);
  });
  const saved = Number(localStorage.getItem("khooshe-chat"));
  state.chat = (state.personas.find((p) => p.id === saved) || state.personas[0]).id;
  drawPersonas();
  connect(); // opens the chat once the socket is open, so no event falls between the two
}

start();
