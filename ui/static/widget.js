/*
 * Glovebox chat widget: a carmaker's customer-care assistant on its web page.
 *
 * One tag adds it (the API is the origin this file was served from):
 *   <script src="https://HOST/widget.js" data-key="pk_..." async></script>
 * or, after loading the script, place it yourself:
 *   <glovebox-chat key="pk_..." mode="inline"></glovebox-chat>
 *
 * Everything lives in a Shadow DOM, so the host page's CSS cannot reach in and ours cannot
 * leak out. Hand-written ES2020, no dependencies, no requests except to the Glovebox API.
 */
(() => {
  "use strict";

  if (window.customElements.get("glovebox-chat")) return; // the tag was included twice

  const loaderScript = document.currentScript;
  const SCRIPT_ORIGIN =
    loaderScript && loaderScript.src
      ? new URL(loaderScript.src, window.location.href).origin
      : window.location.origin;

  const MAX_QUESTION_CHARS = 1000;
  const COUNTER_FROM_CHARS = 800;
  const MAX_COMMENT_CHARS = 2000; // what /v1/feedback and /v1/ratings accept (ui/api/models.py)
  const RATING_SCORES = [1, 2, 3, 4, 5];
  const POLL_EVERY_MS = 5000;
  const HUMAN_STATES = new Set(["waiting_for_human", "human"]);

  const STRINGS = {
    en: {
      title: "Customer care assistant",
      notice: "You're chatting with an AI assistant. It can make mistakes; ask for a person any time.",
      openChat: "Open chat with {title}",
      closeChat: "Close chat",
      menu: "More options",
      newConversation: "New conversation",
      inputLabel: "Your question",
      placeholder: "Ask about your vehicle…",
      send: "Send",
      stop: "Stop",
      stopped: "Stopped. Ask again any time.",
      thinking: "Thinking…",
      you: "You",
      agent: "Customer Care agent",
      sources: "Sources ({n})",
      source: "Source {n}",
      helpful: "Helpful",
      notHelpful: "Not helpful",
      thanks: "Thanks for the feedback",
      feedbackFailed: "Couldn't send feedback. Try again later.",
      commentLabel: "What could be better? (optional)",
      commentSend: "Send",
      commentSkip: "Skip",
      talkToPerson: "Talk to a person",
      sayWhatYouNeed: "Type in a few words what you need help with, then press “Talk to a person”.",
      escalationSent: "We've asked a person to join. They will reply here.",
      waiting: "Waiting for an agent",
      waitingTicket: "Waiting for an agent ({ticket})",
      withAgent: "An agent is with you",
      withAgentTicket: "An agent is with you ({ticket})",
      resolved: "Resolved",
      lowConfidence: "I'm not sure about this one. A person can help: use “Talk to a person”.",
      charsLeft: "{n} characters left",
      tooLong: "{n} characters over the limit",
      networkError: "Couldn't reach the assistant. Check your connection and try again.",
      serverError: "Something went wrong. Please try again.",
      newMessage: "New message",
      pendingCase: "a person has your case {ticket}",
      rateTitle: "How did we do?",
      rateScore: "{n} out of 5",
      rateLow: "Poor",
      rateHigh: "Great",
      rateComment: "Anything to add? (optional)",
      rateSend: "Send rating",
      rateThanks: "Thanks for your rating!",
      rateFailed: "Couldn't send your rating. Try again.",
      agentTyping: "Agent is typing…",
      starters: "Suggested questions",
    },
    es: {
      title: "Asistente de atención al cliente",
      notice: "Estás hablando con un asistente de IA. Puede equivocarse; pide hablar con una persona cuando quieras.",
      openChat: "Abrir el chat con {title}",
      closeChat: "Cerrar el chat",
      menu: "Más opciones",
      newConversation: "Nueva conversación",
      inputLabel: "Tu pregunta",
      placeholder: "Pregunta sobre tu vehículo…",
      send: "Enviar",
      stop: "Detener",
      stopped: "Detenido. Puedes volver a preguntar cuando quieras.",
      thinking: "Pensando…",
      you: "Tú",
      agent: "Agente de Atención al Cliente",
      sources: "Fuentes ({n})",
      source: "Fuente {n}",
      helpful: "Útil",
      notHelpful: "No es útil",
      thanks: "Gracias por tu opinión",
      feedbackFailed: "No se pudo enviar tu opinión. Inténtalo más tarde.",
      commentLabel: "¿Qué podríamos mejorar? (opcional)",
      commentSend: "Enviar",
      commentSkip: "Omitir",
      talkToPerson: "Hablar con una persona",
      sayWhatYouNeed: "Escribe en pocas palabras con qué necesitas ayuda y pulsa «Hablar con una persona».",
      escalationSent: "Hemos pedido que se una una persona. Te responderá aquí.",
      waiting: "Esperando a un agente",
      waitingTicket: "Esperando a un agente ({ticket})",
      withAgent: "Un agente te está atendiendo",
      withAgentTicket: "Un agente te está atendiendo ({ticket})",
      resolved: "Resuelto",
      lowConfidence: "No estoy seguro de esta respuesta. Una persona puede ayudarte: usa «Hablar con una persona».",
      charsLeft: "Quedan {n} caracteres",
      tooLong: "{n} caracteres por encima del límite",
      networkError: "No se pudo contactar con el asistente. Comprueba tu conexión e inténtalo de nuevo.",
      serverError: "Algo salió mal. Inténtalo de nuevo.",
      newMessage: "Mensaje nuevo",
      pendingCase: "una persona tiene tu caso {ticket}",
      rateTitle: "¿Qué tal te hemos atendido?",
      rateScore: "{n} de 5",
      rateLow: "Mal",
      rateHigh: "Muy bien",
      rateComment: "¿Algo más que contarnos? (opcional)",
      rateSend: "Enviar valoración",
      rateThanks: "¡Gracias por tu valoración!",
      rateFailed: "No se pudo enviar tu valoración. Inténtalo de nuevo.",
      agentTyping: "El agente está escribiendo…",
      starters: "Preguntas sugeridas",
    },
  };

  const ICONS = {
    chat: '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.2 3.6A.5.5 0 0 1 5 19.2V16h0A2.5 2.5 0 0 1 4 13.5z" fill="currentColor"/></svg>',
    close: '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M6 6l12 12M18 6L6 18" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" fill="none"/></svg>',
    chevronDown: '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M6 9l6 6 6-6" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round" fill="none"/></svg>',
    send: '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M4 12l16-8-6 16-2.5-6.5z" fill="currentColor"/></svg>',
    stop: '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><rect x="6" y="6" width="12" height="12" rx="2" fill="currentColor"/></svg>',
    dots: '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><circle cx="5" cy="12" r="2" fill="currentColor"/><circle cx="12" cy="12" r="2" fill="currentColor"/><circle cx="19" cy="12" r="2" fill="currentColor"/></svg>',
    person: '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><circle cx="12" cy="8" r="4" fill="currentColor"/><path d="M4 20c0-4 3.6-6 8-6s8 2 8 6z" fill="currentColor"/></svg>',
    info: '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><circle cx="12" cy="12" r="10" fill="none" stroke="currentColor" stroke-width="2"/><path d="M12 11v6M12 7.5v.5" stroke="currentColor" stroke-width="2.2" stroke-linecap="round"/></svg>',
    thumbUp: '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M7 10v10H4V10zm2 10V10l4.5-7a2 2 0 0 1 2.5 2.2L15.3 9H20a2 2 0 0 1 2 2.3l-1.3 7A2 2 0 0 1 18.7 20z" fill="currentColor"/></svg>',
    thumbDown: '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M17 14V4h3v10zm-2-10v10l-4.5 7A2 2 0 0 1 8 18.8L8.7 15H4a2 2 0 0 1-2-2.3l1.3-7A2 2 0 0 1 5.3 4z" fill="currentColor"/></svg>',
  };

  const CSS = `
:host { display: block; }
:host([mode="inline"]) { height: 100%; }
[hidden] { display: none !important; }
.gb-root {
  all: initial;
  display: block;
  height: 100%;
  --gb-accent: var(--glovebox-accent, #1d4f91);
  --gb-on-accent: #ffffff;
  --gb-ink: var(--gb-accent);
  --gb-radius: var(--glovebox-radius, 16px);
  --gb-text: #1b1f24;
  --gb-muted: #545d69;
  --gb-line: #dfe3e8;
  --gb-surface: #ffffff;
  --gb-soft: #f2f4f7;
  font-family: var(--glovebox-font, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif);
  font-size: 15px;
  line-height: 1.45;
  color: var(--gb-text);
  -webkit-font-smoothing: antialiased;
  text-align: left;
}
.gb-root *, .gb-root *::before, .gb-root *::after { box-sizing: border-box; }
button, input, textarea { font: inherit; color: inherit; letter-spacing: inherit; }
button { cursor: pointer; }
button:disabled { cursor: not-allowed; }
svg { width: 20px; height: 20px; display: block; flex: none; }
:focus { outline: none; }
:focus-visible { outline: 3px solid var(--gb-ink); outline-offset: 2px; }
.gb-sr { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }

/* Launcher */
#gb-launcher {
  position: fixed; bottom: 20px; right: 20px; z-index: 2147483000;
  width: 60px; height: 60px; border-radius: 50%; border: 0; padding: 0;
  display: grid; place-items: center;
  background: var(--gb-accent); color: var(--gb-on-accent);
  box-shadow: 0 6px 20px rgba(16, 24, 40, .28), 0 2px 6px rgba(16, 24, 40, .18);
  transition: transform .15s ease, box-shadow .15s ease;
}
#gb-launcher:hover { transform: scale(1.05); }
#gb-launcher svg { width: 28px; height: 28px; }
#gb-launcher:focus-visible { outline-color: var(--gb-text); outline-offset: 3px; }
.gb-left #gb-launcher { right: auto; left: 20px; }
.gb-badge {
  position: absolute; top: 2px; right: 2px; width: 14px; height: 14px; border-radius: 50%;
  background: #d92d20; border: 2px solid #fff;
}
.gb-badge-pending { background: #f79009; }

/* Panel */
#gb-panel {
  display: flex; flex-direction: column; overflow: hidden;
  background: var(--gb-surface); color: var(--gb-text);
}
.gb-launcher-mode #gb-panel {
  position: fixed; z-index: 2147483001; right: 20px; bottom: 92px;
  width: 380px; height: 600px; max-height: calc(100vh - 112px); max-height: calc(100dvh - 112px);
  border-radius: var(--gb-radius);
  box-shadow: 0 16px 48px rgba(16, 24, 40, .22), 0 4px 12px rgba(16, 24, 40, .12);
  border: 1px solid rgba(16, 24, 40, .08);
  transform-origin: bottom right;
  animation: gb-pop .18s ease-out;
}
.gb-launcher-mode.gb-left #gb-panel { right: auto; left: 20px; transform-origin: bottom left; }
.gb-inline-mode #gb-panel {
  width: 100%; height: 100%; min-height: 420px;
  border: 1px solid var(--gb-line); border-radius: var(--gb-radius);
}
@keyframes gb-pop { from { opacity: 0; transform: translateY(12px) scale(.98); } to { opacity: 1; transform: none; } }
@media (max-width: 599.98px) {
  .gb-launcher-mode #gb-panel, .gb-launcher-mode.gb-left #gb-panel {
    inset: 0; width: 100vw; height: 100vh; height: 100dvh; max-height: none;
    border-radius: 0; border: 0;
  }
  .gb-open #gb-launcher { display: none; } /* the full-screen panel has its own close button */
}

/* Header */
.gb-header {
  display: flex; align-items: center; gap: 10px; padding: 12px 10px 12px 16px;
  background: var(--gb-accent); color: var(--gb-on-accent); position: relative; flex: none;
}
.gb-logo { height: 28px; max-width: 96px; object-fit: contain; display: block; }
.gb-title { margin: 0; flex: 1; min-width: 0; font-size: 16px; font-weight: 650; line-height: 1.25;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.gb-icon-btn {
  width: 36px; height: 36px; border-radius: 10px; border: 0; padding: 0; display: grid; place-items: center;
  background: transparent; color: inherit;
}
.gb-icon-btn:hover { background: rgba(255, 255, 255, .16); }
.gb-header :focus-visible { outline-color: var(--gb-on-accent); outline-offset: 0; }
.gb-menu {
  position: absolute; top: calc(100% - 6px); right: 10px; z-index: 3; min-width: 200px; padding: 6px;
  background: #fff; color: var(--gb-text); border-radius: 12px; border: 1px solid var(--gb-line);
  box-shadow: 0 10px 30px rgba(16, 24, 40, .18);
}
.gb-menu button {
  display: block; width: 100%; text-align: left; padding: 9px 12px; border: 0; border-radius: 8px; background: none;
}
.gb-menu button:hover, .gb-menu button:focus-visible { background: var(--gb-soft); }
.gb-menu button:focus-visible { outline-offset: -3px; }

/* Escalation banner */
#gb-banner {
  display: flex; align-items: center; gap: 8px; padding: 9px 16px; flex: none;
  font-size: 14px; font-weight: 600; border-bottom: 1px solid var(--gb-line);
}
#gb-banner[data-state="waiting_for_human"] { background: #fff6d9; color: #5a4300; }
#gb-banner[data-state="human"] { background: #e3f4ea; color: #0f5132; }
#gb-banner[data-state="resolved"] { background: var(--gb-soft); color: var(--gb-muted); }
.gb-pulse { width: 9px; height: 9px; border-radius: 50%; background: currentColor; flex: none; }
#gb-banner[data-state="waiting_for_human"] .gb-pulse { animation: gb-blink 1.4s ease-in-out infinite; }

/* Conversation */
.gb-scroll { flex: 1; min-height: 0; overflow-y: auto; overscroll-behavior: contain; padding: 16px 14px 8px; }
.gb-log { display: flex; flex-direction: column; gap: 12px; }
.gb-notice {
  display: flex; gap: 8px; align-items: flex-start; padding: 10px 12px; border-radius: 12px;
  background: var(--gb-soft); color: var(--gb-muted); font-size: 13px; line-height: 1.4;
}
.gb-notice svg { width: 16px; height: 16px; margin-top: 1px; }
.gb-msg { display: flex; flex-direction: column; max-width: 88%; }
.gb-user { align-self: flex-end; align-items: flex-end; }
.gb-assistant, .gb-agent { align-self: flex-start; }
.gb-bubble {
  padding: 10px 13px; border-radius: 16px; overflow-wrap: anywhere; word-break: break-word;
}
.gb-user .gb-bubble { background: var(--gb-accent); color: var(--gb-on-accent); border-bottom-right-radius: 5px; white-space: pre-wrap; }
.gb-assistant .gb-bubble { background: var(--gb-soft); border-bottom-left-radius: 5px; }
.gb-agent .gb-bubble { background: #e8f5ee; border: 1px solid #b9dfc9; border-bottom-left-radius: 5px; }
.gb-who { display: flex; align-items: center; gap: 6px; font-size: 12px; font-weight: 600; color: #0f5132; margin: 0 0 4px 4px; }
.gb-who svg { width: 14px; height: 14px; }
.gb-system { align-self: center; max-width: 92%; text-align: center; font-size: 13px; color: var(--gb-muted); padding: 2px 8px; }
.gb-system.gb-error { color: #9f1c14; background: #fdecea; border-radius: 10px; padding: 8px 12px; }
.gb-bubble p { margin: 0 0 8px; }
.gb-bubble p:last-child, .gb-bubble ul:last-child, .gb-bubble ol:last-child { margin-bottom: 0; }
.gb-bubble ul, .gb-bubble ol { margin: 0 0 8px; padding-left: 22px; }
.gb-bubble li { margin: 2px 0; }
.gb-bubble code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px;
  background: rgba(16, 24, 40, .07); padding: 1px 5px; border-radius: 5px; }
.gb-bubble a { color: var(--gb-ink); text-decoration: underline; text-underline-offset: 2px; }
.gb-user .gb-bubble a { color: inherit; }
.gb-bubble strong { font-weight: 650; }
.gb-cite {
  display: inline-grid; place-items: center; min-width: 17px; height: 17px; padding: 0 4px; margin: 0 1px;
  border: 0; border-radius: 9px; font-size: 11px; font-weight: 700; line-height: 1; vertical-align: baseline;
  background: var(--gb-accent); color: var(--gb-on-accent);
}
.gb-cite:hover { filter: brightness(1.15); }
sup { line-height: 0; vertical-align: baseline; position: relative; top: -0.35em; }
.gb-streaming .gb-bubble > p:last-child::after,
.gb-streaming .gb-bubble > :is(ul, ol):last-child > li:last-child::after {
  content: ""; display: inline-block; width: 7px; height: 14px; margin-left: 2px; vertical-align: -2px;
  background: currentColor; opacity: .5; animation: gb-blink 1s steps(2) infinite;
}
.gb-abstain-note { font-size: 13px; color: var(--gb-muted); margin: 6px 4px 0; }

/* Sources */
.gb-sources { margin-top: 6px; }
.gb-sources-toggle {
  display: inline-flex; align-items: center; gap: 4px; padding: 4px 8px 4px 6px; border-radius: 8px;
  border: 0; background: none; color: var(--gb-ink); font-size: 13px; font-weight: 600;
}
.gb-sources-toggle:hover { background: var(--gb-soft); }
.gb-sources-toggle svg { width: 16px; height: 16px; transition: transform .15s ease; transform: rotate(-90deg); }
.gb-sources-toggle[aria-expanded="true"] svg { transform: none; }
.gb-source-list { list-style: none; margin: 4px 0 0; padding: 0; display: flex; flex-direction: column; gap: 6px; }
.gb-source {
  display: flex; gap: 8px; padding: 8px 10px; border: 1px solid var(--gb-line); border-radius: 10px;
  font-size: 13px; background: #fff; transition: box-shadow .2s ease, border-color .2s ease;
}
.gb-source.gb-flash { border-color: var(--gb-ink); box-shadow: 0 0 0 3px color-mix(in srgb, var(--gb-ink) 25%, transparent); }
.gb-source-n { flex: none; min-width: 20px; height: 20px; border-radius: 10px; display: grid; place-items: center;
  background: var(--gb-soft); font-size: 11px; font-weight: 700; }
.gb-source-title { font-weight: 600; }
.gb-source-title a { color: var(--gb-ink); text-decoration: underline; text-underline-offset: 2px; }
.gb-source-section { color: var(--gb-muted); }
.gb-source-kind { display: inline-block; margin-left: 4px; padding: 0 6px; border-radius: 6px; font-size: 11px;
  background: var(--gb-soft); color: var(--gb-muted); text-transform: capitalize; }
.gb-source-quote { margin: 4px 0 0; padding-left: 8px; border-left: 3px solid var(--gb-line); color: #3b434d; font-style: italic; }

/* Feedback */
.gb-feedback { display: flex; align-items: center; gap: 2px; margin-top: 4px; font-size: 13px; color: var(--gb-muted); }
.gb-thumb-up, .gb-thumb-down {
  width: 30px; height: 30px; border-radius: 8px; border: 0; padding: 0; display: grid; place-items: center;
  background: none; color: var(--gb-muted);
}
.gb-thumb-up svg, .gb-thumb-down svg { width: 16px; height: 16px; }
.gb-thumb-up:hover:not(:disabled), .gb-thumb-down:hover:not(:disabled) { background: var(--gb-soft); color: var(--gb-text); }
.gb-thumb-up[aria-pressed="true"], .gb-thumb-down[aria-pressed="true"] {
  color: var(--gb-ink); background: color-mix(in srgb, var(--gb-ink) 14%, transparent);
  box-shadow: inset 0 0 0 1.5px var(--gb-ink);
}
.gb-thumb-up:disabled:not([aria-pressed="true"]), .gb-thumb-down:disabled:not([aria-pressed="true"]) { opacity: .45; }
.gb-thanks { margin-left: 6px; }
.gb-comment { display: flex; gap: 6px; margin-top: 6px; flex-wrap: wrap; align-items: center; }
.gb-comment input {
  flex: 1 1 180px; min-width: 0; padding: 7px 10px; border: 1px solid #b7bec7; border-radius: 8px; font-size: 14px; background: #fff;
}
.gb-comment input:focus-visible { outline-offset: 0; border-color: var(--gb-ink); }
.gb-small-btn { padding: 6px 10px; border-radius: 8px; border: 1px solid var(--gb-line); background: #fff; font-size: 13px; font-weight: 600; }
.gb-small-btn.gb-primary { background: var(--gb-accent); color: var(--gb-on-accent); border-color: transparent; }

/* Starter questions under the welcome */
.gb-starters { display: flex; flex-wrap: wrap; gap: 6px; }
.gb-starter {
  padding: 6px 12px; border-radius: 999px; border: 1px solid var(--gb-line); background: #fff;
  color: var(--gb-ink); font-size: 13px; font-weight: 600; text-align: left;
}
.gb-starter:hover { border-color: var(--gb-ink); background: var(--gb-soft); }

/* Rating a resolved case (CSAT) */
.gb-csat {
  align-self: stretch; display: flex; flex-direction: column; gap: 8px; padding: 12px 14px;
  border: 1px solid var(--gb-line); border-radius: 12px; background: #fff;
}
.gb-csat-title { margin: 0; font-weight: 650; }
.gb-csat-scale { display: flex; gap: 6px; }
.gb-csat-score {
  flex: 1; min-width: 0; height: 38px; border-radius: 10px; border: 1px solid #b7bec7; background: #fff;
  font-weight: 650;
}
.gb-csat-score:hover:not(:disabled) { border-color: var(--gb-ink); }
.gb-csat-score[aria-pressed="true"] { background: var(--gb-accent); color: var(--gb-on-accent); border-color: transparent; }
.gb-csat-ends { display: flex; justify-content: space-between; font-size: 12px; color: var(--gb-muted); margin-top: -4px; }
.gb-csat input {
  min-width: 0; padding: 7px 10px; border: 1px solid #b7bec7; border-radius: 8px; font-size: 14px; background: #fff;
}
.gb-csat input:focus-visible { outline-offset: 0; border-color: var(--gb-ink); }
.gb-csat-actions { display: flex; align-items: center; gap: 8px; }
.gb-csat-status { font-size: 13px; color: var(--gb-muted); }

/* Typing indicator */
.gb-status-live { flex: none; padding: 0 16px; }
.gb-typing { display: flex; align-items: center; gap: 8px; padding: 2px 0 8px; font-size: 13px; color: var(--gb-muted); }
.gb-dots { display: inline-flex; gap: 4px; padding: 8px 10px; border-radius: 12px; background: var(--gb-soft); }
.gb-dots span { width: 6px; height: 6px; border-radius: 50%; background: #7a838e; animation: gb-bounce 1.2s infinite ease-in-out; }
.gb-dots span:nth-child(2) { animation-delay: .15s; }
.gb-dots span:nth-child(3) { animation-delay: .3s; }
@keyframes gb-bounce { 0%, 60%, 100% { transform: translateY(0); opacity: .5; } 30% { transform: translateY(-4px); opacity: 1; } }
@keyframes gb-blink { 50% { opacity: .25; } }

/* Composer */
.gb-composer { flex: none; border-top: 1px solid var(--gb-line); padding: 8px 12px 12px; background: var(--gb-surface); }
.gb-tools { display: flex; align-items: center; justify-content: space-between; gap: 8px; margin-bottom: 8px; }
#gb-human {
  display: inline-flex; align-items: center; gap: 6px; padding: 5px 12px 5px 9px; border-radius: 999px;
  border: 1px solid var(--gb-line); background: #fff; color: var(--gb-text); font-size: 13px; font-weight: 600;
}
#gb-human svg { width: 16px; height: 16px; color: var(--gb-ink); }
#gb-human:hover:not(:disabled) { border-color: var(--gb-ink); }
#gb-human:disabled { opacity: .6; }
.gb-counter { font-size: 12px; color: var(--gb-muted); }
.gb-counter.gb-over { color: #9f1c14; font-weight: 600; }
.gb-row { display: flex; align-items: flex-end; gap: 8px; }
#gb-input {
  flex: 1; min-width: 0; resize: none; display: block; max-height: 132px; min-height: 44px;
  padding: 10px 12px; border: 1px solid #b7bec7; border-radius: 12px; background: #fff;
  font-size: 16px; line-height: 1.4;
}
#gb-input::placeholder { color: #6b7480; }
#gb-input:focus-visible { outline-offset: 0; outline-width: 2px; border-color: var(--gb-ink); }
#gb-send, #gb-stop {
  flex: none; width: 44px; height: 44px; border-radius: 12px; border: 0; padding: 0; display: grid; place-items: center;
  background: var(--gb-accent); color: var(--gb-on-accent);
}
#gb-send:disabled { background: #c9ced5; color: #fff; }
#gb-stop { background: var(--gb-text); color: #fff; }

@media (prefers-reduced-motion: reduce) {
  .gb-root *, .gb-root *::before, .gb-root *::after { animation: none !important; transition: none !important; }
}
`;

  // ---- text helpers -------------------------------------------------------------------

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  /*
   * Markdown for answers, safe by construction: the whole text is HTML-escaped first, and the
   * only tags added afterwards are fixed ones (strong, em, code, p, br, ul/ol/li, sup/button, a).
   * Links are kept only for http(s) URLs, and an escaped URL cannot close the href attribute.
   */
  function renderMarkdown(source, strings) {
    const escaped = escapeHtml(String(source).replace(/\u0000/g, "")).replace(/\r\n?/g, "\n");
    const blocks = [];
    let paragraph = [];
    let list = null;

    const flushParagraph = () => {
      if (paragraph.length) blocks.push(`<p>${paragraph.map((line) => renderInline(line, strings)).join("<br>")}</p>`);
      paragraph = [];
    };
    const flushList = () => {
      if (!list) return;
      const start = list.type === "ol" && list.start !== 1 ? ` start="${list.start}"` : "";
      const items = list.items.map((item) => `<li>${item.map((line) => renderInline(line, strings)).join("<br>")}</li>`);
      blocks.push(`<${list.type}${start}>${items.join("")}</${list.type}>`);
      list = null;
    };

    for (const line of escaped.split("\n")) {
      const bullet = /^\s*[-*+•]\s+(.*)$/.exec(line);
      const numbered = /^\s*(\d{1,3})[.)]\s+(.*)$/.exec(line);
      const heading = /^\s*#{1,6}\s+(.*)$/.exec(line);
      if (!line.trim()) {
        flushParagraph();
        flushList();
      } else if (bullet || numbered) {
        const type = bullet ? "ul" : "ol";
        flushParagraph();
        if (!list || list.type !== type) {
          flushList();
          list = { type, start: numbered ? Number(numbered[1]) : 1, items: [] };
        }
        list.items.push([bullet ? bullet[1] : numbered[2]]);
      } else if (list && /^\s{2,}\S/.test(line)) {
        list.items[list.items.length - 1].push(line.trim());
      } else if (heading) {
        flushParagraph();
        flushList();
        blocks.push(`<p><strong>${renderInline(heading[1], strings)}</strong></p>`);
      } else {
        flushList();
        paragraph.push(line);
      }
    }
    flushParagraph();
    flushList();
    return blocks.join("");
  }

  function renderInline(escapedLine, strings) {
    const stash = [];
    const keep = (html) => `\u0000${stash.push(html) - 1}\u0000`;
    let text = escapedLine.replace(/`([^`]+)`/g, (_, code) => keep(`<code>${code}</code>`));
    text = text.replace(/\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g, (_, label, url) =>
      keep(`<a href="${url}" target="_blank" rel="noopener noreferrer nofollow">${renderEmphasis(label)}</a>`)
    );
    text = text.replace(/\[(\d{1,3})\]/g, (_, n) =>
      keep(`<sup><button type="button" class="gb-cite" data-n="${n}" aria-label="${escapeHtml(format(strings.source, { n }))}">${n}</button></sup>`)
    );
    text = renderEmphasis(text);
    return text.replace(/\u0000(\d+)\u0000/g, (_, index) => stash[Number(index)]);
  }

  function renderEmphasis(text) {
    return text
      .replace(/\*\*(?=\S)([^*]+?)\*\*/g, "<strong>$1</strong>")
      .replace(/__(?=\S)([^_]+?)__/g, "<strong>$1</strong>")
      .replace(/(^|[^*\w])\*(?=\S)([^*]+?)\*(?!\*)/g, "$1<em>$2</em>")
      .replace(/(^|[^_\w])_(?=\S)([^_]+?)_(?!\w)/g, "$1<em>$2</em>");
  }

  // ---- network helpers ----------------------------------------------------------------

  /* Server-Sent Events from a fetch body: yields {event, data} with data parsed as JSON. */
  async function* readServerSentEvents(body) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        // A "\r" at the very end may be the first half of "\r\n": wait for the next chunk.
        buffer = (buffer + decoder.decode(value, { stream: true })).replace(/\r\n|\r(?!$)/g, "\n");
        let boundary;
        while ((boundary = buffer.indexOf("\n\n")) >= 0) {
          const parsed = parseEventBlock(buffer.slice(0, boundary));
          buffer = buffer.slice(boundary + 2);
          if (parsed) yield parsed;
        }
      }
      buffer = (buffer + decoder.decode()).replace(/\r\n?/g, "\n");
      const last = parseEventBlock(buffer);
      if (last) yield last;
    } finally {
      reader.releaseLock();
    }
  }

  function parseEventBlock(block) {
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (!data.length) return null;
    try {
      return { event, data: JSON.parse(data.join("\n")) };
    } catch {
      return { event, data: { text: data.join("\n") } };
    }
  }

  async function errorMessageOf(response, fallback) {
    try {
      const body = await response.json();
      const message = body && body.error && body.error.message;
      return typeof message === "string" && message ? message : fallback;
    } catch {
      return fallback;
    }
  }

  function makeStorage() {
    try {
      const probe = "glovebox:probe";
      window.localStorage.setItem(probe, "1");
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch {
      // Private browsing or a sandboxed frame: the conversation just won't survive a reload.
      const memory = new Map();
      return { getItem: (k) => (memory.has(k) ? memory.get(k) : null), setItem: (k, v) => memory.set(k, String(v)), removeItem: (k) => memory.delete(k) };
    }
  }
  const storage = makeStorage();

  function luminanceOf(rgb) {
    const parts = /rgba?\(\s*([\d.]+)[ ,]+([\d.]+)[ ,]+([\d.]+)/.exec(rgb || "");
    if (!parts) return null;
    const channel = (v) => {
      const c = Number(v) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * channel(parts[1]) + 0.7152 * channel(parts[2]) + 0.0722 * channel(parts[3]);
  }

  let instanceCount = 0;

  // ---- the element --------------------------------------------------------------------

  class GloveboxChat extends HTMLElement {
    static get observedAttributes() {
      return ["key", "api", "mode", "title", "color", "logo", "welcome", "placeholder", "locale", "position"];
    }

    constructor() {
      super();
      this.attachShadow({ mode: "open" });
      this._instance = ++instanceCount;
      this._built = false;
    }

    connectedCallback() {
      if (!this._built) this._build();
    }

    disconnectedCallback() {
      this._teardown();
    }

    attributeChangedCallback(name, oldValue, newValue) {
      if (!this._built || oldValue === newValue) return;
      if (name === "title" || name === "color" || name === "logo" || name === "position") this._applyChrome();
      else this._build();
    }

    /** Opens the chat panel (launcher mode). */
    open() {
      if (!this._built || this._mode !== "launcher" || this._isOpen) return;
      this._isOpen = true;
      this.$root.classList.add("gb-open");
      this.$panel.hidden = false;
      this.$launcher.setAttribute("aria-expanded", "true");
      this.$launcher.setAttribute("aria-label", this.t.closeChat);
      this.$launcher.innerHTML = ICONS.close;
      this._unread = false;
      this._scrollToEnd(true);
      this.$input.focus();
    }

    /** Closes the chat panel and returns focus to the launcher. */
    close() {
      if (!this._built || this._mode !== "launcher" || !this._isOpen) return;
      this._isOpen = false;
      this._closeMenu(false);
      this.$root.classList.remove("gb-open");
      this.$panel.hidden = true;
      this.$launcher.setAttribute("aria-expanded", "false");
      this._renderLauncherIcon();
      this.$launcher.focus();
    }

    toggle() {
      if (this._isOpen) this.close();
      else this.open();
    }

    /** Forgets the stored session and starts over. */
    newConversation() {
      if (!this._built) return;
      this._abortStream();
      this._stopPolling();
      this._forgetSession();
      this._setConversationState("ai", null);
      this._renderIntro();
      this.$input.value = "";
      this._onInput();
      this.$input.focus();
    }

    // -- building ----------------------------------------------------------------------

    _teardown() {
      this._abortStream();
      this._stopPolling();
      if (this._restoreController) this._restoreController.abort();
      this.shadowRoot.innerHTML = "";
      this._built = false;
    }

    _build() {
      this._teardown();
      const key = (this.getAttribute("key") || "").trim();
      if (!key) {
        console.warn("[glovebox] <glovebox-chat> needs a key attribute (or data-key on the script tag).");
        return;
      }
      this._key = key;
      this._api = (this.getAttribute("api") || SCRIPT_ORIGIN).replace(/\/+$/, "");
      this._mode = this.getAttribute("mode") === "inline" ? "inline" : "launcher";
      const lang = (this.getAttribute("locale") || "en").slice(0, 2).toLowerCase();
      this._lang = lang in STRINGS ? lang : "en";
      this.t = STRINGS[this._lang];
      this._storageKey = `glovebox:${this._api}:${this._key}`;
      this._sessionId = storage.getItem(this._storageKey);
      this._state = "ai";
      this._ticketId = null;
      this._isOpen = false;
      this._streaming = null;
      this._pollTimer = null;
      this._seenTurns = new Set();
      this._messageCount = 0;
      this._startersRequest = null; // asked again: the key or the locale may have changed

      this._installStyles();
      this._renderShell();
      this._applyChrome();
      this._built = true;
      if (this._sessionId) this._restore();
      else this._renderIntro();
    }

    _installStyles() {
      // Constructable sheets are not blocked by a host page's CSP style-src; <style> is the fallback.
      try {
        if (!GloveboxChat._sheet) {
          GloveboxChat._sheet = new CSSStyleSheet();
          GloveboxChat._sheet.replaceSync(CSS);
        }
        this.shadowRoot.adoptedStyleSheets = [GloveboxChat._sheet];
      } catch {
        const style = document.createElement("style");
        style.textContent = CSS;
        this.shadowRoot.appendChild(style);
      }
    }

    _renderShell() {
      const t = this.t;
      const launcherMode = this._mode === "launcher";
      const root = document.createElement("div");
      root.className = `gb-root ${launcherMode ? "gb-launcher-mode" : "gb-inline-mode"}`;
      root.setAttribute("lang", this._lang);
      root.setAttribute("title", ""); // stops the host's title attribute becoming a tooltip
      root.innerHTML = `
        ${launcherMode ? `<button type="button" id="gb-launcher" aria-expanded="false" aria-controls="gb-panel"></button>` : ""}
        <section id="gb-panel" role="${launcherMode ? "dialog" : "region"}" ${launcherMode ? "hidden" : ""}>
          <header class="gb-header">
            <img class="gb-logo" alt="" hidden>
            <h2 class="gb-title"></h2>
            <button type="button" class="gb-icon-btn gb-menu-btn" aria-haspopup="menu" aria-expanded="false"
              aria-controls="gb-menu" aria-label="${escapeHtml(t.menu)}" title="${escapeHtml(t.menu)}">${ICONS.dots}</button>
            ${launcherMode ? `<button type="button" class="gb-icon-btn gb-close" aria-label="${escapeHtml(t.closeChat)}" title="${escapeHtml(t.closeChat)}">${ICONS.close}</button>` : ""}
            <div class="gb-menu" id="gb-menu" role="menu" hidden>
              <button type="button" role="menuitem" class="gb-new" tabindex="-1">${escapeHtml(t.newConversation)}</button>
            </div>
          </header>
          <div id="gb-banner" role="status" aria-live="polite" hidden><span class="gb-pulse" aria-hidden="true"></span><span class="gb-banner-text"></span></div>
          <div class="gb-scroll">
            <div class="gb-log" role="log" aria-live="polite" aria-relevant="additions text"></div>
          </div>
          <div class="gb-status-live" role="status" aria-live="polite">
            <div class="gb-typing" hidden><span class="gb-dots" aria-hidden="true"><span></span><span></span><span></span></span><span class="gb-typing-label"></span></div>
          </div>
          <div class="gb-status-live" id="gb-agent-typing" role="status" aria-live="polite">
            <div class="gb-typing" hidden><span class="gb-dots" aria-hidden="true"><span></span><span></span><span></span></span><span class="gb-agent-typing-label"></span></div>
          </div>
          <form class="gb-composer" novalidate>
            <div class="gb-tools">
              <button type="button" id="gb-human">${ICONS.person}<span>${escapeHtml(t.talkToPerson)}</span></button>
              <span class="gb-counter" id="gb-counter" aria-live="polite" hidden></span>
            </div>
            <div class="gb-row">
              <label class="gb-sr" for="gb-input">${escapeHtml(t.inputLabel)}</label>
              <textarea id="gb-input" rows="1" maxlength="${MAX_QUESTION_CHARS}" placeholder="${escapeHtml(this.getAttribute("placeholder") || t.placeholder)}"
                aria-describedby="gb-counter" enterkeyhint="send" autocomplete="off"></textarea>
              <button type="submit" id="gb-send" aria-label="${escapeHtml(t.send)}" title="${escapeHtml(t.send)}" disabled>${ICONS.send}</button>
              <button type="button" id="gb-stop" aria-label="${escapeHtml(t.stop)}" title="${escapeHtml(t.stop)}" hidden>${ICONS.stop}</button>
            </div>
          </form>
        </section>`;
      this.shadowRoot.appendChild(root);

      const $ = (selector) => root.querySelector(selector);
      this.$root = root;
      this.$launcher = $("#gb-launcher");
      this.$panel = $("#gb-panel");
      this.$logo = $(".gb-logo");
      this.$title = $(".gb-title");
      this.$menuButton = $(".gb-menu-btn");
      this.$menu = $(".gb-menu");
      this.$banner = $("#gb-banner");
      this.$scroll = $(".gb-scroll");
      this.$log = $(".gb-log");
      this.$typing = $(".gb-typing");
      this.$typingLabel = $(".gb-typing-label");
      this.$agentTyping = $("#gb-agent-typing .gb-typing");
      this.$agentTypingLabel = $(".gb-agent-typing-label");
      this.$form = $(".gb-composer");
      this.$human = $("#gb-human");
      this.$counter = $("#gb-counter");
      this.$input = $("#gb-input");
      this.$send = $("#gb-send");
      this.$stop = $("#gb-stop");

      if (this.$launcher) {
        this._renderLauncherIcon();
        this.$launcher.addEventListener("click", () => this.toggle());
        $(".gb-close").addEventListener("click", () => this.close());
      }
      this.$menuButton.addEventListener("click", () => (this.$menu.hidden ? this._openMenu() : this._closeMenu()));
      $(".gb-new").addEventListener("click", () => {
        this._closeMenu();
        this.newConversation();
      });
      this.$form.addEventListener("submit", (event) => {
        event.preventDefault();
        this._send();
      });
      this.$input.addEventListener("input", () => this._onInput());
      this.$input.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          this._send();
        }
      });
      this.$stop.addEventListener("click", () => this._abortStream());
      this.$human.addEventListener("click", () => this._askForPerson());
      this.$log.addEventListener("click", (event) => {
        const cite = event.target.closest(".gb-cite");
        if (cite) this._showSource(cite.closest(".gb-msg"), cite.dataset.n);
      });
      root.addEventListener("keydown", (event) => this._onKeydown(event));
      root.addEventListener("focusout", (event) => {
        if (!this.$menu.hidden && !this.$menu.contains(event.relatedTarget) && event.relatedTarget !== this.$menuButton) this._closeMenu(false);
      });
    }

    _applyChrome() {
      if (!this.$root) return;
      const title = this.getAttribute("title") || this.t.title;
      this.$title.textContent = title;
      this.$panel.setAttribute("aria-label", title);
      const logo = httpUrl(this.getAttribute("logo"));
      if (logo) this.$logo.src = logo;
      this.$logo.hidden = !logo;
      this.$root.classList.toggle("gb-left", this.getAttribute("position") === "left");
      const color = this.getAttribute("color");
      if (color) this.$root.style.setProperty("--gb-accent", color);
      else this.$root.style.removeProperty("--gb-accent");
      this._pickTextOnAccent();
      if (this.$launcher) {
        this.$launcher.setAttribute("aria-label", this._isOpen ? this.t.closeChat : format(this.t.openChat, { title }));
      }
    }

    /*
     * White text on a dark accent, near-black on a light one, whatever color the site picked;
     * and where the accent would be too pale as text or focus ring on white, use near-black.
     */
    _pickTextOnAccent() {
      const probe = document.createElement("span");
      probe.style.cssText = "position:absolute;visibility:hidden;background:var(--gb-accent)";
      this.$root.appendChild(probe);
      const luminance = luminanceOf(getComputedStyle(probe).backgroundColor);
      probe.remove();
      if (luminance === null) return;
      const dark = luminance <= 0.179; // where white and black contrast equally with the accent
      this.$root.style.setProperty("--gb-on-accent", dark ? "#ffffff" : "#111418");
      this.$root.style.setProperty("--gb-ink", dark ? "var(--gb-accent)" : "#1b1f24");
    }

    _renderLauncherIcon() {
      if (!this.$launcher || this._isOpen) return; // open, the launcher is the close button
      // A case with a person shows on the closed launcher too, so a reload does not hide it.
      const pending = HUMAN_STATES.has(this._state);
      const badge = this._unread ? "gb-badge" : pending ? "gb-badge gb-badge-pending" : "";
      this.$launcher.innerHTML = ICONS.chat + (badge ? `<span class="${badge}" aria-hidden="true"></span>` : "");
      this.$launcher.dataset.state = this._state;
      const title = this.getAttribute("title") || this.t.title;
      const label = format(this.t.openChat, { title });
      const why = this._unread ? this.t.newMessage : pending ? format(this.t.pendingCase, { ticket: this._ticketId || "" }).trim() : "";
      this.$launcher.setAttribute("aria-label", why ? `${label} (${why})` : label);
    }

    _onKeydown(event) {
      if (event.key !== "Escape") return;
      if (!this.$menu.hidden) {
        event.stopPropagation();
        this._closeMenu();
      } else if (this._isOpen) {
        event.stopPropagation();
        this.close();
      }
    }

    _openMenu() {
      this.$menu.hidden = false;
      this.$menuButton.setAttribute("aria-expanded", "true");
      this.$menu.querySelector("button").focus();
    }

    _closeMenu(returnFocus = true) {
      if (this.$menu.hidden) return;
      this.$menu.hidden = true;
      this.$menuButton.setAttribute("aria-expanded", "false");
      if (returnFocus) this.$menuButton.focus();
    }

    // -- conversation rendering --------------------------------------------------------

    _renderIntro() {
      this.$log.textContent = "";
      this._seenTurns = new Set();
      this._addNotice();
      const welcome = this.getAttribute("welcome");
      if (welcome) {
        const message = this._addAssistantMessage({ text: welcome });
        message.el.classList.add("gb-welcome");
      }
      this._showStarters();
    }

    /* Suggested questions as chips while the conversation is empty; a click asks one. */
    async _showStarters() {
      const log = this.$log;
      if (!this._startersRequest) this._startersRequest = this._fetchStarters();
      let starters;
      try {
        starters = await this._startersRequest;
      } catch {
        this._startersRequest = null; // offline for a moment: the next empty conversation retries
        return;
      }
      const empty = !log.querySelector(".gb-user") && !this._streaming;
      if (!this._built || this.$log !== log || !empty || !starters.length || log.querySelector(".gb-starters")) return;
      const group = document.createElement("div");
      group.className = "gb-starters";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", this.t.starters);
      for (const text of starters) {
        const chip = document.createElement("button");
        chip.type = "button";
        chip.className = "gb-starter";
        chip.textContent = text;
        chip.addEventListener("click", () => {
          this._send(text);
          this.$input.focus(); // the chips are gone with the question
        });
        group.appendChild(chip);
      }
      log.appendChild(group);
      this._scrollToEnd();
    }

    async _fetchStarters() {
      const response = await this._request("GET", `/v1/starters?locale=${encodeURIComponent(this._lang)}`);
      if (!response.ok) return [];
      const body = await response.json();
      return Array.isArray(body.starters) ? body.starters.filter((text) => typeof text === "string" && text.trim()) : [];
    }

    _addNotice() {
      const notice = document.createElement("div");
      notice.className = "gb-notice";
      notice.innerHTML = ICONS.info;
      const text = document.createElement("span");
      text.textContent = this.t.notice;
      notice.appendChild(text);
      this.$log.appendChild(notice);
    }

    _newMessageElement(role) {
      const el = document.createElement("div");
      el.className = `gb-msg gb-${role}`;
      el.dataset.msg = String(++this._messageCount);
      const who = document.createElement("div");
      if (role === "agent") {
        who.className = "gb-who";
        who.innerHTML = ICONS.person;
        who.appendChild(document.createTextNode(this.t.agent));
      } else {
        who.className = "gb-sr";
        who.textContent = role === "user" ? this.t.you : this.getAttribute("title") || this.t.title;
      }
      const bubble = document.createElement("div");
      bubble.className = "gb-bubble";
      el.append(who, bubble);
      return { el, bubble };
    }

    _addUserMessage(text) {
      const starters = this.$log.querySelector(".gb-starters");
      if (starters) starters.remove(); // the conversation has begun
      const { el, bubble } = this._newMessageElement("user");
      bubble.textContent = text;
      this.$log.appendChild(el);
      this._scrollToEnd(true);
      return el;
    }

    _addAgentMessage(text) {
      const { el, bubble } = this._newMessageElement("agent");
      bubble.innerHTML = renderMarkdown(text, this.t);
      this.$log.appendChild(el);
      this._scrollToEnd(true); // a person answering matters more than where the driver had scrolled
      if (this._mode === "launcher" && !this._isOpen) {
        this._unread = true;
        this._renderLauncherIcon();
      }
      return el;
    }

    /* An assistant answer: the bubble, then its sources and thumbs once the server sends them. */
    _addAssistantMessage({ text = "", citations = null, turnIndex = null, abstained = false, streaming = false } = {}) {
      const { el, bubble } = this._newMessageElement("assistant");
      const message = { el, bubble, text, citations: null, turnIndex: null, renderQueued: false };
      if (streaming) {
        el.classList.add("gb-streaming");
        el.setAttribute("aria-busy", "true");
      }
      const stick = this._nearBottom();
      this.$log.appendChild(el);
      this._renderAnswer(message);
      if (citations) this._setCitations(message, citations);
      if (abstained) this._markAbstained(message);
      if (turnIndex !== null && turnIndex !== undefined) this._setTurnIndex(message, turnIndex);
      this._scrollToEnd(stick);
      return message;
    }

    _renderAnswer(message) {
      message.bubble.innerHTML = renderMarkdown(message.text, this.t) || "<p></p>";
    }

    _queueRender(message) {
      if (message.renderQueued) return;
      message.renderQueued = true;
      window.requestAnimationFrame(() => {
        message.renderQueued = false;
        const stick = this._nearBottom();
        this._renderAnswer(message);
        if (stick) this._scrollToEnd(true);
      });
    }

    _setCitations(message, citations) {
      if (!Array.isArray(citations) || !citations.length) return;
      message.citations = citations;
      const old = message.el.querySelector(".gb-sources");
      if (old) old.remove();
      const listId = `gb-sources-${this._instance}-${message.el.dataset.msg}`;
      const wrapper = document.createElement("div");
      wrapper.className = "gb-sources";
      const toggle = document.createElement("button");
      toggle.type = "button";
      toggle.className = "gb-sources-toggle";
      toggle.setAttribute("aria-expanded", "false");
      toggle.setAttribute("aria-controls", listId);
      toggle.innerHTML = ICONS.chevronDown;
      toggle.appendChild(document.createTextNode(format(this.t.sources, { n: citations.length })));
      const list = document.createElement("ol");
      list.className = "gb-source-list";
      list.id = listId;
      list.hidden = true;
      citations.forEach((citation, index) => {
        const n = citation.n ?? index + 1;
        const item = document.createElement("li");
        item.className = "gb-source";
        item.dataset.n = String(n);
        item.tabIndex = -1;
        const number = document.createElement("span");
        number.className = "gb-source-n";
        number.textContent = String(n);
        number.setAttribute("aria-label", format(this.t.source, { n }));
        const body = document.createElement("div");
        const title = document.createElement("span");
        title.className = "gb-source-title";
        const url = typeof citation.url === "string" && citation.url.startsWith("/v1/sources/") ? citation.url : null;
        if (url) {
          // The document, opened at the cited section: served by the same Glovebox.
          const link = document.createElement("a");
          link.href = this._api + url;
          link.target = "_blank";
          link.rel = "noopener";
          link.textContent = citation.title || url;
          title.appendChild(link);
        } else {
          title.textContent = citation.title || "";
        }
        body.appendChild(title);
        if (citation.section) {
          const section = document.createElement("span");
          section.className = "gb-source-section";
          section.textContent = ` · ${citation.section}`;
          body.appendChild(section);
        }
        if (citation.kind) {
          const kind = document.createElement("span");
          kind.className = "gb-source-kind";
          kind.textContent = String(citation.kind).replace(/_/g, " ");
          body.appendChild(kind);
        }
        if (citation.quote) {
          const quote = document.createElement("blockquote");
          quote.className = "gb-source-quote";
          quote.textContent = `“${citation.quote}”`;
          body.appendChild(quote);
        }
        item.append(number, body);
        list.appendChild(item);
      });
      toggle.addEventListener("click", () => this._expandSources(wrapper, toggle.getAttribute("aria-expanded") !== "true"));
      wrapper.append(toggle, list);
      message.bubble.after(wrapper);
    }

    _expandSources(wrapper, expanded) {
      wrapper.querySelector(".gb-sources-toggle").setAttribute("aria-expanded", String(expanded));
      wrapper.querySelector(".gb-source-list").hidden = !expanded;
    }

    _showSource(messageEl, n) {
      const wrapper = messageEl && messageEl.querySelector(".gb-sources");
      if (!wrapper) return;
      const item = wrapper.querySelector(`.gb-source[data-n="${cssEscape(n)}"]`);
      if (!item) return;
      this._expandSources(wrapper, true);
      item.scrollIntoView({ block: "nearest", behavior: "smooth" });
      item.focus({ preventScroll: true });
      item.classList.add("gb-flash");
      setTimeout(() => item.classList.remove("gb-flash"), 1400);
    }

    _markAbstained(message) {
      if (message.el.querySelector(".gb-abstain-note")) return;
      const note = document.createElement("p");
      note.className = "gb-abstain-note";
      note.textContent = this.t.lowConfidence;
      message.el.appendChild(note);
    }

    _setTurnIndex(message, turnIndex) {
      message.turnIndex = turnIndex;
      if (message.el.querySelector(".gb-feedback")) return;
      const row = document.createElement("div");
      row.className = "gb-feedback";
      const up = this._thumb("gb-thumb-up", ICONS.thumbUp, this.t.helpful);
      const down = this._thumb("gb-thumb-down", ICONS.thumbDown, this.t.notHelpful);
      const thanks = document.createElement("span");
      thanks.className = "gb-thanks";
      thanks.setAttribute("role", "status");
      row.append(up, down, thanks);
      up.addEventListener("click", () => {
        this._lockThumbs(up, down, up);
        this._sendFeedback(message, true, "", thanks);
      });
      down.addEventListener("click", () => {
        this._lockThumbs(up, down, down);
        this._askForComment(message, row, thanks);
      });
      message.el.appendChild(row);
    }

    _thumb(className, icon, label) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = className;
      button.innerHTML = icon;
      button.setAttribute("aria-label", label);
      button.setAttribute("aria-pressed", "false");
      button.title = label;
      return button;
    }

    _lockThumbs(up, down, chosen) {
      up.disabled = true;
      down.disabled = true;
      chosen.setAttribute("aria-pressed", "true");
    }

    _askForComment(message, row, thanks) {
      const form = document.createElement("form");
      form.className = "gb-comment";
      const inputId = `gb-comment-${this._instance}-${message.el.dataset.msg}`;
      form.innerHTML = `
        <label class="gb-sr" for="${inputId}">${escapeHtml(this.t.commentLabel)}</label>
        <input id="${inputId}" type="text" maxlength="${MAX_COMMENT_CHARS}" placeholder="${escapeHtml(this.t.commentLabel)}">
        <button type="submit" class="gb-small-btn gb-primary">${escapeHtml(this.t.commentSend)}</button>
        <button type="button" class="gb-small-btn gb-skip">${escapeHtml(this.t.commentSkip)}</button>`;
      const input = form.querySelector("input");
      const finish = (comment) => {
        form.remove();
        this._sendFeedback(message, false, comment, thanks);
      };
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        finish(input.value.trim());
      });
      form.querySelector(".gb-skip").addEventListener("click", () => finish(""));
      row.after(form);
      input.focus();
    }

    async _sendFeedback(message, helpful, comment, thanks) {
      const body = { session_id: this._sessionId, turn_index: message.turnIndex, helpful };
      if (comment) body.comment = comment;
      try {
        const response = await this._request("POST", "/v1/feedback", body);
        thanks.textContent = response.ok ? this.t.thanks : await errorMessageOf(response, this.t.feedbackFailed);
      } catch {
        thanks.textContent = this.t.feedbackFailed;
      }
    }

    _addSystemNote(text, { error = false } = {}) {
      const note = document.createElement("div");
      note.className = `gb-msg gb-system${error ? " gb-error" : ""}`;
      note.textContent = text;
      this.$log.appendChild(note);
      this._scrollToEnd(true);
      return note;
    }

    _nearBottom() {
      const s = this.$scroll;
      return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
    }

    _scrollToEnd(force = false) {
      if (force || this._nearBottom()) this.$scroll.scrollTop = this.$scroll.scrollHeight;
    }

    _showTyping(label) {
      this.$typingLabel.textContent = label || this.t.thinking;
      this.$typing.hidden = false;
    }

    _hideTyping() {
      this.$typing.hidden = true;
      this.$typingLabel.textContent = "";
    }

    /* "Agent is typing…" while the polled session says so; the text is set when it shows, so
       the live region announces it once. */
    _showAgentTyping(typing) {
      if (typing === !this.$agentTyping.hidden) return;
      this.$agentTyping.hidden = !typing;
      this.$agentTypingLabel.textContent = typing ? this.t.agentTyping : "";
      if (typing) this._scrollToEnd();
    }

    // -- composing and streaming -------------------------------------------------------

    _onInput() {
      const input = this.$input;
      input.style.height = "auto";
      input.style.height = `${Math.min(input.scrollHeight + 2, 132)}px`;
      const length = input.value.length;
      const left = MAX_QUESTION_CHARS - length;
      this.$counter.hidden = length < COUNTER_FROM_CHARS;
      this.$counter.classList.toggle("gb-over", left < 0);
      this.$counter.textContent = left >= 0 ? format(this.t.charsLeft, { n: left }) : format(this.t.tooLong, { n: -left });
      this.$send.disabled = !input.value.trim() || left < 0 || Boolean(this._streaming);
    }

    _setStreamingUi(streaming) {
      this.$send.hidden = streaming;
      this.$stop.hidden = !streaming;
      this._onInput();
    }

    /* Asks what the driver typed, or `asked` (a starter chip) leaving their draft alone. */
    async _send(asked) {
      const question = (asked === undefined ? this.$input.value : asked).trim();
      if (!question || question.length > MAX_QUESTION_CHARS || this._streaming || this._restoring) return;
      if (asked === undefined) this.$input.value = "";
      this._addUserMessage(question);
      const controller = new AbortController();
      const stream = { controller, message: null, stoppedByUser: false };
      this._streaming = stream;
      this._setStreamingUi(true);
      this._showTyping(this.t.thinking);
      try {
        const response = await this._request("POST", "/v1/chat/stream", { question, session_id: this._sessionId }, controller.signal, {
          Accept: "text/event-stream",
        });
        if (!response.ok) {
          this._addSystemNote(await errorMessageOf(response, this.t.serverError), { error: true });
          return;
        }
        if (!response.body) throw new Error("This browser cannot read streamed responses.");
        for await (const { event, data } of readServerSentEvents(response.body)) {
          this._onStreamEvent(stream, event, data || {});
        }
      } catch (error) {
        if (error && error.name === "AbortError") {
          if (stream.stoppedByUser) this._addSystemNote(this.t.stopped);
        } else {
          this._addSystemNote(this.t.networkError, { error: true });
        }
      } finally {
        this._finishStream(stream);
      }
    }

    _onStreamEvent(stream, event, data) {
      switch (event) {
        case "session":
          if (data.session_id) this._rememberSession(data.session_id);
          break;
        case "status":
          this._showTyping(data.label || this.t.thinking);
          break;
        case "delta": {
          if (typeof data.text !== "string") break;
          if (!stream.message) stream.message = this._addAssistantMessage({ streaming: true });
          stream.message.text += data.text;
          this._hideTyping();
          this._queueRender(stream.message);
          break;
        }
        case "citations":
          if (!stream.message) stream.message = this._addAssistantMessage({ streaming: true });
          this._setCitations(stream.message, data.citations);
          break;
        case "confidence":
          stream.abstained = Boolean(data.abstained);
          break;
        case "escalation":
          this._setConversationState(data.state || "waiting_for_human", data.ticket_id || this._ticketId);
          if (data.message) this._addSystemNote(data.message);
          break;
        case "done":
          stream.turnIndex = data.turn_index;
          break;
        case "error":
          this._addSystemNote(data.message || this.t.serverError, { error: true });
          break;
        default:
          break; // unknown events are ignored, so the server can add new ones
      }
    }

    _finishStream(stream) {
      if (this._streaming === stream) this._streaming = null;
      const stick = this._nearBottom();
      const stopHadFocus = this.shadowRoot.activeElement === this.$stop;
      this._hideTyping();
      const message = stream.message;
      if (message) {
        message.el.classList.remove("gb-streaming");
        message.el.removeAttribute("aria-busy");
        this._renderAnswer(message);
        if (stream.abstained) this._markAbstained(message);
        if (typeof stream.turnIndex === "number") {
          this._setTurnIndex(message, stream.turnIndex);
        }
        if (!message.text.trim() && !message.citations) message.el.remove();
      }
      if (this._built) {
        this._setStreamingUi(false);
        this._scrollToEnd(stick);
        if (stopHadFocus) this.$input.focus(); // the Stop button just disappeared under it
      }
    }

    _abortStream() {
      if (!this._streaming) return;
      this._streaming.stoppedByUser = true;
      this._streaming.controller.abort();
    }

    // -- people ------------------------------------------------------------------------

    async _askForPerson() {
      if (HUMAN_STATES.has(this._state)) return;
      const message = this.$input.value.trim().slice(0, MAX_QUESTION_CHARS);
      if (!this._sessionId && !message) {
        // The person who takes the case needs to know what it is about.
        this._addSystemNote(this.t.sayWhatYouNeed);
        this.$input.focus();
        return;
      }
      const body = { session_id: this._sessionId };
      if (message) {
        body.message = message;
        this.$input.value = "";
        this._onInput();
        this._addUserMessage(message);
      }
      this.$human.disabled = true;
      try {
        const response = await this._request("POST", "/v1/escalations", body);
        if (!response.ok) {
          this._addSystemNote(await errorMessageOf(response, this.t.serverError), { error: true });
          this.$human.disabled = false;
          return;
        }
        const escalation = await response.json();
        if (escalation.session_id) this._rememberSession(escalation.session_id);
        this._setConversationState(escalation.state || "waiting_for_human", escalation.ticket_id || null);
        this._addSystemNote(escalation.message || this.t.escalationSent);
      } catch {
        this._addSystemNote(this.t.networkError, { error: true });
        this.$human.disabled = false;
      }
    }

    _setConversationState(state, ticketId) {
      this._state = state;
      if (ticketId) this._ticketId = ticketId;
      const banner = this.$banner;
      const text = banner.querySelector(".gb-banner-text");
      banner.dataset.state = state;
      if (state === "waiting_for_human") {
        text.textContent = this._ticketId ? format(this.t.waitingTicket, { ticket: this._ticketId }) : this.t.waiting;
      } else if (state === "human") {
        text.textContent = this._ticketId ? format(this.t.withAgentTicket, { ticket: this._ticketId }) : this.t.withAgent;
      } else if (state === "resolved") {
        text.textContent = this.t.resolved;
      }
      banner.hidden = !(HUMAN_STATES.has(state) || state === "resolved");
      this.$human.disabled = HUMAN_STATES.has(state);
      this._renderLauncherIcon();
      if (HUMAN_STATES.has(state)) this._startPolling();
      else {
        this._stopPolling();
        this._showAgentTyping(false);
      }
    }

    _startPolling() {
      if (this._pollTimer || !this._sessionId) return;
      const tick = async () => {
        await this._refreshSession();
        if (this._pollTimer) this._pollTimer = setTimeout(tick, POLL_EVERY_MS);
      };
      this._pollTimer = setTimeout(tick, POLL_EVERY_MS);
    }

    _stopPolling() {
      clearTimeout(this._pollTimer);
      this._pollTimer = null;
    }

    async _refreshSession() {
      const sessionId = this._sessionId;
      if (!sessionId) return;
      let response;
      try {
        response = await this._request("GET", `/v1/sessions/${encodeURIComponent(sessionId)}`);
      } catch {
        return; // offline for a moment: the next tick tries again
      }
      if (sessionId !== this._sessionId || !this._built) return;
      if (response.status === 404) {
        this._forgetSession();
        this._stopPolling();
        return;
      }
      if (!response.ok) return;
      const session = await response.json();
      let replied = false;
      (session.turns || []).forEach((turn, position) => {
        if (turn.role !== "agent") return;
        const seenKey = this._turnKey(turn, position);
        if (this._seenTurns.has(seenKey)) return;
        this._seenTurns.add(seenKey);
        this._addAgentMessage(turn.text || "");
        replied = true;
      });
      this._showAgentTyping(Boolean(session.agent_typing) && !replied);
      if (session.state && session.state !== this._state) this._setConversationState(session.state, session.ticket_id);
      this._offerRating(session.csat);
    }

    /* "How did we do?" once a person resolved the case: once per ticket, until it is rated. */
    _offerRating(csat) {
      if (!csat || csat.rated || !csat.ticket_id) return;
      const ticketId = String(csat.ticket_id);
      if (this.$log.querySelector(`.gb-csat[data-ticket="${cssEscape(ticketId)}"]`)) return;
      const titleId = `gb-csat-title-${this._instance}-${++this._messageCount}`;
      const form = document.createElement("form");
      form.className = "gb-csat";
      form.dataset.ticket = ticketId;
      form.setAttribute("aria-labelledby", titleId);
      const scores = RATING_SCORES.map(
        (n) => `<button type="button" class="gb-csat-score" data-score="${n}" aria-pressed="false" aria-label="${escapeHtml(format(this.t.rateScore, { n }))}">${n}</button>`
      ).join("");
      form.innerHTML = `
        <p class="gb-csat-title" id="${titleId}">${escapeHtml(this.t.rateTitle)}</p>
        <div class="gb-csat-scale" role="group" aria-labelledby="${titleId}">${scores}</div>
        <div class="gb-csat-ends" aria-hidden="true"><span>${escapeHtml(this.t.rateLow)}</span><span>${escapeHtml(this.t.rateHigh)}</span></div>
        <label class="gb-sr" for="${titleId}-comment">${escapeHtml(this.t.rateComment)}</label>
        <input id="${titleId}-comment" type="text" maxlength="${MAX_COMMENT_CHARS}" placeholder="${escapeHtml(this.t.rateComment)}">
        <div class="gb-csat-actions">
          <button type="submit" class="gb-small-btn gb-primary gb-csat-send" disabled>${escapeHtml(this.t.rateSend)}</button>
          <span class="gb-csat-status" role="status"></span>
        </div>`;
      const buttons = [...form.querySelectorAll(".gb-csat-score")];
      const send = form.querySelector(".gb-csat-send");
      let chosen = null;
      buttons.forEach((button) =>
        button.addEventListener("click", () => {
          chosen = Number(button.dataset.score);
          buttons.forEach((other) => other.setAttribute("aria-pressed", String(other === button)));
          send.disabled = false;
        })
      );
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        if (chosen !== null) this._sendRating(form, ticketId, chosen, form.querySelector("input").value.trim());
      });
      this.$log.appendChild(form);
      this._scrollToEnd(true);
    }

    async _sendRating(form, ticketId, rating, comment) {
      const controls = [...form.querySelectorAll("button, input")];
      const status = form.querySelector(".gb-csat-status");
      controls.forEach((control) => (control.disabled = true));
      const body = { session_id: this._sessionId, ticket_id: ticketId, rating };
      if (comment) body.comment = comment;
      try {
        const response = await this._request("POST", "/v1/ratings", body);
        if (response.ok || response.status === 409) {
          // Saved, or already rated (another tab): either way this case is rated.
          status.textContent = response.ok ? this.t.rateThanks : await errorMessageOf(response, this.t.rateThanks);
          return;
        }
        status.textContent = await errorMessageOf(response, this.t.rateFailed);
      } catch {
        status.textContent = this.t.rateFailed;
      }
      controls.forEach((control) => (control.disabled = false));
    }

    _turnKey(turn, position) {
      return Number.isInteger(turn.turn_index) ? `${turn.role}:${turn.turn_index}:${position}` : `${turn.role}:#${position}`;
    }

    // -- sessions ----------------------------------------------------------------------

    _rememberSession(sessionId) {
      this._sessionId = String(sessionId);
      storage.setItem(this._storageKey, this._sessionId);
    }

    _forgetSession() {
      this._sessionId = null;
      this._ticketId = null;
      storage.removeItem(this._storageKey);
    }

    /* After a reload: fetch the stored session and draw the conversation again. */
    async _restore() {
      this._addNotice();
      const controller = new AbortController();
      this._restoreController = controller;
      this._restoring = true;
      let session = null;
      try {
        const response = await this._request("GET", `/v1/sessions/${encodeURIComponent(this._sessionId)}`, undefined, controller.signal);
        if (response.ok) session = await response.json();
        else if (response.status === 404 || response.status === 403) this._forgetSession();
      } catch {
        if (controller.signal.aborted) return;
      } finally {
        if (this._restoreController === controller) this._restoring = false;
      }
      if (!this._built || controller.signal.aborted) return;
      if (!session || !Array.isArray(session.turns) || !session.turns.length) {
        this._renderIntro();
        return;
      }
      this._seenTurns = new Set();
      session.turns.forEach((turn, position) => {
        if (turn.role === "user") this._addUserMessage(turn.text || "");
        else if (turn.role === "agent") this._addAgentMessage(turn.text || "");
        else if (turn.role === "assistant") this._addAssistantMessage({ text: turn.text || "", citations: turn.citations, turnIndex: turn.turn_index });
        this._seenTurns.add(this._turnKey(turn, position));
      });
      this._unread = false;
      this._setConversationState(session.state || "ai", session.ticket_id || null);
      if (session.state === "waiting_for_human") this._addSystemNote(this.t.escalationSent);
      this._offerRating(session.csat);
      this._scrollToEnd(true);
    }

    _request(method, path, body, signal, extraHeaders = {}) {
      const headers = { "X-Glovebox-Key": this._key, ...extraHeaders };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      return fetch(`${this._api}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        credentials: "omit",
        mode: "cors",
      });
    }
  }

  function httpUrl(value) {
    if (!value) return null;
    try {
      const url = new URL(value, window.location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch {
      return null;
    }
  }

  function cssEscape(value) {
    return window.CSS && window.CSS.escape ? window.CSS.escape(String(value)) : String(value).replace(/[^\w-]/g, "");
  }

  window.customElements.define("glovebox-chat", GloveboxChat);
  window.GloveboxChat = GloveboxChat;

  // The one-tag form: <script src=".../widget.js" data-key="pk_..."> adds a launcher to the page.
  if (loaderScript && loaderScript.dataset.key) {
    const element = document.createElement("glovebox-chat");
    for (const [name, value] of Object.entries(loaderScript.dataset)) {
      element.setAttribute(name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), value);
    }
    if (!element.hasAttribute("api")) element.setAttribute("api", SCRIPT_ORIGIN);
    const mount = () => document.body.appendChild(element);
    if (document.body) mount();
    else document.addEventListener("DOMContentLoaded", mount, { once: true });
  }
})();
